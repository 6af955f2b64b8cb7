//! [`Template::validate`]: every problem CloudFormation would reject at deploy time that can be
//! seen without deploying, reported all at once.
//!
//! Limits are from [CloudFormation quotas](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
//! name rules from the [template anatomy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html).

use indexmap::IndexMap;

use super::convert::{self, RenderError};
use super::sub::{self, Part};
use super::{DeletionPolicy, Intrinsic, Pseudo, Section, Template, Value};

/// Maximum entries per section.
const MAX_PARAMETERS: usize = 200;
const MAX_MAPPINGS: usize = 200;
const MAX_MAPPING_ATTRIBUTES: usize = 200;
const MAX_RESOURCES: usize = 500;
const MAX_OUTPUTS: usize = 200;
const MAX_DESCRIPTION_BYTES: usize = 1024;

/// A problem in a [`Template`]. `at` fields are paths such as
/// `Resources.Role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Federated`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The description is over 1024 bytes.
    #[error("the description is {bytes} bytes long; CloudFormation allows at most 1024")]
    DescriptionTooLong {
        /// Its length.
        bytes: usize,
    },
    /// A section or mapping has more entries than CloudFormation allows.
    #[error("`{at}` has {count} entries; CloudFormation allows at most {limit}")]
    TooMany {
        /// The section or mapping entry.
        at: String,
        /// How many it has.
        count: usize,
        /// The quota.
        limit: usize,
    },
    /// A rule without assertions (CloudFormation requires at least one).
    #[error("`{at}` has no assertions; CloudFormation requires at least one")]
    RuleWithoutAssertions {
        /// The rule.
        at: String,
    },
    /// `Fn::FindInMap` in a rule, where only rule-specific functions are allowed.
    #[error("`{at}` uses `Fn::FindInMap`, which rules cannot use")]
    FindInMapInRule {
        /// Where.
        at: String,
    },
    /// The template has no resources.
    #[error("the template has no resources; CloudFormation requires at least one")]
    NoResources,
    /// An id was added twice to one section (the first declaration is kept).
    #[error("`{section}.{id}` is declared more than once")]
    DuplicateId {
        /// The section.
        section: Section,
        /// The id.
        id: String,
    },
    /// A logical id or name with characters CloudFormation rejects.
    #[error("`{id}` is not a valid name in `{section}`: use 1 to 255 ASCII letters and digits")]
    InvalidId {
        /// The section.
        section: Section,
        /// The id.
        id: String,
    },
    /// A mapping key with characters CloudFormation rejects.
    #[error("`{at}` is not a valid mapping key: use 1 to 255 {allowed}")]
    InvalidMappingKey {
        /// Path of the key.
        at: String,
        /// What the key may contain.
        allowed: &'static str,
    },
    /// A mapping value that is not a literal string or list of strings.
    #[error("`{at}` must be a literal string or list of strings: mappings cannot hold functions")]
    NonLiteralMappingValue {
        /// Path of the value.
        at: String,
    },
    /// A parameter and a resource share a logical id.
    #[error(
        "`{id}` is declared both as a parameter and as a resource, so `!Ref {id}` is ambiguous"
    )]
    ParameterResourceClash {
        /// The shared id.
        id: String,
    },
    /// A parameter's default is not among its allowed values.
    #[error(
        "parameter `{parameter}` defaults to `{default}`, which is not one of its `AllowedValues`"
    )]
    DefaultNotAllowed {
        /// The parameter.
        parameter: String,
        /// Its default.
        default: String,
    },
    /// `!Ref` (or a `!Sub` variable) names nothing.
    #[error("`{at}` refers to `{target}`, which is not a parameter, resource or pseudo parameter")]
    UnknownRef {
        /// Where.
        at: String,
        /// The missing name.
        target: String,
    },
    /// `!GetAtt` names a resource that does not exist.
    #[error("`{at}` reads `{resource}.{attribute}`, but there is no resource `{resource}`")]
    UnknownResource {
        /// Where.
        at: String,
        /// The missing resource.
        resource: String,
        /// The attribute read.
        attribute: String,
    },
    /// `!GetAtt` reads an attribute the resource type does not have.
    #[error(
        "`{at}` reads `{resource}.{attribute}`, but `{type_name}` has no attribute `{attribute}`"
    )]
    UnknownAttribute {
        /// Where.
        at: String,
        /// The resource.
        resource: String,
        /// Its type.
        type_name: &'static str,
        /// The unknown attribute.
        attribute: String,
    },
    /// A condition refers to a resource.
    #[error("`{at}` refers to resource `{resource}`; conditions can only use parameters, mappings and other conditions")]
    ResourceInCondition {
        /// Where.
        at: String,
        /// The resource.
        resource: String,
    },
    /// A condition name that is not declared.
    #[error("`{at}` uses condition `{condition}`, which is not declared in `Conditions`")]
    UnknownCondition {
        /// Where.
        at: String,
        /// The missing condition.
        condition: String,
    },
    /// Conditions that depend on each other in a loop.
    #[error("conditions depend on each other in a cycle: {}", chain(.cycle))]
    ConditionCycle {
        /// The conditions in the loop, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// `!FindInMap` on an undeclared mapping.
    #[error("`{at}` looks up mapping `{mapping}`, which is not declared in `Mappings`")]
    UnknownMapping {
        /// Where.
        at: String,
        /// The missing mapping.
        mapping: String,
    },
    /// `!FindInMap` with a literal top-level key the mapping lacks.
    #[error("`{at}` looks up `{key}` in mapping `{mapping}`, which has no such top-level key")]
    UnknownMappingKey {
        /// Where.
        at: String,
        /// The mapping.
        mapping: String,
        /// The missing top-level key.
        key: String,
    },
    /// `!FindInMap` with a literal second-level key that a (possible) top-level entry lacks.
    #[error(
        "`{at}` looks up `{key}` in mapping `{mapping}`, but its entry `{top}` has no such key"
    )]
    UnknownMappingSecondKey {
        /// Where.
        at: String,
        /// The mapping.
        mapping: String,
        /// The top-level entry lacking the key.
        top: String,
        /// The missing second-level key.
        key: String,
    },
    /// A `!Sub` template that does not parse.
    #[error("`{at}` has a malformed `Fn::Sub` template: {reason}")]
    MalformedSub {
        /// Where.
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// `DependsOn` names no resource, or the resource itself.
    #[error("`{at}` names `{target}`, which is not another resource")]
    BadDependsOn {
        /// Where.
        at: String,
        /// The bad target.
        target: String,
    },
    /// `UpdateReplacePolicy: RetainExceptOnCreate`.
    #[error("`{at}` is `RetainExceptOnCreate`, which only `DeletionPolicy` accepts")]
    InvalidUpdateReplacePolicy {
        /// Where.
        at: String,
    },
    /// The model could not be serialized (a sampipe bug).
    #[error(transparent)]
    Render(#[from] RenderError),
}

fn chain(cycle: &[String]) -> String {
    cycle
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(" → ")
}

impl Template {
    /// Every problem in the template, in template order; empty when the template is valid.
    pub fn validate(&self) -> Vec<ModelError> {
        let mut errors = Vec::new();
        self.check_shape(&mut errors);
        self.check_mappings(&mut errors);
        self.check_rules(&mut errors);
        self.check_conditions(&mut errors);
        self.check_resources(&mut errors);
        self.check_outputs(&mut errors);
        errors
    }

    fn check_shape(&self, errors: &mut Vec<ModelError>) {
        if let Some(bytes) = self
            .get_description()
            .map(str::len)
            .filter(|&n| n > MAX_DESCRIPTION_BYTES)
        {
            errors.push(ModelError::DescriptionTooLong { bytes });
        }
        let counts = [
            (Section::Parameters, self.parameters().len(), MAX_PARAMETERS),
            (Section::Mappings, self.mappings().len(), MAX_MAPPINGS),
            (Section::Resources, self.resources().len(), MAX_RESOURCES),
            (Section::Outputs, self.outputs().len(), MAX_OUTPUTS),
        ];
        for (section, count, limit) in counts {
            if count > limit {
                errors.push(ModelError::TooMany {
                    at: section.to_string(),
                    count,
                    limit,
                });
            }
        }
        if self.resources().is_empty() {
            errors.push(ModelError::NoResources);
        }
        for (section, id) in &self.duplicates {
            errors.push(ModelError::DuplicateId {
                section: *section,
                id: id.clone(),
            });
        }
        let ids = [
            (Section::Parameters, keys(self.parameters())),
            (Section::Rules, keys(self.rules())),
            (Section::Mappings, keys(self.mappings())),
            (Section::Conditions, keys(self.conditions())),
            (Section::Resources, keys(self.resources())),
            (Section::Outputs, keys(self.outputs())),
        ];
        for (section, ids) in ids {
            for id in ids.into_iter().filter(|id| !is_logical_id(id)) {
                errors.push(ModelError::InvalidId {
                    section,
                    id: id.to_owned(),
                });
            }
        }
        for id in self.parameters().keys() {
            if self.resources().contains_key(id) {
                errors.push(ModelError::ParameterResourceClash { id: id.clone() });
            }
        }
        for (id, p) in self.parameters() {
            if let Some(default) = &p.default {
                if !p.allowed_values.is_empty() && !p.allowed_values.contains(default) {
                    errors.push(ModelError::DefaultNotAllowed {
                        parameter: id.clone(),
                        default: default.clone(),
                    });
                }
            }
        }
    }

    fn check_mappings(&self, errors: &mut Vec<ModelError>) {
        for (name, mapping) in self.mappings() {
            for (top, entries) in &mapping.0 {
                let at = format!("Mappings.{name}.{top}");
                if !is_name(top, |c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                    errors.push(ModelError::InvalidMappingKey {
                        at: at.clone(),
                        allowed: "ASCII letters, digits, `-` and `.`",
                    });
                }
                if entries.len() > MAX_MAPPING_ATTRIBUTES {
                    errors.push(ModelError::TooMany {
                        at: at.clone(),
                        count: entries.len(),
                        limit: MAX_MAPPING_ATTRIBUTES,
                    });
                }
                for (key, value) in entries {
                    let at = format!("{at}.{key}");
                    if !is_logical_id(key) {
                        errors.push(ModelError::InvalidMappingKey {
                            at: at.clone(),
                            allowed: "ASCII letters and digits",
                        });
                    }
                    if !is_literal(value) {
                        errors.push(ModelError::NonLiteralMappingValue { at });
                    }
                }
            }
        }
    }

    fn check_rules(&self, errors: &mut Vec<ModelError>) {
        for (name, rule) in self.rules() {
            let at = format!("Rules.{name}");
            if let Some(condition) = &rule.rule_condition {
                self.check_value(condition, &format!("{at}.RuleCondition"), true, errors);
            }
            if rule.assertions.is_empty() {
                errors.push(ModelError::RuleWithoutAssertions { at: at.clone() });
            }
            for (i, assertion) in rule.assertions.iter().enumerate() {
                let at = format!("{at}.Assertions[{i}].Assert");
                self.check_value(&assertion.assert, &at, true, errors);
                let mut mapped = false;
                assertion.assert.walk(&at, &mut |_, f| {
                    mapped |= matches!(f, Intrinsic::FindInMap(..));
                });
                if mapped {
                    errors.push(ModelError::FindInMapInRule { at });
                }
            }
        }
    }

    fn check_conditions(&self, errors: &mut Vec<ModelError>) {
        for (name, condition) in self.conditions() {
            self.check_value(condition, &format!("Conditions.{name}"), true, errors);
        }
        for cycle in self.condition_cycles() {
            errors.push(ModelError::ConditionCycle { cycle });
        }
    }

    fn check_resources(&self, errors: &mut Vec<ModelError>) {
        for (id, resource) in self.resources() {
            let at = format!("Resources.{id}");
            if let Some(condition) = &resource.condition {
                self.check_condition_name(condition, &format!("{at}.Condition"), errors);
            }
            for target in &resource.depends_on {
                if target == id || !self.resources().contains_key(target) {
                    errors.push(ModelError::BadDependsOn {
                        at: format!("{at}.DependsOn"),
                        target: target.clone(),
                    });
                }
            }
            if resource.update_replace_policy == Some(DeletionPolicy::RetainExceptOnCreate) {
                errors.push(ModelError::InvalidUpdateReplacePolicy {
                    at: format!("{at}.UpdateReplacePolicy"),
                });
            }
            let at = format!("{at}.Properties");
            let properties = convert::to_yaml(&at, &resource.properties)
                .and_then(|yaml| convert::to_model(&yaml, &at));
            match properties {
                Ok(value) => self.check_value(&value, &at, false, errors),
                Err(e) => errors.push(e.into()),
            }
        }
    }

    fn check_outputs(&self, errors: &mut Vec<ModelError>) {
        for (id, output) in self.outputs() {
            let at = format!("Outputs.{id}");
            if let Some(condition) = &output.condition {
                self.check_condition_name(condition, &format!("{at}.Condition"), errors);
            }
            self.check_value(&output.value, &format!("{at}.Value"), false, errors);
            if let Some(name) = &output.export_name {
                self.check_value(name, &format!("{at}.Export.Name"), false, errors);
            }
        }
    }

    fn check_condition_name(&self, name: &str, at: &str, errors: &mut Vec<ModelError>) {
        if !self.conditions().contains_key(name) {
            errors.push(ModelError::UnknownCondition {
                at: at.to_owned(),
                condition: name.to_owned(),
            });
        }
    }

    /// Checks every function in `value`; `in_conditions` forbids references to resources.
    fn check_value(
        &self,
        value: &Value,
        at: &str,
        in_conditions: bool,
        errors: &mut Vec<ModelError>,
    ) {
        value.walk(at, &mut |at, f| match f {
            Intrinsic::Ref(target) => self.check_ref(target, at, in_conditions, errors),
            Intrinsic::GetAtt {
                resource,
                attribute,
            } => self.check_get_att(resource, attribute, at, in_conditions, errors),
            Intrinsic::Sub(template) => {
                self.check_sub(template, &IndexMap::new(), at, in_conditions, errors)
            }
            Intrinsic::SubWith(template, vars) => {
                self.check_sub(template, vars, at, in_conditions, errors)
            }
            Intrinsic::If(condition, ..) | Intrinsic::Condition(condition) => {
                self.check_condition_name(condition, at, errors);
            }
            Intrinsic::FindInMap(mapping, top, second) => {
                self.check_find_in_map(mapping, top, second, at, errors)
            }
            _ => {}
        });
    }

    fn check_ref(&self, target: &str, at: &str, in_conditions: bool, errors: &mut Vec<ModelError>) {
        if self.resources().contains_key(target) {
            if in_conditions {
                errors.push(ModelError::ResourceInCondition {
                    at: at.to_owned(),
                    resource: target.to_owned(),
                });
            }
        } else if !self.parameters().contains_key(target) && Pseudo::from_name(target).is_none() {
            errors.push(ModelError::UnknownRef {
                at: at.to_owned(),
                target: target.to_owned(),
            });
        }
    }

    fn check_get_att(
        &self,
        resource: &str,
        attribute: &str,
        at: &str,
        in_conditions: bool,
        errors: &mut Vec<ModelError>,
    ) {
        let Some(r) = self.resources().get(resource) else {
            errors.push(ModelError::UnknownResource {
                at: at.to_owned(),
                resource: resource.to_owned(),
                attribute: attribute.to_owned(),
            });
            return;
        };
        if in_conditions {
            errors.push(ModelError::ResourceInCondition {
                at: at.to_owned(),
                resource: resource.to_owned(),
            });
        }
        if !r.properties.attributes().contains(&attribute) {
            errors.push(ModelError::UnknownAttribute {
                at: at.to_owned(),
                resource: resource.to_owned(),
                type_name: r.type_name(),
                attribute: attribute.to_owned(),
            });
        }
    }

    fn check_sub(
        &self,
        template: &str,
        vars: &IndexMap<String, Value>,
        at: &str,
        in_conditions: bool,
        errors: &mut Vec<ModelError>,
    ) {
        let parts = match sub::parse(template) {
            Ok(parts) => parts,
            Err(reason) => {
                errors.push(ModelError::MalformedSub {
                    at: at.to_owned(),
                    reason,
                });
                return;
            }
        };
        for part in parts {
            let Part::Var(name) = part else { continue };
            if vars.contains_key(&name) {
                continue;
            }
            match name.split_once('.') {
                Some((resource, attribute)) => {
                    self.check_get_att(resource, attribute, at, in_conditions, errors);
                }
                None => self.check_ref(&name, at, in_conditions, errors),
            }
        }
    }

    fn check_find_in_map(
        &self,
        name: &str,
        top: &Value,
        second: &Value,
        at: &str,
        errors: &mut Vec<ModelError>,
    ) {
        let Some(mapping) = self.mappings().get(name) else {
            errors.push(ModelError::UnknownMapping {
                at: at.to_owned(),
                mapping: name.to_owned(),
            });
            return;
        };
        // A literal top key selects one entry; any other top key may select each of them.
        let entries: Vec<(&String, &IndexMap<String, Value>)> = match top.as_str() {
            Some(key) => match mapping.0.get_key_value(key) {
                Some(entry) => vec![entry],
                None => {
                    errors.push(ModelError::UnknownMappingKey {
                        at: at.to_owned(),
                        mapping: name.to_owned(),
                        key: key.to_owned(),
                    });
                    return;
                }
            },
            None => mapping.0.iter().collect(),
        };
        let Some(key) = second.as_str() else { return };
        for (top, values) in entries {
            if !values.contains_key(key) {
                errors.push(ModelError::UnknownMappingSecondKey {
                    at: at.to_owned(),
                    mapping: name.to_owned(),
                    top: top.clone(),
                    key: key.to_owned(),
                });
            }
        }
    }

    /// Each cycle among conditions once, starting at its first declared member.
    fn condition_cycles(&self) -> Vec<Vec<String>> {
        let edges: IndexMap<&str, Vec<String>> = self
            .conditions()
            .iter()
            .map(|(name, value)| {
                let mut used = Vec::new();
                value.walk("", &mut |_, f| {
                    if let Intrinsic::Condition(c) | Intrinsic::If(c, ..) = f {
                        used.push(c.clone());
                    }
                });
                (name.as_str(), used)
            })
            .collect();
        let mut done: Vec<&str> = Vec::new();
        let mut cycles = Vec::new();
        for start in edges.keys() {
            let mut path = Vec::new();
            visit(start, &edges, &mut path, &mut done, &mut cycles);
        }
        cycles
    }
}

/// Depth-first search that records each back edge as a cycle.
fn visit<'a>(
    node: &'a str,
    edges: &'a IndexMap<&'a str, Vec<String>>,
    path: &mut Vec<&'a str>,
    done: &mut Vec<&'a str>,
    cycles: &mut Vec<Vec<String>>,
) {
    if done.contains(&node) {
        return;
    }
    if let Some(i) = path.iter().position(|n| *n == node) {
        let mut cycle: Vec<String> = path[i..].iter().map(|n| (*n).to_owned()).collect();
        cycle.push(node.to_owned());
        cycles.push(cycle);
        return;
    }
    let Some((name, next)) = edges.get_key_value(node) else {
        return;
    };
    path.push(*name);
    for n in next {
        visit(n, edges, path, done, cycles);
    }
    path.pop();
    done.push(*name);
}

