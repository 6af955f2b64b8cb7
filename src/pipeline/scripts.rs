//! Shell the CI files share, written once so that every CI system builds and names the same
//! things: where `sam build` puts its output, the feature stack's name, and `sam deploy`.

use crate::pipeline::names::{feature_stack_prefix, STACK_NAME_MAX};
use crate::pipeline::{Pipeline, StagePlan};

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
}

impl DeployWords {
    /// The words for a job whose environment carries `ARTIFACTS_BUCKET`,
    /// `CLOUDFORMATION_EXECUTION_ROLE`, `IMAGE_REPOSITORY` and `region_variable`.
    pub fn from_env(p: &Pipeline, stack: &str, region_variable: &str) -> Self {
        Self {
            stack: stack.to_owned(),
            bucket: "\"$ARTIFACTS_BUCKET\"".into(),
            region: format!("\"${region_variable}\""),
            role: "\"$CLOUDFORMATION_EXECUTION_ROLE\"".into(),
            image_repository: "\"$IMAGE_REPOSITORY\"".into(),
            // Validated `CAPABILITY_*` names.
            capabilities: p.workflow.capabilities.join(" "),
        }
    }
}

/// `sam deploy` of the built template to `stage` with `words`. With `overrides`, the stage's
/// parameter overrides are read from `$PARAMETER_OVERRIDES` (the JSON of
/// [`parameter_overrides_json`], which the job must set) through a file, so no value is
/// ever parsed by the shell.
pub fn sam_deploy(stage: &StagePlan, words: &DeployWords, overrides: bool) -> String {
    let overrides = overrides && !stage.parameter_overrides.is_empty();
    let mut source = String::new();
    if overrides {
        source.push_str(&format!(
            "parameters=\"$(mktemp -d)/parameter-overrides.yaml\"\nprintf '%s' \"${PARAMETER_OVERRIDES_VARIABLE}\" > \"$parameters\"\n"
        ));
    }
    source.push_str(&format!(
        "sam deploy \\\n  --template-file {BUILD_DIR}/template.yaml \\\n  --stack-name {stack} \\\n  --s3-bucket {bucket} \\\n  --s3-prefix {stack} \\\n  --region {region} \\\n  --role-arn {role} \\\n",
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
