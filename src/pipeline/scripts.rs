//! Shell the CI files share, written once so that every CI system builds and names the same
//! things: where `sam build` puts its output, the feature stack's name, and `sam deploy`.

use crate::pipeline::names::{feature_stack_prefix, STACK_NAME_MAX};
use crate::pipeline::{DeployRoles, Pipeline, StagePlan};

/// The first two lines of every generated file, without the comment sign:
/// [`crate::output::MARKER`] first, which is how sampipe knows a file is its own to replace.
pub fn generated_header() -> [String; 2] {
    [
        format!(
            "{} Change sampipe.yaml and run `sampipe synth`",
            crate::output::MARKER
        ),
        "(CI runs `sampipe check` to catch drift).".to_owned(),
    ]
}

/// `sam build --build-dir`: SAM's own default. The language builders never copy `.aws-sam` into
/// a function (so `CodeUri: .` does not package the build into itself), and SAM writes its
/// `build.toml` (a random id and absolute paths) into the build dir's parent, `.aws-sam/`,
/// outside both the artifact and every function's code: two builds of one commit package
/// byte-identical zips, and a second deploy is an empty change set.
pub const BUILD_DIR: &str = ".aws-sam/build";

/// The `sam build` command of the build job.
pub fn build_command(p: &Pipeline) -> String {
    let mut command =
        format!("sam build --template-file \"$SAM_TEMPLATE\" --build-dir {BUILD_DIR}");
    if p.workflow.use_container {
        command.push_str(" --use-container");
    }
    command
}

/// Image functions: the archive (`docker save`) of the images `sam build` built, inside the
/// build artifact, that every deploy job loads before `sam deploy` pushes them to its own
/// stage's repository.
pub const IMAGES_ARCHIVE: &str = ".aws-sam/build/sampipe-images.tar";

/// GitLab: the Docker-in-Docker service the build job (`use_container`, image functions) and
/// the deploy jobs (image functions) talk to. docker-library's `docker` image at the latest
/// 29.x release in github.com/docker-library/docker `versions.json` (2026-08-06).
pub const GITLAB_DIND_SERVICE: &str = "docker:29.7.2-dind";

/// GitLab: the variables that point Docker clients (the Docker CLI, and SAM CLI's Docker SDK)
/// at [`GITLAB_DIND_SERVICE`] over TLS. The runner must run services privileged and share
/// `/certs/client` (`volumes = ["/certs/client"]`), as GitLab's Docker-in-Docker guide says.
pub const GITLAB_DIND_VARIABLES: &[(&str, &str)] = &[
    ("DOCKER_HOST", "tcp://docker:2376"),
    ("DOCKER_TLS_CERTDIR", "/certs"),
    ("DOCKER_TLS_VERIFY", "1"),
    ("DOCKER_CERT_PATH", "/certs/client"),
];

/// `value` as one single-quoted shell word.
pub fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The build job's command that saves the built images into [`IMAGES_ARCHIVE`], if the app
/// has image functions.
pub fn save_images(p: &Pipeline) -> Option<String> {
    let images = p.sam_app.built_images();
    if images.is_empty() {
        return None;
    }
    let images: Vec<String> = images.iter().map(|i| sh_quote(i)).collect();
    Some(format!(
        "docker save --output {IMAGES_ARCHIVE} {}",
        images.join(" ")
    ))
}

/// A deploy job's command that loads the images the build job saved, if any.
pub fn load_images(p: &Pipeline) -> Option<String> {
    p.sam_app
        .has_image_functions()
        .then(|| format!("docker load --input {IMAGES_ARCHIVE}"))
}

/// The environment variable that carries a stage's parameter overrides to `sam deploy`, as
/// the text of [`parameter_overrides_json`].
pub const PARAMETER_OVERRIDES_VARIABLE: &str = "PARAMETER_OVERRIDES";

