//! The CloudFormation execution role's policy, derived from what the app deploys: for each
//! resource type, the actions its create, read, update and delete handlers call ([`table`]),
//! each on the resources the type's names allow, scoped to the stack's name prefix where
//! CloudFormation names the resource after the stack. Roles may be created and changed only
//! with the stage's permissions boundary, passed only to the services that run them, and the
//! pipeline resources are denied outright ([`protected`]).
//!
//! The policy is written as `!Sub` text with `${AWS::Partition}`, `${AWS::Region}`,
//! `${AWS::AccountId}` and the stack prefix (`${Stack}-` for a stage's role, whose stack name
//! comes from the template's mapping, or the feature prefix).

use std::collections::{BTreeMap, BTreeSet};

use crate::cfn::ConditionOperator;
use crate::permissions::boundary::BOUNDARY_REMOVALS;
use crate::permissions::protected::{Protected, ARTIFACT_READS, IMAGE_PULLS};
use crate::permissions::table;

/// A resource the app's stack creates, after the SAM transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    pub logical_id: String,
    pub type_name: String,
}

/// Whose stacks the role deploys.
#[derive(Clone, Debug)]
pub struct Scope {
    /// What every name CloudFormation derives from the stack name starts with, as `!Sub` text.
    pub prefix: String,
    /// The artifacts this role's stacks read their code from (`bucket/prefix*`), `!Sub` text.
    pub artifacts: String,
    /// The image repository the stage pushes to, if any.
    pub repository: Option<String>,
    /// The boundary every role the stack creates must carry, `!Sub` text.
    pub boundary: String,
    /// Resources beyond the role's stacks it must never touch (for the feature role: the
    /// main stacks of the stage's account and what they name).
    pub foreign: Vec<String>,
}

/// One statement, in `!Sub` text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    /// `NotAction` instead of `Action` when not empty.
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    /// `(operator, key, values)`.
    pub condition: Option<(ConditionOperator, String, Vec<String>)>,
}

impl Rule {
    fn allow(sid: impl Into<String>, actions: Vec<String>, resources: Vec<String>) -> Rule {
        Rule {
            sid: sid.into(),
            allow: true,
            actions,
            not_actions: Vec::new(),
            resources,
            condition: None,
        }
    }

    fn deny(sid: impl Into<String>, actions: Vec<String>, resources: Vec<String>) -> Rule {
        Rule {
            allow: false,
            ..Rule::allow(sid, actions, resources)
        }
    }
}

/// A resource type the table does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownType {
    pub type_name: String,
    pub logical_ids: Vec<String>,
}

/// IAM actions that change a role's permissions; allowed only on roles with the boundary.
pub const BOUNDED_ROLE_CHANGES: [&str; 6] = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// The service principal a resource type passes roles to: the service that assumes them,
/// named after the type's service unless AWS names it otherwise.
pub fn passed_to(type_name: &str) -> String {
    let service = type_name.split("::").nth(1).unwrap_or_default();
    let principal = match service {
        "StepFunctions" => "states",
        "ApiGateway" | "ApiGatewayV2" => "apigateway",
        "KinesisFirehose" => "firehose",
        "KinesisAnalyticsV2" => "kinesisanalytics",
        "ElasticLoadBalancingV2" => "elasticloadbalancing",
        other => return format!("{}.amazonaws.com", other.to_ascii_lowercase()),
    };
    format!("{principal}.amazonaws.com")
}

/// Replaces the table's placeholders with CloudFormation's pseudo parameters.
fn pseudo(format: &str) -> String {
    format
        .replace("${Partition}", "${AWS::Partition}")
        .replace("${Region}", "${AWS::Region}")
        .replace("${Account}", "${AWS::AccountId}")
}

/// The resources of `format` (an ARN format from the table, the name as `.*`) that a stack
/// with `scope` may touch: under its prefix where CloudFormation names the resource after the
/// stack; the state machines and layers the template declares (named after their logical
/// ids); otherwise every resource of that form in the account and region.
fn resources_of(format: &str, scope: &Scope, named: &Named) -> Vec<String> {
    let arn = pseudo(format);
    let Some(base) = arn.strip_suffix(".*") else {
        return vec![arn.replace(".*", "*")];
    };
    let p = &scope.prefix;
    // The part after the account: what kind of resource, in the service's own words.
    let kind = base.rsplit_once("${AWS::AccountId}:").map(|(_, k)| k);
    let stack_named = [
        "function:",
        "role/",
        "policy/",
        "table/",
        "rule/",
        "application:",
        "deploymentgroup:",
        "alarm:",
        "stream/",
        "deliverystream/",
        "repository/",
    ];
    let service = base.split(':').nth(2).unwrap_or_default();
    match kind {
        // Queues and topics: the name follows the account directly.
        Some("") if service == "sqs" || service == "sns" => vec![format!("{base}{p}*")],
        Some("log-group:") => vec![
            format!("{base}{p}*"),
            format!("{base}/aws/lambda/{p}*"),
            format!("{base}/aws/states/{p}*"),
        ],
        Some("stateMachine:") if !named.state_machines.is_empty() => named
            .state_machines
            .iter()
            .map(|pattern| format!("{base}{pattern}"))
            .collect(),
        Some("layer:") if !named.layers.is_empty() => named
            .layers
            .iter()
            .flat_map(|id| [format!("{base}{id}"), format!("{base}{id}:*")])
            .collect(),
        Some(k) if stack_named.contains(&k) => vec![format!("{base}{p}*")],
        _ if base.ends_with(":s3:::") => vec![format!("{base}{p}*")],
        _ if base.ends_with(":s3:::.*/") => vec![format!("{}{p}*/*", &base[..base.len() - 3])],
        _ => vec![format!("{base}*")],
    }
}

