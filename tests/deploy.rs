//! Deploys every stage of every fixture's template to `moto_server` (a local AWS emulator on
//! 127.0.0.1) with the AWS CLI, and checks that the stacks reach CREATE_COMPLETE with outputs
//! equal to the names sampipe computed for the workflow.
//!
//! moto does not model everything: it ignores AWS::IAM::OIDCProvider and AWS::S3::BucketPolicy
//! and most bucket settings, so this proves the template deploys and the names agree, while
//! cfn-lint checks the properties.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fixture_name, fixtures, printed, run, synth_to_tempdir, tool};

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
