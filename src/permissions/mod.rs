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
    /// The names of the app's layers (their ARNs hold them).
    pub layer_names: Vec<String>,
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
    let named = named(app);
    if settings.permissions == Permissions::Derived {
        let fixed = fixed_names(app);
        if !fixed.is_empty() {
            return Err(fixed);
        }
    }
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
        layer_names: named.layers.clone(),
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

/// The state machines and layers the template names (see [`Named`]).
fn named(app: &crate::app::SamApp) -> Named {
    use crate::app::resources::SamSpec;
    let mut named = Named::default();
    for resource in &app.resources {
        let literal = resource.physical_name.as_ref().map(|n| n.value.clone());
        match (&resource.sam, resource.type_name.as_str()) {
            (SamSpec::StateMachine(_), _) | (_, "AWS::StepFunctions::StateMachine") => named
                .state_machines
                .push(literal.unwrap_or_else(|| format!("{}-*", resource.logical_id))),
            (SamSpec::LayerVersion, _) | (_, "AWS::Lambda::LayerVersion") => named
                .layers
                .push(literal.unwrap_or_else(|| resource.logical_id.clone())),
            _ => {}
        }
    }
    named
}

/// Resources whose ARN holds a name the template fixes: the derived policy allows only names
/// under the stack's (`{stack}-*`), and a fixed name would also collide between the stages of
/// one account and the feature stacks.
fn fixed_names(app: &crate::app::SamApp) -> Vec<Diagnostic> {
    use crate::app::resources::SamSpec;
    let mut out = Vec::new();
    let mut refuse = |what: String, value: &str| {
        out.push(
            Diagnostic::error(
                "fixed-resource-name",
                format!("{what} is named `{value}`, not after its stack: the derived execution policy lets each stack change only resources named `<stack name>-...`, and one fixed name cannot serve every stage of an account and every feature stack"),
            )
            .at(ConfigPath::root().key("sam_template"))
            .help(format!("name it after the stack, e.g. `!Sub '${{AWS::StackName}}-{value}'`, or leave the name to CloudFormation; to keep it, grant it in `cloudformation_execution_role.statements`")),
        );
    };
    for resource in &app.resources {
        let scoped_by_name = !matches!(
            (&resource.sam, resource.type_name.as_str()),
            (
                SamSpec::StateMachine(_)
                    | SamSpec::LayerVersion
                    | SamSpec::Api(_)
                    | SamSpec::HttpApi(_),
                _
            ) | (
                _,
                "AWS::StepFunctions::StateMachine"
                    | "AWS::Lambda::LayerVersion"
                    | "AWS::ApiGateway::RestApi"
                    | "AWS::ApiGatewayV2::Api"
            )
        );
        if let (Some(name), true) = (&resource.physical_name, scoped_by_name) {
            refuse(
                format!(
                    "`{}` (`{}`) `{}`",
                    resource.logical_id, resource.type_name, name.property
                ),
                &name.value,
            );
        }
        // Rules that events create (ScheduleV2 schedules are not named after the stack anyway).
        let events = match &resource.sam {
            SamSpec::Function(f) => f.events.as_slice(),
            SamSpec::StateMachine(s) => s.events.as_slice(),
            _ => &[],
        };
        for event in events.iter().filter(|e| e.type_name != "ScheduleV2") {
            if let Some(name) = &event.physical_name {
                refuse(
                    format!(
                        "event `{}` of `{}` (`{}`)",
                        event.id, resource.logical_id, name.property
                    ),
                    &name.value,
                );
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "version: 1\napp: shop\nsource:\n  github:\n    repository: o/shop\nstages:\n  - name: dev\n    account: '111111111111'\n    region: us-east-1\n";

    fn synth(sam: &str, extra: &str) -> Result<crate::pipeline::Pipeline, Vec<Diagnostic>> {
        let mut loaded =
            crate::config::load_str("sampipe.yaml", &format!("{CONFIG}{extra}")).unwrap();
        loaded.config.sam_app = Some(crate::app::parse(sam).unwrap());
        crate::pipeline::Pipeline::new(&loaded.config)
    }

    const FIXED: &str = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: orders\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: src/\n  Deps:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      LayerName: shared-deps\n      ContentUri: deps/\n";

    #[test]
    fn a_fixed_name_outside_the_stack_is_refused_with_the_fix() {
        let problems = synth(FIXED, "").unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, "fixed-resource-name");
        assert!(problems[0]
            .message
            .starts_with("SAM template `template.yaml`: `Fn` (`AWS::Serverless::Function`) `FunctionName` is named `orders`"));
        assert!(problems[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("!Sub '${AWS::StackName}-orders'")));
        // Layers keep their names: their ARNs are scoped to the names the template gives.
        let admin = synth(
            FIXED,
            "cloudformation_execution_role:\n  permissions: admin\n",
        );
        assert!(admin.is_ok());
    }

    #[test]
    fn a_layer_is_scoped_to_the_name_the_template_gives_it() {
        let sam = FIXED.replace("      FunctionName: orders\n", "");
        let p = synth(&sam, "").unwrap();
        let layers: Vec<&String> = p
            .execution
            .stage
            .iter()
            .flat_map(|r| &r.resources)
            .filter(|r| r.contains(":layer:") && !r.contains("layer:*"))
            .collect();
        assert!(!layers.is_empty());
        assert!(
            layers.iter().all(|r| r.contains(":layer:shared-deps")),
            "{layers:?}"
        );
    }

    #[test]
    fn roles_are_passed_only_to_the_service_of_the_type_that_runs_them() {
        assert_eq!(
            execution::passed_to("AWS::Lambda::Function"),
            "lambda.amazonaws.com"
        );
        assert_eq!(
            execution::passed_to("AWS::StepFunctions::StateMachine"),
            "states.amazonaws.com"
        );
        assert_eq!(
            execution::passed_to("AWS::ApiGatewayV2::Integration"),
            "apigateway.amazonaws.com"
        );
        assert_eq!(
            execution::passed_to("AWS::Events::Rule"),
            "events.amazonaws.com"
        );
    }

    /// Every event source of SAM at once needs more actions than IAM lets a role hold inline:
    /// a clear synth error, not a failed deploy.
    #[test]
    fn a_policy_over_the_inline_limit_is_refused_with_the_options() {
        let sam = std::fs::read_to_string("fixtures/sam/events.yaml")
            .unwrap()
            .replace(
                "TableName: orders",
                "TableName: !Sub '${AWS::StackName}-orders'",
            )
            .replace(
                "Name: hourly-report",
                "Name: !Sub '${AWS::StackName}-hourly'",
            )
            .replace(
                "RuleName: deployments",
                "RuleName: !Sub '${AWS::StackName}-deployments'",
            );
        let p = synth(&sam, "").expect("the model is fine");
        let problems =
            crate::permissions::prove::prove(&p, &crate::pipeline::template::template(&p))
                .unwrap_err();
        assert_eq!(problems[0].code, "policy-too-large", "{problems:?}");
        assert!(problems[0].message.contains("IAM allows 10240 per role"));
    }

    #[test]
    fn a_type_the_table_does_not_know_is_refused_with_the_fix() {
        let sam = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Mesh:\n    Type: AWS::AppMesh::Mesh\n";
        let problems = synth(sam, "").unwrap_err();
        assert_eq!(problems[0].code, "unknown-resource-type");
        assert!(
            problems[0]
                .message
                .contains("`AWS::AppMesh::Mesh` (`Mesh`)"),
            "{}",
            problems[0].message
        );
        assert!(problems[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("permissions: admin")));
    }
}
