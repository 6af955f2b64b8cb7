//! The `sampipe.yaml` contract (see PRODUCT.md): serde types, defaults, and nothing else.
//! Checks that need more than the shape of the document live in `validate.rs`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// The whole config file.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The config format version. Only `1` exists.
    #[schemars(example = 1)]
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// `[a-z][a-z0-9-]*`; prefixes every physical name and tags every resource.
    #[schemars(example = &"sam-app")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]*$"))]
    pub app: String,
    /// The application's SAM template, relative to the repository root. Default: `template.yaml`.
    #[serde(default = "defaults::sam_template")]
    #[schemars(example = &"template.yaml")]
    pub sam_template: String,
    /// GitHub: where `sampipe synth` writes the workflow and `sampipe check` compares it,
    /// relative to the repository root (the config file's directory); the trust policies bind
    /// `job_workflow_ref` to it. Default: `.github/workflows/pipeline.yaml`.
    #[serde(default = "defaults::workflow_path")]
    #[schemars(example = &".github/workflows/pipeline.yaml")]
    pub workflow_path: String,
    pub source: Source,
    /// The deployment branch (also the repository's default branch). Default: `main`.
    #[serde(default = "defaults::branch")]
    #[schemars(example = &"main")]
    pub branch: String,
    /// Optional glob: pushes to matching branches deploy a per-branch stack to the first stage.
    #[serde(default)]
    #[schemars(example = &"feature*")]
    pub feature_branches: Option<String>,
    /// One or more stages, deployed in this order.
    #[schemars(length(min = 1))]
    #[schemars(example = serde_json::json!([{"name": "dev", "account": "111111111111", "region": "us-east-2"}]))]
    pub stages: Vec<Stage>,
    /// Settings of the generated workflow.
    #[serde(default)]
    pub workflow: WorkflowSettings,
    /// What the CloudFormation execution role (the role that deploys the application) may do.
    #[serde(default)]
    pub cloudformation_execution_role: ExecutionRoleSettings,
    /// The application's SAM template as synth read it ([`crate::app::parse`]): filled in by
    /// [`crate::config::load_file`] from `sam_template`; `None` when the config was loaded from
    /// text alone (synth then assumes nothing about the functions). Not a config key.
    #[serde(skip)]
    #[schemars(skip)]
    pub sam_app: Option<crate::app::SamApp>,
}

impl Config {
    /// `workflow_path` when the config does not set it.
    pub const DEFAULT_WORKFLOW_PATH: &'static str = ".github/workflows/pipeline.yaml";
}

/// Where the code lives and which CI system runs the pipeline: exactly one of `github`,
/// `gitlab` and `bitbucket`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct Source {
    /// GitHub Actions: writes the workflow at `workflow_path`.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"repository": "octo-org/sam-app"}))]
    pub github: Option<GitHubSource>,
    /// GitLab CI/CD (gitlab.com or self-managed): writes `.gitlab-ci.yml` at the repository root.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"project": "octo-group/sam-app"}))]
    pub gitlab: Option<GitLabSource>,
    /// Bitbucket Cloud Pipelines: writes `bitbucket-pipelines.yml` at the repository root.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"workspace": "octo-workspace", "workspace_uuid": "{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}", "repository_uuid": "{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}"}))]
    pub bitbucket: Option<BitbucketSource>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitHubSource {
    /// `owner/name`.
    #[schemars(example = &"octo-org/sam-app")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$"))]
    pub repository: String,
    /// Numeric id of the owner; with `repository_id`, trust uses GitHub's immutable subjects.
    #[serde(default)]
    #[schemars(example = 123456)]
    pub owner_id: Option<u64>,
    /// Numeric id of the repository.
    #[serde(default)]
    #[schemars(example = 456789)]
    pub repository_id: Option<u64>,
}