/// The resources of `deployed` that CloudFormation names after a stack whose names start
/// with `prefix` (literal), as ARN patterns: what another stack's roles must stay off.
pub fn named_under(deployed: &[Deployed], prefix: &str) -> Vec<String> {
    let scope = Scope {
        prefix: prefix.to_owned(),
        artifacts: String::new(),
        repository: None,
        boundary: String::new(),
        foreign: Vec::new(),
    };
    let mut out = BTreeSet::new();
    for resource in deployed {
        for action in table::type_actions(&resource.type_name).unwrap_or_default() {
            for format in table::action_arn_formats(action).unwrap_or_default() {
                out.extend(
                    resources_of(format, &scope, &Named::default())
                        .into_iter()
                        // S3 names carry no account, and the artifacts bucket's name starts
                        // like the first stage's stack.
                        .filter(|r| r.contains(prefix) && !r.contains(":s3:::")),
                );
            }
        }
    }
    out.into_iter().collect()
}

/// What the template names itself (not after the stack): state machines (name patterns:
/// CloudFormation names them `{logical id}-{random}` unless the template names them) and
/// layers (SAM names them after the logical id unless `LayerName` is given).
#[derive(Clone, Debug, Default)]
pub struct Named {
    pub state_machines: Vec<String>,
    pub layers: Vec<String>,
}

/// Collapses many resources of one service to their common ARN prefix and a `*`.
fn compact(mut resources: Vec<String>) -> Vec<String> {
    resources.sort();
    resources.dedup();
    if resources.len() <= 6 {
        return resources;
    }
    let first = &resources[0];
    let mut common = first.len();
    for r in &resources[1..] {
        common = common.min(
            first
                .char_indices()
                .zip(r.chars())
                .take_while(|((_, a), b)| a == b)
                .count(),
        );
    }
    let cut = first[..common].rfind([':', '/']).map_or(common, |i| i + 1);
    let mut arn = format!("{}*", &first[..cut]);
    // An ARN has six parts (`arn:partition:service:region:account:resource`), empty or not.
    // (The pseudo parameters' `::` are not separators.)
    let parts = |arn: &str| {
        arn.replace("${AWS::Partition}", "p")
            .replace("${AWS::Region}", "r")
            .replace("${AWS::AccountId}", "a")
            .matches(':')
            .count()
    };
    while parts(&arn) < 5 {
        arn.push_str(":*");
    }
    vec![arn]
}