/// A stage's `parameter_overrides` as the file `sam deploy --parameter-overrides
/// file://….yaml` reads (a JSON object, which is YAML; SAM CLI 1.170 reads `.toml`, `.yaml`
/// and `.yml` files only), or `None` without overrides.
///
/// SAM CLI (`CfnParameterOverridesType.convert`, 1.170) passes every value through
/// `_unquote_wrapped_quotes`, which drops one pair of wrapping quotes and then turns `\ `,
/// `\"` and `\'` into ` `, `"` and `'` — and a value read from a file goes through it twice
/// (in the nested `convert` of the file, then in the outer one). [`sam_escape`] is the inverse
/// of one pass, so each value is escaped twice and SAM's unquoting gives back exactly the
/// configured bytes (`tests/app.rs` checks that with SAM's own parser). The command-line form
/// cannot carry every value: its regex needs an unescaped closing quote, so a value ending in
/// a backslash, or one with a line break, has no spelling there. `$` is written `\u0024`, so
/// that neither GitHub (`${{`), GitLab (variable expansion) nor a shell sees a variable.
pub fn parameter_overrides_json(stage: &StagePlan) -> Option<String> {
    if stage.parameter_overrides.is_empty() {
        return None;
    }
    let mut object = serde_json::Map::new();
    for entry in &stage.parameter_overrides {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        object.insert(
            key.to_owned(),
            serde_json::Value::String(sam_escape(&sam_escape(value))),
        );
    }
    let json = serde_json::Value::Object(object).to_string();
    Some(json.replace('$', "\\u0024"))
}

/// The inverse of SAM CLI's `_unquote_wrapped_quotes` (see [`parameter_overrides_json`]).
pub fn sam_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut backslashes = 0;
    for c in value.chars() {
        if c == '\\' {
            backslashes += 1;
            continue;
        }
        if backslashes > 0 {
            if matches!(c, ' ' | '"' | '\'') {
                out.push('\\');
            }
            out.extend(std::iter::repeat_n('\\', backslashes));
            backslashes = 0;
        }
        out.push(c);
    }
    out.extend(std::iter::repeat_n('\\', backslashes));
    out.push('"');
    out
}

/// The image GitLab and Bitbucket jobs run in unless `workflow.image` says otherwise, or the
/// functions name one runtime: the AWS SAM build image for Python 3.12 (see
/// [`crate::app::runtime::sam_build_image`]). It has both the SAM CLI and AWS CLI v2 (plus
/// `jq`, `make`, `unzip`) and an empty entrypoint, so scripts run in it directly. Source:
/// <https://github.com/aws/aws-sam-build-images> (`Dockerfile-python312`).
pub fn default_image() -> String {
    crate::app::runtime::sam_build_image("python3.12")
}

/// The literal start of a feature-branch glob: everything before its first `*`.
pub fn glob_prefix(glob: &str) -> &str {
    glob.split(['*', '?', '[']).next().unwrap_or("")
}

/// Shell that sets `$slug` from the branch name in `$variable`: without the feature pattern's
/// literal prefix, every run of characters other than letters and digits as one `-`, no `-` at
/// either end, cut so that the app's feature-stack prefix plus the slug fits a stack name.
/// The prefix (`feature` of `feature*`) is dropped only where the name goes on after it with a
/// separator (`feature/x`, `feature-x`), or the prefix ends in one (`feature/` of `feature/**`),
/// and a letter or digit is left: `featurex` keeps its name, so it cannot meet `feature/x`'s
/// stack, and the branch `feature` itself stays `feature`.
pub fn feature_slug(app: &str, glob: Option<&str>, variable: &str) -> String {
    let room = STACK_NAME_MAX - feature_stack_prefix(app).len();
    let mut source = format!("name=\"${variable}\"\n");
    let prefix = glob.map(glob_prefix).unwrap_or("");
    if !prefix.is_empty() {
        // Validated branch characters only; quoted, so the prefix is matched literally.
        let ends_with_separator = !prefix.ends_with(|c: char| c.is_ascii_alphanumeric());
        let rest_pattern = if ends_with_separator {
            "*[A-Za-z0-9]*"
        } else {
            "[!A-Za-z0-9]*[A-Za-z0-9]*"
        };
        source.push_str(&format!(
            "case \"$name\" in\n  '{prefix}'{rest_pattern}) name=\"${{name#'{prefix}'}}\" ;;\nesac\n"
        ));
    }
    source.push_str(&format!(
        "slug=$(printf '%s' \"$name\" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | sed -e 's/^-//' | cut -c1-{room} | sed -e 's/-$//')"
    ));
    source
}

