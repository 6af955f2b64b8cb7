//! What synth does with the application: the SAM template it reads, the parameter values it
//! passes to `sam deploy` (checked against SAM CLI's own parser), feature stacks' names, and
//! the build directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use sampipe::config::load_str;
use sampipe::pipeline::{scripts, synthesize};

use crate::common::{file, repo_root, synth_fixture};

/// The Python interpreter of the SAM CLI that `.tools/bin/sam` runs, if any: the
/// `.tools/sam-venv` one, or the `#!` line of the script `bin/sam` is (or links to). SAM is
/// not a validator, so without it these checks skip, saying so.
fn sam_python() -> Option<PathBuf> {
    let tools = std::env::var_os("SAMPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"));
    let from_shebang = || -> Option<PathBuf> {
        let script = std::fs::canonicalize(tools.join("bin/sam")).ok()?;
        let text = std::fs::read_to_string(script).ok()?;
        Some(PathBuf::from(
            text.lines().next()?.strip_prefix("#!")?.trim(),
        ))
    };
    let candidates = [Some(tools.join("sam-venv/bin/python")), from_shebang()];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import samcli.cli.types"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

const VALUES: &[&str] = &[
    "blue green",
    "it's",
    "say \"hi\"",
    "a=b=c",
    "$HOME ${{ github.token }} $(id) `id`",
    "back\\slash",
    "ends with \\",
    "\\ \\\" \\' \\\\ \\\\\\ ",
    "'wrapped'",
    "\"wrapped\"",
    "\"",
    "'",
    "",
    " lead and trail ",
    "line\nbreak\ttab",
    "ünïcødé",
];

fn config_with(values: &[&str]) -> String {
    let mut text = String::from(
        "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\nfeature_branches: \"feature*\"\nstages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n    parameter_overrides:\n",
    );
    for (i, value) in values.iter().enumerate() {
        let entry = format!("P{i}={value}");
        text.push_str(&format!(
            "      - {}\n",
            serde_json::to_string(&entry).expect("json")
        ));
    }
    text
}

