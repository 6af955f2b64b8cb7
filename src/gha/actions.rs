//! The third-party actions a generated workflow uses, pinned to commits, and step presets for them.
//!
//! A workflow that pins `owner/repo@<40-hex sha>` is immune to a moved tag; the version the commit
//! was released as is kept beside it, to be written as a ` # v7.0.1` comment (see
//! [`annotate`](super::annotate())). The defaults in [`Pins`] are each action's latest
//! release, read from the action's own repository.
//!
//! See <https://docs.github.com/en/actions/reference/security/secure-use#using-third-party-actions>.

use thiserror::Error;

use super::expr::{Literal, Text};
use super::step::{Step, Uses};

/// An action pinned to a commit: renders as `uses: actions/checkout@3d3c…90b1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionRef {
    repo: String,
    sha: String,
    version: String,
}

impl ActionRef {
    /// Pins `repo` (`owner/name`, optionally followed by `/path`) to the commit `sha`
    /// (40 lowercase hex digits), released as `version` (e.g. `v7.0.1`).
    pub fn new(
        repo: impl Into<String>,
        sha: impl Into<String>,
        version: impl Into<String>,
    ) -> Result<Self, PinError> {
        let (repo, sha, version) = (repo.into(), sha.into(), version.into());
        if !is_repo(&repo) {
            return Err(PinError::InvalidRepo { repo });
        }
        if !is_sha(&sha) {
            return Err(PinError::InvalidSha { repo, sha });
        }
        if version.is_empty() || version.contains(|c: char| c.is_whitespace() || c == '#') {
            return Err(PinError::InvalidVersion { repo, version });
        }
        Ok(Self { repo, sha, version })
    }

    /// `owner/name`, e.g. `actions/checkout`.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The pinned commit.
    pub fn sha(&self) -> &str {
        &self.sha
    }

    /// The release the commit belongs to, e.g. `v7.0.1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `uses:` value: `owner/name@<sha>`.
    pub fn uses(&self) -> String {
        format!("{}@{}", self.repo, self.sha)
    }
}

fn is_repo(repo: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let parts: Vec<&str> = repo.split('/').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|part| !matches!(*part, "" | "." | "..") && part.chars().all(name_char))
}

fn is_sha(sha: &str) -> bool {
    sha.len() == 40 && sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// Why an action cannot be pinned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PinError {
    /// The repository is not `owner/name` (optionally followed by `/path`).
    #[error("action `{repo}` is not of the form `owner/name`")]
    InvalidRepo {
        /// The rejected repository.
        repo: String,
    },
    /// The commit is not 40 lowercase hex digits.
    #[error("commit `{sha}` for `{repo}` is not a full 40-hex-digit commit SHA")]
    InvalidSha {
        /// The action.
        repo: String,
        /// The rejected commit.
        sha: String,
    },
    /// The version is empty or contains whitespace or `#`.
    #[error("version `{version}` for `{repo}` must be non-empty, without whitespace or `#`")]
    InvalidVersion {
        /// The action.
        repo: String,
        /// The rejected version.
        version: String,
    },
    /// [`Pins`] has no preset for this action.
    #[error(
        "no preset uses `{repo}`; known actions are `actions/checkout`, \
         `aws-actions/configure-aws-credentials`, `aws-actions/setup-sam`, \
         `actions/upload-artifact`, `actions/download-artifact`, `actions/setup-python`, \
         `actions/setup-node`, `actions/setup-java`, `actions/setup-go`, \
         `actions/setup-dotnet`, `ruby/setup-ruby` and `actions/cache`"
    )]
    UnknownAction {
        /// The action.
        repo: String,
    },
}

/// The commits the step presets pin, one per action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    checkout: ActionRef,
    configure_aws_credentials: ActionRef,
    setup_sam: ActionRef,
    upload_artifact: ActionRef,
    download_artifact: ActionRef,
    setup_python: ActionRef,
    setup_node: ActionRef,
    setup_java: ActionRef,
    setup_go: ActionRef,
    setup_dotnet: ActionRef,
    setup_ruby: ActionRef,
    cache: ActionRef,
}

