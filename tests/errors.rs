//! Bad input never hurts: every invalid config (`fixtures/invalid/*.yaml`, one mistake each)
//! gets a located, friendly error on stderr (`snapshots/stderr@<fixture>.snap`), exit code 2,
//! and nothing written. Property tests check that no input, however mangled, panics the
//! loader, the validator or synth, and that every valid config synthesizes to YAML that reads
//! back the same.

use std::path::Path;

use proptest::prelude::*;
use sampipe::config::{load_bytes, load_str, LoadError};
use sampipe::pipeline::synthesize;

use crate::common::{repo_root, sampipe};

/// Runs `synth` on `config` (a path relative to the repository root, where cargo runs the
/// tests) into a fresh directory; returns the exit code and stderr with the temporary
/// directory replaced by `[TMP]`, after checking that nothing was written.
fn synth_invalid(config: &str) -> (u8, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let out_text = out.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = sampipe(&["synth", "-c", config, "-o", out_text]);
    assert!(
        !out.exists(),
        "{config}: the out directory was created for an invalid config"
    );
    assert_eq!(stdout, "", "{config}: nothing goes to stdout on error");
    let root = repo_root().display().to_string();
    let stderr = stderr
        .replace(out_text, "[TMP]/out")
        .replace(&format!("{root}/"), "");
    (code, stderr)
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_invalid_fixture_is_reported_with_exit_code_2() {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::glob!("../fixtures/invalid", "*.yaml", |path| {
            if crate::common::is_sam_template(path) {
                return;
            }
            let config = relative(path);
            let (code, stderr) = synth_invalid(&config);
            assert_eq!(code, 2, "{config}:\n{stderr}");
            assert!(stderr.starts_with("error["), "{config}:\n{stderr}");
            assert!(!stderr.contains("internal-error"), "{config}:\n{stderr}");
            insta::assert_snapshot!("stderr", stderr);
        });
    });
}

/// There is at least one fixture per documented mistake, and each names its mistake.
#[test]
fn invalid_fixtures_are_many_and_named_after_their_mistake() {
    let dir = repo_root().join("fixtures/invalid");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/invalid")
        .map(|e| e.expect("entry"))
        // `fixtures/invalid/sam/` holds the broken SAM templates some of them read.
        .filter(|e| !e.path().is_dir() && !crate::common::is_sam_template(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 30, "only {} invalid fixtures", names.len());
    for name in &names {
        assert!(
            name.ends_with(".yaml")
                && name
                    .trim_end_matches(".yaml")
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name}: fixtures are named in kebab-case after their mistake"
        );
    }
}

/// Inputs too large to commit are generated here: the size cap is checked before anything
/// is parsed.
#[test]
fn a_huge_config_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("huge.yaml");
    let mut text = String::from("version: 1\napp: sam-app\n");
    while text.len() <= sampipe::config::MAX_CONFIG_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&config, &text).expect("write");
    let started = std::time::Instant::now();
    let (code, stderr) = synth_invalid(config.to_str().expect("utf-8 path"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );
    let stderr = stderr.replace(dir.path().to_str().expect("utf-8"), "[TMP]");
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("stderr@generated-too-large", stderr);
    });
}

/// Thousands of problems take time in proportion to the input, and only the first hundred are
/// printed. (A quadratic step, such as looking up a line by scanning the text, takes minutes
/// here.)
#[test]
fn many_problems_are_found_in_linear_time_and_printed_in_bounded_space() {
    let mut text = String::from(
        "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\nstages:\n",
    );
    for i in 0..10_000 {
        text.push_str(&format!(
            "  - name: s{i}\n    account: \"{i:012}\"\n    region: us-east-1\n    acount: x\n"
        ));
    }
    let started = std::time::Instant::now();
    let Err(LoadError::Invalid {
        config,
        diagnostics,
    }) = load_str("many.yaml", &text)
    else {
        panic!("the config is invalid");
    };
    let rendered = config.render(&diagnostics);
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
    assert_eq!(
        diagnostics.len(),
        10_001,
        "an unknown key per stage, and too many stages"
    );
    assert!(
        rendered.contains("note: 9901 more problems not shown"),
        "{rendered}"
    );
    assert!(rendered.lines().count() < 1000);
}