#[test]
fn any_parameter_value_reaches_sam_byte_for_byte() {
    let loaded = load_str("sampipe.yaml", &config_with(VALUES)).unwrap_or_else(|e| panic!("{e:?}"));
    let synthesis = synthesize(&loaded.config).unwrap_or_else(|d| panic!("{d:?}"));
    let stage = &synthesis.pipeline.stages[0];
    let json = scripts::parameter_overrides_json(stage).expect("overrides");
    assert!(!json.contains('$'), "{json}");
    // The workflow carries the JSON in `env:` and the script never names a value.
    let workflow = file(&synthesis, "pipeline.yaml");
    assert!(
        workflow.contains("--parameter-overrides \"file://$parameters\""),
        "{workflow}"
    );
    let Some(python) = sam_python() else {
        eprintln!("SKIPPED: no SAM CLI in .tools/bin/sam to parse the parameter overrides");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("parameter-overrides.yaml");
    std::fs::write(&path, &json).expect("write");
    let output = Command::new(python)
        .arg("-c")
        .arg(
            "import json, sys\n\
             from samcli.cli.types import CfnParameterOverridesType\n\
             print(json.dumps(CfnParameterOverridesType().convert('file://' + sys.argv[1], None, None)))",
        )
        .arg(&path)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("json");
    for (i, value) in VALUES.iter().enumerate() {
        assert_eq!(
            parsed.get(&format!("P{i}")).and_then(|v| v.as_str()),
            Some(*value),
            "P{i}"
        );
    }
}

#[test]
fn feature_deploys_pass_the_first_stages_parameters() {
    let loaded = load_str("sampipe.yaml", &config_with(&["blue green"])).expect("valid");
    let synthesis = synthesize(&loaded.config).expect("synth");
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
    for job in ["deploy-feature", "deploy-dev"] {
        let steps = workflow["jobs"][job]["steps"].as_sequence().expect("steps");
        let deploy = steps.last().expect("deploy step");
        assert!(
            deploy["env"]["PARAMETER_OVERRIDES"].as_str().is_some(),
            "{job}"
        );
        assert!(
            deploy["run"]
                .as_str()
                .is_some_and(|r| r.contains("--parameter-overrides \"file://$parameters\"")),
            "{job}"
        );
    }
}

/// Runs the feature slug's shell for `glob` on `branch`.
fn slug(glob: &str, branch: &str) -> String {
    let script = format!(
        "{}\nprintf '%s' \"$slug\"",
        scripts::feature_slug("sam-app", Some(glob), "BRANCH")
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("BRANCH", branch)
        .output()
        .expect("sh runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn feature_stacks_drop_the_patterns_prefix_once() {
    assert_eq!(slug("feature*", "feature/x"), "x");
    assert_eq!(slug("feature*", "feature-login-form"), "login-form");
    // Not a separator after the prefix: the whole name, so `featurex` and `feature/x` differ.
    assert_eq!(slug("feature*", "featurex"), "featurex");
    // Nothing left after the prefix: the whole name.
    assert_eq!(slug("feature*", "feature"), "feature");
    assert_eq!(slug("feature*", "feature/"), "feature");
    assert_eq!(slug("feature/**", "feature/a/b"), "a-b");
    assert_eq!(slug("*-wip", "x/y-wip"), "x-y-wip");
    assert_eq!(slug("feature*", "feature/x/"), "x");
}

#[test]
fn every_ci_file_names_feature_stacks_without_the_doubled_prefix() {
    for fixture in ["two-stages.yaml", "gitlab.yaml", "bitbucket.yaml"] {
        let synthesis = synth_fixture(&repo_root().join("fixtures").join(fixture));
        let ci = file(&synthesis, synthesis.pipeline.provider.file_name());
        if synthesis.pipeline.feature_branches.is_none() {
            continue;
        }
        assert!(ci.contains("name=\"${name#'"), "{fixture}:\n{ci}");
    }
}

#[test]
fn the_build_leaves_build_toml_outside_the_artifact_and_the_functions() {
    // SAM writes build.toml into the build dir's parent and never copies `.aws-sam` into a
    // function: the build dir must be `.aws-sam/<dir>`.
    assert!(scripts::BUILD_DIR.starts_with(".aws-sam/"));
    for fixture in ["two-stages.yaml", "gitlab.yaml", "bitbucket.yaml"] {
        let synthesis = synth_fixture(&repo_root().join("fixtures").join(fixture));
        let ci = file(&synthesis, synthesis.pipeline.provider.file_name());
        assert!(ci.contains("--build-dir .aws-sam/build"), "{fixture}");
        assert!(
            ci.contains("--template-file .aws-sam/build/template.yaml"),
            "{fixture}"
        );
    }
}

#[test]
fn the_build_and_test_jobs_set_up_every_runtime_the_template_needs() {
    let synthesis = synth_fixture(&repo_root().join("fixtures/existing-resources.yaml"));
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
    for job in ["test", "build"] {
        let uses: Vec<&str> = workflow["jobs"][job]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .filter_map(|s| s["uses"].as_str())
            .map(|u| u.split('@').next().unwrap_or(u))
            .collect();
        for action in [
            "actions/setup-python",
            "actions/setup-node",
            "actions/setup-java",
            "actions/setup-go",
            "actions/setup-dotnet",
            "ruby/setup-ruby",
        ] {
            assert!(uses.contains(&action), "{job} lacks {action}: {uses:?}");
        }
    }
}

#[test]
fn image_functions_are_built_once_saved_and_loaded_by_every_deploy_job() {
    let synthesis = synth_fixture(&repo_root().join("fixtures/two-stages.yaml"));
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
    let runs = |job: &str| -> Vec<String> {
        workflow["jobs"][job]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_owned))
            .collect()
    };
    let build = runs("build");
    let build_at = build
        .iter()
        .position(|r| r.starts_with("sam build"))
        .expect("build");
    let save_at = build
        .iter()
        .position(|r| {
            r.starts_with(
                "docker save --output .aws-sam/build/sampipe-images.tar 'imagefunction:v1'",
            )
        })
        .expect("save");
    assert!(build_at < save_at);
    for job in ["deploy-feature", "deploy-dev", "deploy-prod"] {
        let steps = runs(job);
        let load = steps
            .iter()
            .position(|r| {
                r == "docker load --input .aws-sam/build/sampipe-images.tar\n"
                    || r == "docker load --input .aws-sam/build/sampipe-images.tar"
            })
            .unwrap_or_else(|| panic!("{job}: {steps:?}"));
        let deploy = steps
            .iter()
            .position(|r| r.contains("--image-repository \"$IMAGE_REPOSITORY\""))
            .expect("deploy pushes to the stage's repository");
        assert!(load < deploy, "{job}");
    }
}

/// A config for `provider_source` with `workflow` settings, and the SAM template `sam`
/// parsed without a filesystem (as a library caller would).
fn synth_with(
    provider_source: &str,
    workflow: &str,
    sam: &str,
) -> Result<sampipe::pipeline::Synthesis, Vec<&'static str>> {
    let text = format!(
        "version: 1\napp: sam-app\nsource:\n{provider_source}stages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n    image_repository: true\n{workflow}"
    );
    let mut loaded = load_str("sampipe.yaml", &text).unwrap_or_else(|e| panic!("{e:?}"));
    let sam = std::fs::read_to_string(repo_root().join("fixtures").join(sam)).expect("read");
    loaded.config.sam_app = Some(sampipe::app::parse(&sam).expect("SAM template"));
    synthesize(&loaded.config).map_err(|d| d.iter().map(|d| d.code).collect())
}