/// The environment variable that carries the stage's permissions boundary ARN to the deploy
/// script (GitHub and GitLab; Bitbucket writes the ARN into the script).
pub const BOUNDARY_VARIABLE: &str = "PERMISSIONS_BOUNDARY";

/// The shell words `sam deploy` gets for a stage's stack, bucket, region, roles and
/// repository: variable references (`"$ARTIFACTS_BUCKET"`) or quoted literals.
pub struct DeployWords {
    pub stack: String,
    pub bucket: String,
    pub region: String,
    pub role: String,
    pub image_repository: String,
    /// The `--capabilities` words, space-separated.
    pub capabilities: String,
    /// The permissions boundary every role of the built template gets, when the deploy's
    /// CloudFormation execution role is sampipe's (a reused one has no boundary to add).
    pub boundary: Option<String>,
}

impl DeployWords {
    /// The words for a job whose environment carries `ARTIFACTS_BUCKET`,
    /// `CLOUDFORMATION_EXECUTION_ROLE`, `IMAGE_REPOSITORY`, `region_variable` and, when
    /// `roles` has a boundary, [`BOUNDARY_VARIABLE`].
    pub fn from_env(p: &Pipeline, stack: &str, region_variable: &str, roles: &DeployRoles) -> Self {
        Self {
            stack: stack.to_owned(),
            bucket: "\"$ARTIFACTS_BUCKET\"".into(),
            region: format!("\"${region_variable}\""),
            role: "\"$CLOUDFORMATION_EXECUTION_ROLE\"".into(),
            image_repository: "\"$IMAGE_REPOSITORY\"".into(),
            // Validated `CAPABILITY_*` names.
            capabilities: p.workflow.capabilities.join(" "),
            boundary: roles
                .boundary_arn
                .map(|_| format!("\"${BOUNDARY_VARIABLE}\"")),
        }
    }
}

/// Where the deploy writes the packaged, bounded template (a shell variable it sets).
const PACKAGED: &str = "\"$packaged\"";

/// Python 3 (standard library, 3.8 and later: the oldest `python3` of the AWS SAM build
/// images) that sets `PermissionsBoundary` to `argv[1]` on every resource of the packaged JSON
/// template `argv[2]` that makes a role: SAM's functions and state machines (their implicit
/// roles, and the roles of their `ScheduleV2` events, which take a boundary of their own) and
/// explicit `AWS::IAM::Role`s. Anything it cannot read stops the deploy. This only saves a
/// failed deploy: the execution role may create and change roles only with the boundary.
const BOUND_ROLES: &str = r#"import json, sys

boundary, path = sys.argv[1:]
ROLES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine", "AWS::IAM::Role")

def mapping(value, what):
    if not isinstance(value, dict):
        sys.exit(f"Cannot add the permissions boundary to {path}: {what} is not a mapping")
    return value

def bound(node, what):
    mapping(node.setdefault("Properties", {}), f"{what} Properties")["PermissionsBoundary"] = boundary
    print(f"{what}: PermissionsBoundary {boundary}")

try:
    with open(path, encoding="utf-8") as file:
        template = json.load(file)