#[test]
fn a_config_that_cannot_be_read_is_reported_with_exit_code_2() {
    let (code, stderr) = synth_invalid("fixtures/invalid/does-not-exist.yaml");
    assert_eq!(code, 2);
    assert!(
        stderr
            .starts_with("error[read-config]: cannot read `fixtures/invalid/does-not-exist.yaml`"),
        "{stderr}"
    );
}

#[test]
fn check_reports_an_invalid_config_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let (code, _, stderr) = sampipe(&[
        "check",
        "-c",
        "fixtures/invalid/unknown-key.yaml",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error[unknown-key]"), "{stderr}");
    assert!(!out.exists());
}

const VALID: &str = "\
version: 1
app: sam-app
source:
  github:
    repository: octo-org/sam-app
stages:
  - name: dev
    account: \"111111111111\"
    region: us-east-2
";

fn load(text: &str) -> Result<sampipe::config::Loaded, String> {
    load_str("sampipe.yaml", text).map_err(|error| match error {
        LoadError::Invalid {
            config,
            diagnostics,
        } => config.render(&diagnostics),
        other => other.to_string(),
    })
}

/// yaml_serde reads YAML 1.2: `no`, `on`, `off` and `yes` are text, so they are accepted as
/// names; a number where text is expected is read as written.
#[test]
fn yaml_1_1_booleans_and_numbers_are_text_where_text_is_expected() {
    let text = format!("{VALID}    environment: on\nbranch: no\n");
    let loaded = load(&text).expect("valid");
    assert_eq!(loaded.config.branch, "no");
    assert_eq!(loaded.config.stages[0].environment.as_deref(), Some("on"));

    let loaded = load(&format!("{VALID}branch: 2024\n")).expect("valid");
    assert_eq!(loaded.config.branch, "2024");
    let loaded = load(&format!("{VALID}branch: 1.10\n")).expect("valid");
    assert_eq!(loaded.config.branch, "1.10", "read as written, not as 1.1");
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let mut bytes = vec![0xef, 0xbb, 0xbf];
    bytes.extend_from_slice(VALID.as_bytes());
    assert!(load_bytes("sampipe.yaml", &bytes).is_ok());
}

#[test]
fn an_unknown_but_well_formed_region_is_a_warning_and_synth_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sampipe.yaml");
    std::fs::write(&config, VALID.replace("us-east-2", "eu-west-4")).expect("write");
    crate::common::write_sam_template(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = sampipe(&[
        "synth",
        "-q",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.join("template.yaml").exists());
    let stderr = stderr.replace(dir.path().to_str().expect("utf-8"), "[TMP]");
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("stderr@warning-unknown-region", stderr);
    });
}

#[test]
fn recent_regions_are_known() {
    for region in [
        "ap-southeast-5",
        "ap-southeast-7",
        "mx-central-1",
        "ap-east-2",
        "ca-west-1",
        "il-central-1",
        "eu-south-2",
        "me-central-1",
        "cn-northwest-1",
        "us-gov-east-1",
    ] {
        let loaded = load(&VALID.replace("us-east-2", region)).expect(region);
        assert!(
            loaded.warnings.is_empty(),
            "{region}: {:?}",
            loaded.warnings
        );
    }
}

#[test]
fn two_stages_may_share_an_environment() {
    let text = format!(
        "{VALID}    environment: production\n  - name: prod\n    account: \"222222222222\"\n    region: us-west-2\n    environment: production\n"
    );
    let loaded = load(&text).expect("valid");
    assert!(synthesize(&loaded.config).is_ok());
}

/// Loads and, when the config is valid, synthesizes; the only acceptable failures are
/// diagnostics about the input, never a panic and never an internal error.
fn never_hurts(bytes: &[u8]) -> Result<(), TestCaseError> {
    let loaded = match load_bytes("fuzz.yaml", bytes) {
        Ok(loaded) => loaded,
        Err(LoadError::Invalid {
            config,
            diagnostics,
        }) => {
            prop_assert!(!diagnostics.is_empty());
            let rendered = config.render(&diagnostics);
            prop_assert!(!rendered.contains("internal-error"), "{}", rendered);
            return Ok(());
        }
        Err(other) => return Err(TestCaseError::fail(other.to_string())),
    };
    if let Err(diagnostics) = synthesize(&loaded.config) {
        let rendered = loaded.source.render(&diagnostics);
        prop_assert!(!rendered.contains("internal-error"), "{}", rendered);
    }
    Ok(())
}

