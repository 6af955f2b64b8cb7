//! The end-to-end suite: synthesize the bundled SAM apps (`fixtures/apps/`), deploy their
//! pipeline resources with exactly the commands `synth` prints, then run the generated CI
//! file's jobs as the CI system would, with the real SAM CLI and AWS CLI against a local AWS
//! (moto, patched by `tests/e2e/local_aws.py` to check OIDC trust like STS and to run the SAM
//! transform), and assert on what got deployed.

mod additions;
mod apps;
mod bitbucket;
mod ci_apps;
mod github;
mod github_expr;
mod gitlab;
mod stacks;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{printed, repo_root, run, tool};

/// The local AWS on 127.0.0.1, stopped when dropped.
pub(crate) struct LocalAws {
    child: Child,
    pub(crate) endpoint: String,
    aws: PathBuf,
    /// Folders holding only the AWS CLI, and only the SAM CLI, to put on a job's PATH.
    bins: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Temporary credentials from STS.
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    /// The assumed role's session ARN.
    pub(crate) arn: String,
}

impl LocalAws {
    /// Starts the local AWS, or returns `None` when its tools are missing and that is allowed
    /// (never under `CI=true`: see [`tool`]).
    pub(crate) fn start() -> Option<Self> {
        let (server, aws, sam) = (tool("local-aws")?, tool("aws")?, tool("sam")?);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let bins = tempfile::tempdir().expect("bin dirs");
        for (dir, program) in [("aws-only", &aws), ("sam-only", &sam)] {
            let dir = bins.path().join(dir);
            std::fs::create_dir_all(&dir).expect("bin dir");
            let name = program.file_name().expect("tool name");
            std::os::unix::fs::symlink(program, dir.join(name)).expect("link tool");
        }
        let log = bins.path().join("local-aws.log");
        let child = Command::new(&server)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start local-aws");
        let local = Self {
            child,
            endpoint: format!("http://localhost:{port}"),
            aws,
            bins,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "local-aws did not start on port {port}:\n{}",
                local.server_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(local)
    }

    /// What the server printed (its trust decisions among them), for failure messages.
    pub(crate) fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn aws_only_bin(&self) -> PathBuf {
        self.bins.path().join("aws-only")
    }

    pub(crate) fn sam_bin(&self) -> PathBuf {
        self.bins.path().join("sam-only")
    }

    /// Forgets every resource, so each app deploys into an empty AWS.
    pub(crate) fn reset(&self) {
        use std::io::{Read, Write};
        let address = self
            .endpoint
            .trim_start_matches("http://")
            .replace("localhost", "127.0.0.1");
        let mut stream = TcpStream::connect(&address).expect("connect to local-aws");
        write!(
            stream,
            "POST /moto-api/reset HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send reset");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read reset");
        assert!(response.starts_with("HTTP/1.1 200"), "reset: {response}");
    }

    /// An `aws` command with `credentials` (or none: an unsigned call) and no local profile.
    pub(crate) fn aws_command(&self, credentials: Option<&Credentials>, region: &str) -> Command {
        let mut command = Command::new(&self.aws);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_DEFAULT_REGION", region)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "1")
            .args(["--output", "json"]);
        if let Some(c) = credentials {
            command
                .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
                .env("AWS_SESSION_TOKEN", &c.session_token);
        }
        command
    }

    /// Runs `aws ARGS` and parses its JSON output; fails the test when it fails.
    pub(crate) fn aws(&self, credentials: &Credentials, region: &str, args: &[&str]) -> Value {
        let output = run(self.aws_command(Some(credentials), region).args(args));
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

    /// Administrator credentials in `account`, standing in for the person who deploys the
    /// pipeline resources once per stage.
    pub(crate) fn admin(&self, account: &str) -> Credentials {
        let bootstrap = Credentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: String::new(),
            arn: String::new(),
        };
        let answer = self.aws(
            &bootstrap,
            "us-east-1",
            &[
                "sts",
                "assume-role",
                "--role-arn",
                &format!("arn:aws:iam::{account}:role/administrator"),
                "--role-session-name",
                "administrator",
            ],
        );
        credentials_from(&answer).expect("assume-role answer")
    }

    /// `sts:AssumeRoleWithWebIdentity`, as configure-aws-credentials and the AWS CLIs do it.
    pub(crate) fn assume_role_with_web_identity(
        &self,
        role: &str,
        session: &str,
        token: &Token,
    ) -> Result<Credentials, String> {
        let output = run(self.aws_command(None, "us-east-1").args([
            "sts",
            "assume-role-with-web-identity",
            "--role-arn",
            role,
            "--role-session-name",
            session,
            "--web-identity-token",
            &token.0,
        ]));
        if !output.status.success() {
            return Err(format!(
                "AssumeRoleWithWebIdentity denied for {role}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let answer: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
        credentials_from(&answer).ok_or_else(|| format!("no credentials in {answer}"))
    }
}

fn credentials_from(answer: &Value) -> Option<Credentials> {
    let c = &answer["Credentials"];
    Some(Credentials {
        access_key_id: c["AccessKeyId"].as_str()?.to_owned(),
        secret_access_key: c["SecretAccessKey"].as_str()?.to_owned(),
        session_token: c["SessionToken"].as_str()?.to_owned(),
        arn: answer["AssumedRoleUser"]["Arn"].as_str()?.to_owned(),
    })
}

/// An OIDC token as the local AWS accepts it: a JWT with `alg: none` (no signature; the local
/// AWS checks the issuer, audience and claims against the deployed provider and trust policy).
pub(crate) struct Token(pub(crate) String);

impl Token {
    pub(crate) fn unsigned(claims: &Value) -> Self {
        let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = base64url(claims.to_string().as_bytes());
        Self(format!("{header}.{payload}."))
    }
}

fn base64url(bytes: &[u8]) -> String {
    base64_unpadded(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

/// Standard base64 (RFC 4648 section 4) without its `=` padding.
pub(crate) fn base64_standard_unpadded(bytes: &[u8]) -> String {
    base64_unpadded(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )
}

fn base64_unpadded(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The local AWS's address for `url`, an execute-api URL of a deployed REST API (what a SAM
/// `Api` output holds: `https://{api}.execute-api.{region}.amazonaws.com/{stage}/{path}`,
/// query kept): `{endpoint}/restapis/{api}/{stage}/_user_request_/{path}`, which the local AWS
/// answers as API Gateway would (see section 11 of `local_aws.py`). `None` for another URL.
///
/// A job's script reaches the same answer from its `AWS_ENDPOINT_URL` (every emulator sets it
/// to the local AWS), by that path or with the API's host name as the `Host` header:
/// `curl -H "Host: {api}.execute-api.{region}.amazonaws.com" "$AWS_ENDPOINT_URL/{stage}/{path}"`.
pub(crate) fn local_execute_api_url(endpoint: &str, url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (api, region) = host
        .strip_suffix(".amazonaws.com")?
        .split_once(".execute-api.")?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !valid(api) || !valid(region) {
        return None;
    }
    let (stage, path) = path.split_once('/').unwrap_or((path, ""));
    let stage = stage.split(['?', '#']).next().unwrap_or_default();
    if stage.is_empty() {
        return None;
    }
    Some(format!(
        "{}/restapis/{api}/{stage}/_user_request_/{path}",
        endpoint.trim_end_matches('/')
    ))
}

impl LocalAws {
    /// [`local_execute_api_url`] on this local AWS.
    pub(crate) fn execute_api_url(&self, url: &str) -> Option<String> {
        local_execute_api_url(&self.endpoint, url)
    }

    /// Calls a deployed REST API at `url` (its execute-api URL) on the local AWS, as a job
    /// would call it on AWS: the status and body of the answer.
    pub(crate) fn call_api(&self, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
        use std::io::{Read, Write};
        let local = self
            .execute_api_url(url)
            .unwrap_or_else(|| panic!("{url} is not an execute-api URL"));
        let rest = local.trim_start_matches("http://");
        let (address, path) = rest.split_once('/').expect("a path");
        let address = address.replace("localhost", "127.0.0.1");
        let mut stream = TcpStream::connect(&address).expect("connect to local-aws");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("read timeout");
        let body = body.unwrap_or_default();
        write!(
            stream,
            "{method} /{path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read answer");
        let (head, answer) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head}"));
        (status, answer.to_owned())
    }
}

/// `text` with every occurrence of each secret replaced by its mask (`(secret, mask)` pairs), as
/// a CI system redacts a job's log: longer secrets first, so a secret that contains another
/// is masked whole; empty secrets are ignored.
pub(crate) fn mask_secrets(text: &str, masks: &[(String, String)]) -> String {
    let mut ordered: Vec<&(String, String)> = masks.iter().filter(|(s, _)| !s.is_empty()).collect();
    ordered.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    let mut out = text.to_owned();
    for (secret, mask) in ordered {
        out = out.replace(secret.as_str(), mask);
    }
    out
}

/// Copies a folder's contents into `to` (created), like `cp -a FROM/. TO`.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create target");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Says on the test process's own stderr that part of the suite did not run. The test
/// harness captures `eprintln!` of passing tests, which would hide the skip; a direct write
/// to the stderr handle is not captured, so the line shows in every `cargo test` log.
pub(crate) fn skip_loudly(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {what}");
}

/// The bundled apps, each a repository root with its `sampipe.yaml`.
pub(crate) fn bundled_apps() -> Vec<PathBuf> {
    let mut apps: Vec<PathBuf> = std::fs::read_dir(repo_root().join("fixtures/apps"))
        .expect("fixtures/apps/ is readable")
        .map(|e| e.expect("app entry").path())
        .filter(|p| p.join("sampipe.yaml").is_file())
        .collect();
    // While working on one app: SAMPIPE_E2E_APPS=python-api,node-sqs (CI runs them all).
    if let Ok(only) = std::env::var("SAMPIPE_E2E_APPS") {
        let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
        apps.retain(|p| {
            p.file_name()
                .is_some_and(|n| wanted.iter().any(|w| n == *w))
        });
    }
    apps.sort();
    apps
}

#[test]
fn execute_api_urls_map_to_the_local_aws() {
    let endpoint = "http://localhost:4566";
    assert_eq!(
        local_execute_api_url(
            endpoint,
            "https://abc123.execute-api.us-east-2.amazonaws.com/Prod/items/"
        )
        .as_deref(),
        Some("http://localhost:4566/restapis/abc123/Prod/_user_request_/items/")
    );
    assert_eq!(
        local_execute_api_url(
            endpoint,
            "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/items/42?full=1"
        )
        .as_deref(),
        Some("http://localhost:4566/restapis/abc123/Prod/_user_request_/items/42?full=1")
    );
    assert_eq!(
        local_execute_api_url(
            endpoint,
            "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
        )
        .as_deref(),
        Some("http://localhost:4566/restapis/abc123/v1/_user_request_/")
    );
    for other in [
        "https://example.com/Prod/items/",
        "http://abc123.execute-api.us-east-1.amazonaws.com/Prod/",
        "https://abc123.execute-api.us-east-1.amazonaws.com/",
        "https://abc123.lambda-url.us-east-1.on.aws/",
    ] {
        assert_eq!(local_execute_api_url(endpoint, other), None, "{other}");
    }
}

/// A SAM REST API in front of a Python function that uses DynamoDB, deployed to the local
/// AWS and called at its output URL: the handler really runs (no Docker), with credentials
/// of its role in its account, and API Gateway's errors come back for what does not exist.
#[test]
fn deployed_rest_apis_answer_like_api_gateway() {
    let Some(aws) = LocalAws::start() else { return };
    let (account, region) = ("111111111111", "us-east-2");
    let admin = aws.admin(account);
    let dir = tempfile::tempdir().expect("template dir");
    let template = dir.path().join("template.yaml");
    std::fs::write(&template, API_TEMPLATE).expect("write template");
    let output = run(aws
        .aws_command(Some(&admin), region)
        .args([
            "cloudformation",
            "deploy",
            "--stack-name",
            "api",
            "--template-file",
        ])
        .arg(&template)
        .args(["--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]));
    assert!(
        output.status.success(),
        "deploy:\n{}\n{}",
        printed(&output),
        aws.server_log()
    );
    let stack = aws.aws(
        &admin,
        region,
        &["cloudformation", "describe-stacks", "--stack-name", "api"],
    );
    let url = stack["Stacks"][0]["Outputs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["OutputKey"] == "ItemsApi"))
        .and_then(|o| o["OutputValue"].as_str())
        .expect("ItemsApi output")
        .to_owned();
    assert!(
        url.contains(".execute-api.us-east-2.amazonaws.com/Prod/items/"),
        "{url}"
    );
    let log = || aws.server_log();

    let (status, body) = aws.call_api("POST", &url, Some(r#"{"id": "a1", "weather": "Sunny"}"#));
    assert_eq!(status, 201, "{body}\n{}", log());
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        serde_json::json!({"id": "a1", "weather": "Sunny"})
    );
    let (status, body) = aws.call_api("GET", &format!("{url}a1"), None);
    assert_eq!(status, 200, "{body}\n{}", log());
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        serde_json::json!({"id": "a1", "weather": "Sunny", "account": account}),
        "the item was stored in the stack's table, by the function's role in its account"
    );
    let (status, _) = aws.call_api("GET", &format!("{url}missing"), None);
    assert_eq!(status, 404, "the function's own answer");
    let (status, body) = aws.call_api("GET", &url, None);
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"message": "Missing Authentication Token"}"#),
        "no GET on /items: API Gateway's answer"
    );
    let (status, body) = aws.call_api("GET", &url.replace("/Prod/", "/Dev/"), None);
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"message": "Forbidden"}"#)
    );
    let (status, body) = aws.call_api("DELETE", &format!("{url}boom"), None);
    assert_eq!(
        (status, body.as_str()),
        (502, r#"{"message": "Internal server error"}"#),
        "a failing function: API Gateway's 502"
    );
    assert!(
        log().contains("local-aws: execute-api {"),
        "every call is logged:\n{}",
        log()
    );
}

const API_TEMPLATE: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      Environment:
        Variables:
          TABLE_NAME: !Ref Items
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Items
      InlineCode: |
        import json, os
        import boto3

        def handler(event, context):
            table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
            if event["httpMethod"] == "POST":
                item = json.loads(event["body"])
                table.put_item(Item=item)
                return {"statusCode": 201, "body": json.dumps(item)}
            if event["httpMethod"] == "DELETE":
                raise RuntimeError("boom")
            item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
            if item is None:
                return {"statusCode": 404, "body": json.dumps({"message": "no item"})}
            account = boto3.client("sts").get_caller_identity()["Account"]
            return {"statusCode": 200, "body": json.dumps(dict(item, account=account))}
      Events:
        Put:
          Type: Api
          Properties:
            Path: /items
            Method: post
        Get:
          Type: Api
          Properties:
            Path: /items/{id}
            Method: get
        Delete:
          Type: Api
          Properties:
            Path: /items/{id}
            Method: delete
Outputs:
  ItemsApi:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/items/"
"#;

#[test]
fn secrets_are_masked_longest_first() {
    let masks = vec![
        ("abc".to_owned(), "[A]".to_owned()),
        ("abcdef".to_owned(), "[B]".to_owned()),
        (String::new(), "[EMPTY]".to_owned()),
    ];
    assert_eq!(
        mask_secrets("x abcdef y abc z", &masks),
        "x [B] y [A] z",
        "the longer secret is masked whole, the shorter one where it stands alone"
    );
    assert_eq!(mask_secrets("nothing here", &masks), "nothing here");
}

#[test]
fn base64url_matches_rfc4648() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(b"foob"), "Zm9vYg");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    assert_eq!(base64_standard_unpadded(&[0xfb, 0xff]), "+/8");
    assert_eq!(base64_standard_unpadded(b"foob"), "Zm9vYg");
}

impl LocalAws {
    /// Every `sts:AssumeRoleWithWebIdentity` decision the local AWS logged so far, oldest
    /// first: its `local-aws: sts-decision {...}` lines, each with `role`, `decision`
    /// (`allow`/`deny`), the token's `claims` and `why`. Empty when the server logs none.
    pub(crate) fn sts_decisions(&self) -> Vec<Value> {
        self.server_log()
            .lines()
            .filter_map(|line| line.split_once("local-aws: sts-decision "))
            .filter_map(|(_, record)| serde_json::from_str(record).ok())
            .collect()
    }
}
