//! Deploys every stage of every fixture's template with the AWS CLI and checks that the stacks
//! reach CREATE_COMPLETE with the names sampipe computed for the workflow.
//!
//! Two ways: the deploy commands `sampipe synth` prints, run as printed by a shell (what a
//! user runs: `aws cloudformation deploy`, a change set), twice, against the local AWS
//! (`tests/e2e/local_aws.py`: moto patched so a change-set deploy fills the outputs, an
//! unchanged redeploy is an empty change set, and `Rules` are evaluated); and `create-stack`
//! against plain `moto_server`.
//!
//! Neither models everything: AWS::S3::BucketPolicy and most bucket settings have no effect
//! (cfn-lint checks the properties), and IAM policies are not enforced.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fixture_name, fixtures, printed, run, sampipe, synth_to_tempdir, tool};

pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint_port: u16,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_moto(binary: &Path) -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child,
        endpoint_port: port,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

impl Moto {
    /// Forgets every resource (moto's `POST /moto-api/reset`): fixtures reuse app, stage and
    /// account names, so each deploys into an empty AWS.
    fn reset(&self) {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to moto_server");
        write!(
            stream,
            "POST /moto-api/reset HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send reset");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read reset");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "moto reset: {response}"
        );
    }
}

/// Runs `aws` against moto with the given credentials; returns parsed JSON output.
fn aws(
    binary: &Path,
    moto: &Moto,
    credentials: &(String, String, String),
    region: &str,
    args: &[&str],
) -> Value {
    let output = run(Command::new(binary)
        .args([
            "--endpoint-url",
            &moto.endpoint,
            "--region",
            region,
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &credentials.0)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.1)
        .env("AWS_SESSION_TOKEN", &credentials.2)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1"));
    assert!(
        output.status.success(),
        "aws {args:?} failed:\n{}",
        printed(&output)
    );
    if output.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("aws {args:?}: {e}\n{}", printed(&output)))
}

/// Credentials for `account`: moto hands out keys scoped to the account of the assumed role.
fn credentials_for(binary: &Path, moto: &Moto, account: &str) -> (String, String, String) {
    let bootstrap = ("testing".to_owned(), "testing".to_owned(), String::new());
    let role = format!("arn:aws:iam::{account}:role/sampipe-test");
    let answer = aws(
        binary,
        moto,
        &bootstrap,
        "us-east-1",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &role,
            "--role-session-name",
            "sampipe-test",
        ],
    );
    let c = &answer["Credentials"];
    let text = |key: &str| c[key].as_str().expect("credential").to_owned();
    (
        text("AccessKeyId"),
        text("SecretAccessKey"),
        text("SessionToken"),
    )
}

