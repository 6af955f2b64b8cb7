//! The pipeline model: a validated config resolved into everything both outputs need — every
//! physical name, ARN and URI per stage, and the list of jobs that assume a role together with
//! the OIDC claims each presents. `template.yaml` and `pipeline.yaml` are both rendered from
//! this one value, which is why their trust policies and jobs cannot disagree.

pub mod bitbucket;
pub mod cache;
pub mod extend;
pub mod gitlab;
pub mod names;
pub mod provider;
pub mod scripts;
pub mod template;
pub mod workflow;

use std::collections::HashSet;

use crate::config::model::{ExecutionRoleSettings, WorkflowSettings};
use crate::config::validate::region_partition;
use crate::config::Config;
use crate::diag::{ConfigPath, Diagnostic};

pub use provider::{BitbucketRepository, GitLabProject, Provider, Repository};

/// Everything about one stage that the template and the workflow name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlan {
    pub name: String,
    pub account: String,
    pub region: String,
    pub partition: &'static str,
    /// The application stack `sam deploy` creates.
    pub stack_name: String,
    pub environment: Option<String>,
    /// Bitbucket: the deployment environment's UUID, part of the deploy step's `sub`.
    pub environment_uuid: Option<String>,
    /// GitLab and Bitbucket: a person starts the deploy job.
    pub manual_approval: bool,
    pub parameter_overrides: Vec<String>,
    /// The stack that holds this stage's pipeline resources (deployed from template.yaml).
    pub resources_stack_name: String,
    pub pipeline_role_name: String,
    pub pipeline_role_arn: String,
    /// Created by the template (`Some(name)`) or reused.
    pub cfn_role_name: Option<String>,
    pub cfn_role_arn: String,
    /// The permissions boundary every role the application stack creates must carry; made
    /// by the template along with the CloudFormation execution role (`None` when that role
    /// is reused: its policy, not sampipe's, decides what the stack may create).
    pub boundary: Option<NamedArn>,
    /// The feature-branch roles: only in the first stage, when feature branches deploy.
    pub feature: Option<FeatureRoles>,
    pub artifacts_bucket: String,
    /// The access-log bucket, when the template creates the artifacts bucket.
    pub log_bucket: Option<String>,
    pub image_repository: Option<ImageRepository>,
    pub oidc_provider_arn: String,
    /// Whether this stage's stack creates the account's OIDC provider (the first stage of
    /// each account, unless the config says it exists).
    pub create_oidc_provider: bool,
}

impl StagePlan {
    /// Whether the template creates the artifacts bucket (and its log bucket).
    pub fn creates_artifacts_bucket(&self) -> bool {
        self.log_bucket.is_some()
    }

    /// The roles a job of `kind` uses in this stage. A feature job in a stage without
    /// feature roles cannot exist ([`role_uses`] puts them in the first stage only, which has
    /// them); it gets the stage's own roles, which the trust proof would then reject.
    pub fn roles(&self, kind: RoleKind) -> DeployRoles<'_> {
        match (kind, &self.feature) {
            (RoleKind::Feature, Some(feature)) => DeployRoles {
                role_name: &feature.role.name,
                role_arn: &feature.role.arn,
                cfn_role_arn: &feature.cfn_role.arn,
                boundary_arn: Some(&feature.boundary.arn),
            },
            _ => DeployRoles {
                role_name: &self.pipeline_role_name,
                role_arn: &self.pipeline_role_arn,
                cfn_role_arn: &self.cfn_role_arn,
                boundary_arn: self.boundary.as_ref().map(|b| b.arn.as_str()),
            },
        }
    }
}

/// An IAM name and the ARN it has in the stage's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedArn {
    pub name: String,
    pub arn: String,
}

/// The first stage's roles for feature branches: a pipeline role trusted only for the
/// feature-branch pattern, the CloudFormation execution role it alone may pass, and the
/// boundary of the roles feature stacks create. None of them can touch a main stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureRoles {
    pub role: NamedArn,
    pub cfn_role: NamedArn,
    pub boundary: NamedArn,
    /// Feature stacks are named `{prefix}<branch slug>`.
    pub stack_prefix: String,
}