pub(crate) const CHECKOUT: &str = "actions/checkout";
pub(crate) const CONFIGURE_AWS_CREDENTIALS: &str = "aws-actions/configure-aws-credentials";
const SETUP_SAM: &str = "aws-actions/setup-sam";
const UPLOAD_ARTIFACT: &str = "actions/upload-artifact";
const DOWNLOAD_ARTIFACT: &str = "actions/download-artifact";
const SETUP_PYTHON: &str = "actions/setup-python";
const SETUP_NODE: &str = "actions/setup-node";
const SETUP_JAVA: &str = "actions/setup-java";
const SETUP_GO: &str = "actions/setup-go";
const SETUP_DOTNET: &str = "actions/setup-dotnet";
const SETUP_RUBY: &str = "ruby/setup-ruby";
const CACHE: &str = "actions/cache";

impl Default for Pins {
    fn default() -> Self {
        let pin = |repo: &str, sha: &str, version: &str| ActionRef {
            repo: repo.to_owned(),
            sha: sha.to_owned(),
            version: version.to_owned(),
        };
        Self {
            checkout: pin(
                CHECKOUT,
                "3d3c42e5aac5ba805825da76410c181273ba90b1",
                "v7.0.1",
            ),
            configure_aws_credentials: pin(
                CONFIGURE_AWS_CREDENTIALS,
                "e6de054238d6b7531b4efff3b6587d9aade6a06c",
                "v6.2.3",
            ),
            setup_sam: pin(SETUP_SAM, "89ddb14d60e682855e3fea4be85b3c56485de310", "v3"),
            upload_artifact: pin(
                UPLOAD_ARTIFACT,
                "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
                "v7.0.0",
            ),
            download_artifact: pin(
                DOWNLOAD_ARTIFACT,
                "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
                "v8.0.1",
            ),
            // The language set-up actions: each repository's latest release tag (highest
            // `vX.Y.Z`) and the commit it points to (`git rev-parse 'vX.Y.Z^{commit}'` in a
            // clone of github.com/<repo>), read on 2026-12-03.
            setup_python: pin(
                SETUP_PYTHON,
                "5fda3b95a4ea91299a34e894583c3862153e4b97",
                "v7.0.0",
            ),
            setup_node: pin(
                SETUP_NODE,
                "820762786026740c76f36085b0efc47a31fe5020",
                "v7.0.0",
            ),
            setup_java: pin(
                SETUP_JAVA,
                "b6effb05e454b25005698d916606bdc6ffcbf961",
                "v5.7.0",
            ),
            setup_go: pin(
                SETUP_GO,
                "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e",
                "v7.0.0",
            ),
            setup_dotnet: pin(
                SETUP_DOTNET,
                "a98b56852c35b8e3190ac28c8c2271da59106c68",
                "v6.0.0",
            ),
            setup_ruby: pin(
                SETUP_RUBY,
                "0dafeac902942906541bc140009cdbf32665b601",
                "v1.315.0",
            ),
            // Read the same way on 2026-12-04.
            cache: pin(CACHE, "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
        }
    }
}

impl Pins {
    /// Pins `repo` (one of the five preset actions) to `sha`, released as `version`.
    pub fn set(mut self, repo: &str, sha: &str, version: &str) -> Result<Self, PinError> {
        let action = ActionRef::new(repo, sha, version)?;
        let slot = match repo {
            CHECKOUT => &mut self.checkout,
            CONFIGURE_AWS_CREDENTIALS => &mut self.configure_aws_credentials,
            SETUP_SAM => &mut self.setup_sam,
            UPLOAD_ARTIFACT => &mut self.upload_artifact,
            DOWNLOAD_ARTIFACT => &mut self.download_artifact,
            SETUP_PYTHON => &mut self.setup_python,
            SETUP_NODE => &mut self.setup_node,
            SETUP_JAVA => &mut self.setup_java,
            SETUP_GO => &mut self.setup_go,
            SETUP_DOTNET => &mut self.setup_dotnet,
            SETUP_RUBY => &mut self.setup_ruby,
            CACHE => &mut self.cache,
            _ => return Err(PinError::UnknownAction { repo: repo.into() }),
        };
        *slot = action;
        Ok(self)
    }