#[test]
fn every_stage_deploys_and_outputs_the_computed_names() {
    let (Some(moto_server), Some(aws_cli)) = (tool("moto_server"), tool("aws")) else {
        return;
    };
    let moto = start_moto(&moto_server);
    let mut report = Vec::new();
    for fixture in fixtures() {
        moto.reset();
        let name = fixture_name(&fixture);
        let (dir, synthesis) = synth_to_tempdir(&fixture);
        let template = format!("file://{}", dir.path().join("template.yaml").display());
        for stage in &synthesis.pipeline.stages {
            let credentials = credentials_for(&aws_cli, &moto, &stage.account);
            let stack = stage.resources_stack_name.as_str();
            aws(
                &aws_cli,
                &moto,
                &credentials,
                &stage.region,
                &[
                    "cloudformation",
                    "create-stack",
                    "--stack-name",
                    stack,
                    "--template-body",
                    &template,
                    "--parameters",
                    &format!("ParameterKey=Stage,ParameterValue={}", stage.name),
                    "--capabilities",
                    "CAPABILITY_NAMED_IAM",
                ],
            );
            let described = aws(
                &aws_cli,
                &moto,
                &credentials,
                &stage.region,
                &["cloudformation", "describe-stacks", "--stack-name", stack],
            );
            let stack_info = &described["Stacks"][0];
            assert_eq!(
                stack_info["StackStatus"], "CREATE_COMPLETE",
                "{name}/{}: {stack_info}",
                stage.name
            );
            let outputs: Vec<(String, String)> = stack_info["Outputs"]
                .as_array()
                .map(|outputs| {
                    outputs
                        .iter()
                        .map(|o| {
                            (
                                o["OutputKey"].as_str().unwrap_or_default().to_owned(),
                                o["OutputValue"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let output = |key: &str| {
                outputs
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(
                output("PipelineExecutionRoleArn").as_deref(),
                Some(stage.pipeline_role_arn.as_str()),
                "{name}/{}",
                stage.name
            );
            assert_eq!(
                output("ArtifactsBucketName").as_deref(),
                Some(stage.artifacts_bucket.as_str()),
                "{name}/{}",
                stage.name
            );
            assert_eq!(
                output("CloudFormationExecutionRoleArn").as_deref(),
                Some(stage.cfn_role_arn.as_str()),
                "{name}/{}",
                stage.name
            );
            assert_eq!(
                output("ImageRepositoryUri"),
                stage.image_repository.as_ref().map(|r| r.uri.clone()),
                "{name}/{}",
                stage.name
            );
            report.push(format!(
                "{name}/{}: CREATE_COMPLETE, {} outputs match",
                stage.name,
                outputs.len()
            ));
        }
    }
    println!("{}", report.join("\n"));
}

/// The `aws ...` lines `sampipe synth` prints, in order.
fn printed_commands(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| line.starts_with("aws "))
        .map(str::to_owned)
        .collect()
}

/// Runs `line` with `sh -c` against moto: `aws` is the installed CLI, the endpoint comes from
/// `AWS_ENDPOINT_URL`, so the command line itself is exactly the printed one.
fn run_printed(
    line: &str,
    aws_cli: &Path,
    moto: &Moto,
    credentials: &(String, String, String),
) -> std::process::Output {
    let bin = aws_cli.parent().expect("tools/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_owned()];
    paths.extend(std::env::split_paths(&path));
    run(Command::new("sh")
        .arg("-c")
        .arg(line)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", &credentials.0)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.1)
        .env("AWS_SESSION_TOKEN", &credentials.2)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1"))
}

/// A stack's resources by logical id: (type, physical id).
fn stack_resources(
    aws_cli: &Path,
    moto: &Moto,
    credentials: &(String, String, String),
    region: &str,
    stack: &str,
) -> Vec<(String, String, String)> {
    let described = aws(
        aws_cli,
        moto,
        credentials,
        region,
        &[
            "cloudformation",
            "describe-stack-resources",
            "--stack-name",
            stack,
        ],
    );
    described["StackResources"]
        .as_array()
        .expect("StackResources")
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (
                text("LogicalResourceId"),
                text("ResourceType"),
                text("PhysicalResourceId"),
            )
        })
        .collect()
}

#[test]
fn the_printed_deploy_commands_deploy_every_stage() {
    // The local AWS (moto patched like real CloudFormation: change-set deploys fill the
    // outputs, an unchanged redeploy is an empty change set), so the printed commands are
    // checked as a person runs them, twice.
    let (Some(local_aws), Some(aws_cli)) = (tool("local-aws"), tool("aws")) else {
        return;
    };
    let moto = start_moto(&local_aws);
    let mut report = Vec::new();
    for fixture in fixtures() {
        moto.reset();
        let name = fixture_name(&fixture);
        // A space in the path: the printed command must quote it.
        let repo = tempfile::Builder::new()
            .prefix("sampipe deploy ")
            .tempdir()
            .expect("tempdir");
        let config = repo.path().join("sampipe.yaml");
        crate::common::install_fixture(&fixture, repo.path(), "sampipe.yaml");
        let out = repo.path().join("pipeline");
        let (code, stdout, stderr) = sampipe(&[
            "synth",
            "-c",
            config.to_str().expect("utf-8"),
            "-o",
            out.to_str().expect("utf-8"),
        ]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let synthesis = crate::common::synth_fixture(&fixture);
        let commands = printed_commands(&stdout);
        assert_eq!(
            commands.len(),
            synthesis.pipeline.stages.len(),
            "{name}: one command per stage:\n{stdout}"
        );
        for (stage, line) in synthesis.pipeline.stages.iter().zip(&commands) {
            // In the printed order, each command deploys its stage's stack in its region.
            for part in [
                format!("--stack-name {} ", stage.resources_stack_name),
                format!("--parameter-overrides Stage={} ", stage.name),
                format!("--region {} ", stage.region),
            ] {
                assert!(line.contains(&part), "{name}/{}: {line}", stage.name);
            }
            assert!(!line.contains("EXISTING-BUCKET"), "{name}: {line}");
            let credentials = credentials_for(&aws_cli, &moto, &stage.account);
            let output = run_printed(line, &aws_cli, &moto, &credentials);
            assert!(
                output.status.success(),
                "{name}/{}: `{line}` failed:\n{}",
                stage.name,
                printed(&output)
            );

            let stack = stage.resources_stack_name.as_str();
            let described = aws(
                &aws_cli,
                &moto,
                &credentials,
                &stage.region,
                &["cloudformation", "describe-stacks", "--stack-name", stack],
            );
            let info = &described["Stacks"][0];
            assert_eq!(
                info["StackStatus"], "CREATE_COMPLETE",
                "{name}/{}: {info}",
                stage.name
            );
            // The names, from the resources the change set created.
            let resources = stack_resources(&aws_cli, &moto, &credentials, &stage.region, stack);
            let physical = |logical: &str| {
                resources
                    .iter()
                    .find(|(id, _, _)| id == logical)
                    .map(|(_, _, physical)| physical.clone())
            };
            let role = physical("PipelineExecutionRole").expect("pipeline role");
            let role = aws(
                &aws_cli,
                &moto,
                &credentials,
                &stage.region,
                &["iam", "get-role", "--role-name", &role],
            );
            assert_eq!(
                role["Role"]["Arn"].as_str(),
                Some(stage.pipeline_role_arn.as_str()),
                "{name}/{}",
                stage.name
            );
            if stage.creates_artifacts_bucket() {
                assert_eq!(
                    physical("ArtifactsBucket").as_deref(),
                    Some(stage.artifacts_bucket.as_str()),
                    "{name}/{}",
                    stage.name
                );
                assert_eq!(
                    physical("AccessLogBucket"),
                    stage.log_bucket.clone(),
                    "{name}/{}",
                    stage.name
                );
            } else {
                assert_eq!(physical("ArtifactsBucket"), None, "{name}/{}", stage.name);
            }
            match &stage.cfn_role_name {
                Some(cfn_role) => assert_eq!(
                    physical("CloudFormationExecutionRole").as_deref(),
                    Some(cfn_role.as_str()),
                    "{name}/{}",
                    stage.name
                ),
                None => assert_eq!(physical("CloudFormationExecutionRole"), None),
            }
            let creates_repository = stage.image_repository.as_ref().is_some_and(|r| r.create);
            assert_eq!(
                physical("ImageRepository"),
                creates_repository.then(|| {
                    stage
                        .image_repository
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default()
                }),
                "{name}/{}",
                stage.name
            );
            let outputs = info["Outputs"].as_array().cloned().unwrap_or_default();
            assert!(
                outputs.len() >= 3,
                "{name}/{}: the change-set deploy fills the outputs: {info}",
                stage.name
            );
            for o in &outputs {
                let key = o["OutputKey"].as_str().unwrap_or_default();
                let expected = match key {
                    "PipelineExecutionRoleArn" => Some(stage.pipeline_role_arn.clone()),
                    "ArtifactsBucketName" => Some(stage.artifacts_bucket.clone()),
                    "CloudFormationExecutionRoleArn" => Some(stage.cfn_role_arn.clone()),
                    "ImageRepositoryUri" => stage.image_repository.as_ref().map(|r| r.uri.clone()),
                    _ => None,
                };
                assert_eq!(
                    o["OutputValue"].as_str().map(str::to_owned),
                    expected,
                    "{name}/{key}"
                );
            }
            // The same command again, as a person re-running the printed steps would: an
            // empty change set, accepted by --no-fail-on-empty-changeset.
            let again = run_printed(line, &aws_cli, &moto, &credentials);
            assert!(
                again.status.success() && printed(&again).contains("No changes to deploy"),
                "{name}/{}: `{line}` again must change nothing:\n{}",
                stage.name,
                printed(&again)
            );
            report.push(format!(
                "{name}/{}: printed command CREATE_COMPLETE, {} resources, {} outputs, rerun a no-op",
                stage.name,
                resources.len(),
                outputs.len()
            ));
        }
    }
    println!("{}", report.join("\n"));
}