/// The derived policy of the execution role for `deployed`, or the types the table does not
/// know.
pub fn derive(
    deployed: &[Deployed],
    named: &Named,
    scope: &Scope,
    protected: &Protected,
) -> Result<Vec<Rule>, Vec<UnknownType>> {
    let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // action (lowercase) → (spelling, resources)
    let mut actions: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut services: BTreeSet<String> = BTreeSet::new();
    for resource in deployed {
        let Some(type_actions) = table::type_actions(&resource.type_name) else {
            unknown
                .entry(resource.type_name.clone())
                .or_default()
                .push(resource.logical_id.clone());
            continue;
        };
        for action in type_actions {
            let key = action.to_ascii_lowercase();
            if key == "iam:passrole" {
                services.insert(passed_to(&resource.type_name));
            }
            let entry = actions
                .entry(key)
                .or_insert_with(|| (action.to_owned(), BTreeSet::new()));
            let formats = table::action_arn_formats(action).unwrap_or_default();
            if formats.is_empty() {
                entry.1.insert("*".to_owned());
            }
            for format in formats {
                entry.1.extend(resources_of(format, scope, named));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(unknown
            .into_iter()
            .map(|(type_name, logical_ids)| UnknownType {
                type_name,
                logical_ids,
            })
            .collect());
    }

    // Denied below anyway: not listed as allowed.
    for removal in BOUNDARY_REMOVALS {
        actions.remove(&removal.to_ascii_lowercase());
    }
    let mut rules = Vec::new();
    let role_arn =
        |name: &str| format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}");
    let own_roles = role_arn(&format!("{}*", scope.prefix));
    // Roles: created and changed only with the boundary; passed only to what runs them.
    let bounded: Vec<String> = BOUNDED_ROLE_CHANGES
        .iter()
        .filter(|a| actions.remove(&a.to_ascii_lowercase()).is_some())
        .map(|a| (*a).to_owned())
        .collect();
    if !bounded.is_empty() {
        rules.push(Rule {
            condition: Some((
                ConditionOperator::StringEquals,
                "iam:PermissionsBoundary".to_owned(),
                vec![scope.boundary.clone()],
            )),
            ..Rule::allow(
                "ChangeRolesWithinBoundary",
                bounded,
                vec![own_roles.clone()],
            )
        });
    }
    if actions.remove("iam:passrole").is_some() {
        rules.push(Rule {
            condition: Some((
                ConditionOperator::StringEquals,
                "iam:PassedToService".to_owned(),
                services.into_iter().collect(),
            )),
            ..Rule::allow(
                "PassOwnRolesToTheirServices",
                vec!["iam:PassRole".to_owned()],
                vec![own_roles],
            )
        });
    }
    // Layers of any account (e.g. AWS's own) may be read by a function that uses them.
    if let Some((spelling, _)) = actions.remove("lambda:getlayerversion") {
        rules.push(Rule::allow(
            "ReadAnyLayer",
            vec![spelling],
            vec!["arn:${AWS::Partition}:lambda:*:*:layer:*".to_owned()],
        ));
    }
    // Event source mappings have unpredictable ids: scope them by the function they feed, so
    // that a stack cannot wire its queue or stream into another stack's function.
    if let Some((spelling, _)) = actions.remove("lambda:createeventsourcemapping") {
        rules.push(Rule {
            condition: Some((
                ConditionOperator::ArnLike,
                "lambda:FunctionArn".to_owned(),
                vec![format!(
                    "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}*",
                    scope.prefix
                )],
            )),
            ..Rule::allow(
                "MapEventSourcesToOwnFunctions",
                vec![spelling],
                vec!["*".to_owned()],
            )
        });
    }
    // Code and images: Lambda reads them with the deploying role's permissions.
    rules.push(Rule::allow(
        "ReadOwnArtifacts",
        ARTIFACT_READS.map(String::from).to_vec(),
        vec![scope.artifacts.clone()],
    ));
    if let Some(repository) = &scope.repository {
        rules.push(Rule::allow(
            "PullOwnImages",
            IMAGE_PULLS.map(String::from).to_vec(),
            vec![repository.clone()],
        ));
    }

    // The rest, by service and then by the resources they act on.
    let mut by_service: BTreeMap<String, BTreeMap<Vec<String>, Vec<String>>> = BTreeMap::new();
    for (key, (spelling, resources)) in actions {
        let service = key.split(':').next().unwrap_or_default().to_owned();
        let resources: Vec<String> = if resources.contains("*") {
            vec!["*".to_owned()]
        } else {
            compact(resources.into_iter().collect())
        };
        by_service
            .entry(service)
            .or_default()
            .entry(resources)
            .or_default()
            .push(spelling);
    }
    for (service, groups) in by_service {
        let name = sid_word(&service);
        let count = groups.len();
        for (n, (resources, mut actions)) in groups.into_iter().enumerate() {
            actions.sort_by_key(|a| a.to_ascii_lowercase());
            let sid = match (count, resources.as_slice()) {
                (1, _) => name.clone(),
                (_, [any]) if any == "*" => format!("{name}AnyResource"),
                _ => format!("{name}{}", n + 1),
            };
            rules.push(Rule::allow(sid, actions, resources));
        }
    }

    rules.extend(denies(scope, protected));
    Ok(rules)
}

/// What every execution role is denied, whatever else it is allowed.
pub fn denies(scope: &Scope, protected: &Protected) -> Vec<Rule> {
    let mut rules = vec![
        Rule::deny(
            "ProtectPipelineResources",
            vec!["*".to_owned()],
            protected.untouchable.clone(),
        ),
        Rule {
            not_actions: ARTIFACT_READS.map(String::from).to_vec(),
            ..Rule::deny("OnlyReadArtifacts", Vec::new(), protected.artifacts.clone())
        },
        Rule {
            not_actions: IMAGE_PULLS.map(String::from).to_vec(),
            ..Rule::deny("OnlyPullImages", Vec::new(), protected.repositories.clone())
        },
        Rule::deny(
            "KeepBoundaries",
            BOUNDARY_REMOVALS.map(String::from).to_vec(),
            vec!["*".to_owned()],
        ),
    ];
    if !scope.foreign.is_empty() {
        rules.push(Rule::deny(
            "StayOffMainStacks",
            vec!["*".to_owned()],
            scope.foreign.clone(),
        ));
    }
    rules
}

/// `lambda` → `Lambda`, `cloudformation` → `Cloudformation`, `elasticfilesystem` → ...
fn sid_word(service: &str) -> String {
    service
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