except (OSError, ValueError) as error:
    sys.exit(f"Cannot add the permissions boundary to {path}: {error}")
for name, resource in mapping(mapping(template, "the template").get("Resources"), "Resources").items():
    if mapping(resource, name).get("Type") in ROLES:
        bound(resource, f"{name} ({resource['Type']})")
        # SAM gives a ScheduleV2 event's role the event's own boundary.
        for event, spec in mapping(resource["Properties"].get("Events", {}), f"{name} Events").items():
            if mapping(spec, f"{name} event {event}").get("Type") == "ScheduleV2":
                bound(spec, f"{name} event {event}")
with open(path, "w", encoding="utf-8") as file:
    json.dump(template, file)
"#;

/// `sam deploy` of the built template to `stage` with `words`. With `overrides`, the stage's
/// parameter overrides are read from `$PARAMETER_OVERRIDES` (the JSON of
/// [`parameter_overrides_json`], which the job must set) through a file, so no value is
/// ever parsed by the shell.
///
/// With a boundary, the built template is first packaged (`sam package`, JSON) and every
/// role it makes is given the boundary ([`BOUND_ROLES`]); that template is then deployed.
/// Apps declare their roles without one, and the execution role may create roles only
/// with it.
pub fn sam_deploy(stage: &StagePlan, words: &DeployWords, overrides: bool) -> String {
    let overrides = overrides && !stage.parameter_overrides.is_empty();
    let mut source = String::new();
    let template = match &words.boundary {
        Some(boundary) => {
            source.push_str(&format!(
                "packaged=\"$(mktemp -d)/packaged.json\"\nsam package \\\n  --template-file {BUILD_DIR}/template.yaml \\\n  --s3-bucket {bucket} \\\n  --s3-prefix {stack} \\\n  --region {region} \\\n",
                stack = words.stack,
                bucket = words.bucket,
                region = words.region,
            ));
            if stage.image_repository.is_some() {
                source.push_str(&format!(
                    "  --image-repository {} \\\n",
                    words.image_repository
                ));
            }
            source.push_str(&format!(
                "  --use-json \\\n  --output-template-file {PACKAGED}\npython3 - {boundary} {PACKAGED} <<'PY'\n{BOUND_ROLES}PY\n"
            ));
            PACKAGED.to_owned()
        }
        None => format!("{BUILD_DIR}/template.yaml"),
    };
    if overrides {
        source.push_str(&format!(
            "parameters=\"$(mktemp -d)/parameter-overrides.yaml\"\nprintf '%s' \"${PARAMETER_OVERRIDES_VARIABLE}\" > \"$parameters\"\n"
        ));
    }
    source.push_str(&format!(
        "sam deploy \\\n  --template-file {template} \\\n  --stack-name {stack} \\\n  --s3-bucket {bucket} \\\n  --s3-prefix {stack} \\\n  --region {region} \\\n  --role-arn {role} \\\n",
        stack = words.stack,
        bucket = words.bucket,
        region = words.region,
        role = words.role,
    ));
    if stage.image_repository.is_some() {
        source.push_str(&format!(
            "  --image-repository {} \\\n",
            words.image_repository
        ));
    }
    if overrides {
        source.push_str("  --parameter-overrides \"file://$parameters\" \\\n");
    }
    source.push_str(&format!(
        "  --capabilities {} \\\n  --no-confirm-changeset \\\n  --no-fail-on-empty-changeset\n",
        words.capabilities
    ));
    source
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::pipeline::RoleKind;

    const MINIMAL: &str = include_str!("../../fixtures/minimal.yaml");
    const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/hello-prod-app-boundary";

    fn pipeline(text: &str) -> Pipeline {
        let loaded = crate::config::load_str("sampipe.yaml", text).expect("fixture is valid");
        Pipeline::new(&loaded.config).expect("fixture resolves")
    }

    /// The minimal config with its stage reusing a CloudFormation execution role.
    fn reusing_a_role() -> String {
        MINIMAL.to_owned()
            + "    existing:\n      cloudformation_execution_role: arn:aws:iam::123456789012:role/deployer\n"
    }

    fn deploy(p: &Pipeline) -> String {
        let stage = &p.stages[0];
        let words = DeployWords::from_env(
            p,
            "\"$STACK_NAME\"",
            "REGION",
            &stage.roles(RoleKind::Pipeline),
        );
        sam_deploy(stage, &words, true)
    }

    #[test]
    fn a_reused_execution_role_deploys_the_built_template_as_before() {
        let p = pipeline(&reusing_a_role());
        assert_eq!(p.stages[0].roles(RoleKind::Pipeline).boundary_arn, None);
        assert_eq!(
            deploy(&p),
            "sam deploy \\\n  --template-file .aws-sam/build/template.yaml \\\n  --stack-name \"$STACK_NAME\" \\\n  --s3-bucket \"$ARTIFACTS_BUCKET\" \\\n  --s3-prefix \"$STACK_NAME\" \\\n  --region \"$REGION\" \\\n  --role-arn \"$CLOUDFORMATION_EXECUTION_ROLE\" \\\n  --capabilities CAPABILITY_IAM \\\n  --no-confirm-changeset \\\n  --no-fail-on-empty-changeset\n"
        );
    }

    #[test]
    fn a_boundary_is_added_to_the_packaged_template_before_it_deploys() {
        let p = pipeline(MINIMAL);
        assert_eq!(
            p.stages[0].roles(RoleKind::Pipeline).boundary_arn,
            Some(BOUNDARY)
        );
        let source = deploy(&p);
        let package = source.find("sam package \\\n").expect("packages");
        let bound = source
            .find(&format!(
                "python3 - \"${BOUNDARY_VARIABLE}\" \"$packaged\" <<'PY'\n{BOUND_ROLES}PY\n"
            ))
            .expect("bounds the packaged template, the ARN and file as arguments");
        let deploying = source.find("sam deploy \\\n").expect("deploys");
        assert!(package < bound && bound < deploying, "{source}");
        assert!(source[..package].ends_with("packaged=\"$(mktemp -d)/packaged.json\"\n"));
        assert!(source[package..bound].contains(
            "  --template-file .aws-sam/build/template.yaml \\\n  --s3-bucket \"$ARTIFACTS_BUCKET\" \\\n  --s3-prefix \"$STACK_NAME\" \\\n  --region \"$REGION\" \\\n  --use-json \\\n  --output-template-file \"$packaged\"\n"
        ));
        // The deploy is today's, of the packaged template.
        assert_eq!(
            source[deploying..],
            deploy(&pipeline(&reusing_a_role())).replace(
                "--template-file .aws-sam/build/template.yaml",
                "--template-file \"$packaged\""
            )
        );
        // The code is data: no shell expansion reaches it (quoted heredoc, no `$` inside).
        assert!(!BOUND_ROLES.contains('$') && !BOUND_ROLES.contains("\nPY\n"));
    }

    /// Runs [`BOUND_ROLES`] as the deploy does, on `template`; returns (status, stdout,
    /// stderr, the file afterwards), or `None` without a `python3`.
    fn bound(template: &str) -> Option<(bool, String, String, String)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("packaged.json");
        std::fs::write(&path, template).expect("write");
        let mut child = Command::new("python3")
            .arg("-")
            .arg(BOUNDARY)
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(BOUND_ROLES.as_bytes())
            .expect("script");
        let output = child.wait_with_output().expect("python3 runs");
        Some((
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            std::fs::read_to_string(&path).expect("read back"),
        ))
    }

    #[test]
    fn every_role_making_resource_gets_the_boundary_and_nothing_else_changes() {
        let template = serde_json::json!({
            "Transform": "AWS::Serverless-2016-10-31",
            "Globals": {"Function": {"PermissionsBoundary": "arn:aws:iam::123456789012:policy/global"}},
            "Resources": {
                "Implicit": {"Type": "AWS::Serverless::Function", "Properties": {
                    "CodeUri": "s3://bucket/key",
                    "Events": {
                        "Api": {"Type": "Api", "Properties": {"Path": "/", "Method": "get"}},
                        "Timer": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}}
                    }
                }},
                "Overwritten": {"Type": "AWS::Serverless::Function", "Properties": {
                    "PermissionsBoundary": "arn:aws:iam::123456789012:policy/other"
                }},
                "NoProperties": {"Type": "AWS::Serverless::Function"},
                "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": {}}},
                "Explicit": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}
            }
        });
        let Some((ok, stdout, stderr, after)) = bound(&template.to_string()) else {
            return; // no python3 to run it
        };
        assert!(ok, "{stderr}");
        let after: serde_json::Value = serde_json::from_str(&after).expect("JSON");
        let mut expected = template.clone();
        for at in [
            "/Resources/Implicit/Properties",
            "/Resources/Implicit/Properties/Events/Timer/Properties",
            "/Resources/Overwritten/Properties",
            "/Resources/Machine/Properties",
            "/Resources/Explicit/Properties",
        ] {
            expected.pointer_mut(at).expect(at)["PermissionsBoundary"] = BOUNDARY.into();
        }
        expected["Resources"]["NoProperties"]["Properties"] =
            serde_json::json!({"PermissionsBoundary": BOUNDARY});
        assert_eq!(after, expected);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "Implicit (AWS::Serverless::Function)",
                "Implicit event Timer",
                "Overwritten (AWS::Serverless::Function)",
                "NoProperties (AWS::Serverless::Function)",
                "Machine (AWS::Serverless::StateMachine)",
                "Explicit (AWS::IAM::Role)",
            ]
            .map(|what| format!("{what}: PermissionsBoundary {BOUNDARY}"))
        );
    }

    #[test]
    fn what_the_script_cannot_read_stops_the_deploy() {
        for (template, why) in [
            ("{\"Resources\": ", "Expecting value"),
            ("[]", "the template is not a mapping"),
            ("{}", "Resources is not a mapping"),
            ("{\"Resources\": []}", "Resources is not a mapping"),
            (
                "{\"Resources\": {\"Fn::ForEach::Topics\": [\"T\", [\"a\"], {}]}}",
                "Fn::ForEach::Topics is not a mapping",
            ),
            (
                "{\"Resources\": {\"R\": {\"Type\": \"AWS::IAM::Role\", \"Properties\": null}}}",
                "R (AWS::IAM::Role) Properties is not a mapping",
            ),
            (
                "{\"Resources\": {\"F\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": {\"Events\": []}}}}",
                "F Events is not a mapping",
            ),
        ] {
            let Some((ok, stdout, stderr, after)) = bound(template) else {
                return; // no python3 to run it
            };
            assert!(!ok, "{template}: {stdout}");
            assert!(
                stderr.starts_with("Cannot add the permissions boundary to ") && stderr.contains(why),
                "{template}: {stderr}"
            );
            assert!(!stderr.contains("Traceback"), "{template}: {stderr}");
            assert_eq!(after, template, "a refused template is left as it was");
        }
    }
}

