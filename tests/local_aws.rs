//! Proves `local-aws` (tests/e2e/local_aws.py: moto_server patched to behave like AWS where the
//! end-to-end suite depends on it) with the real AWS CLI:
//!
//! - `sts assume-role-with-web-identity` admits a token only when the role's account has the
//!   token's OIDC provider, `aud` is one of its client ids and the role's trust policy allows
//!   the claims; every other token is refused with the error real STS gives.
//! - `cloudformation deploy` creates `AWS::IAM::OIDCProvider`, expands the SAM transform
//!   (function code from the S3 object, RestApi with its paths and stage), fills the outputs
//!   of a change-set deploy, keeps parameter values byte for byte, reports a second identical
//!   deploy as "No changes to deploy", and `delete-stack` deletes what the stack made.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{printed, run, tool};

/// A running `local-aws`; its stderr (and decision log) go to files shown on failure.
struct LocalAws {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalAws {
    fn start(binary: &Path) -> LocalAws {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let stderr = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--decision-log")
            .arg(dir.path().join("decisions.log"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start local-aws");
        let mut server = LocalAws {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("local-aws exited with {status}:\n{}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "local-aws did not start on port {port}:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The server's stderr: tracebacks and one `sts-decision` line per web-identity request.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The trust decisions so far (JSON lines written by `--decision-log`).
    fn decisions(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("decisions.log"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let json = line.split_once(" sts-decision ").expect("decision line").1;
                serde_json::from_str(json).expect("decision JSON")
            })
            .collect()
    }
}

#[derive(Clone)]
struct Credentials(String, String, String);

fn bootstrap() -> Credentials {
    Credentials("testing".into(), "testing".into(), String::new())
}

/// Runs the AWS CLI against `local-aws` (us-east-1, JSON output); never needs the network.
fn aws(cli: &Path, server: &LocalAws, credentials: &Credentials, args: &[&str]) -> Output {
    let mut command = Command::new(cli);
    command
        .args(["--endpoint-url", &server.endpoint, "--region", "us-east-1"])
        .args(["--output", "json"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &credentials.0)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.1)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE");
    if credentials.2.is_empty() {
        command.env_remove("AWS_SESSION_TOKEN");
    } else {
        command.env("AWS_SESSION_TOKEN", &credentials.2);
    }
    run(&mut command)
}

/// `aws` that must succeed; returns its output.
fn aws_succeeds(cli: &Path, server: &LocalAws, credentials: &Credentials, args: &[&str]) -> Output {
    let output = aws(cli, server, credentials, args);
    assert!(
        output.status.success(),
        "aws {args:?} failed:\n{}\n--- local-aws\n{}",
        printed(&output),
        server.log()
    );
    output
}

/// `aws` that must succeed; returns its JSON output (Null when it printed nothing).
fn aws_ok(cli: &Path, server: &LocalAws, credentials: &Credentials, args: &[&str]) -> Value {
    let output = aws_succeeds(cli, server, credentials, args);
    if output.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("aws {args:?}: {e}\n{}", printed(&output)))
}

/// Credentials acting in `account` (moto's plain AssumeRole switches accounts freely).
fn credentials_in(cli: &Path, server: &LocalAws, account: &str) -> Credentials {
    let role = format!("arn:aws:iam::{account}:role/bootstrap");
    let answer = aws_ok(
        cli,
        server,
        &bootstrap(),
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &role,
            "--role-session-name",
            "bootstrap",
        ],
    );
    credentials_of(&answer)
}

fn credentials_of(answer: &Value) -> Credentials {
    let c = &answer["Credentials"];
    let text = |key: &str| c[key].as_str().expect("credential").to_owned();
    Credentials(
        text("AccessKeyId"),
        text("SecretAccessKey"),
        text("SessionToken"),
    )
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// An unsigned JWT, the shape local-aws accepts: base64url(header).base64url(claims).
fn token(claims: &Value) -> String {
    format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn deploy(cli: &Path, server: &LocalAws, credentials: &Credentials, stack: &str, template: &Path) {
    aws_succeeds(
        cli,
        server,
        credentials,
        &[
            "cloudformation",
            "deploy",
            "--stack-name",
            stack,
            "--template-file",
            template.to_str().expect("utf-8 path"),
            "--capabilities",
            "CAPABILITY_NAMED_IAM",
        ],
    );
}

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ACCOUNT_C: &str = "333333333333";
const GITHUB: &str = "token.actions.githubusercontent.com";

/// Account A: GitHub's provider and roles trusting it. `deployer` allows aud = sts and sub
/// like `repo:acme/app:ref:refs/heads/*` but denies the `blocked` branch; `by-repository`
/// conditions on an exposed GitHub claim, `by-owner` on `repository_owner`, which IAM does
/// not expose; `trusts-b` trusts account B's GitLab provider.
const ACCOUNT_A_TEMPLATE: &str = r#"
Resources:
  GitHub:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: https://token.actions.githubusercontent.com
      ClientIdList: [sts.amazonaws.com]
      ThumbprintList: [6938fd4d98bab03faadb97b34396831e3780aea1]
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deployer
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Federated: !Ref GitHub }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals: { "token.actions.githubusercontent.com:aud": sts.amazonaws.com }
              StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/*" }
          - Effect: Deny
            Principal: { Federated: !GetAtt GitHub.Arn }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringLike: { "token.actions.githubusercontent.com:sub": "*:ref:refs/heads/blocked" }
  ByRepository:
    Type: AWS::IAM::Role
    Properties:
      RoleName: by-repository
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Federated: !Ref GitHub }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                "token.actions.githubusercontent.com:aud": sts.amazonaws.com
                "token.actions.githubusercontent.com:repository": acme/app
  ByOwner:
    Type: AWS::IAM::Role
    Properties:
      RoleName: by-owner
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Federated: !Ref GitHub }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                "token.actions.githubusercontent.com:aud": sts.amazonaws.com
                "token.actions.githubusercontent.com:repository_owner": acme
  TrustsB:
    Type: AWS::IAM::Role
    Properties:
      RoleName: trusts-b
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Federated: "arn:aws:iam::222222222222:oidc-provider/gitlab.com" }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals: { "gitlab.com:aud": https://gitlab.com }
              StringLike: { "gitlab.com:sub": "project_path:acme/app:*" }
Outputs:
  ProviderArn: { Value: !GetAtt GitHub.Arn }
  ProviderRef: { Value: !Ref GitHub }
  DeployerArn: { Value: !GetAtt Deployer.Arn }
"#;

/// Account B: a GitLab provider (which account A's `trusts-b` names).
const ACCOUNT_B_TEMPLATE: &str = r#"
Resources:
  GitLab:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: https://gitlab.com
      ClientIdList: [https://gitlab.com]
Outputs:
  ProviderArn: { Value: !Ref GitLab }
"#;

/// Account C: a role trusting GitHub's provider in its own account, which C never created.
const ACCOUNT_C_TEMPLATE: &str = r#"
Resources:
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deployer
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Federated: !Sub "arn:aws:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com" }
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals: { "token.actions.githubusercontent.com:aud": sts.amazonaws.com }
              StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/app:*" }
"#;

fn github_claims(sub: &str, aud: &str) -> Value {
    json!({
        "iss": format!("https://{GITHUB}"),
        "aud": aud,
        "sub": sub,
        "repository": "acme/app",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
    })
}

/// Asks STS for `role` with `claims`; Ok(answer) or Err(stderr of the refusal).
fn assume(
    cli: &Path,
    server: &LocalAws,
    role: &str,
    web_token: &str,
) -> Result<Value, (Output, String)> {
    let args = [
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        role,
        "--role-session-name",
        "e2e-run",
        "--web-identity-token",
        web_token,
    ];
    let output = aws(cli, server, &bootstrap(), &args);
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("JSON answer"))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Err((output, stderr))
    }
}

fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// Asserts STS refuses with `code` and `message` (what real STS answers).
fn assert_refused(
    cli: &Path,
    server: &LocalAws,
    case: &str,
    role: &str,
    web_token: &str,
    code: &str,
    message: &str,
) {
    match assume(cli, server, role, web_token) {
        Ok(answer) => panic!(
            "{case}: expected {code}, but STS admitted the token: {answer}\n--- decisions\n{:#?}",
            server.decisions()
        ),
        Err((output, stderr)) => {
            let expected =
                format!("An error occurred ({code}) when calling the AssumeRoleWithWebIdentity operation: {message}");
            assert!(
                stderr.contains(&expected),
                "{case}: expected `{expected}`\n{}\n--- decisions\n{:#?}",
                printed(&output),
                server.decisions()
            );
        }
    }
    let last = server.decisions().pop().expect("a decision was logged");
    assert_eq!(last["decision"], "deny", "{case}: {last}");
    assert_eq!(last["role"], role, "{case}: {last}");
    assert_eq!(last["error"], code, "{case}: {last}");
}

#[test]
fn web_identity_trust_is_enforced_like_sts() {
    let (Some(server_bin), Some(cli)) = (tool("local-aws"), tool("aws")) else {
        return;
    };
    let server = LocalAws::start(&server_bin);
    let dir = tempfile::tempdir().expect("tempdir");
    let in_a = credentials_in(&cli, &server, ACCOUNT_A);
    let in_b = credentials_in(&cli, &server, ACCOUNT_B);
    let in_c = credentials_in(&cli, &server, ACCOUNT_C);
    let a = write(dir.path(), "a.yaml", ACCOUNT_A_TEMPLATE);
    deploy(&cli, &server, &in_a, "trust", &a);
    deploy(
        &cli,
        &server,
        &in_b,
        "trust",
        &write(dir.path(), "b.yaml", ACCOUNT_B_TEMPLATE),
    );
    deploy(
        &cli,
        &server,
        &in_c,
        "trust",
        &write(dir.path(), "c.yaml", ACCOUNT_C_TEMPLATE),
    );

    // The provider exists in IAM, in A only, and the stack outputs name it.
    let provider = format!("arn:aws:iam::{ACCOUNT_A}:oidc-provider/{GITHUB}");
    let listed = aws_ok(
        &cli,
        &server,
        &in_a,
        &["iam", "list-open-id-connect-providers"],
    );
    assert_eq!(
        listed["OpenIDConnectProviderList"],
        json!([{ "Arn": provider }])
    );
    let got = aws_ok(
        &cli,
        &server,
        &in_a,
        &[
            "iam",
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            &provider,
        ],
    );
    assert_eq!(got["ClientIDList"], json!(["sts.amazonaws.com"]), "{got}");
    let listed_c = aws_ok(
        &cli,
        &server,
        &in_c,
        &["iam", "list-open-id-connect-providers"],
    );
    assert_eq!(listed_c["OpenIDConnectProviderList"], json!([]));
    let stack = aws_ok(
        &cli,
        &server,
        &in_a,
        &["cloudformation", "describe-stacks", "--stack-name", "trust"],
    );
    let outputs = &stack["Stacks"][0]["Outputs"];
    for key in ["ProviderArn", "ProviderRef"] {
        let value = outputs
            .as_array()
            .and_then(|o| o.iter().find(|o| o["OutputKey"] == key))
            .map(|o| o["OutputValue"].clone());
        assert_eq!(value, Some(json!(provider)), "{key}: {outputs}");
    }

    // The right token: admitted, and the session acts in A as the role.
    let deployer = role_arn(ACCOUNT_A, "deployer");
    let right = token(&github_claims(
        "repo:acme/app:ref:refs/heads/main",
        "sts.amazonaws.com",
    ));
    let answer = assume(&cli, &server, &deployer, &right)
        .unwrap_or_else(|(output, _)| panic!("right token refused:\n{}", printed(&output)));
    let session = format!("arn:aws:sts::{ACCOUNT_A}:assumed-role/deployer/e2e-run");
    assert_eq!(answer["AssumedRoleUser"]["Arn"], session, "{answer}");
    let identity = aws_ok(
        &cli,
        &server,
        &credentials_of(&answer),
        &["sts", "get-caller-identity"],
    );
    assert_eq!(identity["Account"], ACCOUNT_A, "{identity}");
    assert_eq!(identity["Arn"], session, "{identity}");
    let admitted = server.decisions().pop().expect("decision logged");
    assert_eq!(admitted["decision"], "allow", "{admitted}");
    assert_eq!(
        admitted["claims"]["sub"],
        "repo:acme/app:ref:refs/heads/main"
    );

    let denied = "Not authorized to perform sts:AssumeRoleWithWebIdentity";
    assert_refused(
        &cli,
        &server,
        "wrong sub (another repository)",
        &deployer,
        &token(&github_claims(
            "repo:evil/app:ref:refs/heads/main",
            "sts.amazonaws.com",
        )),
        "AccessDenied",
        denied,
    );
    assert_refused(
        &cli,
        &server,
        "wrong sub (a tag, not a branch)",
        &deployer,
        &token(&github_claims(
            "repo:acme/app:ref:refs/tags/v1",
            "sts.amazonaws.com",
        )),
        "AccessDenied",
        denied,
    );
    assert_refused(
        &cli,
        &server,
        "explicit Deny wins over the matching Allow",
        &deployer,
        &token(&github_claims(
            "repo:acme/app:ref:refs/heads/blocked",
            "sts.amazonaws.com",
        )),
        "AccessDenied",
        denied,
    );
    // Real STS checks aud against the provider's client ids before the trust policy.
    assert_refused(
        &cli,
        &server,
        "wrong aud",
        &deployer,
        &token(&github_claims(
            "repo:acme/app:ref:refs/heads/main",
            "https://github.com/acme",
        )),
        "InvalidIdentityToken",
        "Incorrect token audience",
    );
    // Account A's role trusts B's GitLab provider: STS looks for it in A, not in B.
    let gitlab_token = token(&json!({
        "iss": "https://gitlab.com",
        "aud": "https://gitlab.com",
        "sub": "project_path:acme/app:ref_type:branch:ref:main",
    }));
    assert_refused(
        &cli,
        &server,
        "provider in another account",
        &role_arn(ACCOUNT_A, "trusts-b"),
        &gitlab_token,
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://gitlab.com",
    );
    // The same right token for C's role: C has no GitHub provider.
    assert_refused(
        &cli,
        &server,
        "role in an account without the provider",
        &role_arn(ACCOUNT_C, "deployer"),
        &right,
        "InvalidIdentityToken",
        &format!("No OpenIDConnect provider found in your account for https://{GITHUB}"),
    );
    // A role that does not exist in A.
    assert_refused(
        &cli,
        &server,
        "no such role",
        &role_arn(ACCOUNT_A, "nobody"),
        &right,
        "AccessDenied",
        denied,
    );
    // An exposed GitHub claim is a condition key; `repository_owner` is in the token but is
    // not one IAM exposes, so the same token cannot match a condition on it.
    let by_repository = assume(&cli, &server, &role_arn(ACCOUNT_A, "by-repository"), &right);
    assert!(
        by_repository.is_ok(),
        "condition on the exposed `repository` claim must hold: {:#?}",
        server.decisions().pop()
    );
    assert_refused(
        &cli,
        &server,
        "condition on a claim IAM does not expose",
        &role_arn(ACCOUNT_A, "by-owner"),
        &right,
        "AccessDenied",
        denied,
    );
    // Only exactly base64url({"alg":"none","typ":"JWT"}).base64url(claims). is a token.
    for (case, bad) in [
        ("not a JWT", "not-a-token".to_owned()),
        ("signed", format!("{right}c2ln")),
        (
            "another header",
            right.replacen(
                &base64url(br#"{"alg":"none","typ":"JWT"}"#),
                &base64url(br#"{"alg":"RS256","typ":"JWT"}"#),
                1,
            ),
        ),
    ] {
        assert_refused(
            &cli,
            &server,
            case,
            &deployer,
            &bad,
            "InvalidIdentityToken",
            "The ID Token provided is not a valid JWT.",
        );
    }
}

/// A zip archive holding `files` uncompressed (method 0: stored), as Lambda accepts.
fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
            }
        }
        !crc
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = u32::try_from(out.len()).expect("small zip");
        let size = u32::try_from(data.len()).expect("small file");
        let name_len = u16::try_from(name.len()).expect("short name");
        let common = |buf: &mut Vec<u8>| {
            // version 2.0, no flags, method 0 (stored), time 00:00, date 1980-01-01
            buf.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
            buf.extend_from_slice(&crc32(data).to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&name_len.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 3]); // made by: unix
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).expect("small zip");
    let count = u16::try_from(files.len()).expect("few files");
    let central_len = u32::try_from(central.len()).expect("small zip");
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    out
}

const SAM_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: sampipe local-aws SAM check
Parameters:
  CodeBucket: { Type: String }
  CodeKey: { Type: String }
  Greeting: { Type: String }
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: { Bucket: !Ref CodeBucket, Key: !Ref CodeKey }
      Environment: { Variables: { GREETING: !Ref Greeting } }
      Events:
        Hello: { Type: Api, Properties: { Path: /hello, Method: get } }
        Http: { Type: HttpApi, Properties: { Path: /http, Method: post } }
Outputs:
  ApiUrl:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/hello"
  HttpApiUrl:
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/"
  FunctionArn: { Value: !GetAtt HelloFunction.Arn }
  Greeting: { Value: !Ref Greeting }
"#;

fn output_of(stack: &Value, key: &str) -> String {
    stack["Outputs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["OutputKey"] == key))
        .and_then(|o| o["OutputValue"].as_str())
        .unwrap_or_else(|| panic!("no output {key}: {stack}"))
        .to_owned()
}

#[test]
fn sam_template_deploys_through_change_sets() {
    let (Some(server_bin), Some(cli)) = (tool("local-aws"), tool("aws")) else {
        return;
    };
    let server = LocalAws::start(&server_bin);
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = credentials_in(&cli, &server, ACCOUNT_A);
    let code = zip(&[(
        "app.py",
        b"def handler(event, context):\n    return {\"statusCode\": 200, \"body\": \"hello\"}\n",
    )]);
    let zip_path = dir.path().join("code.zip");
    std::fs::File::create(&zip_path)
        .and_then(|mut f| f.write_all(&code))
        .expect("write zip");
    aws_ok(
        &cli,
        &server,
        &creds,
        &["s3api", "create-bucket", "--bucket", "e2e-artifacts"],
    );
    // The CLI computes the SHA-256 of what it uploads: Lambda's CodeSha256 must equal it.
    let uploaded = aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "e2e-artifacts",
            "--key",
            "app/code.zip",
            "--body",
            zip_path.to_str().expect("utf-8 path"),
            "--checksum-algorithm",
            "SHA256",
        ],
    );
    let sha = uploaded["ChecksumSHA256"]
        .as_str()
        .expect("upload checksum")
        .to_owned();

    let template = write(dir.path(), "template.yaml", SAM_TEMPLATE);
    let greeting = r#"hi "there", a=b  c's"#;
    let deploy_args = |extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "cloudformation",
            "deploy",
            "--stack-name",
            "app-dev",
            "--template-file",
            template.to_str().expect("utf-8 path"),
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            "CodeBucket=e2e-artifacts",
            "CodeKey=app/code.zip",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(format!("Greeting={greeting}"));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let first = deploy_args(&[]);
    aws_succeeds(
        &cli,
        &server,
        &creds,
        &first.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let described = aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "app-dev",
        ],
    );
    let stack = &described["Stacks"][0];
    assert_eq!(stack["StackStatus"], "CREATE_COMPLETE", "{stack}");
    let parameter = |key: &str| {
        stack["Parameters"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["ParameterKey"] == key))
            .map(|p| p["ParameterValue"].clone())
    };
    assert_eq!(parameter("Greeting"), Some(json!(greeting)), "{stack}");
    assert_eq!(output_of(stack, "Greeting"), greeting);

    // The transform ran: only CloudFormation types, the ones SAM makes for this template.
    let resources = aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "cloudformation",
            "list-stack-resources",
            "--stack-name",
            "app-dev",
        ],
    );
    let resources = resources["StackResourceSummaries"]
        .as_array()
        .expect("resources")
        .clone();
    let physical = |logical: &str, rtype: &str| -> String {
        let r = resources
            .iter()
            .find(|r| r["LogicalResourceId"] == logical)
            .unwrap_or_else(|| panic!("no {logical} in {resources:#?}"));
        assert_eq!(r["ResourceType"], rtype, "{r}");
        assert_eq!(r["ResourceStatus"], "CREATE_COMPLETE", "{r}");
        r["PhysicalResourceId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let function = physical("HelloFunction", "AWS::Lambda::Function");
    physical("HelloFunctionRole", "AWS::IAM::Role");
    physical(
        "HelloFunctionHelloPermissionProd",
        "AWS::Lambda::Permission",
    );
    let api = physical("ServerlessRestApi", "AWS::ApiGateway::RestApi");
    physical("ServerlessRestApiProdStage", "AWS::ApiGateway::Stage");
    let http_api = physical("ServerlessHttpApi", "AWS::ApiGatewayV2::Api");
    physical(
        "ServerlessHttpApiApiGatewayDefaultStage",
        "AWS::ApiGatewayV2::Stage",
    );
    assert!(
        resources
            .iter()
            .any(|r| r["ResourceType"] == "AWS::ApiGateway::Deployment"),
        "{resources:#?}"
    );
    assert!(
        !resources.iter().any(|r| r["ResourceType"]
            .as_str()
            .is_some_and(|t| t.starts_with("AWS::Serverless::"))),
        "{resources:#?}"
    );

    // Outputs of a change-set deploy are filled and point at what was created.
    assert_eq!(
        output_of(stack, "ApiUrl"),
        format!("https://{api}.execute-api.us-east-1.amazonaws.com/Prod/hello")
    );
    assert_eq!(
        output_of(stack, "HttpApiUrl"),
        format!("https://{http_api}.execute-api.us-east-1.amazonaws.com/")
    );
    assert_eq!(
        output_of(stack, "FunctionArn"),
        format!("arn:aws:lambda:us-east-1:{ACCOUNT_A}:function:{function}")
    );

    // The function's code is the uploaded object; its environment the exact parameter.
    let got = aws_ok(
        &cli,
        &server,
        &creds,
        &["lambda", "get-function", "--function-name", &function],
    );
    assert_eq!(got["Configuration"]["CodeSha256"], sha, "{got}");
    assert_eq!(got["Configuration"]["CodeSize"], code.len(), "{got}");
    assert_eq!(
        got["Configuration"]["Environment"]["Variables"]["GREETING"],
        greeting
    );

    // The Api: the /hello GET route from SAM's Swagger body, and its Prod stage.
    let api_resources = aws_ok(
        &cli,
        &server,
        &creds,
        &["apigateway", "get-resources", "--rest-api-id", &api],
    );
    let hello = api_resources["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["path"] == "/hello"))
        .unwrap_or_else(|| panic!("no /hello: {api_resources}"));
    assert!(hello["resourceMethods"].get("GET").is_some(), "{hello}");
    let stages = aws_ok(
        &cli,
        &server,
        &creds,
        &["apigateway", "get-stages", "--rest-api-id", &api],
    );
    assert!(
        stages["item"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["stageName"] == "Prod")),
        "{stages}"
    );

    // The HTTP API: the POST /http route from its OpenAPI body, integrated with the function.
    let routes = aws_ok(
        &cli,
        &server,
        &creds,
        &["apigatewayv2", "get-routes", "--api-id", &http_api],
    );
    assert_eq!(routes["Items"][0]["RouteKey"], "POST /http", "{routes}");
    let integrations = aws_ok(
        &cli,
        &server,
        &creds,
        &["apigatewayv2", "get-integrations", "--api-id", &http_api],
    );
    assert!(
        integrations["Items"][0]["IntegrationUri"]
            .as_str()
            .is_some_and(|uri| uri.contains(&format!(":function:{function}/invocations"))),
        "{integrations}"
    );

    // A second identical deploy is an empty change set.
    let again = deploy_args(&[]);
    let output = aws(
        &cli,
        &server,
        &creds,
        &again.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        !output.status.success()
            && String::from_utf8_lossy(&output.stderr).contains("No changes to deploy"),
        "{}",
        printed(&output)
    );
    let tolerated = deploy_args(&["--no-fail-on-empty-changeset"]);
    let output = aws(
        &cli,
        &server,
        &creds,
        &tolerated.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("No changes to deploy"),
        "{}",
        printed(&output)
    );
    let change_sets = aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "cloudformation",
            "list-change-sets",
            "--stack-name",
            "app-dev",
        ],
    );
    assert!(
        change_sets["Summaries"]
            .as_array()
            .is_some_and(|s| s.iter().any(|c| c["Status"] == "FAILED"
                && c["StatusReason"]
                    .as_str()
                    .is_some_and(|r| r.contains("didn't contain changes")))),
        "{change_sets}"
    );

    // delete-stack deletes the stack and what it made.
    aws_ok(
        &cli,
        &server,
        &creds,
        &["cloudformation", "delete-stack", "--stack-name", "app-dev"],
    );
    let gone = aws(
        &cli,
        &server,
        &creds,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "app-dev",
        ],
    );
    assert!(
        !gone.status.success() && String::from_utf8_lossy(&gone.stderr).contains("does not exist"),
        "{}",
        printed(&gone)
    );
    let functions = aws_ok(&cli, &server, &creds, &["lambda", "list-functions"]);
    assert_eq!(functions["Functions"], json!([]), "{functions}");
    let apis = aws_ok(&cli, &server, &creds, &["apigateway", "get-rest-apis"]);
    assert_eq!(apis["items"], json!([]), "{apis}");
    let http_apis = aws_ok(&cli, &server, &creds, &["apigatewayv2", "get-apis"]);
    assert_eq!(http_apis["Items"], json!([]), "{http_apis}");
}

/// Version 1 of a provider stack; version 2 adds a client id to `Kept`, drops `Retained`
/// (DeletionPolicy: Retain) and `Dropped` (no policy), and adds `Added`.
const PROVIDERS_V1: &str = r#"
Resources:
  Kept:
    Type: AWS::IAM::OIDCProvider
    Properties: { Url: https://kept.example.com, ClientIdList: [one] }
  Retained:
    Type: AWS::IAM::OIDCProvider
    DeletionPolicy: Retain
    Properties: { Url: https://retained.example.com/path, ClientIdList: [one] }
  Dropped:
    Type: AWS::IAM::OIDCProvider
    Properties: { Url: https://dropped.example.com, ClientIdList: [one] }
"#;

const PROVIDERS_V2: &str = r#"
Resources:
  Kept:
    Type: AWS::IAM::OIDCProvider
    Properties: { Url: https://kept.example.com, ClientIdList: [one, two] }
  Added:
    Type: AWS::IAM::OIDCProvider
    DeletionPolicy: Retain
    Properties: { Url: https://added.example.com, ClientIdList: [one] }
"#;

#[test]
fn oidc_provider_resources_update_retain_and_delete() {
    let (Some(server_bin), Some(cli)) = (tool("local-aws"), tool("aws")) else {
        return;
    };
    let server = LocalAws::start(&server_bin);
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = credentials_in(&cli, &server, ACCOUNT_B);
    let providers = || -> Vec<String> {
        let listed = aws_ok(
            &cli,
            &server,
            &creds,
            &["iam", "list-open-id-connect-providers"],
        );
        let mut hosts: Vec<String> = listed["OpenIDConnectProviderList"]
            .as_array()
            .expect("list")
            .iter()
            .map(|p| {
                let arn = p["Arn"].as_str().expect("arn");
                let prefix = format!("arn:aws:iam::{ACCOUNT_B}:oidc-provider/");
                arn.strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("{arn} is not in {ACCOUNT_B}"))
                    .to_owned()
            })
            .collect();
        hosts.sort();
        hosts
    };
    let v1 = write(dir.path(), "v1.yaml", PROVIDERS_V1);
    let v2 = write(dir.path(), "v2.yaml", PROVIDERS_V2);
    deploy(&cli, &server, &creds, "providers", &v1);
    assert_eq!(
        providers(),
        [
            "dropped.example.com",
            "kept.example.com",
            "retained.example.com/path"
        ]
    );
    deploy(&cli, &server, &creds, "providers", &v2);
    assert_eq!(
        providers(),
        [
            "added.example.com",
            "kept.example.com",
            "retained.example.com/path"
        ],
        "an update deletes a removed provider unless it is retained"
    );
    let kept = aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "iam",
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            &format!("arn:aws:iam::{ACCOUNT_B}:oidc-provider/kept.example.com"),
        ],
    );
    assert_eq!(kept["ClientIDList"], json!(["one", "two"]), "{kept}");
    aws_ok(
        &cli,
        &server,
        &creds,
        &[
            "cloudformation",
            "delete-stack",
            "--stack-name",
            "providers",
        ],
    );
    assert_eq!(
        providers(),
        ["added.example.com", "retained.example.com/path"],
        "delete-stack deletes all but the retained providers"
    );
}

/// The CI flow end to end: a job's OIDC token buys the deploy role's credentials, and with
/// them the real SAM CLI (`sam deploy`: package, upload, change set, execute) deploys an app.
#[test]
fn sam_cli_deploys_with_web_identity_credentials() {
    let (Some(server_bin), Some(cli), Some(sam)) = (tool("local-aws"), tool("aws"), tool("sam"))
    else {
        return;
    };
    let server = LocalAws::start(&server_bin);
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = credentials_in(&cli, &server, ACCOUNT_A);
    deploy(
        &cli,
        &server,
        &admin,
        "trust",
        &write(dir.path(), "trust.yaml", ACCOUNT_A_TEMPLATE),
    );
    aws_ok(
        &cli,
        &server,
        &admin,
        &["s3api", "create-bucket", "--bucket", "sam-artifacts"],
    );
    let answer = assume(
        &cli,
        &server,
        &role_arn(ACCOUNT_A, "deployer"),
        &token(&github_claims(
            "repo:acme/app:ref:refs/heads/main",
            "sts.amazonaws.com",
        )),
    )
    .unwrap_or_else(|(output, _)| panic!("deploy role refused:\n{}", printed(&output)));
    let job = credentials_of(&answer);

    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("src")).expect("mkdir");
    write(
        &app.join("src"),
        "app.py",
        "def handler(event, context):\n    return {\"statusCode\": 200}\n",
    );
    write(
        &app,
        "template.yaml",
        &SAM_TEMPLATE
            .replace(
                "CodeUri: { Bucket: !Ref CodeBucket, Key: !Ref CodeKey }",
                "CodeUri: src/",
            )
            .replace(
                "  CodeBucket: { Type: String }\n  CodeKey: { Type: String }\n",
                "",
            ),
    );
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let sam_deploy = || {
        run(Command::new(&sam)
            .current_dir(&app)
            .args(["deploy", "--stack-name", "app-sam", "--region", "us-east-1"])
            .args([
                "--s3-bucket",
                "sam-artifacts",
                "--capabilities",
                "CAPABILITY_IAM",
            ])
            .args(["--no-confirm-changeset", "--no-progressbar"])
            .args(["--no-fail-on-empty-changeset"])
            .args(["--parameter-overrides", "Greeting=\"hi there a=b\""])
            .env("HOME", &home)
            .env("AWS_ENDPOINT_URL", &server.endpoint)
            .env("AWS_ACCESS_KEY_ID", &job.0)
            .env("AWS_SECRET_ACCESS_KEY", &job.1)
            .env("AWS_SESSION_TOKEN", &job.2)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE"))
    };
    let first = sam_deploy();
    assert!(
        first.status.success()
            && String::from_utf8_lossy(&first.stdout)
                .contains("Successfully created/updated stack - app-sam"),
        "{}\n--- local-aws\n{}",
        printed(&first),
        server.log()
    );

    // The stack is in the role's account, complete, with its outputs.
    let described = aws_ok(
        &cli,
        &server,
        &job,
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "app-sam",
        ],
    );
    let stack = &described["Stacks"][0];
    assert!(
        stack["StackId"]
            .as_str()
            .is_some_and(|id| id.contains(&format!(":{ACCOUNT_A}:stack/app-sam/"))),
        "{stack}"
    );
    assert_eq!(stack["StackStatus"], "CREATE_COMPLETE", "{stack}");
    assert_eq!(output_of(stack, "Greeting"), "hi there a=b");
    let function = output_of(stack, "FunctionArn");
    // sam uploaded the zipped src/ and the function's code is that object.
    let objects = aws_ok(
        &cli,
        &server,
        &job,
        &["s3api", "list-objects-v2", "--bucket", "sam-artifacts"],
    );
    let zipped = objects["Contents"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|o| !o["Key"].as_str().unwrap_or_default().ends_with(".template"))
        })
        .unwrap_or_else(|| panic!("no uploaded code: {objects}"));
    let got = aws_ok(
        &cli,
        &server,
        &job,
        &["lambda", "get-function", "--function-name", &function],
    );
    assert_eq!(got["Configuration"]["CodeSize"], zipped["Size"], "{got}");

    let second = sam_deploy();
    assert!(
        second.status.success()
            && String::from_utf8_lossy(&second.stdout).contains("No changes to deploy"),
        "{}",
        printed(&second)
    );
}