/// A GitLab project. Its jobs get ID tokens (`id_tokens:`) whose `sub` is
/// `project_path:<project>:ref_type:branch:ref:<branch>`.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitLabSource {
    /// The project's full path, `group/subgroup/project`.
    #[schemars(example = &"octo-group/backend/sam-app")]
    #[schemars(regex(
        pattern = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$"
    ))]
    pub project: String,
    /// The GitLab instance, the issuer of its ID tokens. Default: `https://gitlab.com`.
    #[serde(default = "defaults::gitlab_url")]
    #[schemars(example = &"https://gitlab.example.com")]
    pub url: String,
    /// The `aud` the jobs request in `id_tokens:` and the IAM OIDC provider's client id.
    /// Default: the instance URL.
    #[serde(default)]
    #[schemars(example = &"https://gitlab.com")]
    pub audience: Option<String>,
}

/// A Bitbucket Cloud repository. Its steps get OIDC tokens (`oidc: true`) whose `sub` is
/// `{REPOSITORY_UUID}:{STEP_UUID}`, or `{REPOSITORY_UUID}:{ENVIRONMENT_UUID}:{STEP_UUID}` for a
/// deployment step; the UUIDs are on the repository's *Repository settings → OpenID Connect*
/// page.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BitbucketSource {
    /// The workspace ID (slug), as in `bitbucket.org/<workspace>/<repository>`.
    #[schemars(example = &"octo-workspace")]
    #[schemars(regex(pattern = r"^[a-z0-9_-]+$"))]
    pub workspace: String,
    /// The workspace UUID, with its braces.
    #[schemars(example = &"{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}")]
    #[schemars(regex(
        pattern = r"^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$"
    ))]
    pub workspace_uuid: String,
    /// The repository UUID, with its braces.
    #[schemars(example = &"{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}")]
    #[schemars(regex(
        pattern = r"^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$"
    ))]
    pub repository_uuid: String,
}

/// One deployment stage: an account and region the application is deployed to.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// `[a-z][a-z0-9-]*`, unique.
    #[schemars(example = &"dev")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]*$"))]
    pub name: String,
    /// The 12-digit AWS account id, as a quoted string.
    pub account: AccountId,
    /// The AWS region; `cn-*`, `us-gov-*` and other partitions get their own ARNs.
    #[schemars(example = &"us-east-2")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// The application stack. Default: `{app}-{name}`.
    #[serde(default)]
    #[schemars(example = &"sam-app-dev")]
    pub stack_name: Option<String>,
    /// Create an ECR repository for image-based functions. Default: `false`.
    #[serde(default)]
    #[schemars(example = true)]
    pub image_repository: bool,
    /// The deploy job's environment. GitHub: an environment (approvals); the OIDC subject
    /// becomes `environment:<name>`. GitLab: the job's `environment:` (protect it to restrict
    /// who deploys). Bitbucket: the step's `deployment:` environment.
    #[serde(default)]
    #[schemars(example = &"production")]
    pub environment: Option<String>,
    /// Bitbucket only: the UUID of `environment` (with braces); the stage's role then trusts only
    /// steps deploying to it.
    #[serde(default)]
    #[schemars(example = &"{0f1e2d3c-4b5a-4968-8776-655443322110}")]
    pub environment_uuid: Option<String>,
    /// GitLab and Bitbucket: the deploy job waits for a person to start it (`when: manual`,
    /// `trigger: manual`). On GitHub, give the stage an `environment` with required reviewers.
    /// Default: `false`.
    #[serde(default)]
    #[schemars(example = true)]
    pub manual_approval: bool,
    /// Extra `sam deploy --parameter-overrides` entries, `Key=Value`.
    #[serde(default)]
    #[schemars(example = ["LogLevel=warn"])]
    pub parameter_overrides: Vec<String>,
    /// Resources that already exist and are reused instead of created.
    #[serde(default)]
    pub existing: Existing,
}