    /// The pin of `repo`, if it is one of the five preset actions.
    pub fn get(&self, repo: &str) -> Option<&ActionRef> {
        self.iter().find(|action| action.repo == repo)
    }

    /// Every pin.
    pub fn iter(&self) -> impl Iterator<Item = &ActionRef> {
        [
            &self.checkout,
            &self.configure_aws_credentials,
            &self.setup_sam,
            &self.upload_artifact,
            &self.download_artifact,
            &self.setup_python,
            &self.setup_node,
            &self.setup_java,
            &self.setup_go,
            &self.setup_dotnet,
            &self.setup_ruby,
            &self.cache,
        ]
        .into_iter()
    }
}

/// Installs the language toolchain a Lambda runtime builds with, at the runtime's version.
/// Caches stay off: the build job's output is deployed, and a cache another branch could
/// write must not feed it.
///
/// ```yaml
/// - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97
///   with:
///     python-version: '3.12'
/// ```
pub fn setup_toolchain(pins: &Pins, toolchain: &crate::app::Toolchain) -> Step<Uses> {
    use crate::app::Toolchain;
    let version = |v: &str| Literal::constant_owned(v.to_owned());
    match toolchain {
        Toolchain::Python(v) => {
            Step::uses(pins.setup_python.clone()).with("python-version", version(v))
        }
        Toolchain::Node(v) => Step::uses(pins.setup_node.clone())
            .with("node-version", version(v))
            .with("package-manager-cache", false),
        Toolchain::Java(v) => Step::uses(pins.setup_java.clone())
            // Amazon Corretto: the JDK Lambda's Java runtimes run.
            .with("distribution", Literal::constant("corretto"))
            .with("java-version", version(v)),
        Toolchain::Go => Step::uses(pins.setup_go.clone())
            .with("go-version", Literal::constant("stable"))
            .with("cache", false),
        Toolchain::Dotnet(v) => {
            Step::uses(pins.setup_dotnet.clone()).with("dotnet-version", version(v))
        }
        Toolchain::Ruby(v) => Step::uses(pins.setup_ruby.clone()).with("ruby-version", version(v)),
    }
}

/// Restores `paths` from the cache entry `key` (or the newest whose key starts with one of
/// `restore_keys`), and saves them under `key` when the job succeeds without an exact hit.
/// GitHub scopes entries to a branch: a run reads its own branch's and the default branch's,
/// so the deployment branch never reads what a feature branch saved.
///
/// ```yaml
/// - uses: actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae
///   with:
///     path: .aws-sam/dependencies/pip
///     key: sampipe-dependencies-${{ runner.os }}-${{ hashFiles('**/requirements*.txt') }}
///     restore-keys: sampipe-dependencies-${{ runner.os }}-
/// ```
pub fn cache(pins: &Pins, paths: Literal, key: Text, restore_keys: Text) -> Step<Uses> {
    Step::uses(pins.cache.clone())
        .with("path", paths)
        .with("key", key)
        .with("restore-keys", restore_keys)
}

/// Checks out the repository without leaving the token in `.git/config`:
///
/// ```yaml
/// - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
///   with:
///     persist-credentials: false
/// ```
pub fn checkout(pins: &Pins) -> Step<Uses> {
    Step::uses(pins.checkout.clone()).with("persist-credentials", false)
}

/// Installs the SAM CLI; `version` pins it (default: the latest), `use_installer` picks the
/// native installer over pip (omitted when `false`, the action's default):
///
/// ```yaml
/// - uses: aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310
///   with:
///     version: 1.150.1
///     use-installer: true
/// ```
pub fn setup_sam(pins: &Pins, version: Option<Literal>, use_installer: bool) -> Step<Uses> {
    let step = Step::uses(pins.setup_sam.clone());
    let step = match version {
        Some(version) => step.with("version", version),
        None => step,
    };
    if use_installer {
        step.with("use-installer", true)
    } else {
        step
    }
}

/// The inputs of [`configure_aws_credentials`], named after the action's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `role-to-assume`: the role ARN.
    pub role_to_assume: Text,
    /// `aws-region`.
    pub aws_region: Text,
    /// `role-session-name`, shown in CloudTrail.
    pub role_session_name: Text,
    /// `allowed-account-ids`, comma-separated; the step fails when the credentials belong to
    /// another account. Omitted when empty.
    pub allowed_account_ids: Vec<Literal>,
    /// `role-duration-seconds`. Default: 3600.
    pub role_duration_seconds: Option<u32>,
    /// `role-skip-session-tagging`. Default: `false`.
    pub role_skip_session_tagging: Option<bool>,
    /// `audience` of the OIDC token. Default: `sts.amazonaws.com`.
    pub audience: Option<Text>,
}

