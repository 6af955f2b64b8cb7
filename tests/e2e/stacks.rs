//! What every CI system's end-to-end run shares: deploying the pipeline resources with the
//! commands `synth` printed, and reading back what the local AWS then holds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::LocalAws;
use crate::common::{printed, run};
use sampipe::pipeline::{RoleKind, StagePlan};

/// The `aws cloudformation deploy` lines of synth's output, checked to be one per stage and in
/// stage order.
pub(crate) fn printed_deploy_commands(
    app: &str,
    synth_output: &str,
    stages: &[StagePlan],
) -> Vec<String> {
    let commands: Vec<String> = synth_output
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("aws cloudformation deploy "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        commands.len(),
        stages.len(),
        "{app}: one printed deploy command per stage:\n{synth_output}"
    );
    for (command, stage) in commands.iter().zip(stages) {
        assert!(
            command.contains(&format!("Stage={} ", stage.name)),
            "{app}: the commands come in stage order: {command}"
        );
    }
    commands
}

/// Runs a printed deploy command in `dir`, as a person would, with administrator credentials of
/// `account`.
pub(crate) fn run_deploy_command(
    aws: &LocalAws,
    account: &str,
    command: &str,
    dir: &Path,
) -> Output {
    let admin = aws.admin(account);
    run(Command::new("bash")
        .args(["-c", &format!("set -euo pipefail\n{command}")])
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                aws.aws_only_bin().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("AWS_ENDPOINT_URL", &aws.endpoint)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", &admin.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &admin.secret_access_key)
        .env("AWS_SESSION_TOKEN", &admin.session_token))
}

/// Deploys each stage's pipeline resources with its printed command, in order, each with its
/// own account's credentials.
pub(crate) fn deploy_pipeline_resources(
    aws: &LocalAws,
    app: &str,
    commands: &[String],
    stages: &[StagePlan],
    dir: &Path,
) {
    for (command, stage) in commands.iter().zip(stages) {
        let output = run_deploy_command(aws, &stage.account, command, dir);
        assert!(
            output.status.success(),
            "{app}: {command}\n{}\n--- local AWS\n{}",
            printed(&output),
            aws.server_log()
        );
    }
}

/// The stack `name` in `stage`'s account and region, unless it does not exist (or is deleted).
pub(crate) fn stack(aws: &LocalAws, stage: &StagePlan, name: &str) -> Option<Value> {
    let admin = aws.admin(&stage.account);
    let output = run(aws.aws_command(Some(&admin), &stage.region).args([
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        name,
    ]));
    if !output.status.success() {
        return None;
    }
    let answer: Value = serde_json::from_slice(&output.stdout).expect("describe-stacks JSON");
    let stack = answer["Stacks"][0].clone();
    (stack["StackStatus"] != "DELETE_COMPLETE").then_some(stack)
}

