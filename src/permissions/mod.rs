//! What the roles of the pipeline resources may do, derived and proven.
//!
//! - [`table`] and [`fallback`]: the IAM actions each CloudFormation resource type's handlers
//!   call, generated offline from cfn-lint's resource provider schemas;
//! - [`sam`]: the resources the SAM transform makes of the app's template;
//! - [`execution`]: the CloudFormation execution roles' policy, from those types, scoped to
//!   the stack; [`boundary`]: the ceiling of every role the app creates; [`protected`]: the
//!   pipeline resources no app stack may touch.

pub mod boundary;
pub mod evaluator;
pub mod execution;
pub mod fallback;
pub mod protected;
pub mod prove;
pub mod report;
pub mod sam;
pub mod table;

use crate::config::model::{ExecutionRoleSettings, Permissions};
use crate::diag::{ConfigPath, Diagnostic};
use crate::pipeline::StagePlan;
use execution::{Deployed, Named, Rule, Scope};

/// The execution roles' policies, as the template writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionPolicies {
    /// The stages' roles (one template: `${Stack}`, `${Bucket}`, `${Boundary}` and
    /// `${Repository}` name the stage's own).
    pub stage: Vec<Rule>,
    /// The first stage's feature role, when feature branches deploy.
    pub feature: Option<Vec<Rule>>,
    /// What the app deploys, after the SAM transform, for `explain`.
    pub deployed: Vec<sam::DeployedResource>,
}

/// Derives the execution roles' policies of `stages` for `app` under `settings`.
pub fn policies(
    app: &crate::app::SamApp,
    stages: &[StagePlan],
    settings: &ExecutionRoleSettings,
    protected: &protected::Protected,
) -> Result<ExecutionPolicies, Vec<Diagnostic>> {
    let resources = sam::deployed_resources(app);
    let deployed: Vec<Deployed> = resources
        .iter()
        .map(|r| Deployed {
            logical_id: r.logical_id.clone(),
            type_name: r.type_name.clone(),
        })
        .collect();
    let named = Named {
        state_machines: resources
            .iter()
            .filter(|r| r.type_name == "AWS::StepFunctions::StateMachine")
            .map(|r| r.logical_id.clone())
            .collect(),
        layers: resources
            .iter()
            .filter(|r| r.type_name == "AWS::Lambda::LayerVersion")
            .map(|r| r.logical_id.clone())
            .collect(),
    };
    let images = stages.iter().any(|s| s.image_repository.is_some());
    let repository = images.then(|| {
        "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repository}"
            .to_owned()
    });
    let stage_scope = Scope {
        prefix: "${Stack}-".into(),
        artifacts: "arn:${AWS::Partition}:s3:::${Bucket}/${Stack}/*".into(),
        repository: repository.clone(),
        boundary: "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Boundary}".into(),
        foreign: Vec::new(),
    };
    let feature_scope = stages.first().and_then(|first| {
        let feature = first.feature.as_ref()?;
        Some(Scope {
            prefix: feature.stack_prefix.clone(),
            artifacts: format!(
                "arn:${{AWS::Partition}}:s3:::${{Bucket}}/{}*",
                feature.stack_prefix
            ),
            repository: repository.clone(),
            boundary: format!(
                "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}",
                feature.boundary.name
            ),
            foreign: main_stacks_of(stages, &first.account, &deployed),
        })
    });
    let derive = |scope: &Scope| -> Result<Vec<Rule>, Vec<Diagnostic>> {
        let mut rules = match settings.permissions {
            Permissions::Admin => {
                let mut rules = vec![Rule {
                    sid: "AdministratorAccess".into(),
                    allow: true,
                    actions: vec!["*".into()],
                    not_actions: Vec::new(),
                    resources: vec!["*".into()],
                    condition: None,
                }];
                rules.extend(execution::denies(scope, protected));
                rules
            }
            Permissions::Derived => execution::derive(&deployed, &named, scope, protected)
                .map_err(|unknown| unknown_types(&unknown))?,
        };
        // The user's own statements go before the denies, which still win.
        let at = rules.iter().position(|r| !r.allow).unwrap_or(rules.len());
        let extra: Vec<Rule> = settings
            .statements
            .iter()
            .map(|s| Rule {
                sid: s.sid.clone(),
                allow: s.effect == crate::config::model::StatementEffect::Allow,
                actions: s.actions.clone(),
                not_actions: Vec::new(),
                resources: s.resources.clone(),
                condition: None,
            })
            .collect();
        rules.splice(at..at, extra);
        Ok(rules)
    };
    Ok(ExecutionPolicies {
        stage: derive(&stage_scope)?,
        feature: feature_scope.as_ref().map(derive).transpose()?,
        deployed: resources,
    })
}

/// The main stacks in `account` and what CloudFormation names after them (the resources of
/// the app's types whose names start with the stack's), for the feature roles to stay off.
fn main_stacks_of(stages: &[StagePlan], account: &str, deployed: &[Deployed]) -> Vec<String> {
    let mut out = Vec::new();
    for stage in stages.iter().filter(|s| s.account == account) {
        let stack = &stage.stack_name;
        out.push(format!(
            "arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{stack}/*"
        ));
        out.extend(execution::named_under(deployed, &format!("{stack}-")));
    }
    // In any region: a feature function's role reaches every region of the account.
    let mut out: Vec<String> = out
        .into_iter()
        .map(|arn| arn.replace("${AWS::Region}", "*"))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn unknown_types(unknown: &[execution::UnknownType]) -> Vec<Diagnostic> {
    unknown
        .iter()
        .map(|u| {
            Diagnostic::error(
                "unknown-resource-type",
                format!(
                    "the SAM template deploys `{}` ({}), whose permissions sampipe does not know",
                    u.type_name,
                    u.logical_ids
                        .iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at(ConfigPath::root().key("sam_template"))
            .help(format!(
                "grant what `{}` needs in `cloudformation_execution_role.statements`, or set `cloudformation_execution_role.permissions: admin` (every action, as SAM grants)",
                u.type_name
            ))
        })
        .collect()
}