/// Assumes a role through GitHub's OIDC provider (the job needs `id-token: write`):
///
/// ```yaml
/// - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c
///   with:
///     role-to-assume: arn:aws:iam::111111111111:role/sam-app-dev-pipeline-execution-role
///     aws-region: us-east-2
///     role-session-name: deploy-dev
///     allowed-account-ids: '111111111111'
/// ```
pub fn configure_aws_credentials(pins: &Pins, credentials: AwsCredentials) -> Step<Uses> {
    let AwsCredentials {
        role_to_assume,
        aws_region,
        role_session_name,
        allowed_account_ids,
        role_duration_seconds,
        role_skip_session_tagging,
        audience,
    } = credentials;
    let mut step = Step::uses(pins.configure_aws_credentials.clone())
        .with("role-to-assume", role_to_assume)
        .with("aws-region", aws_region)
        .with("role-session-name", role_session_name);
    if !allowed_account_ids.is_empty() {
        let ids = Literal::comma_separated(&allowed_account_ids);
        step = step.with("allowed-account-ids", ids);
    }
    if let Some(seconds) = role_duration_seconds {
        step = step.with("role-duration-seconds", seconds);
    }
    if let Some(skip) = role_skip_session_tagging {
        step = step.with("role-skip-session-tagging", skip);
    }
    if let Some(audience) = audience {
        step = step.with("audience", audience);
    }
    step
}

/// Uploads `path` as the artifact `name`, failing when nothing matches:
///
/// ```yaml
/// - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f
///   with:
///     name: sam-build
///     path: .aws-sam/build
///     if-no-files-found: error
///     retention-days: 1
/// ```
pub fn upload_artifact(
    pins: &Pins,
    name: impl Into<Text>,
    path: impl Into<Text>,
    retention_days: Option<u32>,
) -> Step<Uses> {
    let step = Step::uses(pins.upload_artifact.clone())
        .with("name", name.into())
        .with("path", path.into())
        .with("if-no-files-found", Literal::constant("error"));
    match retention_days {
        Some(days) => step.with("retention-days", days),
        None => step,
    }
}