fn keys<T>(map: &IndexMap<String, T>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

fn is_name(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.len() <= 255 && s.chars().all(allowed)
}

/// `^[A-Za-z0-9]{1,255}$`.
fn is_logical_id(s: &str) -> bool {
    is_name(s, |c| c.is_ascii_alphanumeric())
}

/// A string, number, boolean, or list of those: what a mapping may hold.
fn is_literal(value: &Value) -> bool {
    match value {
        Value::Str(_) | Value::Bool(_) | Value::Int(_) => true,
        Value::List(items) => items
            .iter()
            .all(|v| matches!(v, Value::Str(_) | Value::Bool(_) | Value::Int(_))),
        Value::Map(_) | Value::Fn(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::{iam, s3};
    use crate::cfn::{Mapping, Output, Parameter, PolicyDocument, Principal, Resource, Statement};

    fn bucket() -> Resource {
        Resource::new(s3::Bucket::new())
    }

    fn messages(t: &Template) -> Vec<String> {
        t.validate().iter().map(ToString::to_string).collect()
    }

    fn valid() -> Template {
        let trust = PolicyDocument::new().statement(
            Statement::allow()
                .action("sts:AssumeRoleWithWebIdentity")
                .principal(Principal::federated(Value::ref_to("Oidc"))),
        );
        Template::new()
            .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
            .mapping(
                "Stages",
                Mapping::new()
                    .entry("dev", "Name", "d")
                    .entry("prod-eu", "Name", "p"),
            )
            .condition("IsProd", Value::equals(Value::ref_to("Stage"), "prod"))
            .condition("NotProd", Value::not(Value::condition("IsProd")))
            .resource("Oidc", Resource::new(iam::OidcProvider::new("https://x")))
            .resource(
                "Role",
                Resource::new(iam::Role::new(trust).role_name(Value::find_in_map(
                    "Stages",
                    Value::ref_to("Stage"),
                    "Name",
                )))
                .condition("IsProd")
                .depends_on("Oidc"),
            )
            .output(
                "RoleArn",
                Output::new(Value::sub("${Role.Arn} in ${AWS::Region} ${!Literal}"))
                    .condition("IsProd"),
            )
    }

    #[test]
    fn a_valid_template_has_no_problems() {
        assert_eq!(valid().validate(), []);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let t = valid()
            .parameter("Stage", Parameter::string())
            .parameter(
                "Role",
                Parameter::string().default("x").allowed_values(["y"]),
            )
            .resource(
                "Bad-Id",
                bucket()
                    .depends_on("Nope")
                    .update_replace_policy(DeletionPolicy::RetainExceptOnCreate),
            )
            .output(
                "A",
                Output::new(Value::get_att("Role", "Nope")).condition("Missing"),
            )
            .output("B", Output::new(Value::get_att("Ghost", "Arn")))
            .output("C", Output::new(Value::sub("${Ghost} ${Stage")))
            .output(
                "D",
                Output::new(Value::find_in_map("Stages", "dev", "Other")),
            )
            .output(
                "E",
                Output::new(Value::find_in_map(
                    "Stages",
                    Value::ref_to("Stage"),
                    "Other",
                )),
            )
            .output("F", Output::new(Value::find_in_map("Stages", "qa", "Name")))
            .output("G", Output::new(Value::find_in_map("Nope", "qa", "Name")))
            .output("H", Output::new(Value::if_("Ghost", "a", "b")));
        assert_eq!(
            messages(&t),
            [
                "`Parameters.Stage` is declared more than once",
                "`Bad-Id` is not a valid name in `Resources`: use 1 to 255 ASCII letters and digits",
                "`Role` is declared both as a parameter and as a resource, so `!Ref Role` is ambiguous",
                "parameter `Role` defaults to `x`, which is not one of its `AllowedValues`",
                "`Resources.Bad-Id.DependsOn` names `Nope`, which is not another resource",
                "`Resources.Bad-Id.UpdateReplacePolicy` is `RetainExceptOnCreate`, which only `DeletionPolicy` accepts",
                "`Outputs.A.Condition` uses condition `Missing`, which is not declared in `Conditions`",
                "`Outputs.A.Value` reads `Role.Nope`, but `AWS::IAM::Role` has no attribute `Nope`",
                "`Outputs.B.Value` reads `Ghost.Arn`, but there is no resource `Ghost`",
                "`Outputs.C.Value` has a malformed `Fn::Sub` template: `${` at byte 9 is never closed",
                "`Outputs.D.Value` looks up `Other` in mapping `Stages`, but its entry `dev` has no such key",
                "`Outputs.E.Value` looks up `Other` in mapping `Stages`, but its entry `dev` has no such key",
                "`Outputs.E.Value` looks up `Other` in mapping `Stages`, but its entry `prod-eu` has no such key",
                "`Outputs.F.Value` looks up `qa` in mapping `Stages`, which has no such top-level key",
                "`Outputs.G.Value` looks up mapping `Nope`, which is not declared in `Mappings`",
                "`Outputs.H.Value` uses condition `Ghost`, which is not declared in `Conditions`",
            ]
        );
    }

    #[test]
    fn sub_variables_are_checked_unless_bound() {
        let t = valid()
            .output("A", Output::new(Value::sub("${Ghost}")))
            .output(
                "B",
                Output::new(Value::sub_with("${Ghost}", [("Ghost", "x")])),
            );
        assert_eq!(
            messages(&t),
            ["`Outputs.A.Value` refers to `Ghost`, which is not a parameter, resource or pseudo parameter"]
        );
    }

    #[test]
    fn refs_inside_resource_properties_are_found_with_their_path() {
        let policy =
            PolicyDocument::new().statement(Statement::allow().action("s3:GetObject").resource(
                Value::join("", [Value::get_att("Ghost", "Arn"), "/*".into()]),
            ));
        let t = valid().resource(
            "Policy",
            Resource::new(s3::BucketPolicy::new(Value::ref_to("Nope"), policy)),
        );
        assert_eq!(
            messages(&t),
            [
                "`Resources.Policy.Properties.Bucket` refers to `Nope`, which is not a parameter, resource or pseudo parameter",
                "`Resources.Policy.Properties.PolicyDocument.Statement[0].Resource.Fn::Join[1][0]` reads `Ghost.Arn`, but there is no resource `Ghost`",
            ]
        );
    }

    #[test]
    fn conditional_statements_name_declared_conditions() {
        let doc = PolicyDocument::new()
            .statement_if("Ghost", Statement::allow().action("s3:*").resource("*"));
        let t = valid().resource("P", Resource::new(iam::ManagedPolicy::new(doc)));
        assert_eq!(
            messages(&t),
            ["`Resources.P.Properties.PolicyDocument.Statement[0]` uses condition `Ghost`, which is not declared in `Conditions`"]
        );
    }

    #[test]
    fn conditions_cannot_use_resources_or_loop() {
        let t = valid()
            .condition(
                "A",
                Value::and([
                    Value::condition("B"),
                    Value::equals(Value::ref_to("Role"), "x"),
                ]),
            )
            .condition(
                "B",
                Value::or([Value::condition("A"), Value::condition("IsProd")]),
            )
            .condition("C", Value::not(Value::condition("C")));
        assert_eq!(
            messages(&t),
            [
                "`Conditions.A.Fn::And[1].Fn::Equals[0]` refers to resource `Role`; conditions can only use parameters, mappings and other conditions",
                "conditions depend on each other in a cycle: `A` → `B` → `A`",
                "conditions depend on each other in a cycle: `C` → `C`",
            ]
        );
    }

    #[test]
    fn shape_limits_and_names() {
        let mut t = Template::new().description("x".repeat(1025)).mapping(
            "Bad_Name",
            Mapping::new().entry("a b", "Key-1", Value::ref_to("X")),
        );
        for i in 0..201 {
            t = t.output(format!("O{i}"), Output::new("v"));
        }
        assert_eq!(
            messages(&t),
            [
                "the description is 1025 bytes long; CloudFormation allows at most 1024",
                "`Outputs` has 201 entries; CloudFormation allows at most 200",
                "the template has no resources; CloudFormation requires at least one",
                "`Bad_Name` is not a valid name in `Mappings`: use 1 to 255 ASCII letters and digits",
                "`Mappings.Bad_Name.a b` is not a valid mapping key: use 1 to 255 ASCII letters, digits, `-` and `.`",
                "`Mappings.Bad_Name.a b.Key-1` is not a valid mapping key: use 1 to 255 ASCII letters and digits",
                "`Mappings.Bad_Name.a b.Key-1` must be a literal string or list of strings: mappings cannot hold functions",
            ]
        );
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;
    use crate::cfn::resources::iam;
    use crate::cfn::{Parameter, Resource, Rule};

    fn with_rule(rule: Rule) -> Template {
        Template::new()
            .parameter("Stage", Parameter::string().allowed_values(["dev"]))
            .rule("DevAccount", rule)
            .resource("Oidc", Resource::new(iam::OidcProvider::new("https://x")))
    }

    #[test]
    fn rules_may_only_use_rule_functions_and_need_an_assertion() {
        let good = Rule::when(Value::equals(Value::ref_to("Stage"), "dev")).assert(
            Value::equals(Value::pseudo(Pseudo::AccountId), "111111111111"),
            "dev belongs in 111111111111",
        );
        assert_eq!(with_rule(good).validate(), []);

        let mapped = Rule::when(Value::equals(Value::ref_to("Stage"), "dev")).assert(
            Value::equals(
                Value::pseudo(Pseudo::AccountId),
                Value::find_in_map("Stages", Value::ref_to("Stage"), "Account"),
            ),
            "x",
        );
        let errors = with_rule(mapped).validate();
        assert!(
            errors.contains(&ModelError::FindInMapInRule {
                at: "Rules.DevAccount.Assertions[0].Assert".into()
            }),
            "{errors:?}"
        );

        let empty = Rule::when(Value::equals(Value::ref_to("Nope"), "dev"));
        let errors = with_rule(empty).validate();
        assert!(
            errors.contains(&ModelError::RuleWithoutAssertions {
                at: "Rules.DevAccount".into()
            }),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, ModelError::UnknownRef { .. })),
            "{errors:?}"
        );
    }
}
