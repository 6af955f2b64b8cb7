//! The permissions proof, run on every synth next to the trust proof: resolve each role's
//! identity policies (and the boundaries) from the typed template as CloudFormation would for
//! `Stage=<name>`, then evaluate concrete requests with [`super::evaluator`]:
//!
//! 1. the feature role cannot touch any stage's main stack, nor pass any role but its own
//!    CloudFormation role;
//! 2. no pipeline role passes a role to anything but CloudFormation, nor another stage's role;
//! 3. no execution role can change a pipeline resource, or create or change a role without
//!    the stage's boundary; the feature execution role cannot touch the main stacks;
//! 4. no role the app creates can escape its boundary, whatever its own policies say;
//! 5. every action the app's resource types need is allowed to the execution roles on the
//!    resources CloudFormation would name (the derived policy is sufficient).
//!
//! Any failure is a synth error naming the role, the request and the deciding statement.

use indexmap::IndexMap;
use serde::Serialize;

use super::evaluator::{
    Evaluation, IdentityPolicy, IdentityStatement, Permissions, PermissionsError, Request,
};
use crate::cfn::{PseudoValues, Resolver, ResourceProperties, Template};
use crate::config::model::Permissions as Mode;
use crate::diag::{ConfigPath, Diagnostic};
use crate::pipeline::template::ids;
use crate::pipeline::{Pipeline, RoleKind, StagePlan};

/// A role of the pipeline resources, as `sampipe can --role` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Pipeline,
    Feature,
    Cfn,
    FeatureCfn,
}

impl Role {
    pub fn word(self) -> &'static str {
        match self {
            Role::Pipeline => "pipeline",
            Role::Feature => "feature",
            Role::Cfn => "cfn",
            Role::FeatureCfn => "feature-cfn",
        }
    }

    fn logical_id(self) -> &'static str {
        match self {
            Role::Pipeline => ids::PIPELINE_ROLE,
            Role::Feature => ids::FEATURE_ROLE,
            Role::Cfn => ids::CFN_ROLE,
            Role::FeatureCfn => ids::FEATURE_CFN_ROLE,
        }
    }
}

/// One role's resolved policies in one stage.
pub struct RolePolicies {
    pub role: Role,
    pub arn: String,
    pub policies: Vec<IdentityPolicy>,
    /// The role's own boundary (config `permissions_boundary` on execution roles), resolved
    /// only when the template creates it.
    pub boundary: Option<IdentityPolicy>,
    /// Managed policies attached by ARN, whose statements the proof cannot see.
    pub unseen: Vec<String>,
    /// The size of its inline policies as IAM counts it (JSON without whitespace).
    pub inline_size: usize,
}

/// IAM's limit on a role's inline policies, all together, in characters without whitespace.
pub const INLINE_POLICIES_MAX: usize = 10_240;

/// The size of `statements` as compact JSON, the way IAM counts a policy (no whitespace).
fn policy_size(statements: &[crate::cfn::ResolvedStatement]) -> usize {
    let list = |items: &[String]| items.iter().map(|i| i.len() + 3).sum::<usize>() + 2;
    let statements: usize = statements
        .iter()
        .map(|s| {
            let sid = s.sid.as_ref().map_or(0, |sid| sid.len() + 9);
            let conditions: usize = s
                .condition
                .iter()
                .map(|(_, keys)| {
                    20 + keys
                        .iter()
                        .map(|(key, values)| key.len() + 3 + list(values))
                        .sum::<usize>()
                })
                .sum();
            sid + 20
                + 11
                + list(&s.action)
                + list(&s.not_action)
                + 13
                + list(&s.resource)
                + conditions
        })
        .sum();
    statements + 40
}

/// A stage's resolved roles and boundaries.
pub struct StagePolicies {
    pub roles: Vec<RolePolicies>,
    /// The app's boundary, and the feature stacks'.
    pub app_boundary: Option<IdentityPolicy>,
    pub feature_boundary: Option<IdentityPolicy>,
}

impl StagePolicies {
    pub fn role(&self, role: Role) -> Option<&RolePolicies> {
        self.roles.iter().find(|r| r.role == role)
    }
}

fn resolver<'t>(template: &'t Template, stage: &StagePlan) -> Result<Resolver<'t>, String> {
    let mut parameters = IndexMap::new();
    parameters.insert(ids::STAGE.to_owned(), stage.name.clone());
    let pseudo = PseudoValues {
        account_id: stage.account.clone(),
        region: stage.region.clone(),
        partition: stage.partition.to_owned(),
        stack_name: stage.resources_stack_name.clone(),
    };
    Resolver::new(template, parameters, pseudo).map_err(|e| e.to_string())
}