const GITLAB: &str = "  gitlab:\n    project: group/app\n";
const BITBUCKET: &str = "  bitbucket:\n    workspace: ws\n    workspace_uuid: \"{11111111-2222-4333-8444-555555555555}\"\n    repository_uuid: \"{66666666-7777-4888-8999-000000000000}\"\n";

fn yaml(synthesis: &sampipe::pipeline::Synthesis) -> serde_yaml::Value {
    serde_yaml::from_str(file(synthesis, synthesis.pipeline.provider.file_name())).expect("yaml")
}

#[test]
fn gitlab_and_bitbucket_pick_the_build_image_of_the_one_runtime() {
    for source in [GITLAB, BITBUCKET] {
        let synthesis = synth_with(source, "", "sam/node.yaml").expect("synth");
        let value = yaml(&synthesis);
        let image = value["default"]["image"]
            .as_str()
            .or(value["image"].as_str())
            .expect("image");
        assert_eq!(image, "public.ecr.aws/sam/build-nodejs22.x:1.161.0");
        assert_eq!(
            synth_with(source, "", "sam/polyglot.yaml").err(),
            Some(vec!["several-runtimes-need-an-image"])
        );
        assert!(synth_with(source, "workflow:\n  image: registry.example.com/all@sha256:0000000000000000000000000000000000000000000000000000000000000000\n", "sam/polyglot.yaml").is_ok());
        assert!(synth_with(
            source,
            "workflow:\n  use_container: true\n",
            "sam/polyglot.yaml"
        )
        .is_ok());
    }
}

#[test]
fn gitlab_builds_in_containers_with_docker_in_docker() {
    let synthesis = synth_with(
        GITLAB,
        "workflow:\n  use_container: true\n",
        "template.yaml",
    )
    .expect("synth");
    let build = &yaml(&synthesis)["build"];
    assert_eq!(build["services"][0].as_str(), Some("docker:29.7.2-dind"));
    assert_eq!(
        build["variables"]["DOCKER_HOST"].as_str(),
        Some("tcp://docker:2376")
    );
    assert_eq!(
        build["variables"]["DOCKER_TLS_CERTDIR"].as_str(),
        Some("/certs")
    );
}