/// The names of the live stacks in `stage`'s account and region.
pub(crate) fn list_stacks(aws: &LocalAws, stage: &StagePlan) -> Vec<String> {
    let admin = aws.admin(&stage.account);
    let answer = aws.aws(
        &admin,
        &stage.region,
        &["cloudformation", "describe-stacks"],
    );
    answer["Stacks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["StackStatus"] != "DELETE_COMPLETE")
        .filter_map(|s| s["StackName"].as_str().map(str::to_owned))
        .collect()
}

/// The `ParameterKey=ParameterValue` pairs a stack was deployed with.
fn parameters(stack: &Value) -> BTreeMap<String, String> {
    stack["Parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["ParameterKey"].as_str().unwrap_or_default().to_owned(),
                p["ParameterValue"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every stage's application stack exists, complete, in its own account and region, with each
/// of the stage's `parameter_overrides` byte-exact. `label` names the run in failures.
pub(crate) fn assert_stages_deployed(aws: &LocalAws, stages: &[StagePlan], label: &str) {
    for stage in stages {
        let stack = stack(aws, stage, &stage.stack_name).unwrap_or_else(|| {
            panic!("{label}: no stack {} in {}", stage.stack_name, stage.region)
        });
        assert!(
            stack["StackStatus"]
                .as_str()
                .is_some_and(|s| s.ends_with("_COMPLETE") && !s.contains("ROLLBACK")),
            "{label}: {stack}"
        );
        let deployed = parameters(&stack);
        for override_ in &stage.parameter_overrides {
            let (key, value) = override_.split_once('=').expect("Key=Value");
            assert_eq!(
                deployed.get(key).map(String::as_str),
                Some(value),
                "{label}/{}: parameter {key} must arrive byte-exact",
                stage.name
            );
        }
    }
}

/// Whether a Docker daemon answers (image functions need one to build and push).
pub(crate) fn docker_available() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The physical ids of `stack`'s resources of `type_name` (in the stage's account and
/// region), and the whole `list-stack-resources` answer for messages.
pub(crate) fn resources_of_type(
    aws: &LocalAws,
    stage: &StagePlan,
    stack: &str,
    type_name: &str,
) -> (Vec<String>, Value) {
    let admin = aws.admin(&stage.account);
    let resources = aws.aws(
        &admin,
        &stage.region,
        &[
            "cloudformation",
            "list-stack-resources",
            "--stack-name",
            stack,
        ],
    );
    let ids = resources["StackResourceSummaries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["ResourceType"] == type_name)
        .filter_map(|r| r["PhysicalResourceId"].as_str().map(str::to_owned))
        .collect();
    (ids, resources)
}

/// Checks that every IAM role of `stack` (in `stage`'s account) has `boundary` as its
/// permissions boundary, as IAM reports it (`iam get-role`); returns the roles' names. A
/// stack without roles fails: every bundled app makes at least one, so none would prove
/// nothing.
pub(crate) fn assert_roles_bounded(
    aws: &LocalAws,
    stage: &StagePlan,
    stack: &str,
    boundary: &str,
    label: &str,
) -> Vec<String> {
    let admin = aws.admin(&stage.account);
    let (roles, resources) = resources_of_type(aws, stage, stack, "AWS::IAM::Role");
    assert!(
        !roles.is_empty(),
        "{label}: {stack} has no IAM role to check:\n{resources}"
    );
    for role in &roles {
        let answer = aws.aws(
            &admin,
            &stage.region,
            &["iam", "get-role", "--role-name", role],
        );
        assert_eq!(
            answer["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"].as_str(),
            Some(boundary),
            "{label}: role {role} of {stack} must carry the boundary {boundary}:\n{answer}"
        );
    }
    roles
}

/// Checks that every role of `stack`, which a job of `kind` deployed to `stage` (its log
/// `log`), carries that role's boundary, and that the job's deploy said it added it; returns
/// what it checked, or nothing when the stage has no boundary (a reused execution role).
pub(crate) fn assert_bounded(
    aws: &LocalAws,
    label: &str,
    stage: &StagePlan,
    kind: RoleKind,
    stack: &str,
    log: &str,
) -> Option<String> {
    let boundary = stage.roles(kind).boundary_arn?;
    let roles = assert_roles_bounded(aws, stage, stack, boundary, label);
    assert!(
        log.contains(&format!(": PermissionsBoundary {boundary}")),
        "{label}: the deploy to {stack} must say it bounded its roles by {boundary}:\n{log}"
    );
    Some(format!(
        "every role of {stack} ({}) has the boundary {boundary}",
        roles.join(", ")
    ))
}

/// The code each Lambda function of `stack` runs, found among the objects the deploy job
/// uploaded to its stage's artifacts bucket under the stack's prefix (matched by Lambda's
/// `CodeSha256`): `(function, the zip)` for each zip function, `None` where no uploaded object
/// has its code.
pub(crate) struct DeployedCode {
    /// Holds the zips while this lives.
    _downloads: tempfile::TempDir,
    pub(crate) functions: Vec<(String, Option<std::path::PathBuf>)>,
    /// The uploaded objects: key and SHA-256 (base64), for messages.
    pub(crate) uploaded: Vec<(String, String)>,
}

pub(crate) fn deployed_code(aws: &LocalAws, stage: &StagePlan, stack: &str) -> DeployedCode {
    let admin = aws.admin(&stage.account);
    let (functions, _) = resources_of_type(aws, stage, stack, "AWS::Lambda::Function");
    let objects = aws.aws(
        &admin,
        &stage.region,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &stage.artifacts_bucket,
            "--prefix",
            &format!("{stack}/"),
        ],
    );
    let dir = tempfile::tempdir().expect("download dir");
    let mut uploaded = Vec::new();
    let mut files = Vec::new();
    for key in objects["Contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["Key"].as_str())
    {
        let file = dir.path().join(uploaded.len().to_string());
        aws.aws(
            &admin,
            &stage.region,
            &[
                "s3api",
                "get-object",
                "--bucket",
                &stage.artifacts_bucket,
                "--key",
                key,
                &file.display().to_string(),
            ],
        );
        uploaded.push((key.to_owned(), sha256_base64(&file)));
        files.push(file);
    }
    let mut code = Vec::new();
    for function in functions {
        let described = aws.aws(
            &admin,
            &stage.region,
            &["lambda", "get-function", "--function-name", &function],
        );
        if described["Configuration"]["PackageType"] == "Image" {
            continue;
        }
        let sha = described["Configuration"]["CodeSha256"]
            .as_str()
            .unwrap_or_default();
        let zip = uploaded
            .iter()
            .position(|(_, s)| s == sha)
            .map(|i| files[i].clone());
        code.push((function, zip));
    }
    DeployedCode {
        _downloads: dir,
        functions: code,
        uploaded,
    }
}

/// A member of a zip file, as text; `None` when the zip has no such member.
pub(crate) fn zip_member(zip: &Path, member: &str) -> Option<String> {
    let output = run(Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nif sys.argv[2] not in z.namelist(): sys.exit(3)\nsys.stdout.write(z.read(sys.argv[2]).decode())",
        ])
        .arg(zip)
        .arg(member));
    match output.status.code() {
        Some(0) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        Some(3) => None,
        _ => panic!(
            "reading {member} of {}: {}",
            zip.display(),
            printed(&output)
        ),
    }
}

/// SHA-256 of a file, base64 (Lambda's CodeSha256), by the system's Python.
pub(crate) fn sha256_base64(file: &Path) -> String {
    let output = run(Command::new("python3").args([
        "-c",
        "import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()).decode())",
    ]).arg(file));
    assert!(output.status.success(), "sha256: {}", printed(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