/// Python 3 (standard library) that hands the application stack's outputs to the steps after
/// it: `argv[1]` is `describe-stacks`' `Stacks[0].Outputs` as JSON, `argv[2]` the file to
/// append to, `argv[3]` its form (`github`: `$GITHUB_ENV`'s `NAME<<DELIMITER` blocks, so a
/// value may hold anything; `shell`: `export NAME='value'` lines for `.`), then
/// `OutputKey=VARIABLE` pairs. An output the stack lacks (its condition was false) is empty.
/// The log names the variables, not their values.
const STACK_OUTPUTS: &str = r#"import json, shlex, sys, uuid

source, target, form = sys.argv[1:4]
with open(source, encoding="utf-8") as file:
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in (json.load(file) or [])}
with open(target, "a", encoding="utf-8") as file:
    for pair in sys.argv[4:]:
        key, variable = pair.split("=", 1)
        value = outputs.get(key)
        if value is None:
            print(f"The stack has no output {key}: {variable} is empty.", file=sys.stderr)
            value = ""
        if form == "github":
            delimiter = f"STACK_OUTPUT_{uuid.uuid4().hex}"
            file.write(f"{variable}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            file.write(f"export {variable}={shlex.quote(value)}\n")
        print(f"{variable}: the stack's output {key}")
"#;

/// Where [`read_stack_outputs`] puts the outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputsSink {
    /// `$GITHUB_ENV`: every later step of the job sees them.
    GitHubEnv,
    /// Exported into the running shell (GitLab and Bitbucket run a job's lines in one).
    Shell,
}