#[test]
fn gitlab_image_functions_need_a_docker_capable_image_and_get_docker_in_docker() {
    assert_eq!(
        synth_with(GITLAB, "", "sam/image.yaml").err(),
        Some(vec!["image-functions-need-an-image"])
    );
    let synthesis = synth_with(
        GITLAB,
        "workflow:\n  image: registry.example.com/sam-docker@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        "sam/image.yaml",
    )
    .expect("synth");
    let value = yaml(&synthesis);
    for job in ["build", "deploy-dev"] {
        assert_eq!(
            value[job]["services"][0].as_str(),
            Some("docker:29.7.2-dind"),
            "{job}"
        );
    }
    let script = |job: &str| -> Vec<String> {
        value[job]["script"]
            .as_sequence()
            .expect("script")
            .iter()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect()
    };
    assert!(script("build").iter().any(|l| l.starts_with("docker save")));
    let deploy = script("deploy-dev");
    let load = deploy
        .iter()
        .position(|l| l.starts_with("docker load"))
        .expect("load");
    let push = deploy
        .iter()
        .position(|l| l.contains("--image-repository"))
        .expect("deploy");
    assert!(load < push);
}

#[test]
fn bitbucket_image_functions_use_the_docker_service_in_build_and_deploy() {
    // Bitbucket's Docker service mounts the Docker CLI: the default image does.
    let synthesis = synth_with(BITBUCKET, "", "sam/image.yaml").expect("synth");
    let text = file(&synthesis, "bitbucket-pipelines.yml");
    assert!(
        text.contains("docker save --output .aws-sam/build/sampipe-images.tar"),
        "{text}"
    );
    assert!(
        text.contains("docker load --input .aws-sam/build/sampipe-images.tar"),
        "{text}"
    );
    assert!(text.matches("- docker").count() >= 2, "{text}");
}

/// A SAM template mangled at one place: bytes cut, replaced or inserted.
fn mangled_template() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let templates: Vec<String> = [
        "template.yaml",
        "sam/image.yaml",
        "sam/polyglot.yaml",
        "invalid/sam/broken.yaml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(repo_root().join("fixtures").join(f)).expect("read"))
    .collect();
    (
        proptest::sample::select(templates),
        any::<proptest::sample::Index>(),
        0..40usize,
        ".{0,12}",
    )
        .prop_map(|(text, at, cut, insert)| {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{insert}{}", &text[..at], &text[end..])
        })
}