/// What a deploy job passes to `sam deploy`, by the kind of job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployRoles<'a> {
    pub role_name: &'a str,
    pub role_arn: &'a str,
    pub cfn_role_arn: &'a str,
    /// The boundary the deploy adds to every role the built template creates.
    pub boundary_arn: Option<&'a str>,
}

/// Which of a stage's pipeline roles a job assumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    /// The stage's pipeline execution role: deploys the stage's own stack.
    Pipeline,
    /// The first stage's feature role: deploys and deletes `{app}-feature-*` stacks.
    Feature,
}

impl RoleKind {
    /// The word `sampipe can --role` and `explain` use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Feature => "feature",
        }
    }
}

/// An ECR repository for image-based functions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRepository {
    pub name: String,
    pub uri: String,
    pub arn: String,
    pub create: bool,
}

/// The git ref a job runs for: one branch, or every branch matching a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefPattern {
    Branch(String),
    /// A glob where `*` matches any run of characters.
    BranchGlob(String),
}

impl RefPattern {
    /// The full ref, e.g. `refs/heads/main` or `refs/heads/feature*`.
    pub fn git_ref(&self) -> String {
        match self {
            Self::Branch(b) | Self::BranchGlob(b) => format!("refs/heads/{b}"),
        }
    }

    pub fn is_glob(&self) -> bool {
        matches!(self, Self::BranchGlob(_))
    }
}

/// Why a job runs: what GitHub puts in its OIDC token depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Push,
    /// A branch deletion. GitHub runs `delete` workflows on the default branch; GitLab runs
    /// the environment's stop job in the deleted branch's last pipeline.
    Delete,
    /// A person starts the job by hand (a Bitbucket custom pipeline).
    Manual,
}

/// A job that assumes a stage's pipeline execution role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleUse {
    pub job_id: String,
    /// Index into [`Pipeline::stages`].
    pub stage: usize,
    pub event: Event,
    /// The ref the job runs on (for `delete`, the default branch).
    pub runs_on_ref: RefPattern,
    pub environment: Option<String>,
    /// Bitbucket: the UUID of `environment`.
    pub environment_uuid: Option<String>,
    /// What the job does with the role, for `explain`.
    pub purpose: &'static str,
    /// Which of the stage's roles the job assumes.
    pub role: RoleKind,
}

/// The resolved pipeline.
#[derive(Clone, Debug)]
pub struct Pipeline {
    pub app: String,
    pub provider: Provider,
    pub branch: String,
    pub feature_branches: Option<String>,
    pub sam_template: String,
    pub workflow_path: String,
    pub stages: Vec<StagePlan>,
    /// Every job that assumes a role, in workflow order.
    pub role_uses: Vec<RoleUse>,
    pub workflow: WorkflowSettings,
    pub execution_role: ExecutionRoleSettings,
    /// The CloudFormation execution roles' policies, derived from the app.
    pub execution: crate::permissions::ExecutionPolicies,
    /// The pipeline resources no application stack may touch.
    pub protected: crate::permissions::protected::Protected,
    /// What synth read from the SAM template (empty when the config came without one).
    pub sam_app: crate::app::SamApp,
    /// The user's own steps, jobs, variables and secrets, and the integration tests.
    pub extensions: extend::Extensions,
}

/// The job ids the workflow uses; the trust model refers to jobs by these.
pub mod job_ids {
    pub const TEST: &str = "test";
    pub const BUILD: &str = "build";
    pub const INTEGRATION_TEST: &str = "integration-test";
    pub const DEPLOY_FEATURE: &str = "deploy-feature";
    pub const DELETE_FEATURE: &str = "delete-feature";

    /// `deploy-<stage>`.
    pub fn deploy(stage: &str) -> String {
        format!("deploy-{stage}")
    }
}