/// Text that looks like a config: known and unknown keys at random indentation, with values
/// that are YAML traps.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("version"),
        Just("app"),
        Just("source"),
        Just("github"),
        Just("repository"),
        Just("owner_id"),
        Just("repository_id"),
        Just("branch"),
        Just("feature_branches"),
        Just("stages"),
        Just("- name"),
        Just("name"),
        Just("account"),
        Just("region"),
        Just("stack_name"),
        Just("environment"),
        Just("image_repository"),
        Just("existing"),
        Just("cloudformation_execution_role"),
        Just("workflow"),
        Just("actions"),
        Just("capabilities"),
        Just("<<"),
        Just("- "),
        Just("acount"),
    ];
    let traps = vec![
        "",
        "1",
        "dev",
        "sam-app",
        "octo-org/sam-app",
        "\"111111111111\"",
        "111111111111",
        "012345670123",
        "us-east-1",
        "eu-west-9",
        "yes",
        "on",
        "~",
        "true",
        "[a, b]",
        "{x: 1}",
        "&a dev",
        "*a",
        "!Ref x",
        "\"feature*\"",
        "arn:aws:iam::111111111111:role/x",
        "'unterminated",
        "a: b",
        "\t",
        "---",
    ];
    let value = prop_oneof![
        proptest::sample::select(traps).prop_map(String::from),
        "[ -~]{0,12}",
    ];
    let line = (0usize..4, key, value)
        .prop_map(|(indent, key, value)| format!("{}{key}: {value}", "  ".repeat(indent)));
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

/// A valid config with a few bytes changed: the inputs most likely to reach deep into the
/// checks.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let valid: Vec<Vec<u8>> = crate::common::fixtures()
        .iter()
        .map(|path| std::fs::read(path).expect("fixture"))
        .collect();
    let edits = proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6);
    (proptest::sample::select(valid), edits).prop_map(|(valid, edits)| {
        let mut bytes = valid;
        for (at, byte, op) in edits {
            let at = at % bytes.len().max(1);
            match op {
                _ if bytes.is_empty() => bytes.push(byte),
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        bytes
    })
}

// The number of cases is proptest's default (256), which `PROPTEST_CASES` overrides for a
// longer run.
proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        never_hurts(&bytes)?;
    }

    #[test]
    fn yaml_like_text_never_panics(text in yamlish()) {
        never_hurts(text.as_bytes())?;
    }

    #[test]
    fn a_mangled_valid_config_never_panics(bytes in mutated()) {
        never_hurts(&bytes)?;
    }
}

/// One stage of a generated valid config.
#[derive(Debug, Clone)]
struct GeneratedStage {
    name: String,
    account: String,
    region: &'static str,
    environment: Option<String>,
    image_repository: bool,
    /// Which existing resources it reuses: OIDC provider, bucket, role, image repository.
    existing: (bool, bool, bool, bool),
}

/// The parts of a generated valid config.
#[derive(Debug, Clone)]
struct Generated {
    app: String,
    stages: Vec<GeneratedStage>,
    feature_branches: Option<&'static str>,
    ids: Option<(u64, u64)>,
    policies: bool,
}

impl Generated {
    fn to_yaml(&self) -> String {
        use sampipe::config::region::{dns_suffix, region_partition};
        let mut text = format!(
            "version: 1\napp: {}\nsource:\n  github:\n    repository: octo-org/{}\n",
            self.app, self.app
        );
        if let Some((owner, repo)) = self.ids {
            text.push_str(&format!(
                "    owner_id: {owner}\n    repository_id: {repo}\n"
            ));
        }
        text.push_str("branch: main\n");
        if let Some(glob) = self.feature_branches {
            text.push_str(&format!("feature_branches: \"{glob}\"\n"));
        }
        text.push_str("stages:\n");
        for stage in &self.stages {
            let GeneratedStage {
                name,
                account,
                region,
                ..
            } = stage;
            let partition = region_partition(region).unwrap_or("aws");
            let (oidc, bucket, role, image) = stage.existing;
            text.push_str(&format!(
                "  - name: {name}\n    account: \"{account}\"\n    region: {region}\n"
            ));
            if stage.image_repository && !image {
                text.push_str("    image_repository: true\n");
            }
            if let Some(environment) = &stage.environment {
                text.push_str(&format!("    environment: \"{environment}\"\n"));
            }
            if oidc || bucket || role || image {
                text.push_str("    existing:\n");
            }
            if oidc {
                text.push_str("      oidc_provider: true\n");
            }
            if bucket {
                text.push_str(&format!(
                    "      artifacts_bucket: shared-{name}-{account}\n"
                ));
            }
            if role {
                text.push_str(&format!(
                    "      cloudformation_execution_role: arn:{partition}:iam::{account}:role/deploy/{name}\n"
                ));
            }
            if image {
                text.push_str(&format!(
                    "      image_repository: {account}.dkr.ecr.{region}.{}/team/{name}\n",
                    dns_suffix(partition)
                ));
            }
        }
        if self.policies {
            text.push_str(
                "cloudformation_execution_role:\n  managed_policy_arns:\n    - arn:${AWS::Partition}:iam::aws:policy/AWSLambda_FullAccess\n    - arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/deploy\n  permissions_boundary: arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundary\n",
            );
        }
        text
    }
}