proptest::proptest! {
    #[test]
    fn the_sam_template_parser_never_panics(text in mangled_template()) {
        match sampipe::app::parse(&text) {
            Ok(app) => {
                let _ = (app.toolchains(), app.runtimes(), app.built_images());
            }
            Err(diagnostics) => {
                proptest::prop_assert!(!diagnostics.is_empty());
                let source = sampipe::config::ConfigSource::new("template.yaml", text.as_str());
                let rendered = source.render(&diagnostics);
                proptest::prop_assert!(rendered.starts_with("error["), "{}", rendered);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_sam_template_parser(text in ".{0,300}") {
        let _ = sampipe::app::parse(&text);
    }
}

/// `python3 --version` as a Lambda runtime (`python3.12`), if it is one sampipe knows.
fn local_python_runtime() -> Option<String> {
    let output = Command::new("python3").arg("--version").output().ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    let mut parts = version.trim().strip_prefix("Python ")?.split('.');
    let runtime = format!("python{}.{}", parts.next()?, parts.next()?);
    sampipe::app::Toolchain::for_runtime(&runtime, None)
        .ok()
        .flatten()
        .map(|_| runtime)
}

/// Two checkouts of one commit at different paths, built with the generated build step by
/// the real SAM CLI, package byte-identical function zips, with `CodeUri: .` (the whole
/// repository, pipeline files included) and no `build.toml` in the repository or artifact.
#[test]
fn two_builds_of_one_commit_zip_byte_identically() {
    let (Some(python), Some(runtime)) = (sam_python(), local_python_runtime()) else {
        eprintln!("SKIPPED: needs the SAM CLI in .tools/bin/sam and a python3 Lambda runtime");
        return;
    };
    let sam_bin = python.parent().expect("venv bin").to_path_buf();
    let root = tempfile::tempdir().expect("tempdir");
    let mut checksums = Vec::new();
    for checkout in ["a", "b-at-another-path"] {
        let repo = root.path().join(checkout);
        std::fs::create_dir_all(&repo).expect("mkdir");
        std::fs::write(
            repo.join("template.yaml"),
            format!("AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  HelloFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n      Handler: app.handler\n      Runtime: {runtime}\n"),
        )
        .expect("write");
        std::fs::write(
            repo.join("app.py"),
            "def handler(event, context):\n    return 1\n",
        )
        .expect("write");
        std::fs::write(repo.join("requirements.txt"), "").expect("write");
        std::fs::write(
            repo.join("sampipe.yaml"),
            "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\nstages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n",
        )
        .expect("write");
        let synthesis = synth_fixture(&repo.join("sampipe.yaml"));
        let workflow: serde_yaml::Value =
            serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
        let step = workflow["jobs"]["build"]["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .find(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("sam build"))
            })
            .expect("build step")
            .clone();
        let path = format!(
            "{}:{}",
            sam_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(step["run"].as_str().expect("run"))
            .current_dir(&repo)
            .env(
                "SAM_TEMPLATE",
                step["env"]["SAM_TEMPLATE"].as_str().expect("env"),
            )
            .env("SAM_CLI_TELEMETRY", "0")
            .env("PATH", path)
            .output()
            .expect("sam build runs");
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let artifact = repo.join(scripts::BUILD_DIR);
        assert!(
            !repo.join("build.toml").exists(),
            "build.toml in the repository root"
        );
        assert!(
            !artifact.join("build.toml").exists(),
            "build.toml in the artifact"
        );
        assert!(!artifact.join("HelloFunction/.aws-sam").exists());
        let output = Command::new(&python)
            .arg("-c")
            .arg(
                "import hashlib, sys\n\
                 from samcli.lib.package.utils import make_zip\n\
                 z = make_zip(sys.argv[1], sys.argv[2])\n\
                 print(hashlib.sha256(open(z, 'rb').read()).hexdigest())",
            )
            .arg(root.path().join(format!("{checkout}-function")))
            .arg(artifact.join("HelloFunction"))
            .output()
            .expect("zip");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        checksums.push(String::from_utf8(output.stdout).expect("utf-8"));
    }
    assert_eq!(checksums[0], checksums[1]);
}

/// The real `sam deploy`, run as the generated deploy step runs it, against moto: every
/// parameter value arrives in the stack byte for byte, and deploying again changes nothing.
#[test]
fn sam_deploy_against_moto_gets_every_parameter_value_byte_for_byte() {
    let (Some(python), Some(moto_server), Some(aws)) = (
        sam_python(),
        crate::common::tool("moto_server"),
        crate::common::tool("aws"),
    ) else {
        eprintln!("SKIPPED: needs the SAM CLI in .tools/bin/sam, moto_server and aws");
        return;
    };
    let sam_bin = python.parent().expect("venv bin").to_path_buf();
    let moto = crate::deploy::start_moto(&moto_server);
    // moto reads a change set's TemplateURL path-style only from a `localhost` URL.
    let endpoint = format!("http://localhost:{}", moto.endpoint_port);
    let values: Vec<&str> = VALUES.iter().copied().filter(|v| !v.is_empty()).collect();
    let text = config_with(&values)
        .replace("111111111111", "123456789012")
        .replace("us-east-2", "us-east-1");
    let loaded = load_str("sampipe.yaml", &text).expect("valid");
    let synthesis = synthesize(&loaded.config).expect("synth");
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
    let step = workflow["jobs"]["deploy-dev"]["steps"]
        .as_sequence()
        .and_then(|s| s.last())
        .expect("deploy step")
        .clone();

    let repo = tempfile::tempdir().expect("tempdir");
    let build = repo.path().join(scripts::BUILD_DIR);
    std::fs::create_dir_all(&build).expect("mkdir");
    let mut template = String::from("AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n");
    for i in 0..values.len() {
        template.push_str(&format!("  P{i}:\n    Type: String\n"));
    }
    template.push_str("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n");
    std::fs::write(build.join("template.yaml"), template).expect("write");

    let path = format!(
        "{}:{}",
        sam_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let command = |program: &Path| {
        let mut command = Command::new(program);
        command
            .current_dir(repo.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("SAM_CLI_TELEMETRY", "0")
            .env("PATH", &path);
        command
    };
    let bucket = synthesis.pipeline.stages[0].artifacts_bucket.clone();
    let made = command(&aws)
        .args(["s3api", "create-bucket", "--bucket", &bucket])
        .output()
        .expect("aws runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let deploy = || {
        let mut bash = command(Path::new("bash"));
        bash.arg("-ec").arg(step["run"].as_str().expect("run"));
        for (key, value) in step["env"].as_mapping().expect("env") {
            bash.env(key.as_str().expect("key"), value.as_str().expect("value"));
        }
        let output = bash.output().expect("bash runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{all}");
        all
    };
    deploy();
    let described = command(&aws)
        .args([
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "sam-app-dev",
            "--query",
            "Stacks[0].Parameters",
            "--output",
            "json",
        ])
        .output()
        .expect("aws runs");
    let parameters: Vec<serde_json::Value> =
        serde_json::from_slice(&described.stdout).expect("json");
    for (i, value) in values.iter().enumerate() {
        let got = parameters
            .iter()
            .find(|p| p["ParameterKey"] == format!("P{i}").as_str())
            .and_then(|p| p["ParameterValue"].as_str());
        assert_eq!(got, Some(*value), "P{i}");
    }
    let again = deploy();
    assert!(again.contains("No changes to deploy"), "{again}");
}

#[test]
fn a_missing_default_sam_template_is_reported_without_pointing_at_an_unrelated_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sampipe.yaml");
    std::fs::write(
        &config,
        "version: 1\napp: a\nsource:\n  github:\n    repository: o/r\nstages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let (code, _, stderr) = crate::common::sampipe(&[
        "synth",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!out.exists());
    assert!(stderr.starts_with("error[read-sam-template]"), "{stderr}");
    assert!(!stderr.contains("version: 1"), "{stderr}");
    assert!(
        stderr.contains("relative to the directory of the config file"),
        "{stderr}"
    );
}

#[test]
fn a_sam_build_image_for_another_runtime_is_refused() {
    for source in [GITLAB, BITBUCKET] {
        let image = "workflow:\n  image: public.ecr.aws/sam/build-python3.12:1.142.1-20250701194731-x86_64\n";
        assert_eq!(
            synth_with(source, image, "sam/node.yaml").err(),
            Some(vec!["image-runtime-mismatch"])
        );
        assert!(synth_with(source, image, "template.yaml").is_ok());
        let containers = format!("{image}  use_container: true\n");
        assert!(synth_with(source, &containers, "sam/node.yaml").is_ok());
    }
}

/// The boundary script as the generated deploy step runs it (taken from the workflow), then
/// SAM's own transform (the translator of `.tools/bin/sam`): every role SAM makes of the
/// app's functions, state machines, their events and explicit roles carries the stage's
/// boundary. The roles SAM offers no boundary for are listed, so a change in SAM shows here;
/// the execution role, which may create roles only with the boundary, refuses them.
#[test]
fn the_deploy_bounds_every_role_sam_makes_of_the_app() {
    let Some(python) = sam_python() else {
        eprintln!("SKIPPED: needs the SAM CLI in .tools/bin/sam (its SAM translator)");
        return;
    };
    let synthesis = synth_fixture(&repo_root().join("fixtures/minimal.yaml"));
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("yaml");
    let step = workflow["jobs"]["deploy-prod"]["steps"]
        .as_sequence()
        .and_then(|s| s.last())
        .expect("deploy step");
    let boundary = step["env"]["PERMISSIONS_BOUNDARY"]
        .as_str()
        .expect("a boundary");
    let run = step["run"].as_str().expect("run");
    let (_, rest) = run
        .split_once("\"$packaged\" <<'PY'\n")
        .expect("the script");
    let (code, _) = rest.split_once("\nPY\n").expect("its end");

    let role = serde_json::json!({"Fn::GetAtt": ["ExplicitRole", "Arn"]});
    let template = serde_json::json!({
        "Transform": "AWS::Serverless-2016-10-31",
        // Globals give way to the resource's own boundary.
        "Globals": {"Function": {"PermissionsBoundary": "arn:aws:iam::123456789012:policy/other"}},
        "Resources": {
            "Implicit": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": "s3://bucket/key", "Handler": "app.handler", "Runtime": "python3.12",
                "Events": {
                    "Get": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}},
                    "Timer": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
                    "Rule": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["x"]}}}
                },
                "AutoPublishAlias": "live",
                "DeploymentPreference": {"Type": "AllAtOnce"}
            }},
            "WithRole": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": "s3://bucket/key", "Handler": "app.handler", "Runtime": "python3.12",
                "Role": role
            }},
            "ExplicitRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"
                }]}
            }},
            "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {
                "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "Events": {
                    "Rule": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["x"]}}},
                    "Timer": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
                    "Post": {"Type": "Api", "Properties": {"Path": "/run", "Method": "post"}}
                }
            }},
            "Table": {"Type": "AWS::Serverless::SimpleTable"}
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let packaged = dir.path().join("packaged.json");
    std::fs::write(&packaged, template.to_string()).expect("write");
    let mut bound = Command::new("python3")
        .arg("-")
        .arg(boundary)
        .arg(&packaged)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    bound
        .stdin
        .take()
        .expect("stdin")
        .write_all(code.as_bytes())
        .expect("write the script");
    let output = bound.wait_with_output().expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let translate = "import json, sys\n\
        from samtranslator.parser.parser import Parser\n\
        from samtranslator.translator.translator import Translator\n\
        class Session:\n    region_name = 'us-east-1'\n\
        template = json.load(open(sys.argv[1]))\n\
        values = {'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws'}\n\
        policies = {'AWSLambdaBasicExecutionRole': 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole', 'AWSLambdaRole': 'arn:aws:iam::aws:policy/service-role/AWSLambdaRole'}\n\
        out = Translator(None, Parser(), boto_session=Session()).translate(template, parameter_values=values, get_managed_policy_map=lambda: policies)\n\
        print(json.dumps(out))\n";
    let output = Command::new(&python)
        .arg("-c")
        .arg(translate)
        .arg(&packaged)
        .output()
        .expect("the translator runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let transformed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let mut bounded = Vec::new();
    let mut unbounded = Vec::new();
    for (id, resource) in transformed["Resources"].as_object().expect("resources") {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        match resource["Properties"]["PermissionsBoundary"].as_str() {
            Some(b) if b == boundary => bounded.push(id.as_str()),
            Some(other) => panic!("{id} has the boundary {other}"),
            None => unbounded.push(id.as_str()),
        }
    }
    bounded.sort_unstable();
    assert_eq!(
        bounded,
        [
            "ExplicitRole",
            "ImplicitRole",
            "ImplicitTimerRole",
            "MachinePostRole",
            "MachineRole",
            "MachineRuleRole",
            "MachineTimerRole",
        ]
    );
    // SAM has no boundary for CodeDeploy's role (DeploymentPreference).
    assert_eq!(unbounded, ["CodeDeployServiceRole"]);
}