/// Resources a stage reuses instead of creating (like `sam pipeline bootstrap`'s ARN prompts).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Existing {
    /// The account already has the CI system's OIDC provider (same URL). Default: `false`.
    #[serde(default)]
    #[schemars(example = true)]
    pub oidc_provider: bool,
    /// Name of an existing artifacts bucket.
    #[serde(default)]
    #[schemars(example = &"acme-sam-artifacts")]
    pub artifacts_bucket: Option<String>,
    /// ARN of an existing CloudFormation execution role.
    #[serde(default)]
    #[schemars(example = &"arn:aws:iam::111111111111:role/cfn-deployer")]
    pub cloudformation_execution_role: Option<String>,
    /// URI of an existing ECR repository (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`).
    #[serde(default)]
    #[schemars(example = &"111111111111.dkr.ecr.us-east-1.amazonaws.com/sam-app")]
    pub image_repository: Option<String>,
}

/// Knobs of the generated workflow.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowSettings {
    /// Workflow name. Default: `Pipeline`.
    #[schemars(example = &"Pipeline")]
    pub name: String,
    /// Runner label. Default: `ubuntu-latest`.
    #[schemars(example = &"ubuntu-latest")]
    pub runs_on: String,
    /// Command run by the `test` job; no `test` job when unset.
    #[schemars(example = &"make test")]
    pub unit_test_command: Option<String>,
    /// Command run after the first stage is deployed, gating later stages: with the first
    /// stage's role and the stack's outputs as `STACK_OUTPUT_<NAME>` (e.g.
    /// `STACK_OUTPUT_HELLOWORLDAPI`), in a checkout of the repository.
    #[schemars(example = &"make integration-test")]
    pub integration_test_command: Option<String>,
    /// GitLab and Bitbucket: the container image the jobs run in; it must have the AWS CLI, the
    /// SAM CLI and `python3` (the deploy jobs add the stage's permissions boundary to the app's
    /// roles with it). Default: an AWS SAM build image pinned to an exact version.
    #[schemars(example = &"public.ecr.aws/sam/build-python3.13:1.150.1")]
    pub image: Option<String>,
    /// Exact SAM CLI version for `aws-actions/setup-sam`; latest when unset.
    #[schemars(example = &"1.170.0")]
    pub sam_cli_version: Option<String>,
    /// `sam build --use-container`. Default: `false`.
    #[schemars(example = true)]
    pub use_container: bool,
    /// Cache the package managers' downloads (pip, npm, Maven, Gradle, Go modules, NuGet) of
    /// the runtimes the SAM template builds for, in the test and build jobs, kept per branch
    /// and keyed on the dependency files. GitHub and GitLab only: Bitbucket shares a cache
    /// between all branches, so a feature branch could plant what the deployment branch ships.
    /// Default: `false`.
    #[schemars(example = true)]
    pub cache: bool,
    /// Job timeout in minutes. Default: `30`.
    #[schemars(example = 30)]
    pub timeout_minutes: u32,
    /// `sam deploy --capabilities`. Default: `[CAPABILITY_IAM]`.
    #[schemars(example = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])]
    pub capabilities: Vec<String>,
    /// Environment variables of every job, generated and added: `NAME: value`, the value
    /// taken literally (never expanded). Names starting with `AWS_` or a CI system's own
    /// prefix, and the names the generated scripts use, are refused.
    #[schemars(example = serde_json::json!({"NODE_OPTIONS": "--max-old-space-size=4096"}))]
    pub env: IndexMap<String, String>,
    /// Your own steps, run in the generated jobs: before and after the build, and before and
    /// after each stage's deploy (feature-branch deploys included).
    pub steps: ExtraSteps,
    /// Your own jobs, each after the build or after a stage's deploy and before the next
    /// stage's, on the deployment branch. A later stage waits for them.
    #[schemars(example = serde_json::json!([{"id": "smoke-test", "after": "dev", "role": true, "run": "make smoke-test"}]))]
    pub jobs: Vec<ExtraJob>,
    /// Pin overrides: `owner/repo` → `{ sha, version }`.
    #[schemars(example = serde_json::json!({"actions/checkout": {"sha": "d23441a48e516b6c34aea4fa41551a30e30af803", "version": "v6.1.0"}}))]
    pub actions: IndexMap<String, ActionPin>,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        Self {
            name: "Pipeline".into(),
            runs_on: "ubuntu-latest".into(),
            unit_test_command: None,
            integration_test_command: None,
            image: None,
            sam_cli_version: None,
            use_container: false,
            cache: false,
            timeout_minutes: 30,
            capabilities: vec!["CAPABILITY_IAM".into()],
            env: IndexMap::new(),
            steps: ExtraSteps::default(),
            jobs: Vec::new(),
            actions: IndexMap::new(),
        }
    }
}

