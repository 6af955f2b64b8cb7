//! What synth does with the application: the SAM template it reads, the parameter values it
//! passes to `sam deploy` (checked against SAM CLI's own parser), feature stacks' names, and
//! the build directory.

use std::path::PathBuf;
use std::process::Command;

use sampipe::config::load_str;
use sampipe::pipeline::{scripts, synthesize};

use crate::common::{file, repo_root, synth_fixture};

/// The Python interpreter of the SAM CLI in `.tools/bin/sam` (from its `#!` line), if any:
/// SAM is not one of the validators `make tools` installs, so without it these checks skip.
fn sam_python() -> Option<PathBuf> {
    let tools = std::env::var_os("SAMPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"));
    let sam = std::fs::read_to_string(tools.join("bin/sam")).ok()?;
    let python = PathBuf::from(sam.lines().next()?.strip_prefix("#!")?.trim());
    let ok = Command::new(&python)
        .args(["-c", "import samcli.cli.types"])
        .output()
        .ok()?
        .status
        .success();
    ok.then_some(python)
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
        assert_eq!(image, "public.ecr.aws/sam/build-nodejs22.x:1.142.1");
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