/// Shell that reads the outputs of the stack `stack` (a shell word) in `region` (a shell
/// word) into `STACK_OUTPUT_<NAME>` variables; `None` when the SAM template has no outputs.
pub fn read_stack_outputs(
    p: &Pipeline,
    stack: &str,
    region: &str,
    sink: OutputsSink,
) -> Option<String> {
    if p.extensions.outputs.is_empty() {
        return None;
    }
    let pairs: Vec<String> = p
        .extensions
        .outputs
        .iter()
        .map(|o| format!("{}={}", o.key, o.variable))
        .collect();
    let (target, form, load) = match sink {
        OutputsSink::GitHubEnv => ("\"$GITHUB_ENV\"", "github", ""),
        OutputsSink::Shell => (
            "\"$outputs_env\"",
            "shell",
            "# shellcheck source=/dev/null # written just above\n. \"$outputs_env\"\n",
        ),
    };
    let env_file = match sink {
        OutputsSink::GitHubEnv => "",
        OutputsSink::Shell => "outputs_env=\"$(mktemp)\"\n",
    };
    Some(format!(
        "outputs_json=\"$(mktemp)\"\n{env_file}aws cloudformation describe-stacks --stack-name {stack} --region {region} --query 'Stacks[0].Outputs' --output json > \"$outputs_json\"\npython3 - \"$outputs_json\" {target} {form} {} <<'PY'\n{STACK_OUTPUTS}PY\n{load}",
        pairs.join(" ")
    ))
}