/// Where your own steps run in the generated jobs.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraSteps {
    /// In the build job, before `sam build` (e.g. install dependencies, write a file the
    /// build packages). Never with AWS credentials.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "Install dependencies", "run": "npm ci", "secrets": ["NPM_TOKEN"]}]))]
    pub before_build: Vec<ExtraStep>,
    /// In the build job, after `sam build`: the build output is in `.aws-sam/build`, and
    /// what a step writes there is deployed.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "Record the build", "run": "git rev-parse HEAD > .aws-sam/build/VERSION"}]))]
    pub after_build: Vec<ExtraStep>,
    /// In each deploy job, before `sam deploy`. Without `role: true` a step runs before the
    /// job gets the stage's credentials; with it, after.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "Migrate the database", "run": "make migrate", "role": true, "stages": ["dev"]}]))]
    pub before_deploy: Vec<ExtraStep>,
    /// In each deploy job, after `sam deploy`. With `role: true` a step keeps the stage's
    /// credentials and gets the stack's outputs as `STACK_OUTPUT_<NAME>`; without it, a step
    /// runs after the credentials are dropped.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "Smoke test", "run": "curl -fsS \"$STACK_OUTPUT_HELLOWORLDAPI\"", "role": true}]))]
    pub after_deploy: Vec<ExtraStep>,
}

/// One step of yours.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraStep {
    /// What the CI system shows for the step.
    #[schemars(example = &"Install dependencies")]
    pub name: String,
    /// The shell commands (bash on GitHub, the image's shell elsewhere). Values reach them
    /// through `env` and `secrets`, never pasted into the text.
    #[schemars(example = &"npm ci")]
    pub run: String,
    /// The step's environment variables, taken literally.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"LOG_LEVEL": "debug"}))]
    pub env: IndexMap<String, String>,
    /// Secrets the step gets as environment variables of the same name: GitHub
    /// `secrets.NAME`, GitLab masked CI/CD variables, Bitbucket secured variables.
    #[serde(default)]
    #[schemars(example = ["NPM_TOKEN"])]
    pub secrets: Vec<String>,
    /// Deploy steps only: run with the stage's role (the deploy job's credentials). Default:
    /// `false`.
    #[serde(default)]
    #[schemars(example = true)]
    pub role: bool,
    /// Deploy steps only: the stages whose deploy jobs run the step. Default: every stage.
    #[serde(default)]
    #[schemars(example = ["dev"])]
    pub stages: Option<Vec<String>>,
}

/// One job of yours, in the deployment branch's pipeline.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraJob {
    /// `[a-z][a-z0-9-]*`, unique, and none of the generated jobs' ids.
    #[schemars(example = &"smoke-test")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]*$"))]
    pub id: String,
    /// What the CI system shows. Default: the id.
    #[serde(default)]
    #[schemars(example = &"Smoke test on dev")]
    pub name: Option<String>,
    /// `build`, or the name of the stage whose deploy the job follows.
    #[schemars(example = &"dev")]
    pub after: String,
    /// The shell commands, run in a checkout of the repository.
    #[schemars(example = &"make smoke-test")]
    pub run: String,
    /// The job's environment variables, taken literally.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"BASE_PATH": "/v1"}))]
    pub env: IndexMap<String, String>,
    /// Secrets the job gets as environment variables of the same name.
    #[serde(default)]
    #[schemars(example = ["API_KEY"])]
    pub secrets: Vec<String>,
    /// Assume the stage's pipeline role (the trust policy then admits this job) and get the
    /// stack's outputs as `STACK_OUTPUT_<NAME>`. Only for a job after a stage. Default: `false`.
    #[serde(default)]
    #[schemars(example = true)]
    pub role: bool,
}