impl Pipeline {
    /// Resolves a validated config. Fails with located diagnostics when a derived name would
    /// break an AWS limit.
    pub fn new(config: &Config) -> Result<Self, Vec<Diagnostic>> {
        let provider = provider(config);
        let mut problems = Vec::new();
        let mut stages: Vec<StagePlan> = Vec::with_capacity(config.stages.len());
        let mut accounts = HashSet::new();
        for (index, stage) in config.stages.iter().enumerate() {
            let path = ConfigPath::root().key("stages").index(index);
            let account = stage.account.as_text();
            let partition = region_partition(&stage.region).unwrap_or("aws");
            let names = names::StageNames::new(&config.app, &stage.name, &account, &stage.region);
            problems.extend(names.check(&config.app, &stage.name, &path));
            let stack_name = stage
                .stack_name
                .clone()
                .unwrap_or_else(|| names.stack.clone());
            let existing = &stage.existing;
            // The first stage of each account creates the issuer's OIDC provider, unless the
            // account already has one; an account holds only one provider per URL.
            let first_of_account = accounts.insert(account.clone());
            let create_oidc_provider = !existing.oidc_provider && first_of_account;
            let url_suffix = names::url_suffix(partition);
            let role = |name: &str| NamedArn {
                name: name.to_owned(),
                arn: format!("arn:{partition}:iam::{account}:role/{name}"),
            };
            let policy = |name: &str| NamedArn {
                name: name.to_owned(),
                arn: format!("arn:{partition}:iam::{account}:policy/{name}"),
            };
            let image_repository = match (&existing.image_repository, stage.image_repository) {
                (Some(uri), _) => {
                    let name = uri.split_once('/').map_or("", |(_, n)| n).to_owned();
                    Some(ImageRepository {
                        arn: format!(
                            "arn:{partition}:ecr:{}:{account}:repository/{name}",
                            stage.region
                        ),
                        name,
                        uri: uri.clone(),
                        create: false,
                    })
                }
                (None, true) => Some(ImageRepository {
                    uri: format!(
                        "{account}.dkr.ecr.{}.{url_suffix}/{}",
                        stage.region, names.image_repository
                    ),
                    arn: format!(
                        "arn:{partition}:ecr:{}:{account}:repository/{}",
                        stage.region, names.image_repository
                    ),
                    name: names.image_repository.clone(),
                    create: true,
                }),
                (None, false) => None,
            };
            stages.push(StagePlan {
                name: stage.name.clone(),
                region: stage.region.clone(),
                partition,
                stack_name,
                environment: stage.environment.clone(),
                environment_uuid: stage.environment_uuid.clone(),
                manual_approval: stage.manual_approval,
                parameter_overrides: stage.parameter_overrides.clone(),
                resources_stack_name: names.resources_stack.clone(),
                pipeline_role_arn: format!(
                    "arn:{partition}:iam::{account}:role/{}",
                    names.pipeline_role
                ),
                pipeline_role_name: names.pipeline_role.clone(),
                cfn_role_arn: existing
                    .cloudformation_execution_role
                    .clone()
                    .unwrap_or_else(|| {
                        format!("arn:{partition}:iam::{account}:role/{}", names.cfn_role)
                    }),
                cfn_role_name: existing
                    .cloudformation_execution_role
                    .is_none()
                    .then(|| names.cfn_role.clone()),
                boundary: existing
                    .cloudformation_execution_role
                    .is_none()
                    .then(|| policy(&names.boundary)),
                feature: (index == 0 && config.feature_branches.is_some()).then(|| FeatureRoles {
                    role: role(&names.feature_role),
                    cfn_role: role(&names.feature_cfn_role),
                    boundary: policy(&names.feature_boundary),
                    stack_prefix: names::feature_stack_prefix(&config.app),
                }),
                artifacts_bucket: existing
                    .artifacts_bucket
                    .clone()
                    .unwrap_or_else(|| names.artifacts_bucket.clone()),
                log_bucket: existing
                    .artifacts_bucket
                    .is_none()
                    .then(|| names.log_bucket.clone()),
                image_repository,
                oidc_provider_arn: format!(
                    "arn:{partition}:iam::{account}:oidc-provider/{}",
                    provider.issuer_host()
                ),
                create_oidc_provider,
                account,
            });
        }
        let sam_app = config.sam_app.clone().unwrap_or_default();
        problems.extend(image_repository_problems(&sam_app, &stages));
        if let (Provider::GitHub(_), Some(version)) = (&provider, &config.workflow.sam_cli_version)
        {
            let too_old = crate::app::runtime::parse_sam_version(version)
                .is_some_and(|v| !sam_reads_parameter_files(v, &stages));
            if too_old {
                let (major, minor, patch) = crate::app::runtime::SAM_READS_PARAMETER_FILES;
                problems.push(Diagnostic::error(
                    "sam-cli-too-old",
                    format!("`workflow.sam_cli_version` {version} cannot read parameter overrides from a file (SAM CLI {major}.{minor}.{patch} and later can); the stages' `parameter_overrides` reach `sam deploy` that way"),
                )
                .at(ConfigPath::root().key("workflow").key("sam_cli_version"))
                .help(format!("use SAM CLI {major}.{minor}.{patch} or later, e.g. `sam_cli_version: {}`", crate::app::runtime::BUILD_IMAGE_SAM_VERSION)));
            }
        }
        if !matches!(provider, Provider::GitHub(_)) {
            match ci_image(&provider, &config.workflow, &sam_app) {
                Ok(image) => problems.extend(image_reads_parameter_files(&image, &stages)),
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }

        let protected = crate::permissions::protected::protected(&config.app, &stages);
        // What the policies refuse is in the SAM template: say which file.
        let execution = crate::permissions::policies(
            &sam_app,
            &stages,
            &config.cloudformation_execution_role,
            &protected,
        )
        .map_err(|problems| {
            problems
                .into_iter()
                .map(|mut d| {
                    d.message = format!("SAM template `{}`: {}", config.sam_template, d.message);
                    d
                })
                .collect::<Vec<_>>()
        })?;
        let extensions = extend::Extensions::new(config, &sam_app.outputs)?;
        let role_uses = role_uses(config, &provider, &stages, &extensions);
        Ok(Self {
            app: config.app.clone(),
            provider,
            branch: config.branch.clone(),
            feature_branches: config.feature_branches.clone(),
            sam_template: config.sam_template.clone(),
            workflow_path: config.workflow_path.clone(),
            stages,
            role_uses,
            workflow: config.workflow.clone(),
            execution_role: config.cloudformation_execution_role.clone(),
            execution,
            protected,
            sam_app,
            extensions,
        })
    }

    /// GitLab and Bitbucket: the image the jobs run in (see [`ci_image`]).
    pub fn ci_image(&self) -> Result<String, Diagnostic> {
        ci_image(&self.provider, &self.workflow, &self.sam_app)
    }

    /// The jobs that assume `stage`'s role.
    pub fn role_uses_of(&self, stage: usize) -> impl Iterator<Item = &RoleUse> {
        self.role_uses.iter().filter(move |u| u.stage == stage)
    }

    /// The jobs that assume each stage's role, indexed by stage: [`Pipeline::role_uses_of`]
    /// for every stage at once, in one pass (calling that per stage is quadratic).
    pub fn role_uses_by_stage(&self) -> Vec<Vec<&RoleUse>> {
        let mut by_stage = vec![Vec::new(); self.stages.len()];
        for use_ in &self.role_uses {
            if let Some(uses) = by_stage.get_mut(use_.stage) {
                uses.push(use_);
            }
        }
        by_stage
    }
}

/// Whether SAM CLI `version` can deploy these stages: it reads the parameter file, or no stage
/// has overrides to put in one.
fn sam_reads_parameter_files(version: (u32, u32, u32), stages: &[StagePlan]) -> bool {
    version >= crate::app::runtime::SAM_READS_PARAMETER_FILES
        || stages.iter().all(|s| s.parameter_overrides.is_empty())
}

/// The deploy scripts hand `sam deploy` its parameter overrides in a file, which SAM CLI reads
/// only since [`crate::app::runtime::SAM_READS_PARAMETER_FILES`]: an AWS SAM build image whose
/// tag names an older SAM CLI would fail every deploy that has overrides.
fn image_reads_parameter_files(image: &str, stages: &[StagePlan]) -> Option<Diagnostic> {
    use crate::app::runtime::{sam_version_of_build_image, SAM_READS_PARAMETER_FILES};
    let (major, minor, patch) = sam_version_of_build_image(image)?;
    if sam_reads_parameter_files((major, minor, patch), stages) {
        return None;
    }
    let (need_major, need_minor, need_patch) = SAM_READS_PARAMETER_FILES;
    Some(
        Diagnostic::error(
            "image-sam-too-old",
            format!(
                "`workflow.image` carries SAM CLI {major}.{minor}.{patch}, which cannot read parameter overrides from a file (SAM CLI {need_major}.{need_minor}.{need_patch} and later can); the stages' `parameter_overrides` reach `sam deploy` that way"
            ),
        )
        .at(ConfigPath::root().key("workflow").key("image"))
        .help(format!(
            "use a build image of SAM CLI {need_major}.{need_minor}.{need_patch} or later, e.g. `{}`, or remove `workflow.image` to get that one",
            image.split(':').next().unwrap_or(image).to_owned() + ":" + crate::app::runtime::BUILD_IMAGE_SAM_VERSION
        )),
    )
}

/// GitLab and Bitbucket: the image every job runs in. `workflow.image` when set; otherwise the
/// AWS SAM build image of the one runtime the functions and layers build for (the Python
/// 3.12 one when there is none, or when `use_container` builds each in its own image). Several
/// runtimes cannot share one SAM build image, and on GitLab image functions need a Docker CLI
/// (`docker save`/`load`), which the SAM build images lack: both need `workflow.image`.
fn ci_image(
    provider: &Provider,
    workflow: &WorkflowSettings,
    app: &crate::app::SamApp,
) -> Result<String, Diagnostic> {
    if let Some(image) = &workflow.image {
        // A SAM build image has one runtime's tools: it cannot build for another.
        let built_for = image
            .strip_prefix("public.ecr.aws/sam/build-")
            .and_then(|rest| rest.split([':', '@']).next());
        let runtimes = app.runtimes();
        if let (Some(built_for), false) = (built_for, workflow.use_container) {
            let others: Vec<String> = runtimes
                .iter()
                .filter(|r| r.as_str() != built_for)
                .map(|r| format!("`{r}`"))
                .collect();
            if !others.is_empty() {
                return Err(Diagnostic::error(
                    "image-runtime-mismatch",
                    format!(
                        "`workflow.image` is the AWS SAM build image for `{built_for}`, but the SAM template also builds for {}",
                        others.join(", ")
                    ),
                )
                .at(ConfigPath::root().key("workflow").key("image"))
                .help(match runtimes.as_slice() {
                    [one] => format!("use the build image for `{one}` (`{}`), or remove `workflow.image` to get it", crate::app::runtime::sam_build_image(one)),
                    _ => "use an image with every runtime the template builds for, or `workflow.use_container: true`".to_owned(),
                }));
            }
        }
        return Ok(image.clone());
    }
    let at = ConfigPath::root().key("workflow");
    if app.has_image_functions() && matches!(provider, Provider::GitLab(_)) {
        let functions: Vec<String> = app.image_functions().map(|f| format!("`{f}`")).collect();
        return Err(Diagnostic::error(
            "image-functions-need-an-image",
            format!(
                "the SAM template has image functions ({}), and the default job image has no Docker CLI to pass their images from the build job to the deploy jobs",
                functions.join(", ")
            ),
        )
        .at(at)
        .help("set `workflow.image` to an image with the SAM CLI, the AWS CLI, `python3` and the Docker CLI (for example one built `FROM public.ecr.aws/sam/build-python3.12` with `docker` installed), pinned to a digest"));
    }
    let runtimes = app.runtimes();
    if workflow.use_container {
        return Ok(scripts::default_image());
    }
    match runtimes.as_slice() {
        [] => Ok(scripts::default_image()),
        [runtime] => Ok(crate::app::runtime::sam_build_image(runtime)),
        several => Err(Diagnostic::error(
            "several-runtimes-need-an-image",
            format!(
                "the SAM template builds for {} runtimes ({}), and no AWS SAM build image has them all",
                several.len(),
                several.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
            ),
        )
        .at(at)
        .help("set `workflow.image` to an image with every one of them plus the SAM and AWS CLIs and `python3`, or `workflow.use_container: true` so that `sam build` builds each function in its runtime's own image")),
    }
}

/// Image functions are pushed by `sam deploy` to the stage's ECR repository: a stage without
/// one cannot deploy them.
fn image_repository_problems(app: &crate::app::SamApp, stages: &[StagePlan]) -> Vec<Diagnostic> {
    let functions: Vec<String> = app.image_functions().map(|f| format!("`{f}`")).collect();
    if functions.is_empty() {
        return Vec::new();
    }
    stages
        .iter()
        .enumerate()
        .filter(|(_, stage)| stage.image_repository.is_none())
        .map(|(index, stage)| {
            Diagnostic::error(
                "image-function-without-repository",
                format!(
                    "stage `{}` has no image repository, but the SAM template has image functions ({})",
                    stage.name,
                    functions.join(", ")
                ),
            )
            .at(ConfigPath::root().key("stages").index(index).key("name"))
            .help(format!(
                "add `image_repository: true` to stage `{}` (or `existing.image_repository: <ECR repository URI>`): `sam deploy` pushes the images there",
                stage.name
            ))
        })
        .collect()
}

/// The provider named by a validated config's `source`.
fn provider(config: &Config) -> Provider {
    let source = &config.source;
    if let Some(gitlab) = &source.gitlab {
        let url = gitlab
            .url
            .strip_suffix('/')
            .unwrap_or(&gitlab.url)
            .to_owned();
        return Provider::GitLab(GitLabProject {
            path: gitlab.project.clone(),
            audience: gitlab.audience.clone().unwrap_or_else(|| url.clone()),
            url,
        });
    }
    if let Some(bitbucket) = &source.bitbucket {
        return Provider::Bitbucket(BitbucketRepository {
            workspace: bitbucket.workspace.clone(),
            workspace_uuid: bitbucket.workspace_uuid.clone(),
            repository_uuid: bitbucket.repository_uuid.clone(),
        });
    }
    let github = source
        .github
        .clone()
        .unwrap_or_else(|| crate::config::model::GitHubSource {
            repository: String::new(),
            owner_id: None,
            repository_id: None,
        });
    let (owner, name) = github
        .repository
        .split_once('/')
        .unwrap_or((&github.repository, ""));
    Provider::GitHub(Repository {
        owner: owner.to_owned(),
        name: name.to_owned(),
        ids: github.owner_id.zip(github.repository_id),
    })
}

/// Decides which jobs assume which role. This is the single place where that is decided; the
/// CI file emits exactly these jobs and the trust policies admit exactly their claims.
fn role_uses(
    config: &Config,
    provider: &Provider,
    stages: &[StagePlan],
    extensions: &extend::Extensions,
) -> Vec<RoleUse> {
    let mut uses = Vec::new();
    if let (Some(glob), false) = (&config.feature_branches, stages.is_empty()) {
        // Feature stacks live in the first stage, deployed with its feature role, in no
        // environment: on Bitbucket that keeps their steps' subjects apart from those of the
        // stage's own deploy step, which deploys to the stage's environment.
        let (environment, environment_uuid): (Option<String>, Option<String>) = (None, None);
        uses.push(RoleUse {
            job_id: job_ids::DEPLOY_FEATURE.into(),
            stage: 0,
            event: Event::Push,
            runs_on_ref: RefPattern::BranchGlob(glob.clone()),
            environment: environment.clone(),
            environment_uuid: environment_uuid.clone(),
            purpose: "deploys a feature branch's own stack",
            role: RoleKind::Feature,
        });
        let (event, runs_on_ref) = match provider {
            // GitHub runs `delete` workflows on the default branch.
            Provider::GitHub(_) => (Event::Delete, RefPattern::Branch(config.branch.clone())),
            // GitLab stops the branch's environment in the branch's own last pipeline.
            Provider::GitLab(_) => (Event::Delete, RefPattern::BranchGlob(glob.clone())),
            // Bitbucket has no deletion trigger: a custom pipeline, run by hand on the
            // deployment branch with the feature branch's name as a variable.
            Provider::Bitbucket(_) => (Event::Manual, RefPattern::Branch(config.branch.clone())),
        };
        uses.push(RoleUse {
            job_id: job_ids::DELETE_FEATURE.into(),
            stage: 0,
            event,
            runs_on_ref,
            environment,
            environment_uuid,
            purpose: "deletes a deleted feature branch's stack",
            role: RoleKind::Feature,
        });
    }
    for (index, stage) in stages.iter().enumerate() {
        uses.push(RoleUse {
            job_id: job_ids::deploy(&stage.name),
            stage: index,
            event: Event::Push,
            runs_on_ref: RefPattern::Branch(config.branch.clone()),
            environment: stage.environment.clone(),
            environment_uuid: stage.environment_uuid.clone(),
            purpose: "deploys the application",
            role: RoleKind::Pipeline,
        });
        // Jobs after the deploy that test or use what it deployed, with the deploy job's
        // claims: the same branch and environment, so the trust policy admits no one new.
        for job in extensions.jobs_after(extend::After::Stage(index)) {
            if job.role {
                uses.push(RoleUse {
                    job_id: job.id.clone(),
                    stage: index,
                    event: Event::Push,
                    runs_on_ref: RefPattern::Branch(config.branch.clone()),
                    environment: stage.environment.clone(),
                    environment_uuid: stage.environment_uuid.clone(),
                    purpose: if job.id == job_ids::INTEGRATION_TEST {
                        "runs the integration tests against the deployed stage"
                    } else {
                        "runs a job of yours against the deployed stage"
                    },
                    role: RoleKind::Pipeline,
                });
            }
        }
    }
    uses
}

/// Both outputs, rendered, with the model they came from.
#[derive(Debug)]
pub struct Synthesis {
    pub pipeline: Pipeline,
    pub template: crate::cfn::Template,
    /// The GitHub workflow, when the provider is GitHub.
    pub workflow: Option<crate::gha::Workflow>,
    /// `template.yaml` and the CI file ([`Provider::file_name`]), ready to write.
    pub files: Vec<crate::output::Artifact>,
    /// What each stage's role admits, proven against the workflow's jobs.
    pub trust: crate::trust::prove::TrustMap,
    /// What each role can do, proven against the template's policies.
    pub permissions: crate::permissions::prove::PermissionsMap,
}

/// Resolves, renders and proves a validated config. Fails with diagnostics when a derived
/// name breaks an AWS limit or the trust proof does not hold; nothing is returned to write
/// unless both hold.
pub fn synthesize(config: &Config) -> Result<Synthesis, Vec<Diagnostic>> {
    let pipeline = Pipeline::new(config)?;
    let template = template::template(&pipeline);
    let model_problems = template.validate();
    if let Some(problem) = model_problems.first() {
        return Err(vec![Diagnostic::error(
            "internal-error",
            format!("the template is inconsistent: {problem}"),
        )
        .help("this is a bug in sampipe; please report it with your config")]);
    }
    // Rendered before the proof (whose errors still come first) so that the renderers'
    // intermediate YAML trees are freed before the trust map is built: less peak memory.
    let (workflow, pipeline_yaml) = match pipeline.provider {
        Provider::GitHub(_) => {
            let workflow = workflow::workflow(&pipeline).map_err(|d| vec![d])?;
            let yaml = workflow::render(&pipeline, &workflow);
            (Some(workflow), Ok(yaml))
        }
        Provider::GitLab(_) => (None, gitlab::render(&pipeline)),
        Provider::Bitbucket(_) => (None, bitbucket::render(&pipeline)),
    };
    let template_yaml = template::render(&template);
    let trust = crate::trust::prove::prove(&pipeline, &template)?;
    let permissions = crate::permissions::prove::prove(&pipeline, &template)?;
    let files = vec![
        crate::output::Artifact {
            file_name: "template.yaml",
            contents: template_yaml.map_err(|d| vec![d])?,
        },
        crate::output::Artifact {
            file_name: pipeline.provider.file_name(),
            contents: pipeline_yaml.map_err(|d| vec![d])?,
        },
    ];
    Ok(Synthesis {
        pipeline,
        template,
        workflow,
        files,
        trust,
        permissions,
    })
}