/// The variables that carry AWS credentials, or an OIDC token that gets them, in a job of
/// any CI system: a step without the stage's role runs with none of them.
pub const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_PROFILE",
    // GitHub: what a step needs to request an OIDC token of its own.
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    // GitLab's ID token, Bitbucket's OIDC token.
    crate::pipeline::provider::GITLAB_TOKEN_VARIABLE,
    "BITBUCKET_STEP_OIDC_TOKEN",
];

/// The line that drops every credential variable from the shell it runs in.
pub fn drop_credentials() -> String {
    format!("unset {}\n", CREDENTIAL_VARIABLES.join(" "))
}

/// Where a CI system keeps the secrets a step names, for the message when one is missing.
pub fn secret_store(p: &Pipeline) -> &'static str {
    match p.provider {
        crate::pipeline::Provider::GitHub(_) => "a repository or environment secret",
        crate::pipeline::Provider::GitLab(_) => "a masked CI/CD variable",
        crate::pipeline::Provider::Bitbucket(_) => "a secured repository or deployment variable",
    }
}

/// One of the user's steps (or jobs' commands) as one POSIX shell command, for the CI systems
/// that run a job's lines in one shell (GitLab, Bitbucket): a subshell, so that its variables
/// and `cd`s stay its own, that stops at the first failing command, starts by dropping the credentials unless it has the role,
/// exports its variables single-quoted (taken literally), and stops unless each secret it
/// names is set. The CI system puts the secrets in the environment itself; the script only
/// names them.
pub fn shell_step(
    p: &Pipeline,
    name: &str,
    run: &str,
    env: &indexmap::IndexMap<String, String>,
    secrets: &[String],
    drop: bool,
) -> String {
    // `set -e`: the step stops at its first failing command, as a GitHub `run:` does.
    let mut out = format!("# {name}\n(\nset -e\n");
    if drop {
        out.push_str(&drop_credentials());
    }
    for (variable, value) in env {
        out.push_str(&export_literal(variable, value));
        out.push('\n');
    }
    let store = secret_store(p);
    for secret in secrets {
        out.push_str(&format!(
            ": \"${{{secret}:?is not set: add {secret} as {store}}}\"\n"
        ));
    }
    out.push_str(run);
    if !run.ends_with('\n') {
        out.push('\n');
    }
    out.push(')');
    out
}