/// A commit an action is pinned to, with its release for the trailing comment.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ActionPin {
    /// The full 40-character commit SHA of the release (a tag can be moved; a SHA cannot).
    #[schemars(example = &"3d3c42e5aac5ba805825da76410c181273ba90b1")]
    pub sha: String,
    /// The release the SHA belongs to, written as a comment next to it for reviewers.
    #[schemars(example = &"v7.0.1")]
    pub version: String,
}

/// Permissions of the CloudFormation execution roles. Default: derived from the resource
/// types the app's SAM template deploys, scoped to the stack, roles only with the stage's
/// permissions boundary.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRoleSettings {
    /// `derived` (default): what the app's resource types need, scoped to the stack.
    /// `admin`: every action on every resource, as `sam pipeline bootstrap` grants; the
    /// pipeline resources are still denied and `explain` says so loudly.
    #[serde(default)]
    pub permissions: Permissions,
    /// Statements added to the derived policy, to widen it on purpose (`${AWS::Partition}`,
    /// `${AWS::Region}` and `${AWS::AccountId}` are substituted). The denies that protect the
    /// pipeline resources still win.
    #[serde(default)]
    #[schemars(example = statements_example())]
    pub statements: Vec<ExtraStatement>,
    /// Managed policies attached besides the derived policy (`${AWS::Partition}` and
    /// `${AWS::AccountId}` are substituted).
    #[serde(default)]
    #[schemars(example = ["arn:${AWS::Partition}:iam::aws:policy/AWSLambda_FullAccess"])]
    pub managed_policy_arns: Vec<String>,
    /// A permissions boundary for the role.
    #[serde(default)]
    #[schemars(example = &"arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/deploy-boundary")]
    pub permissions_boundary: Option<String>,
}

/// How the CloudFormation execution roles get their permissions.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Permissions {
    /// Derived from the app's SAM template.
    #[default]
    Derived,
    /// Every action on every resource (SAM's default).
    Admin,
}

/// An IAM statement of the execution role, as written in the config.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraStatement {
    /// The statement id: letters and digits.
    #[schemars(example = &"AllowQueues")]
    pub sid: String,
    /// `Allow` (default) or `Deny`.
    #[serde(default)]
    pub effect: StatementEffect,
    /// IAM actions, e.g. `sqs:CreateQueue`.
    #[schemars(example = ["sqs:CreateQueue"])]
    pub actions: Vec<String>,
    /// ARNs the actions apply to.
    #[schemars(example = ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:shared-*"])]
    pub resources: Vec<String>,
}

fn statements_example() -> Vec<serde_json::Value> {
    vec![serde_json::json!({
        "sid": "AllowSharedQueues",
        "actions": ["sqs:SendMessage"],
        "resources": ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:shared-*"],
    })]
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum StatementEffect {
    #[default]
    Allow,
    Deny,
}

/// An account id as written. Unquoted numbers are kept apart so validation can explain that
/// YAML drops their leading zeros.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountId {
    Quoted(String),
    Unquoted(u64),
}

impl AccountId {
    /// The id as text (an unquoted number is printed as YAML read it).
    pub fn as_text(&self) -> String {
        match self {
            Self::Quoted(s) => s.clone(),
            Self::Unquoted(n) => n.to_string(),
        }
    }
}

/// Schema: a quoted 12-digit string (an unquoted number is accepted by the parser only to
/// explain the mistake).
impl JsonSchema for AccountId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{12}$",
            "description": "The 12-digit AWS account id, in quotes.",
            "examples": ["111111111111"]
        })
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AccountId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a 12-digit account id in quotes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AccountId, E> {
                Ok(AccountId::Quoted(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AccountId, E> {
                Ok(AccountId::Unquoted(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

mod defaults {
    pub(super) fn sam_template() -> String {
        "template.yaml".into()
    }
    pub(super) fn workflow_path() -> String {
        super::Config::DEFAULT_WORKFLOW_PATH.into()
    }
    pub(super) fn gitlab_url() -> String {
        "https://gitlab.com".into()
    }
    pub(super) fn branch() -> String {
        "main".into()
    }
}