/// Resolves the roles and boundaries `template` creates for `stage`.
pub fn stage_policies(template: &Template, stage: &StagePlan) -> Result<StagePolicies, String> {
    let resolver = resolver(template, stage)?;
    let enabled = |id: &str| -> Result<bool, String> {
        Ok(template.resources().contains_key(id)
            && resolver.resource_enabled(id).map_err(|e| e.to_string())?)
    };
    let managed = |id: &str| -> Result<Option<IdentityPolicy>, String> {
        if !enabled(id)? {
            return Ok(None);
        }
        match &template.resources()[id].properties {
            ResourceProperties::ManagedPolicy(policy) => {
                let statements = resolver
                    .policy(&policy.policy_document)
                    .map_err(|e| e.to_string())?;
                Ok(Some(IdentityPolicy::from_resolved(id, &statements)))
            }
            _ => Err(format!("`{id}` is not a managed policy")),
        }
    };
    let mut roles = Vec::new();
    for role in [Role::Pipeline, Role::Feature, Role::Cfn, Role::FeatureCfn] {
        let id = role.logical_id();
        if !enabled(id)? {
            continue;
        }
        let ResourceProperties::Role(definition) = &template.resources()[id].properties else {
            return Err(format!("`{id}` is not a role"));
        };
        let mut policies = Vec::new();
        let mut inline_size = 0;
        for inline in &definition.policies {
            let statements = resolver
                .policy(&inline.policy_document)
                .map_err(|e| e.to_string())?;
            inline_size += inline.policy_name.len() + policy_size(&statements);
            policies.push(IdentityPolicy::from_resolved(
                &inline.policy_name,
                &statements,
            ));
        }
        let name = match &definition.role_name {
            Some(name) => resolver
                .resolve(name)
                .map_err(|e| e.to_string())?
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            None => id.to_owned(),
        };
        let unseen = match &definition.managed_policy_arns {
            Some(arns) => match resolver.resolve(arns).map_err(|e| e.to_string())? {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        roles.push(RolePolicies {
            role,
            arn: format!("arn:{}:iam::{}:role/{name}", stage.partition, stage.account),
            policies,
            boundary: None,
            unseen,
            inline_size,
        });
    }
    Ok(StagePolicies {
        roles,
        app_boundary: managed(ids::BOUNDARY)?,
        feature_boundary: managed(ids::FEATURE_BOUNDARY)?,
    })
}

/// What was proven about one role in one stage, for `explain`.
#[derive(Clone, Debug, Serialize)]
pub struct RoleProof {
    pub stage: String,
    pub role: Role,
    pub arn: String,
    /// What the role can do, in words.
    pub can: Vec<String>,
    /// Requests tried and denied, in words.
    pub denied: Vec<String>,
    /// Things a reviewer must know (widened on purpose, unseen managed policies).
    pub warnings: Vec<String>,
}

/// The permissions map of every stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PermissionsMap {
    pub roles: Vec<RoleProof>,
}

/// A request to try, what it stands for, and whether it must be allowed.
struct Case {
    what: String,
    request: Request,
    allow: bool,
}

fn case(what: impl Into<String>, action: &str, resource: &str, allow: bool) -> Case {
    Case {
        what: what.into(),
        request: Request::new(action, resource),
        allow,
    }
}

impl Case {
    fn with(mut self, key: &str, value: &str) -> Case {
        self.request = self.request.with(key, value);
        self
    }
}

fn violation(index: usize, message: String) -> Diagnostic {
    Diagnostic::error("permissions-violation", message)
        .at(ConfigPath::root().key("stages").index(index).key("name"))
        .help("this is a bug in sampipe unless the template was edited by hand; please report it with your config")
}

/// A name as CloudFormation gives resources of the stack `stack`: `{stack}-{logical id}-{suffix}`.
fn cfn_name(stack: &str, logical_id: &str) -> String {
    format!("{stack}-{logical_id}-1A2B3C4D5E6F")
}

/// Proves the permissions contract for every stage.
pub fn prove(p: &Pipeline, template: &Template) -> Result<PermissionsMap, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut map = PermissionsMap::default();
    let mut sufficient = std::collections::HashSet::new();
    for (index, stage) in p.stages.iter().enumerate() {
        let policies = match stage_policies(template, stage) {
            Ok(policies) => policies,
            Err(e) => {
                problems.push(violation(
                    index,
                    format!("cannot resolve the policies of stage `{}`: {e}", stage.name),
                ));
                continue;
            }
        };
        match prove_stage(p, index, &policies, &mut sufficient) {
            Ok(mut proofs) => map.roles.append(&mut proofs),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(map)
    } else {
        Err(problems)
    }
}

/// What makes two stages' execution policies differ beyond their names: sufficiency is proven
/// once per shape (one template writes the same statements for every stage, with the names
/// bound from the mapping), while what each role must not do is proven for every stage.
type Shape = (Role, &'static str, bool, bool);

fn prove_stage(
    p: &Pipeline,
    index: usize,
    policies: &StagePolicies,
    sufficient: &mut std::collections::HashSet<Shape>,
) -> Result<Vec<RoleProof>, Vec<Diagnostic>> {
    let stage = &p.stages[index];
    let (partition, account, region) = (stage.partition, &stage.account, &stage.region);
    let role_arn = |name: &str| format!("arn:{partition}:iam::{account}:role/{name}");
    let stack_arn = |name: &str| {
        format!("arn:{partition}:cloudformation:{region}:{account}:stack/{name}/1a2b3c")
    };
    let same_account: Vec<&StagePlan> = p.stages.iter().filter(|s| s.account == *account).collect();
    let feature = stage.feature.as_ref();
    let mut problems = Vec::new();
    let mut proofs = Vec::new();

    // The pipeline resources of every stage that shares the account.
    let mut pipeline_resources: Vec<(String, &str, String)> = Vec::new();
    for other in &same_account {
        pipeline_resources.push((
            format!("stage `{}`'s pipeline role", other.name),
            "iam:PutRolePolicy",
            other.pipeline_role_arn.clone(),
        ));
        pipeline_resources.push((
            format!("stage `{}`'s pipeline role", other.name),
            "iam:UpdateAssumeRolePolicy",
            other.pipeline_role_arn.clone(),
        ));
        if other.cfn_role_name.is_some() {
            pipeline_resources.push((
                format!("stage `{}`'s CloudFormation role", other.name),
                "iam:AttachRolePolicy",
                other.cfn_role_arn.clone(),
            ));
        }
        if let Some(boundary) = &other.boundary {
            pipeline_resources.push((
                format!("stage `{}`'s boundary", other.name),
                "iam:CreatePolicyVersion",
                boundary.arn.clone(),
            ));
        }
        if let Some(f) = &other.feature {
            pipeline_resources.push((
                "the feature role".into(),
                "iam:PutRolePolicy",
                f.role.arn.clone(),
            ));
            pipeline_resources.push((
                "the feature boundary".into(),
                "iam:CreatePolicyVersion",
                f.boundary.arn.clone(),
            ));
        }
        pipeline_resources.push((
            format!("stage `{}`'s artifacts bucket policy", other.name),
            "s3:PutBucketPolicy",
            format!("arn:{partition}:s3:::{}", other.artifacts_bucket),
        ));
        pipeline_resources.push((
            format!("stage `{}`'s artifacts", other.name),
            "s3:PutObject",
            format!(
                "arn:{partition}:s3:::{}/{}/template.yaml",
                other.artifacts_bucket, other.stack_name
            ),
        ));
        if let Some(logs) = &other.log_bucket {
            pipeline_resources.push((
                format!("stage `{}`'s access logs", other.name),
                "s3:DeleteObject",
                format!("arn:{partition}:s3:::{logs}/artifacts/log"),
            ));
        }
        if let Some(repository) = &other.image_repository {
            pipeline_resources.push((
                format!("stage `{}`'s image repository policy", other.name),
                "ecr:SetRepositoryPolicy",
                repository.arn.clone(),
            ));
        }
        pipeline_resources.push((
            format!("stage `{}`'s pipeline-resources stack", other.name),
            "cloudformation:UpdateStack",
            stack_arn(&other.resources_stack_name),
        ));
        pipeline_resources.push((
            "the OIDC provider".into(),
            "iam:UpdateOpenIDConnectProviderThumbprint",
            other.oidc_provider_arn.clone(),
        ));
    }

    // IAM refuses a role whose inline policies are too large: say so now, not at deploy.
    for role in &policies.roles {
        if role.inline_size > INLINE_POLICIES_MAX {
            problems.push(
                Diagnostic::error(
                    "policy-too-large",
                    format!(
                        "the {} role `{}` of stage `{}` would have about {} characters of inline policy; IAM allows {INLINE_POLICIES_MAX} per role",
                        role.role.word(),
                        role.arn,
                        stage.name,
                        role.inline_size
                    ),
                )
                .at(ConfigPath::root().key("sam_template"))
                .help("the app deploys many resource types: move some to a nested stack or a second app, or set `cloudformation_execution_role.permissions: admin` (every action) and narrow it with your own `managed_policy_arns`"),
            );
        }
    }

    // `widened`: the config widens this role on purpose; what it then may do that it
    // otherwise could not is a warning for `explain`, not a violation.
    let mut run = |role: &RolePolicies,
                   cases: Vec<Case>,
                   can: Vec<String>,
                   mut warnings: Vec<String>,
                   widened: bool| {
        let permissions = match Permissions::new(&role.policies, role.boundary.as_ref()) {
            Ok(permissions) => permissions,
            Err(e) => {
                problems.push(violation(
                    index,
                    format!("cannot evaluate the policies of `{}`: {e}", role.arn),
                ));
                return;
            }
        };
        let (denied, wrong) = decide(&permissions, cases);
        for (case, result) in wrong {
            match result {
                Ok(_) if widened && !case.allow => warnings.push(format!(
                    "can {} (`{}` on `{}`): widened by the config",
                    case.what, case.request.action, case.request.resource
                )),
                Ok(evaluation) => problems.push(violation(
                    index,
                    format!(
                        "{} role `{}` of stage `{}` {} {}: `{}` on `{}`: {}",
                        role.role.word(),
                        role.arn,
                        stage.name,
                        if case.allow { "cannot" } else { "can" },
                        case.what,
                        case.request.action,
                        case.request.resource,
                        evaluation.explain()
                    ),
                )),
                Err(e) => problems.push(violation(
                    index,
                    format!(
                        "cannot evaluate `{}` for `{}`: {e}",
                        case.request.action, role.arn
                    ),
                )),
            }
        }
        proofs.push(RoleProof {
            stage: stage.name.clone(),
            role: role.role,
            arn: role.arn.clone(),
            can,
            denied,
            warnings,
        });
    };

    // 1-2. The roles OIDC tokens assume.
    for role in policies
        .roles
        .iter()
        .filter(|r| matches!(r.role, Role::Pipeline | Role::Feature))
    {
        let kind = if role.role == Role::Feature {
            RoleKind::Feature
        } else {
            RoleKind::Pipeline
        };
        let own = stage.roles(kind);
        let mut cases = vec![
            case(
                "pass its CloudFormation role to CloudFormation",
                "iam:PassRole",
                own.cfn_role_arn,
                true,
            )
            .with("iam:PassedToService", "cloudformation.amazonaws.com"),
            case(
                "pass its CloudFormation role to Lambda (to run code with it)",
                "iam:PassRole",
                own.cfn_role_arn,
                false,
            )
            .with("iam:PassedToService", "lambda.amazonaws.com"),
            case(
                "pass its CloudFormation role to EC2",
                "iam:PassRole",
                own.cfn_role_arn,
                false,
            )
            .with("iam:PassedToService", "ec2.amazonaws.com"),
        ];
        // A role can be passed only within its account.
        for other in &same_account {
            for (what, arn) in [
                (
                    format!("stage `{}`'s pipeline role", other.name),
                    other.pipeline_role_arn.clone(),
                ),
                (
                    format!("stage `{}`'s CloudFormation role", other.name),
                    other.cfn_role_arn.clone(),
                ),
            ] {
                if arn != own.cfn_role_arn {
                    cases.push(
                        case(format!("pass {what}"), "iam:PassRole", &arn, false)
                            .with("iam:PassedToService", "cloudformation.amazonaws.com"),
                    );
                }
            }
        }
        if role.role == Role::Pipeline {
            if let Some(f) = feature {
                cases.push(
                    case(
                        "pass the feature CloudFormation role",
                        "iam:PassRole",
                        &f.cfn_role.arn,
                        false,
                    )
                    .with("iam:PassedToService", "cloudformation.amazonaws.com"),
                );
            }
            cases.push(case(
                "change its own stack",
                "cloudformation:CreateChangeSet",
                &stack_arn(&stage.stack_name),
                true,
            ));
        }
        if role.role == Role::Feature {
            if let Some(f) = feature {
                cases.push(case(
                    "change a feature stack",
                    "cloudformation:CreateChangeSet",
                    &stack_arn(&format!("{}x", f.stack_prefix)),
                    true,
                ));
                cases.push(case(
                    "write a feature stack's artifacts",
                    "s3:PutObject",
                    &format!(
                        "arn:{partition}:s3:::{}/{}x/code.zip",
                        stage.artifacts_bucket, f.stack_prefix
                    ),
                    true,
                ));
                cases.push(case(
                    "write the main stack's artifacts",
                    "s3:PutObject",
                    &format!(
                        "arn:{partition}:s3:::{}/{}/code.zip",
                        stage.artifacts_bucket, stage.stack_name
                    ),
                    false,
                ));
            }
        }
        for other in &same_account {
            let allow = role.role == Role::Pipeline && other.name == stage.name;
            for action in [
                "cloudformation:CreateChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:UpdateStack",
            ] {
                if !allow {
                    cases.push(case(
                        format!("change stage `{}`'s main stack (`{action}`)", other.name),
                        action,
                        &stack_arn(&other.stack_name),
                        false,
                    ));
                }
            }
        }
        let can = match role.role {
            Role::Feature => vec![format!(
                "change-set and delete stacks named `{}*` only, write artifacts under that prefix, pass only its CloudFormation role, and only to CloudFormation",
                feature.map_or("", |f| f.stack_prefix.as_str())
            )],
            _ => vec![format!(
                "change-set and delete stack `{}` only, write artifacts under `{}/`, pass only its CloudFormation role, and only to CloudFormation",
                stage.stack_name, stage.stack_name
            )],
        };
        run(role, cases, can, Vec::new(), false);
    }

    // 3 and 5. The CloudFormation execution roles.
    let deployed = &p.execution.deployed;
    for role in policies
        .roles
        .iter()
        .filter(|r| matches!(r.role, Role::Cfn | Role::FeatureCfn))
    {
        let (prefix, boundary) = match (role.role, feature) {
            (Role::FeatureCfn, Some(f)) => (f.stack_prefix.clone(), f.boundary.arn.clone()),
            _ => (
                format!("{}-", stage.stack_name),
                stage
                    .boundary
                    .as_ref()
                    .map(|b| b.arn.clone())
                    .unwrap_or_default(),
            ),
        };
        let stack = prefix.trim_end_matches('-');
        let admin = p.execution_role.permissions == Mode::Admin;
        let mut cases = Vec::new();
        for (what, action, resource) in &pipeline_resources {
            cases.push(case(
                format!("change {what} (`{action}`)"),
                action,
                resource,
                false,
            ));
        }
        let new_role = role_arn(&cfn_name(stack, "Role"));
        cases.push(case(
            "remove a role's boundary",
            "iam:DeleteRolePermissionsBoundary",
            &new_role,
            false,
        ));
        if !admin {
            cases.push(case(
                "create a role without a boundary",
                "iam:CreateRole",
                &new_role,
                false,
            ));
            cases.push(
                case(
                    "create a role with another boundary",
                    "iam:CreateRole",
                    &new_role,
                    false,
                )
                .with(
                    "iam:PermissionsBoundary",
                    &format!("arn:{partition}:iam::aws:policy/AdministratorAccess"),
                ),
            );
            cases.push(case(
                "attach a policy to a role without the boundary",
                "iam:AttachRolePolicy",
                &new_role,
                false,
            ));
            cases.push(
                case("pass its roles to EC2", "iam:PassRole", &new_role, false)
                    .with("iam:PassedToService", "ec2.amazonaws.com"),
            );
        }
        if role.role == Role::FeatureCfn {
            for other in &same_account {
                let main = &other.stack_name;
                cases.push(case(
                    format!("update stage `{}`'s function", other.name),
                    "lambda:UpdateFunctionCode",
                    &format!(
                        "arn:{partition}:lambda:{region}:{account}:function:{}",
                        cfn_name(main, "Function")
                    ),
                    false,
                ));
                cases.push(case(
                    format!("change stage `{}`'s roles", other.name),
                    "iam:PutRolePolicy",
                    &role_arn(&cfn_name(main, "FunctionRole")),
                    false,
                ));
                cases.push(case(
                    format!("change stage `{}`'s main stack", other.name),
                    "cloudformation:UpdateStack",
                    &stack_arn(main),
                    false,
                ));
                let function = format!(
                    "arn:{partition}:lambda:{region}:{account}:function:{}",
                    cfn_name(main, "Function")
                );
                cases.push(
                    case(
                        format!(
                            "feed stage `{}`'s function from an event source",
                            other.name
                        ),
                        "lambda:CreateEventSourceMapping",
                        "*",
                        false,
                    )
                    .with("lambda:FunctionArn", &function),
                );
            }
        }
        // Sufficiency: what each deployed type's handlers call, on the names CloudFormation
        // gives them, with the boundary and the service each role is passed to.
        let mut can = Vec::new();
        let mut warnings = Vec::new();
        if admin {
            warnings.push("`cloudformation_execution_role.permissions: admin`: every action on every resource but the pipeline resources; an app stack (and, for feature stacks, whoever pushes a feature branch) can create unbounded roles".into());
            can.push("anything (admin), except change the pipeline resources".into());
        } else {
            let types: std::collections::BTreeSet<&str> =
                deployed.iter().map(|d| d.type_name.as_str()).collect();
            can.push(format!(
                "what {} resource type(s) need ({}), on resources named after `{prefix}*` where CloudFormation names them so; create and change roles only with boundary `{boundary}`",
                types.len(),
                types.iter().copied().collect::<Vec<_>>().join(", ")
            ));
            let shape = (
                role.role,
                stage.partition,
                stage.image_repository.is_some(),
                stage.boundary.is_some(),
            );
            if sufficient.insert(shape) {
                cases.extend(sufficiency(
                    (deployed, &p.execution.layer_names),
                    stack,
                    partition,
                    account,
                    region,
                    &boundary,
                ));
            }
        }
        if !p.execution_role.statements.is_empty() {
            warnings.push(format!(
                "widened on purpose by `cloudformation_execution_role.statements`: {}",
                p.execution_role
                    .statements
                    .iter()
                    .map(|s| format!("`{}`", s.sid))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !role.unseen.is_empty() {
            warnings.push(format!(
                "managed policies attached by ARN are not part of this proof: {}",
                role.unseen.join(", ")
            ));
        }
        let widened = admin
            || !p.execution_role.statements.is_empty()
            || !p.execution_role.managed_policy_arns.is_empty();
        run(role, cases, can, warnings, widened);
    }

    // 4. The boundaries, under the widest policy an app role could have.
    let anything = [IdentityPolicy::new(
        "an app role allowed everything",
        vec![IdentityStatement::allow(["*"], ["*"])],
    )];
    for (role, boundary, arn, stack) in [
        (
            Role::Cfn,
            policies.app_boundary.as_ref(),
            stage.boundary.as_ref().map(|b| b.arn.clone()),
            stage.stack_name.clone(),
        ),
        (
            Role::FeatureCfn,
            policies.feature_boundary.as_ref(),
            feature.map(|f| f.boundary.arn.clone()),
            feature
                .map(|f| format!("{}x", f.stack_prefix))
                .unwrap_or_default(),
        ),
    ] {
        let (Some(boundary), Some(arn)) = (boundary, arn) else {
            continue;
        };
        let permissions = match Permissions::new(&anything, Some(boundary)) {
            Ok(permissions) => permissions,
            Err(e) => {
                problems.push(violation(
                    index,
                    format!("cannot evaluate boundary `{arn}`: {e}"),
                ));
                continue;
            }
        };
        let new_role = role_arn(&cfn_name(&stack, "Escalate"));
        let mut cases = vec![
            case(
                "create a role without the boundary",
                "iam:CreateRole",
                &new_role,
                false,
            ),
            case(
                "create a user without the boundary",
                "iam:CreateUser",
                &format!("arn:{partition}:iam::{account}:user/escalate"),
                false,
            ),
            case(
                "remove a boundary",
                "iam:DeleteRolePermissionsBoundary",
                &new_role,
                false,
            ),
            case(
                "create a role with the boundary",
                "iam:CreateRole",
                &new_role,
                true,
            )
            .with("iam:PermissionsBoundary", &arn),
            case(
                "use the app's own resources",
                "dynamodb:PutItem",
                &format!(
                    "arn:{partition}:dynamodb:{region}:{account}:table/{}",
                    cfn_name(&stack, "Table")
                ),
                true,
            ),
        ];
        for (what, action, resource) in &pipeline_resources {
            cases.push(case(
                format!("change {what} (`{action}`)"),
                action,
                resource,
                false,
            ));
        }
        for other in &same_account {
            cases.push(case(
                format!("assume stage `{}`'s pipeline role", other.name),
                "sts:AssumeRole",
                &other.pipeline_role_arn,
                false,
            ));
        }
        let (denied, wrong) = decide(&permissions, cases);
        for (case, result) in wrong {
            problems.push(violation(
                index,
                match result {
                    Ok(e) => format!(
                        "a role with boundary `{arn}` {} {}: {}",
                        if case.allow { "cannot" } else { "can" },
                        case.what,
                        e.explain()
                    ),
                    Err(e) => format!("cannot evaluate boundary `{arn}`: {e}"),
                },
            ));
        }
        proofs.push(RoleProof {
            stage: stage.name.clone(),
            role,
            arn: arn.clone(),
            can: vec!["(boundary) caps every role the stack creates: anything but escaping the boundary or touching the pipeline resources".into()],
            denied,
            warnings: Vec::new(),
        });
    }
    if problems.is_empty() {
        Ok(proofs)
    } else {
        Err(problems)
    }
}

/// A case decided otherwise than it expects, with the evaluation that explains why.
type Misjudged = (Case, Result<Evaluation, PermissionsError>);

/// What `permissions` says of each case: the ones it denies, as they are worded, and the
/// ones it decides otherwise than they expect, with the full evaluation that explains why.
/// The usual answer is computed without building explanations.
fn decide(permissions: &Permissions<'_>, cases: Vec<Case>) -> (Vec<String>, Vec<Misjudged>) {
    let mut denied = Vec::new();
    let mut wrong = Vec::new();
    for case in cases {
        let allowed = permissions
            .decision(&case.request)
            .map(|d| d == super::evaluator::Decision::Allow);
        if allowed.is_ok_and(|allowed| allowed == case.allow) {
            if !case.allow {
                denied.push(case.what);
            }
            continue;
        }
        match permissions.evaluate(&case.request) {
            Ok(evaluation) if evaluation.allowed() == case.allow => {
                if !case.allow {
                    denied.push(case.what);
                }
            }
            evaluation => wrong.push((case, evaluation)),
        }
    }
    (denied, wrong)
}

/// The requests a deployment of `deployed` makes with the execution role, on the names
/// CloudFormation gives the resources of stack `stack`: each must be allowed.
fn sufficiency(
    (deployed, layer_names): (&[super::sam::DeployedResource], &[String]),
    stack: &str,
    partition: &str,
    account: &str,
    region: &str,
    boundary: &str,
) -> Vec<Case> {
    let mut seen = std::collections::BTreeSet::new();
    let mut cases = Vec::new();
    for resource in deployed {
        let Some(actions) = super::table::type_actions(&resource.type_name) else {
            continue;
        };
        for action in actions {
            let formats = super::table::action_arn_formats(action).unwrap_or_default();
            let names: Vec<String> = if resource.type_name == "AWS::Lambda::LayerVersion" {
                layer_names.to_vec()
            } else {
                // Hashed logical ids (versions, deployments) are named by the stack anyway.
                vec![resource.logical_id.replace(super::sam::HASH, "")]
            };
            let samples: Vec<String> = if formats.is_empty() {
                vec!["*".to_owned()]
            } else {
                formats
                    .iter()
                    .flat_map(|f| {
                        names.iter().filter_map(|name| {
                            sample_arn(f, stack, name, partition, account, region)
                        })
                    })
                    .collect()
            };
            for sample in samples {
                let key = action.to_ascii_lowercase();
                // Removing a boundary is denied by design: a role keeps the one it got.
                let removal = super::boundary::BOUNDARY_REMOVALS
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&key));
                if removal || !seen.insert((key, sample.clone())) {
                    continue;
                }
                let mut c = case(
                    format!(
                        "{action} for `{}` ({})",
                        resource.logical_id, resource.type_name
                    ),
                    action,
                    &sample,
                    true,
                );
                let key = action.to_ascii_lowercase();
                if super::execution::BOUNDED_ROLE_CHANGES
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&key))
                {
                    c = c.with("iam:PermissionsBoundary", boundary);
                }
                if key == "lambda:createeventsourcemapping" {
                    let function = format!(
                        "arn:{partition}:lambda:{region}:{account}:function:{}",
                        cfn_name(stack, "Function")
                    );
                    c = c.with("lambda:FunctionArn", &function);
                }
                if key == "iam:passrole" {
                    c = c.with(
                        "iam:PassedToService",
                        &super::execution::passed_to(&resource.type_name),
                    );
                }
                cases.push(c);
            }
        }
    }
    cases
}

/// A concrete ARN of `format` for a resource CloudFormation creates in stack `stack` with
/// `logical_id`, or `None` for forms no stack resource takes (another account's, fixed ARNs).
fn sample_arn(
    format: &str,
    stack: &str,
    logical_id: &str,
    partition: &str,
    account: &str,
    region: &str,
) -> Option<String> {
    let arn = format
        .replace("${Partition}", partition)
        .replace("${Region}", region)
        .replace("${Account}", account);
    if arn.contains("${") || !arn.contains(".*") {
        return None;
    }
    let service = arn.split(':').nth(2).unwrap_or_default();
    let before = arn.split(".*").next().unwrap_or_default();
    let name = match () {
        _ if before.ends_with(":stateMachine:") => format!("{logical_id}-1A2B3C4D"),
        _ if before.ends_with(":layer:") => format!("{logical_id}:1"),
        _ if before.ends_with(":log-group:") => {
            format!("/aws/lambda/{}", cfn_name(stack, logical_id))
        }
        _ if service == "s3" => cfn_name(stack, logical_id).to_ascii_lowercase(),
        _ => cfn_name(stack, logical_id),
    };
    // Objects and sub-resources: the first `.*` is the name, later ones any path.
    Some(arn.replacen(".*", &name, 1).replace(".*", "sub"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::iam;
    use crate::cfn::{Resource, Statement, StatementEntry, Value};
    use crate::pipeline::template::template;

    const CONFIG: &str = "\
version: 1
app: shop
source:
  github:
    repository: octo-org/shop
feature_branches: 'feature*'
stages:
  - name: dev
    account: '111111111111'
    region: us-east-1
    image_repository: true
  - name: test
    account: '111111111111'
    region: eu-west-1
  - name: prod
    account: '222222222222'
    region: us-east-1
";

    /// The app of `fixtures/template.yaml`: a function behind an HTTP API.
    fn pipeline() -> Pipeline {
        let mut loaded = crate::config::load_str("sampipe.yaml", CONFIG).unwrap();
        let sam = std::fs::read_to_string("fixtures/template.yaml").unwrap();
        loaded.config.sam_app = Some(crate::app::parse(&sam).unwrap());
        Pipeline::new(&loaded.config).unwrap()
    }

    fn messages(result: Result<PermissionsMap, Vec<Diagnostic>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    /// `t` with role `id`'s first inline policy changed by `edit`.
    fn edit_role(t: &Template, id: &str, edit: impl FnOnce(&mut Vec<StatementEntry>)) -> Template {
        let Some(ResourceProperties::Role(role)) =
            t.resources().get(id).map(|r| r.properties.clone())
        else {
            unreachable!("`{id}` is a role")
        };
        let mut role: iam::Role = *role;
        edit(&mut role.policies[0].policy_document.statement);
        let resource = Resource::new(role);
        let resource = match &t.resources()[id].condition {
            Some(condition) => resource.condition(condition.clone()),
            None => resource,
        };
        t.clone().replace_resource(id, resource)
    }

    #[test]
    fn the_generated_template_is_proven_for_every_role() {
        let p = pipeline();
        let map = prove(&p, &template(&p)).unwrap();
        let roles: Vec<(&str, &str)> = map
            .roles
            .iter()
            .map(|r| (r.stage.as_str(), r.role.word()))
            .collect();
        // Per stage: the roles, then the boundaries (dev: the app's and the feature stacks').
        assert_eq!(
            roles,
            [
                ("dev", "pipeline"),
                ("dev", "feature"),
                ("dev", "cfn"),
                ("dev", "feature-cfn"),
                ("dev", "cfn"),
                ("dev", "feature-cfn"),
                ("test", "pipeline"),
                ("test", "cfn"),
                ("test", "cfn"),
                ("prod", "pipeline"),
                ("prod", "cfn"),
                ("prod", "cfn"),
            ]
        );
        let feature = &map.roles[1];
        for stage in ["dev", "test"] {
            assert!(feature.denied.contains(&format!(
                "change stage `{stage}`'s main stack (`cloudformation:CreateChangeSet`)"
            )));
        }
        // Stages that share an account protect each other's pipeline resources, in any region.
        let test_cfn = &map.roles[7];
        assert!(test_cfn.denied.contains(
            &"change stage `dev`'s image repository policy (`ecr:SetRepositoryPolicy`)".to_owned()
        ));
        assert!(test_cfn
            .denied
            .contains(&"change stage `dev`'s pipeline role (`iam:PutRolePolicy`)".to_owned()));
    }

    #[test]
    fn a_pipeline_role_that_passes_its_role_to_anything_fails_the_proof() {
        let p = pipeline();
        let wide = edit_role(&template(&p), ids::PIPELINE_ROLE, |statements| {
            statements.push(StatementEntry::Always(
                Statement::allow()
                    .action("iam:PassRole")
                    .resource(Value::str("*")),
            ));
        });
        let problems = messages(prove(&p, &wide));
        for stage in ["dev", "test", "prod"] {
            assert!(
                problems
                    .iter()
                    .any(|m| m.starts_with("pipeline role `arn:aws:iam::")
                        && m.contains(&format!(
                            "of stage `{stage}` can pass its CloudFormation role to Lambda"
                        ))),
                "{problems:#?}"
            );
        }
        assert!(
            problems
                .iter()
                .any(|m| m.contains("can pass stage `test`'s CloudFormation role")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_feature_role_that_reaches_a_main_stack_fails_the_proof() {
        let p = pipeline();
        let wide = edit_role(&template(&p), ids::FEATURE_ROLE, |statements| {
            statements.push(StatementEntry::Always(
                Statement::allow()
                    .action("cloudformation:*")
                    .resource(Value::sub(
                    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*",
                )),
            ));
        });
        let problems = messages(prove(&p, &wide));
        assert!(
            problems.iter().any(|m| m.starts_with("feature role")
                && m.contains(
                    "can change stage `dev`'s main stack (`cloudformation:ExecuteChangeSet`)"
                )),
            "{problems:#?}"
        );
    }

    #[test]
    fn an_execution_role_that_creates_roles_without_the_boundary_fails_the_proof() {
        let p = pipeline();
        let wide = edit_role(&template(&p), ids::CFN_ROLE, |statements| {
            for entry in statements.iter_mut() {
                if let StatementEntry::Always(s) = entry {
                    if s.sid.as_deref() == Some("ChangeRolesWithinBoundary") {
                        s.condition.clear();
                    }
                }
            }
        });
        let problems = messages(prove(&p, &wide));
        assert!(
            problems
                .iter()
                .any(|m| m.starts_with("cfn role")
                    && m.contains("can create a role without a boundary")),
            "{problems:#?}"
        );
        assert!(problems
            .iter()
            .any(|m| m.contains("can attach a policy to a role without the boundary")));
    }

    #[test]
    fn an_execution_role_without_its_denies_reaches_the_pipeline_resources() {
        let p = pipeline();
        let wide = edit_role(&template(&p), ids::CFN_ROLE, |statements| {
            statements.retain(|e| e.statement().sid.as_deref() != Some("ProtectPipelineResources"));
            statements.push(StatementEntry::Always(
                Statement::allow().action("iam:*").resource(Value::str("*")),
            ));
        });
        let problems = messages(prove(&p, &wide));
        assert!(
            problems
                .iter()
                .any(|m| m.contains("can change stage `dev`'s pipeline role")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_derived_policy_missing_an_action_fails_the_proof() {
        let p = pipeline();
        let narrow = edit_role(&template(&p), ids::CFN_ROLE, |statements| {
            for entry in statements.iter_mut() {
                if let StatementEntry::Always(s) = entry {
                    s.action.retain(|a| a != "lambda:CreateFunction");
                }
            }
        });
        let problems = messages(prove(&p, &narrow));
        assert!(
            problems.iter().any(|m| m.contains(
                "cannot lambda:CreateFunction for `HelloFunction` (AWS::Lambda::Function)"
            )),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_boundary_without_its_denies_fails_the_proof() {
        let p = pipeline();
        let t = template(&p);
        let Some(ResourceProperties::ManagedPolicy(policy)) = t
            .resources()
            .get(ids::BOUNDARY)
            .map(|r| r.properties.clone())
        else {
            unreachable!("a managed policy")
        };
        let mut policy = policy;
        policy
            .policy_document
            .statement
            .retain(|e| e.statement().sid.as_deref() != Some("KeepThisBoundaryOnNewPrincipals"));
        // Every stage creates its execution role here: the boundary has no condition.
        let wide = t
            .clone()
            .replace_resource(ids::BOUNDARY, Resource::new(policy));
        let problems = messages(prove(&p, &wide));
        assert!(
            problems
                .iter()
                .any(|m| m.contains("can create a role without the boundary")),
            "{problems:#?}"
        );
    }

    #[test]
    fn admin_is_loud_but_still_keeps_the_pipeline_resources() {
        let mut loaded = crate::config::load_str(
            "sampipe.yaml",
            &format!("{CONFIG}cloudformation_execution_role:\n  permissions: admin\n"),
        )
        .unwrap();
        let sam = std::fs::read_to_string("fixtures/template.yaml").unwrap();
        loaded.config.sam_app = Some(crate::app::parse(&sam).unwrap());
        let p = Pipeline::new(&loaded.config).unwrap();
        let map = prove(&p, &template(&p)).unwrap();
        let cfn = map.roles.iter().find(|r| r.role == Role::Cfn).unwrap();
        assert!(cfn
            .warnings
            .iter()
            .any(|w| w.contains("permissions: admin")));
        assert!(cfn
            .denied
            .contains(&"change stage `dev`'s pipeline role (`iam:PutRolePolicy`)".to_owned()));
    }
}