/// Downloads the artifact `name` into `path`:
///
/// ```yaml
/// - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c
///   with:
///     name: sam-build
///     path: .aws-sam/build
/// ```
pub fn download_artifact(pins: &Pins, name: impl Into<Text>, path: impl Into<Text>) -> Step<Uses> {
    Step::uses(pins.download_artifact.clone())
        .with("name", name.into())
        .with("path", path.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::render::ToYaml;
    use crate::gha::testing::{assert_yaml, expr, lit};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn render(step: Step<Uses>) -> serde_yaml::Value {
        Step::from(step).to_yaml()
    }

    #[test]
    fn defaults_are_valid_pins() {
        for action in Pins::default().iter() {
            let checked = ActionRef::new(action.repo(), action.sha(), action.version());
            assert_eq!(checked.as_ref(), Ok(action));
        }
        assert_eq!(
            Pins::default().get("actions/checkout").map(ActionRef::uses),
            Some("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1".to_owned())
        );
    }

    #[test]
    fn set_overrides_one_pin() {
        let pins = Pins::default()
            .set("actions/checkout", SHA, "v6.1.0")
            .expect("valid pin");
        let checkout = pins.get("actions/checkout").expect("checkout is pinned");
        assert_eq!((checkout.sha(), checkout.version()), (SHA, "v6.1.0"));
        assert_eq!(
            pins.get("aws-actions/setup-sam"),
            Pins::default().get("aws-actions/setup-sam")
        );
    }

    #[test]
    fn set_validates_sha_repo_and_version() {
        let pins = Pins::default();
        let short = pins.clone().set("actions/checkout", "3d3c42e", "v7");
        assert_eq!(
            short.expect_err("short SHA").to_string(),
            "commit `3d3c42e` for `actions/checkout` is not a full 40-hex-digit commit SHA"
        );
        let upper = SHA.to_uppercase();
        assert!(matches!(
            pins.clone().set("actions/checkout", &upper, "v7"),
            Err(PinError::InvalidSha { .. })
        ));
        assert!(matches!(
            pins.clone().set("actions/checkout", SHA, "v7 # x"),
            Err(PinError::InvalidVersion { .. })
        ));
        assert!(matches!(
            pins.clone().set("checkout", SHA, "v7"),
            Err(PinError::InvalidRepo { .. })
        ));
        assert_eq!(
            pins.set("actions/github-script", SHA, "v8"),
            Err(PinError::UnknownAction {
                repo: "actions/github-script".into()
            })
        );
    }

    #[test]
    fn repo_may_name_a_path_inside_the_repository() {
        assert!(ActionRef::new("github/codeql-action/init", SHA, "v3").is_ok());
        assert!(ActionRef::new("github/codeql-action/", SHA, "v3").is_err());
        assert!(ActionRef::new("owner//init", SHA, "v3").is_err());
        assert!(ActionRef::new("owner/repo/..", SHA, "v3").is_err());
    }

    #[test]
    fn checkout_does_not_persist_credentials() {
        assert_yaml(
            &render(checkout(&Pins::default())),
            "
uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
with:
  persist-credentials: false
",
        );
    }

    #[test]
    fn setup_sam_renders_optional_inputs() {
        let pins = Pins::default();
        assert_yaml(
            &render(setup_sam(&pins, Some(lit("1.150.1")), true)),
            "
uses: aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310
with:
  version: 1.150.1
  use-installer: true
",
        );
        assert_yaml(
            &render(setup_sam(&pins, None, false)),
            "uses: aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310\n",
        );
    }

    #[test]
    fn configure_aws_credentials_renders_every_input() {
        let step = configure_aws_credentials(
            &Pins::default(),
            AwsCredentials {
                role_to_assume: expr("vars.ROLE_ARN").into(),
                aws_region: lit("us-east-2").into(),
                role_session_name: lit("deploy-dev").into(),
                allowed_account_ids: vec![lit("111111111111"), lit("222222222222")],
                role_duration_seconds: Some(900),
                role_skip_session_tagging: Some(true),
                audience: Some(lit("sts.amazonaws.com").into()),
            },
        );
        assert_yaml(
            &render(step),
            "
uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c
with:
  role-to-assume: ${{ vars.ROLE_ARN }}
  aws-region: us-east-2
  role-session-name: deploy-dev
  allowed-account-ids: 111111111111,222222222222
  role-duration-seconds: 900
  role-skip-session-tagging: true
  audience: sts.amazonaws.com
",
        );
    }

    #[test]
    fn artifact_presets() {
        let pins = Pins::default();
        assert_yaml(
            &render(upload_artifact(
                &pins,
                lit("sam-build"),
                lit(".aws-sam/build"),
                Some(1),
            )),
            "
uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f
with:
  name: sam-build
  path: .aws-sam/build
  if-no-files-found: error
  retention-days: 1
",
        );
        assert_yaml(
            &render(download_artifact(
                &pins,
                lit("sam-build"),
                lit(".aws-sam/build"),
            )),
            "
uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c
with:
  name: sam-build
  path: .aws-sam/build
",
        );
    }
}