fn generated() -> impl Strategy<Value = Generated> {
    let regions: Vec<&'static str> = sampipe::config::region::KNOWN_REGIONS
        .iter()
        .map(|(r, _)| *r)
        .collect();
    let stage = (
        "[a-z][a-z0-9]{0,5}",
        "[0-9]{12}",
        proptest::sample::select(regions),
        proptest::option::of("[A-Za-z0-9][A-Za-z0-9._ -]{0,10}[A-Za-z0-9]"),
        any::<bool>(),
        any::<(bool, bool, bool, bool)>(),
    );
    (
        "[a-z][a-z0-9]{0,3}(-[a-z0-9]{1,2})?",
        proptest::collection::vec(stage, 1..=6),
        proptest::option::of(proptest::sample::select(vec![
            "feature*",
            "feature/**",
            "*-preview",
            "fix-*",
        ])),
        proptest::option::of((1u64..u64::MAX, 1u64..u64::MAX)),
        any::<bool>(),
    )
        .prop_map(|(app, stages, feature_branches, ids, policies)| {
            // Stage names must be unique: rename the repeats.
            let mut seen = std::collections::HashSet::new();
            let stages = stages
                .into_iter()
                .enumerate()
                .map(
                    |(i, (name, account, region, environment, image_repository, existing))| {
                        let mut name = name;
                        let mut n = i;
                        while !seen.insert(name.clone()) {
                            name = format!("s{n}");
                            n += 1;
                        }
                        GeneratedStage {
                            name,
                            account,
                            region,
                            environment,
                            image_repository,
                            existing,
                        }
                    },
                )
                .collect();
            Generated {
                app,
                stages,
                feature_branches,
                ids,
                policies,
            }
        })
}

proptest! {
    /// Every valid config synthesizes, and each emitted file is YAML that reads back to the
    /// same structure as a second, independent render.
    #[test]
    fn valid_configs_synthesize_to_yaml_that_reads_back(generated in generated()) {
        let text = generated.to_yaml();
        let loaded = match load(&text) {
            Ok(loaded) => loaded,
            Err(rendered) => return Err(TestCaseError::fail(format!("{text}\n{rendered}"))),
        };
        let first = match synthesize(&loaded.config) {
            Ok(synthesis) => synthesis,
            Err(diagnostics) => {
                return Err(TestCaseError::fail(format!("{text}\n{}", loaded.source.render(&diagnostics))))
            }
        };
        let again = load(&text).map_err(TestCaseError::fail)?;
        let second = synthesize(&again.config)
            .map_err(|d| TestCaseError::fail(again.source.render(&d)))?;
        prop_assert_eq!(first.files.len(), second.files.len());
        for (a, b) in first.files.iter().zip(&second.files) {
            let parsed_a: serde_yaml::Value = serde_yaml::from_str(&a.contents)
                .map_err(|e| TestCaseError::fail(format!("{}: {e}\n{}", a.file_name, a.contents)))?;
            let parsed_b: serde_yaml::Value = serde_yaml::from_str(&b.contents)
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", b.file_name)))?;
            prop_assert_eq!(parsed_a, parsed_b, "{}", a.file_name);
            prop_assert_eq!(&a.contents, &b.contents);
        }
    }
}
