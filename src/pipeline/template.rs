//! Renders the pipeline model as ONE CloudFormation template for all stages: deployed once per
//! stage with `Stage=<name>`, with every per-stage value in the `Stages` mapping so a reviewer
//! sees the stages side by side. A per-stage switch becomes a condition only when the stages
//! actually differ; what no stage needs is not in the template at all.

use indexmap::IndexMap;

use crate::cfn::{
    resources::{ecr, iam, s3},
    ConditionOperator, Mapping, Output, Parameter, PolicyDocument, Principal, Pseudo, Resource,
    Rule, Statement, StatementEntry, Tag, Template, Value,
};
use crate::diag::Diagnostic;
use crate::pipeline::provider::Provider;
use crate::pipeline::{Pipeline, RoleKind, RoleUse, StagePlan};
use crate::trust::claims::{patterns, ClaimPatterns};

const MAP: &str = "Stages";

/// Logical ids, shared with the trust checks and tests.
pub mod ids {
    use crate::pipeline::provider::Provider;

    pub const STAGE: &str = "Stage";

    /// The OIDC provider, named after its CI system. GitHub's keeps the name it always had:
    /// a new logical id would make CloudFormation create a second provider for the same URL
    /// (which IAM refuses) before deleting the old one.
    pub fn oidc_provider(provider: &Provider) -> &'static str {
        match provider {
            Provider::GitHub(_) => "GitHubOidcProvider",
            Provider::GitLab(_) => "GitLabOidcProvider",
            Provider::Bitbucket(_) => "BitbucketOidcProvider",
        }
    }

    pub const PIPELINE_ROLE: &str = "PipelineExecutionRole";
    pub const FEATURE_ROLE: &str = "FeatureRole";
    pub const FEATURE_CFN_ROLE: &str = "FeatureCloudFormationExecutionRole";
    pub const BOUNDARY: &str = "PermissionsBoundary";
    pub const FEATURE_BOUNDARY: &str = "FeaturePermissionsBoundary";
    pub const CFN_ROLE: &str = "CloudFormationExecutionRole";
    pub const ARTIFACTS_BUCKET: &str = "ArtifactsBucket";
    pub const ARTIFACTS_BUCKET_POLICY: &str = "ArtifactsBucketPolicy";
    pub const LOG_BUCKET: &str = "AccessLogBucket";
    pub const LOG_BUCKET_POLICY: &str = "AccessLogBucketPolicy";
    pub const IMAGE_REPOSITORY: &str = "ImageRepository";
}

/// A yes/no decision per stage, and how it shows in the template.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Switch {
    Never,
    Always,
    /// Differs between stages: a condition named after the mapping key.
    Some(&'static str),
}

impl Switch {
    fn of(pipeline: &Pipeline, name: &'static str, on: impl Fn(&StagePlan) -> bool) -> Self {
        let count = pipeline.stages.iter().filter(|s| on(s)).count();
        Self::counted(name, count, pipeline.stages.len())
    }

    /// The switch that holds on `count` of `stages` stages.
    fn counted(name: &'static str, count: usize, stages: usize) -> Self {
        if count == 0 {
            Self::Never
        } else if count == stages {
            Self::Always
        } else {
            Self::Some(name)
        }
    }

    fn condition(self) -> Option<String> {
        match self {
            Self::Some(name) => Some(name.to_owned()),
            _ => None,
        }
    }

    fn is_used(self) -> bool {
        self != Self::Never
    }
}

/// The per-stage switches, decided once.
struct Switches {
    oidc_provider: Switch,
    artifacts_bucket: Switch,
    cfn_role: Switch,
    create_image_repository: Switch,
    use_image_repository: Switch,
    /// The first stage's feature role, its CloudFormation execution role and boundary.
    feature_roles: Switch,
}

impl Switches {
    fn new(p: &Pipeline) -> Self {
        Self {
            oidc_provider: Switch::of(p, "CreateOidcProvider", |s| s.create_oidc_provider),
            artifacts_bucket: Switch::of(
                p,
                "CreateArtifactsBucket",
                StagePlan::creates_artifacts_bucket,
            ),
            cfn_role: Switch::of(p, "CreateCloudFormationExecutionRole", |s| {
                s.cfn_role_name.is_some()
            }),
            create_image_repository: Switch::of(p, "CreateImageRepository", |s| {
                s.image_repository.as_ref().is_some_and(|r| r.create)
            }),
            use_image_repository: Switch::of(p, "UseImageRepository", |s| {
                s.image_repository.is_some()
            }),
            feature_roles: Switch::of(p, "CreateFeatureRoles", |s| s.feature.is_some()),
        }
    }

    fn all(&self) -> [Switch; 6] {
        [
            self.oidc_provider,
            self.artifacts_bucket,
            self.cfn_role,
            self.create_image_repository,
            self.use_image_repository,
            self.feature_roles,
        ]
    }
}