/// One of the user's jobs' commands as one shell command ([`shell_step`]); without the
/// role, it drops whatever credentials the CI system's variables hold.
pub fn added_job(p: &Pipeline, job: &crate::pipeline::extend::AddedJob) -> String {
    shell_step(p, &job.name, &job.run, &job.env, &job.secrets, !job.role)
}

/// One of the user's steps as one shell command ([`shell_step`]).
pub fn added_step(p: &Pipeline, step: &crate::config::model::ExtraStep, drop: bool) -> String {
    shell_step(p, &step.name, &step.run, &step.env, &step.secrets, drop)
}

/// A deploy job's commands (GitLab, Bitbucket: one shell; the first `naming` commands set
/// `STACK_NAME`, then come the credential lines, and the last command is `sam deploy`) with the user's steps of stage `stage` around the deploy:
/// before the credentials the steps without the role, just before `sam deploy` those with
/// it; after it those with the role (given the stack `stack`'s outputs, read in `region`),
/// then, once the web identity token's file is removed, those without.
pub fn with_deploy_steps(
    p: &Pipeline,
    stage: usize,
    mut script: Vec<String>,
    naming: usize,
    stack: &str,
    region: &str,
) -> Vec<String> {
    use crate::pipeline::extend::DeployPhase;
    let before: Vec<_> = p
        .extensions
        .deploy_steps(stage, DeployPhase::Before)
        .collect();
    let deploy = script.pop();
    script.extend(
        before
            .iter()
            .filter(|s| s.role)
            .map(|s| added_step(p, s, false)),
    );
    script.extend(deploy);
    let first: Vec<String> = before
        .iter()
        .filter(|s| !s.role)
        .map(|s| added_step(p, s, true))
        .collect();
    let naming = naming.min(script.len());
    script.splice(naming..naming, first);
    if p.extensions.deploy_steps_read_outputs(stage) {
        script.extend(read_stack_outputs(p, stack, region, OutputsSink::Shell));
    }
    let after: Vec<_> = p
        .extensions
        .deploy_steps(stage, DeployPhase::After)
        .collect();
    script.extend(
        after
            .iter()
            .filter(|s| s.role)
            .map(|s| added_step(p, s, false)),
    );
    if after.iter().any(|s| !s.role) {
        script.push("rm -f \"$AWS_WEB_IDENTITY_TOKEN_FILE\"".into());
        script.extend(
            after
                .iter()
                .filter(|s| !s.role)
                .map(|s| added_step(p, s, true)),
        );
    }
    script
}

/// `export NAME='value'`: the value taken literally. A `$` or backquote in it is meant as
/// itself, which the directive tells shellcheck (SC2016 asks whether it was meant to expand).
pub fn export_literal(name: &str, value: &str) -> String {
    let directive = if value.contains(['$', '`']) {
        "# shellcheck disable=SC2016 # taken literally, as the config says\n"
    } else {
        ""
    };
    format!("{directive}export {name}={}", sh_quote(value))
}