/// `!FindInMap [Stages, !Ref Stage, key]`.
fn stage_value(key: &str) -> Value {
    Value::find_in_map(MAP, Value::r#ref(ids::STAGE), key)
}

/// `!Sub` over a pattern with `${Name}` standing for the stage's mapping value `key`.
fn sub_stage(pattern: &str, names: &[(&str, &str)]) -> Value {
    let vars: IndexMap<String, Value> = names
        .iter()
        .map(|(var, key)| ((*var).to_owned(), stage_value(key)))
        .collect();
    Value::sub_with(pattern, vars)
}

/// Wraps `statement` so it exists only where `switch` holds.
fn statement_if(switch: Switch, statement: Statement) -> Option<StatementEntry> {
    match switch {
        Switch::Never => None,
        Switch::Always => Some(StatementEntry::Always(statement)),
        Switch::Some(condition) => Some(StatementEntry::If {
            condition: condition.to_owned(),
            statement,
        }),
    }
}

/// `then` where `switch` holds, `otherwise` elsewhere.
fn value_if(switch: Switch, then: Value, otherwise: Value) -> Value {
    match switch {
        Switch::Always => then,
        Switch::Never => otherwise,
        Switch::Some(condition) => Value::if_(condition, then, otherwise),
    }
}

fn doc(statements: Vec<StatementEntry>) -> PolicyDocument {
    PolicyDocument {
        statement: statements,
        ..PolicyDocument::default()
    }
}

/// Sets the resource's condition when the switch has one.
fn only_if(resource: Resource, switch: Switch) -> Resource {
    match switch.condition() {
        Some(condition) => resource.condition(condition),
        None => resource,
    }
}

fn tags(p: &Pipeline) -> Vec<Tag> {
    vec![
        Tag::new("sampipe:app", Value::str(&p.app)),
        Tag::new("sampipe:stage", Value::r#ref(ids::STAGE)),
    ]
}

/// Synthesizes the pipeline-resources template.
pub fn template(p: &Pipeline) -> Template {
    let uses = p.role_uses_by_stage();
    let switches = Switches::new(p);
    let mut t = Template::new()
        .description(format!(
            "{} Pipeline resources of `{}` for one stage (deploy once per stage with Stage=<name>); change sampipe.yaml and run `sampipe synth`.",
            crate::output::MARKER,
            p.app
        ))
        .parameter(
            ids::STAGE,
            Parameter::string()
                .description("The stage whose pipeline resources this stack holds.")
                .allowed_values(p.stages.iter().map(|s| s.name.clone())),
        )
        .mapping(MAP, stage_mapping(p, &switches, &uses));
    for (id, rule) in home_rules(p) {
        t = t.rule(id, rule);
    }
    for switch in switches.all() {
        if let Some(name) = switch.condition() {
            t = t.condition(&name, Value::equals(stage_value(&name), Value::str("true")));
        }
    }

    if switches.oidc_provider.is_used() {
        // One provider per URL per account, trusted by every stage's role in the account:
        // deleting (or replacing) the stack of the stage that created it must not take it away
        // from the others.
        t = t.resource(
            ids::oidc_provider(&p.provider),
            only_if(
                Resource::new(iam::OidcProvider {
                    url: Value::str(p.provider.issuer_url()),
                    client_id_list: vec![Value::str(p.provider.audience())],
                    thumbprint_list: Vec::new(),
                    tags: tags(p),
                })
                .retain(),
                switches.oidc_provider,
            ),
        );
    }
    t = t.resource(
        ids::PIPELINE_ROLE,
        pipeline_role(p, &switches, &uses, RoleKind::Pipeline),
    );
    if switches.feature_roles.is_used() {
        t = t.resource(
            ids::FEATURE_ROLE,
            pipeline_role(p, &switches, &uses, RoleKind::Feature),
        );
    }
    if switches.cfn_role.is_used() {
        t = t
            .resource(ids::CFN_ROLE, cfn_role(p, &switches, RoleKind::Pipeline))
            .resource(ids::BOUNDARY, boundary(p, &switches, RoleKind::Pipeline));
    }
    if switches.feature_roles.is_used() {
        t = t
            .resource(
                ids::FEATURE_CFN_ROLE,
                cfn_role(p, &switches, RoleKind::Feature),
            )
            .resource(
                ids::FEATURE_BOUNDARY,
                boundary(p, &switches, RoleKind::Feature),
            );
    }
    if switches.artifacts_bucket.is_used() {
        t = artifacts_buckets(t, p, &switches);
    }
    if switches.create_image_repository.is_used() {
        t = t.resource(ids::IMAGE_REPOSITORY, image_repository(p, &switches));
    }
    outputs(t, p, &switches)
}

/// Per stage, a rule that CloudFormation checks before it creates or changes anything: the
/// stack of stage `S` is only deployed into `S`'s account and region. Rules cannot read the
/// mapping (`Fn::FindInMap` is not a rule function), so each stage's values are literals.
fn home_rules(p: &Pipeline) -> Vec<(String, Rule)> {
    let mut rules: Vec<(String, Rule)> = Vec::with_capacity(p.stages.len());
    for (index, stage) in p.stages.iter().enumerate() {
        let camel: String = stage
            .name
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        let mut id = format!("{camel}AccountAndRegion");
        // `a-1` and `a1` are both valid stage names with the same camel case.
        if rules.iter().any(|(taken, _)| *taken == id) {
            id = format!("{camel}{index}AccountAndRegion");
        }
        let rule = Rule::when(Value::equals(
            Value::r#ref(ids::STAGE),
            Value::str(&stage.name),
        ))
        .assert(
            Value::equals(Value::pseudo(Pseudo::AccountId), Value::str(&stage.account)),
            format!(
                "Stage {} belongs in account {}: deploy it with credentials for that account.",
                stage.name, stage.account
            ),
        )
        .assert(
            Value::equals(Value::pseudo(Pseudo::Region), Value::str(&stage.region)),
            format!(
                "Stage {} belongs in region {}: deploy it with --region {}.",
                stage.name, stage.region, stage.region
            ),
        );
        rules.push((id, rule));
    }
    rules
}

fn stage_mapping(p: &Pipeline, switches: &Switches, uses: &[Vec<&RoleUse>]) -> Mapping {
    let mut mapping = Mapping::new();
    for (index, stage) in p.stages.iter().enumerate() {
        let mut row: IndexMap<String, Value> = IndexMap::new();
        let mut put = |key: &str, value: Value| {
            row.insert(key.to_owned(), value);
        };
        put("Account", Value::str(&stage.account));
        put("Region", Value::str(&stage.region));
        put("ApplicationStackName", Value::str(&stage.stack_name));
        put(
            "PipelineExecutionRoleName",
            Value::str(&stage.pipeline_role_name),
        );
        put(
            "CloudFormationExecutionRoleArn",
            Value::str(&stage.cfn_role_arn),
        );
        if switches.cfn_role.is_used() {
            put(
                "CloudFormationExecutionRoleName",
                Value::str(stage.cfn_role_name.as_deref().unwrap_or("none")),
            );
            put(
                "PermissionsBoundaryName",
                Value::str(stage.boundary.as_ref().map_or("none", |b| b.name.as_str())),
            );
        }
        put("ArtifactsBucketName", Value::str(&stage.artifacts_bucket));
        if let Some(log_bucket) = &stage.log_bucket {
            put("AccessLogBucketName", Value::str(log_bucket));
        } else if switches.artifacts_bucket.is_used() {
            put("AccessLogBucketName", Value::str("none"));
        }
        if switches.use_image_repository.is_used() {
            let name = stage
                .image_repository
                .as_ref()
                .map_or("none", |r| r.name.as_str());
            put("ImageRepositoryName", Value::str(name));
        }
        let pipeline_jobs: Vec<&RoleUse> = uses[index]
            .iter()
            .copied()
            .filter(|u| u.role == RoleKind::Pipeline)
            .collect();
        let subjects: Vec<Value> = exact_patterns(p, &pipeline_jobs)
            .iter()
            .map(|c| Value::str(&c.sub))
            .collect();
        put("TrustedSubjects", Value::List(subjects));
        let flags: [(Switch, bool); 6] = [
            (switches.oidc_provider, stage.create_oidc_provider),
            (switches.artifacts_bucket, stage.creates_artifacts_bucket()),
            (switches.cfn_role, stage.cfn_role_name.is_some()),
            (
                switches.create_image_repository,
                stage.image_repository.as_ref().is_some_and(|r| r.create),
            ),
            (
                switches.use_image_repository,
                stage.image_repository.is_some(),
            ),
            (switches.feature_roles, stage.feature.is_some()),
        ];
        for (switch, on) in flags {
            if let Some(name) = switch.condition() {
                put(&name, Value::str(if on { "true" } else { "false" }));
            }
        }
        for (key, value) in row {
            mapping = mapping.entry(&stage.name, key, value);
        }
    }
    mapping
}

/// The claim patterns of `uses` (the jobs that use one stage's role) that do not name a
/// feature-branch pattern, deduplicated: the stage's `TrustedSubjects`.
fn exact_patterns(p: &Pipeline, uses: &[&RoleUse]) -> Vec<ClaimPatterns> {
    let mut seen: Vec<ClaimPatterns> = Vec::new();
    for use_ in uses {
        let claims = patterns(p, use_);
        if !claims.glob && !seen.iter().any(|c| c.sub == claims.sub) {
            seen.push(claims);
        }
    }
    seen
}

/// `values` in order, each once.
fn dedup(values: impl IntoIterator<Item = String>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .map(Value::str)
        .collect()
}

/// The trust policy of a role of `kind`: the issuer's OIDC provider in the stage's account,
/// `aud` and `sub` always checked; on GitHub also the workflow file and ref, through
/// `job_workflow_ref` and `ref`. It admits the jobs that assume the role and no others.
fn trust_policy(p: &Pipeline, uses: &[Vec<&RoleUse>], kind: RoleKind) -> PolicyDocument {
    let provider = Value::sub(format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{}",
        p.provider.issuer_host()
    ));
    let key = |claim: &str| p.provider.condition_key(claim);
    let github = p.provider.github();
    let statement = |sid: &str,
                     op: ConditionOperator,
                     subs: Value,
                     refs: Vec<Value>,
                     workflow_refs: Vec<Value>| {
        let mut s = Statement::allow()
            .sid(sid)
            .principal(Principal::federated(provider.clone()))
            .action("sts:AssumeRoleWithWebIdentity")
            .condition(
                ConditionOperator::StringEquals,
                key("aud"),
                Value::str(p.provider.audience()),
            );
        if let Some((_, repo_id)) = github.and_then(|repo| repo.ids) {
            s = s.condition(
                ConditionOperator::StringEquals,
                key("repository_id"),
                Value::str(repo_id.to_string()),
            );
        }
        s = s.condition(op, key("sub"), subs);
        // Only GitHub's `ref` and `job_workflow_ref` are condition keys; elsewhere the branch
        // is in `sub` (GitLab) or nowhere STS can see (Bitbucket).
        if github.is_some() {
            s = s.condition(op, key("ref"), one_or_list(refs)).condition(
                op,
                key("job_workflow_ref"),
                one_or_list(workflow_refs),
            );
        }
        s
    };
    let exact_op = match p.provider {
        // Bitbucket subjects end in the step UUID, new on every run.
        Provider::Bitbucket(_) => ConditionOperator::StringLike,
        _ => ConditionOperator::StringEquals,
    };
    let of_kind = |jobs: &Vec<&RoleUse>| -> Vec<ClaimPatterns> {
        let jobs: Vec<&RoleUse> = jobs.iter().copied().filter(|u| u.role == kind).collect();
        exact_patterns(p, &jobs)
    };
    match kind {
        // Exact subjects differ per stage (environments); refs and the workflow are shared
        // by all jobs on the deployment branch, so they are written once.
        RoleKind::Pipeline => {
            let exact: Vec<ClaimPatterns> = uses.iter().flat_map(of_kind).collect();
            let sid = match p.provider {
                Provider::Bitbucket(_) => "DeploySteps",
                _ => "DeployFromBranch",
            };
            doc(vec![StatementEntry::Always(statement(
                sid,
                exact_op,
                stage_value("TrustedSubjects"),
                dedup(exact.iter().map(|c| c.git_ref.clone())),
                dedup(exact.iter().map(|c| c.job_workflow_ref.clone())),
            ))])
        }
        // Only the first stage has the feature role: its subjects are literals.
        RoleKind::Feature => {
            let feature: Vec<ClaimPatterns> = p
                .role_uses
                .iter()
                .filter(|u| u.role == RoleKind::Feature)
                .map(|u| patterns(p, u))
                .collect();
            let mut statements = Vec::new();
            let globs: Vec<&ClaimPatterns> = feature.iter().filter(|c| c.glob).collect();
            if !globs.is_empty() {
                statements.push(StatementEntry::Always(statement(
                    "DeployFeatureBranches",
                    ConditionOperator::StringLike,
                    one_or_list(dedup(globs.iter().map(|c| c.sub.clone()))),
                    dedup(globs.iter().map(|c| c.git_ref.clone())),
                    dedup(globs.iter().map(|c| c.job_workflow_ref.clone())),
                )));
            }
            let exact: Vec<ClaimPatterns> = uses.first().map(of_kind).unwrap_or_default();
            if !exact.is_empty() {
                statements.push(StatementEntry::Always(statement(
                    match p.provider {
                        Provider::Bitbucket(_) => "FeatureSteps",
                        _ => "DeleteFeatureStacks",
                    },
                    exact_op,
                    one_or_list(dedup(exact.iter().map(|c| c.sub.clone()))),
                    dedup(exact.iter().map(|c| c.git_ref.clone())),
                    dedup(exact.iter().map(|c| c.job_workflow_ref.clone())),
                )));
            }
            doc(statements)
        }
    }
}

fn one_or_list(mut values: Vec<Value>) -> Value {
    if values.len() == 1 {
        values.remove(0)
    } else {
        Value::List(values)
    }
}

/// What a role of `kind` deploys: the stage's stack (names from the mapping), or the feature
/// stacks (names under the feature prefix, first stage only).
struct Deploys {
    /// `arn:...:stack/<name>/*` of the stacks it may change.
    stacks: Value,
    /// The artifacts it may write: `<bucket>/<stack>/*` or `<bucket>/<feature prefix>*`.
    objects: Value,
    /// The CloudFormation execution role it passes.
    cfn_role_arn: Value,
}

impl Deploys {
    fn of(p: &Pipeline, kind: RoleKind) -> Deploys {
        match (kind, p.stages.first().and_then(|s| s.feature.as_ref())) {
            // Only the first stage has it: its own values, literally.
            (RoleKind::Feature, Some(feature)) => Deploys {
                stacks: Value::str(first_stage_literal(
                    p,
                    &format!(
                        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{}*/*",
                        feature.stack_prefix
                    ),
                )),
                objects: Value::str(first_stage_literal(
                    p,
                    &format!("arn:${{AWS::Partition}}:s3:::${{Bucket}}/{}*", feature.stack_prefix),
                )),
                cfn_role_arn: Value::str(&feature.cfn_role.arn),
            },
            _ => Deploys {
                stacks: sub_stage(
                    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Stack}/*",
                    &[("Stack", "ApplicationStackName")],
                ),
                objects: sub_stage(
                    "arn:${AWS::Partition}:s3:::${Bucket}/${Stack}/*",
                    &[("Bucket", "ArtifactsBucketName"), ("Stack", "ApplicationStackName")],
                ),
                cfn_role_arn: stage_value("CloudFormationExecutionRoleArn"),
            },
        }
    }
}

/// A role OIDC tokens assume: the stage's pipeline execution role, or the first stage's
/// feature role. Each passes only its own CloudFormation execution role, and only to
/// CloudFormation; each changes only its own stacks and writes only its own artifacts.
fn pipeline_role(
    p: &Pipeline,
    switches: &Switches,
    uses: &[Vec<&RoleUse>],
    kind: RoleKind,
) -> Resource {
    let bucket_arn = sub_stage(
        "arn:${AWS::Partition}:s3:::${Bucket}",
        &[("Bucket", "ArtifactsBucketName")],
    );
    let deploys = Deploys::of(p, kind);
    let mut statements = vec![
        StatementEntry::Always(
            Statement::allow()
                .sid("PassCloudFormationExecutionRole")
                .action("iam:PassRole")
                .resource(deploys.cfn_role_arn)
                .condition(ConditionOperator::StringEquals, "iam:PassedToService", Value::str("cloudformation.amazonaws.com")),
        ),
        StatementEntry::Always(
            Statement::allow()
                .sid(match kind {
                    RoleKind::Pipeline => "DeployApplicationStack",
                    RoleKind::Feature => "DeployFeatureStacks",
                })
                .actions([
                    "cloudformation:CreateChangeSet",
                    "cloudformation:DeleteChangeSet",
                    "cloudformation:DescribeChangeSet",
                    "cloudformation:ExecuteChangeSet",
                    "cloudformation:DeleteStack",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStackResource",
                    "cloudformation:DescribeStackResources",
                    "cloudformation:DescribeStacks",
                    "cloudformation:GetTemplate",
                    "cloudformation:ListStackResources",
                ])
                .resource(deploys.stacks),
        ),
        StatementEntry::Always(
            Statement::allow()
                .sid("UseServerlessTransform")
                .action("cloudformation:CreateChangeSet")
                .resource(Value::sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:aws:transform/Serverless-2016-10-31")),
        ),
        StatementEntry::Always(
            Statement::allow()
                .sid("ReadTemplates")
                .actions(["cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"])
                .resource(Value::str("*")),
        ),
        StatementEntry::Always(
            Statement::allow()
                .sid("ReadWriteArtifacts")
                .actions(["s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
                .resource(deploys.objects),
        ),
        StatementEntry::Always(
            Statement::allow()
                .sid("ListArtifacts")
                .actions(["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"])
                .resource(bucket_arn),
        ),
    ];
    statements.extend(statement_if(
        switches.use_image_repository,
        Statement::allow()
            .sid("LogInToImageRegistry")
            .action("ecr:GetAuthorizationToken")
            .resource(Value::str("*")),
    ));
    // No `ecr:BatchDeleteImage`: tags are immutable and a deployed function runs its image.
    statements.extend(statement_if(
        switches.use_image_repository,
        Statement::allow()
            .sid("PushImages")
            .actions([
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ])
            .resource(sub_stage(
                "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repository}",
                &[("Repository", "ImageRepositoryName")],
            )),
    ));
    let mut role = iam::Role::new(trust_policy(p, uses, kind));
    let jobs = match kind {
        RoleKind::Pipeline => "the deploy jobs",
        RoleKind::Feature => "the feature-branch jobs",
    };
    role.role_name = Some(
        match (kind, p.stages.first().and_then(|s| s.feature.as_ref())) {
            (RoleKind::Feature, Some(feature)) => Value::str(&feature.role.name),
            _ => stage_value("PipelineExecutionRoleName"),
        },
    );
    role.description = Some(Value::str(match &p.provider {
        Provider::GitHub(repo) => format!(
            "Assumed through GitHub OIDC by {jobs} of {} ({}); see `sampipe explain`.",
            repo.full_name(),
            p.workflow_path
        ),
        other => format!(
            "Assumed through {} OIDC by {jobs} of {}; see `sampipe explain`.",
            other.ci_name(),
            other.display()
        ),
    }));
    role.max_session_duration = Some(3600);
    role.policies = vec![iam::InlinePolicy {
        policy_name: match kind {
            RoleKind::Pipeline => "deploy-application",
            RoleKind::Feature => "deploy-feature-stacks",
        }
        .into(),
        policy_document: doc(statements),
    }];
    role.tags = tags(p);
    match kind {
        RoleKind::Pipeline => Resource::new(role),
        RoleKind::Feature => only_if(Resource::new(role), switches.feature_roles),
    }
}

/// `text` as a `!Sub`, binding the stage's own names it mentions (`${Stack}`, `${Bucket}`,
/// `${Boundary}`, `${Repository}`) from the mapping; a literal when it has no variables.
fn stage_sub(text: &str) -> Value {
    if text == "*" || !text.contains("${") {
        return Value::str(text);
    }
    let vars: Vec<(&str, &str)> = [
        ("Stack", "ApplicationStackName"),
        ("Bucket", "ArtifactsBucketName"),
        ("Boundary", "PermissionsBoundaryName"),
        ("Repository", "ImageRepositoryName"),
    ]
    .into_iter()
    .filter(|(var, _)| text.contains(&format!("${{{var}}}")))
    .collect();
    if vars.is_empty() {
        Value::sub(text)
    } else {
        sub_stage(text, &vars)
    }
}

/// `text` with the first stage's own values for the pseudo parameters and its bucket: what
/// only the first stage creates (the feature roles and boundary) is written literally, which
/// keeps the template under the size `aws cloudformation deploy` takes inline.
fn first_stage_literal(p: &Pipeline, text: &str) -> String {
    match p.stages.first() {
        Some(stage) => text
            .replace("${AWS::Partition}", stage.partition)
            .replace("${AWS::Region}", &stage.region)
            .replace("${AWS::AccountId}", &stage.account)
            .replace("${Bucket}", &stage.artifacts_bucket)
            .replace(
                "${Repository}",
                stage
                    .image_repository
                    .as_ref()
                    .map_or("${Repository}", |r| r.name.as_str()),
            ),
        None => text.to_owned(),
    }
}

/// The policy document of derived rules; `literal`: written for the first stage only.
fn rules_document(
    p: &Pipeline,
    rules: &[crate::permissions::execution::Rule],
    literal: bool,
) -> PolicyDocument {
    let value = |text: &str| {
        if literal {
            stage_sub(&first_stage_literal(p, text))
        } else {
            stage_sub(text)
        }
    };
    let statements = rules
        .iter()
        .map(|rule| {
            let mut s = if rule.allow {
                Statement::allow()
            } else {
                Statement::deny()
            }
            .sid(&rule.sid)
            .actions(rule.actions.iter().cloned())
            .not_actions(rule.not_actions.iter().cloned())
            .resources(rule.resources.iter().map(|r| value(r)));
            if let Some((operator, key, values)) = &rule.condition {
                let values: Vec<Value> = values.iter().map(|v| value(v)).collect();
                s = s.condition(*operator, key, one_or_list(values));
            }
            StatementEntry::Always(s)
        })
        .collect();
    doc(statements)
}

/// A CloudFormation execution role: the stage's (passed by its pipeline role) or the first
/// stage's feature one (passed by the feature role). Its permissions are derived from the
/// app (see [`crate::permissions`]).
fn cfn_role(p: &Pipeline, switches: &Switches, kind: RoleKind) -> Resource {
    let trust = doc(vec![StatementEntry::Always(
        Statement::allow()
            .principal(Principal::service("cloudformation.amazonaws.com"))
            .action("sts:AssumeRole")
            // Only CloudFormation acting for this account (confused-deputy protection).
            .condition(
                ConditionOperator::StringEquals,
                "aws:SourceAccount",
                Value::pseudo(Pseudo::AccountId),
            ),
    )]);
    let mut role = iam::Role::new(trust);
    let feature = p.stages.first().and_then(|s| s.feature.as_ref());
    let (rules, name, description, policy_name) = match (kind, feature, &p.execution.feature) {
        (RoleKind::Feature, Some(feature), Some(rules)) => (
            rules,
            Value::str(&feature.cfn_role.name),
            format!("Used by CloudFormation to deploy feature stacks ({}*); passed by the feature role.", feature.stack_prefix),
            "deploy-feature-stacks",
        ),
        _ => (
            &p.execution.stage,
            stage_value("CloudFormationExecutionRoleName"),
            "Used by CloudFormation to deploy the application stack; passed by the pipeline execution role.".to_owned(),
            "deploy-application",
        ),
    };
    role.role_name = Some(name);
    role.description = Some(Value::str(description));
    role.policies = vec![iam::InlinePolicy {
        policy_name: match p.execution_role.permissions {
            crate::config::model::Permissions::Admin => "deploy-any-resource".into(),
            crate::config::model::Permissions::Derived => policy_name.into(),
        },
        policy_document: rules_document(p, rules, kind == RoleKind::Feature),
    }];
    if !p.execution_role.managed_policy_arns.is_empty() {
        role.managed_policy_arns = Some(Value::List(
            p.execution_role
                .managed_policy_arns
                .iter()
                .map(|arn| Value::sub_or_str(arn))
                .collect(),
        ));
    }
    role.permissions_boundary = p
        .execution_role
        .permissions_boundary
        .as_deref()
        .map(Value::sub_or_str);
    role.tags = tags(p);
    match kind {
        RoleKind::Pipeline => only_if(Resource::new(role), switches.cfn_role),
        RoleKind::Feature => only_if(Resource::new(role), switches.feature_roles),
    }
}

/// The permissions boundary of the roles the stage's stacks create (or the feature stacks').
fn boundary(p: &Pipeline, switches: &Switches, kind: RoleKind) -> Resource {
    let feature = p.stages.first().and_then(|s| s.feature.as_ref());
    let (name, own_arn, foreign, what) = match (kind, feature) {
        (RoleKind::Feature, Some(feature)) => (
            Value::str(&feature.boundary.name),
            Value::str(&feature.boundary.arn),
            p.execution
                .feature
                .as_ref()
                .and_then(|rules| rules.iter().find(|r| r.sid == "StayOffMainStacks"))
                .map(|r| r.resources.clone())
                .unwrap_or_default(),
            "feature stacks",
        ),
        _ => (
            stage_value("PermissionsBoundaryName"),
            stage_sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Boundary}"),
            Vec::new(),
            "the application stack",
        ),
    };
    let document = match kind {
        RoleKind::Feature => {
            let literal = |items: &[String]| -> Vec<String> {
                items.iter().map(|i| first_stage_literal(p, i)).collect()
            };
            let protected = crate::permissions::protected::Protected {
                untouchable: literal(&p.protected.untouchable),
                artifacts: literal(&p.protected.artifacts),
                repositories: literal(&p.protected.repositories),
            };
            crate::permissions::boundary::document(&protected, own_arn, &literal(&foreign))
        }
        RoleKind::Pipeline => {
            crate::permissions::boundary::document(&p.protected, own_arn, &foreign)
        }
    };
    let policy = iam::ManagedPolicy::new(document)
    .managed_policy_name(name)
    .description(format!(
        "Permissions boundary of every role {what} creates: it may not change the pipeline resources or create roles without this boundary."
    ));
    match kind {
        RoleKind::Pipeline => only_if(Resource::new(policy), switches.cfn_role),
        RoleKind::Feature => only_if(Resource::new(policy), switches.feature_roles),
    }
}

fn tls_only(bucket_key: &str) -> StatementEntry {
    StatementEntry::Always(
        Statement::deny()
            .sid("DenyInsecureTransport")
            .principal(Principal::everyone())
            .action("s3:*")
            .resources([
                sub_stage(
                    "arn:${AWS::Partition}:s3:::${Bucket}",
                    &[("Bucket", bucket_key)],
                ),
                sub_stage(
                    "arn:${AWS::Partition}:s3:::${Bucket}/*",
                    &[("Bucket", bucket_key)],
                ),
            ])
            // Unquoted: cfn-guard's TLS rule reads a boolean (IAM takes either).
            .condition(
                ConditionOperator::Bool,
                "aws:SecureTransport",
                Value::Bool(false),
            ),
    )
}

fn secure_bucket(name_key: &str, p: &Pipeline) -> s3::Bucket {
    let mut bucket = s3::Bucket::new()
        .bucket_name(stage_value(name_key))
        .encryption(s3::BucketEncryption::Aes256)
        .versioned()
        .block_public_access()
        .bucket_owner_enforced();
    bucket.tags = tags(p);
    bucket
}

fn artifacts_buckets(t: Template, p: &Pipeline, switches: &Switches) -> Template {
    let switch = switches.artifacts_bucket;
    let artifacts = secure_bucket("ArtifactsBucketName", p)
        .logging(Value::r#ref(ids::LOG_BUCKET), "artifacts/")
        .lifecycle_rule(
            s3::LifecycleRule::enabled("expire-old-artifacts")
                .noncurrent_version_expiration(30)
                .abort_incomplete_multipart_upload(7),
        );
    let logs = secure_bucket("AccessLogBucketName", p).lifecycle_rule(
        s3::LifecycleRule::enabled("expire-old-logs")
            .expiration_in_days(365)
            .noncurrent_version_expiration(30)
            .abort_incomplete_multipart_upload(7),
    );
    // Log delivery is granted by bucket policy: BucketOwnerEnforced disables ACLs.
    let log_delivery = StatementEntry::Always(
        Statement::allow()
            .sid("AllowServerAccessLogDelivery")
            .principal(Principal::service("logging.s3.amazonaws.com"))
            .action("s3:PutObject")
            .resource(sub_stage(
                "arn:${AWS::Partition}:s3:::${Bucket}/artifacts/*",
                &[("Bucket", "AccessLogBucketName")],
            ))
            .condition(
                ConditionOperator::ArnLike,
                "aws:SourceArn",
                sub_stage(
                    "arn:${AWS::Partition}:s3:::${Bucket}",
                    &[("Bucket", "ArtifactsBucketName")],
                ),
            )
            .condition(
                ConditionOperator::StringEquals,
                "aws:SourceAccount",
                Value::pseudo(Pseudo::AccountId),
            ),
    );
    t.resource(
        ids::ARTIFACTS_BUCKET,
        only_if(Resource::new(artifacts).retain(), switch),
    )
    .resource(
        ids::ARTIFACTS_BUCKET_POLICY,
        only_if(
            Resource::new(s3::BucketPolicy::new(
                Value::r#ref(ids::ARTIFACTS_BUCKET),
                doc(vec![tls_only("ArtifactsBucketName")]),
            )),
            switch,
        ),
    )
    .resource(
        ids::LOG_BUCKET,
        only_if(Resource::new(logs).retain(), switch),
    )
    .resource(
        ids::LOG_BUCKET_POLICY,
        only_if(
            Resource::new(s3::BucketPolicy::new(
                Value::r#ref(ids::LOG_BUCKET),
                doc(vec![tls_only("AccessLogBucketName"), log_delivery]),
            )),
            switch,
        ),
    )
}

/// Untagged images (superseded builds) expire; tagged ones back deployed functions.
const IMAGE_LIFECYCLE_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"Expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;

fn image_repository(p: &Pipeline, switches: &Switches) -> Resource {
    // Only the functions of the stage's stack (and, in the first stage, of feature stacks)
    // pull; CloudFormation names them after their stack.
    let mut functions = vec![sub_stage(
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Stack}-*",
        &[("Stack", "ApplicationStackName")],
    )];
    if let Some(feature) = p.stages.first().and_then(|s| s.feature.as_ref()) {
        functions.push(value_if(
            switches.feature_roles,
            Value::sub(format!(
                "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}*",
                feature.stack_prefix
            )),
            Value::no_value(),
        ));
    }
    let lambda_pull = Statement::allow()
        .sid("LambdaPullImages")
        .principal(Principal::service("lambda.amazonaws.com"))
        .actions(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
        .condition(
            ConditionOperator::StringLike,
            "aws:sourceArn",
            Value::List(functions),
        );
    // Immutable tags: a reviewed image cannot be repointed; `sam deploy` tags each image by
    // its content.
    let mut repository = ecr::Repository::new()
        .repository_name(stage_value("ImageRepositoryName"))
        .image_tag_mutability(ecr::ImageTagMutability::Immutable)
        .scan_on_push()
        .encryption(ecr::EncryptionConfiguration {
            encryption_type: ecr::EncryptionType::Aes256,
            kms_key: None,
        })
        .repository_policy(doc(vec![StatementEntry::Always(lambda_pull)]));
    repository.lifecycle_policy = Some(ecr::LifecyclePolicy {
        lifecycle_policy_text: IMAGE_LIFECYCLE_POLICY.into(),
    });
    repository.tags = tags(p);
    only_if(
        Resource::new(repository).retain(),
        switches.create_image_repository,
    )
}

fn outputs(t: Template, p: &Pipeline, switches: &Switches) -> Template {
    let mut t = t
        .output(
            "PipelineExecutionRoleArn",
            Output::new(Value::get_att(ids::PIPELINE_ROLE, "Arn")).description(format!(
                "Role the deploy jobs assume through {} OIDC",
                match p.provider {
                    Provider::GitHub(_) => "GitHub",
                    Provider::GitLab(_) => "GitLab",
                    Provider::Bitbucket(_) => "Bitbucket",
                }
            )),
        )
        .output(
            "CloudFormationExecutionRoleArn",
            Output::new(value_if(
                switches.cfn_role,
                Value::get_att(ids::CFN_ROLE, "Arn"),
                stage_value("CloudFormationExecutionRoleArn"),
            ))
            .description(
                "Role CloudFormation uses to deploy the application (sam deploy --role-arn)",
            ),
        )
        .output(
            "ArtifactsBucketName",
            Output::new(value_if(
                switches.artifacts_bucket,
                Value::r#ref(ids::ARTIFACTS_BUCKET),
                stage_value("ArtifactsBucketName"),
            ))
            .description("Bucket sam deploy uploads artifacts to (sam deploy --s3-bucket)"),
        );
    if switches.use_image_repository.is_used() {
        let uri = value_if(
            switches.create_image_repository,
            Value::get_att(ids::IMAGE_REPOSITORY, "RepositoryUri"),
            sub_stage(
                "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}",
                &[("Repository", "ImageRepositoryName")],
            ),
        );
        t = t.output(
            "ImageRepositoryUri",
            match switches.use_image_repository.condition() {
                Some(condition) => Output::new(uri)
                    .description(
                        "Repository for image-based functions (sam deploy --image-repository)",
                    )
                    .condition(condition),
                None => Output::new(uri).description(
                    "Repository for image-based functions (sam deploy --image-repository)",
                ),
            },
        );
    }
    t
}

/// The template in JSON, with long-form intrinsics (`{"Fn::Sub": ...}`), for tools that want it.
pub fn render_json(template: &Template) -> Result<String, Diagnostic> {
    let value = template.to_json().map_err(|error| {
        Diagnostic::error(
            "internal-error",
            format!("cannot render the template: {error}"),
        )
        .help("this is a bug in sampipe; please report it with your config")
    })?;
    let mut text = serde_json::to_string_pretty(&value).map_err(|error| {
        Diagnostic::error(
            "internal-error",
            format!("cannot print the template: {error}"),
        )
    })?;
    text.push('\n');
    Ok(text)
}

/// The template as reviewers read it: short-form intrinsics, a blank line between resources.
pub fn render(template: &Template) -> Result<String, Diagnostic> {
    let style = crate::yaml::Style {
        spaced_sections: [
            "Parameters",
            "Rules",
            "Mappings",
            "Conditions",
            "Resources",
            "Outputs",
        ]
        .map(String::from)
        .to_vec(),
        ..crate::yaml::Style::default()
    };
    let value = template.to_yaml_value().map_err(|error| {
        Diagnostic::error(
            "internal-error",
            format!("cannot render the template: {error}"),
        )
        .help("this is a bug in sampipe; please report it with your config")
    })?;
    let mut out = String::new();
    for line in crate::pipeline::scripts::generated_header() {
        out.push_str("# ");
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&crate::yaml::to_string(&value, &style));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::cfn::DeletionPolicy;
    use crate::cfn::{PseudoValues, Resolver};

    const SOURCES: [(&str, &str); 3] = [
        ("github", "  github:\n    repository: octo-org/sam-app\n"),
        ("gitlab", "  gitlab:\n    project: group/sam-app\n"),
        (
            "bitbucket",
            "  bitbucket:\n    workspace: team\n    workspace_uuid: '{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}'\n    repository_uuid: '{1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b}'\n",
        ),
    ];

    /// Two stages in one account and one in another, for `source`.
    fn synthesize(source: &str) -> crate::pipeline::Synthesis {
        let text = format!(
            "version: 1\napp: sam-app\nsource:\n{source}stages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n  - name: dev-2\n    account: \"111111111111\"\n    region: eu-west-1\n  - name: prod\n    account: \"222222222222\"\n    region: us-west-2\n"
        );
        let loaded = crate::config::load_str("sampipe.yaml", &text).expect("valid config");
        crate::pipeline::synthesize(&loaded.config).expect("synthesizes")
    }

    #[test]
    fn the_oidc_provider_is_retained_and_named_after_its_ci_system() {
        for ((name, source), id) in SOURCES.iter().zip([
            "GitHubOidcProvider",
            "GitLabOidcProvider",
            "BitbucketOidcProvider",
        ]) {
            let synthesis = synthesize(source);
            let providers: Vec<(&String, &Resource)> = synthesis
                .template
                .resources()
                .iter()
                .filter(|(_, r)| r.type_name() == "AWS::IAM::OIDCProvider")
                .collect();
            assert_eq!(providers.len(), 1, "{name}");
            let (logical_id, provider) = providers[0];
            assert_eq!(logical_id, id, "{name}");
            assert_eq!(
                provider.deletion_policy,
                Some(DeletionPolicy::Retain),
                "{name}"
            );
            assert_eq!(
                provider.update_replace_policy,
                Some(DeletionPolicy::Retain),
                "{name}"
            );
            if *name != "github" {
                let text = &synthesis.files[0].contents;
                assert!(!text.contains("GitHub"), "{name}: {text}");
            }
        }
    }

    /// CloudFormation checks `Rules` before it creates anything: each stage's stack deploys
    /// only into that stage's account and region.
    #[test]
    fn rules_refuse_a_stage_in_another_account_or_region() {
        for (name, source) in SOURCES {
            let synthesis = synthesize(source);
            let template = &synthesis.template;
            let stages = &synthesis.pipeline.stages;
            for stage in stages {
                let failed = |account: &str, region: &str| {
                    let parameters = IndexMap::from([(ids::STAGE.to_owned(), stage.name.clone())]);
                    Resolver::new(
                        template,
                        parameters,
                        PseudoValues::new(account, region, &stage.resources_stack_name),
                    )
                    .expect("valid parameters")
                    .failed_rules()
                    .expect("rules resolve")
                };
                assert_eq!(
                    failed(&stage.account, &stage.region),
                    [],
                    "{name}/{}",
                    stage.name
                );
                for other in stages.iter().filter(|o| o.name != stage.name) {
                    let wrong = failed(&other.account, &other.region);
                    let mut expected = Vec::new();
                    if other.account != stage.account {
                        expected.push(format!(
                            "Stage {} belongs in account {}: deploy it with credentials for that account.",
                            stage.name, stage.account
                        ));
                    }
                    if other.region != stage.region {
                        expected.push(format!(
                            "Stage {} belongs in region {}: deploy it with --region {}.",
                            stage.name, stage.region, stage.region
                        ));
                    }
                    let messages: Vec<String> = wrong.into_iter().map(|(_, m)| m).collect();
                    assert_eq!(
                        messages, expected,
                        "{name}/{} in {}",
                        stage.name, other.name
                    );
                }
            }
        }
    }

    #[test]
    fn rule_ids_stay_unique_for_names_with_the_same_camel_case() {
        let text = "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\nstages:\n  - name: a-1\n    account: \"111111111111\"\n    region: us-east-2\n  - name: a1\n    account: \"111111111111\"\n    region: us-east-2\n";
        let loaded = crate::config::load_str("sampipe.yaml", text).expect("valid config");
        let synthesis = crate::pipeline::synthesize(&loaded.config).expect("synthesizes");
        let ids: Vec<&String> = synthesis.template.rules().keys().collect();
        assert_eq!(ids, ["A1AccountAndRegion", "A11AccountAndRegion"]);
    }

    #[test]
    fn the_yaml_template_starts_with_the_marker() {
        let text = "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\nstages:\n  - name: dev\n    account: \"111111111111\"\n    region: us-east-2\n";
        let loaded = crate::config::load_str("sampipe.yaml", text).expect("valid config");
        let synthesis = crate::pipeline::synthesize(&loaded.config).expect("synthesizes");
        let template = synthesis
            .files
            .iter()
            .find(|f| f.file_name == "template.yaml")
            .expect("template.yaml");
        assert!(template
            .contents
            .starts_with(&format!("# {}", crate::output::MARKER)));
    }
}
