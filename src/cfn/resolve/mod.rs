//! Evaluating a template for one deployment (parameter values, account, region, stack name), so
//! later code — the trust-policy evaluator, `sampipe explain`, tests — can read concrete values.
//!
//! Functions are evaluated as CloudFormation does: `!If` only evaluates the branch it takes,
//! `!Ref AWS::NoValue` removes the enclosing list item or map entry, and a resource whose
//! condition is false cannot be referenced. `!Ref`/`!GetAtt` of a resource with a physical name in
//! the template give the real name or ARN (see [`physical`]); anything that only AWS knows
//! becomes a symbolic string, `{Ref:Id}` or `{GetAtt:Id.Attr}`.
//!
//! See [intrinsic functions](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html)
//! and [condition functions](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html).

mod physical;
mod statement;

use indexmap::IndexMap;
use serde_json::{Map as JsonMap, Value as Json};

pub use physical::{partition_of, PseudoValues};
pub use statement::{ResolvedPrincipal, ResolvedStatement};

use super::convert::{self, RenderError};
use super::sub::{self, Part};
use super::{Intrinsic, Pseudo, Template, Value};

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A value was supplied for a parameter the template does not declare.
    #[error("`{name}` is not a parameter of the template")]
    UnknownParameter {
        /// The parameter name.
        name: String,
    },
    /// A parameter without a default got no value.
    #[error("parameter `{name}` has no value and no default")]
    MissingParameter {
        /// The parameter name.
        name: String,
    },
    /// A parameter value outside its `AllowedValues`.
    #[error("parameter `{name}` is `{value}`, which is not one of its allowed values ({})", ticked(.allowed))]
    ParameterNotAllowed {
        /// The parameter name.
        name: String,
        /// The value given.
        value: String,
        /// The allowed values.
        allowed: Vec<String>,
    },
    /// `!Ref` (or a `!Sub` variable) names nothing.
    #[error("`{name}` is not a parameter, resource or pseudo parameter")]
    UnknownRef {
        /// The name.
        name: String,
    },
    /// A resource id that the template does not declare.
    #[error("`{id}` is not a resource of the template")]
    UnknownResource {
        /// The id.
        id: String,
    },
    /// `!GetAtt` of an attribute the resource type does not have.
    #[error("`{type_name}` resource `{resource}` has no attribute `{attribute}`")]
    UnknownAttribute {
        /// The resource.
        resource: String,
        /// Its type.
        type_name: &'static str,
        /// The attribute.
        attribute: String,
    },
    /// A reference to a resource that does not exist in this deployment.
    #[error("resource `{id}` is referenced, but its condition `{condition}` is false for this deployment")]
    DisabledResource {
        /// The resource.
        id: String,
        /// Its condition.
        condition: String,
    },
    /// An output id that the template does not declare.
    #[error("`{id}` is not an output of the template")]
    UnknownOutput {
        /// The id.
        id: String,
    },
    /// A condition name that is not declared.
    #[error("condition `{name}` is not declared in `Conditions`")]
    UnknownCondition {
        /// The name.
        name: String,
    },
    /// `!FindInMap` on an undeclared mapping.
    #[error("mapping `{name}` is not declared in `Mappings`")]
    UnknownMapping {
        /// The name.
        name: String,
    },
    /// `!FindInMap` with keys the mapping does not have.
    #[error("mapping `{mapping}` has no entry `{top}.{key}`")]
    UnknownMappingKey {
        /// The mapping.
        mapping: String,
        /// The top-level key.
        top: String,
        /// The second-level key.
        key: String,
    },
    /// Evaluation came back to where it started.
    #[error("evaluation loops: {}", .chain.join(" → "))]
    Cycle {
        /// What was being evaluated, e.g. ``condition `A` ``, the first repeated at the end.
        chain: Vec<String>,
    },
    /// A value of the wrong kind, e.g. a list where a string is needed.
    #[error("{context} must be {expected}, found {found}")]
    WrongType {
        /// Where, e.g. ``an item of `Fn::Join` ``.
        context: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// `!Select` past the end of its list.
    #[error("`Fn::Select` index {index} is out of range for a list of {len}")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The list's length.
        len: usize,
    },
    /// A `!Sub` template that does not parse.
    #[error("`Fn::Sub` template `{template}` is malformed: {reason}")]
    MalformedSub {
        /// The template.
        template: String,
        /// What is wrong.
        reason: String,
    },
    /// A function that needs AWS to evaluate.
    #[error("`{function}` cannot be evaluated without calling AWS")]
    Unsupported {
        /// The function, e.g. `Fn::GetAZs`.
        function: &'static str,
    },
    /// The model could not be serialized (a sampipe bug).
    #[error(transparent)]
    Render(#[from] RenderError),
}

fn ticked(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evaluates a [`Template`] for one deployment, as CloudFormation would.
///
/// - `!If` evaluates only the branch it takes; `!Ref AWS::NoValue` removes the enclosing list
///   item or map entry.
/// - Referencing a resource whose condition is false is an error, as it is at deploy time.
/// - `!Ref`/`!GetAtt` of a resource whose physical name is in the template give the real name or
///   ARN (`arn:aws:iam::111111111111:role/...`); what only AWS knows (generated names, `RoleId`,
///   `AWS::StackId`) becomes a symbolic string, `{Ref:Id}` or `{GetAtt:Id.Attr}`.
/// - `Fn::GetAZs` and `Fn::Base64` are not evaluated ([`ResolveError::Unsupported`]).
#[derive(Debug, Clone)]
pub struct Resolver<'t> {
    template: &'t Template,
    parameters: IndexMap<String, String>,
    pseudo: PseudoValues,
}

/// What is being evaluated, to detect loops (`A` depends on `B` depends on `A`).
type Stack = Vec<String>;

impl<'t> Resolver<'t> {
    /// A resolver for `template` deployed with these parameter values (defaults fill the rest)
    /// and pseudo parameters. Fails if a value is missing, unknown, or not in `AllowedValues`
    /// (`AllowedPattern` is not checked: sampipe has no regex engine).
    pub fn new(
        template: &'t Template,
        parameters: IndexMap<String, String>,
        pseudo: PseudoValues,
    ) -> Result<Resolver<'t>, ResolveError> {
        if let Some(name) = parameters
            .keys()
            .find(|n| !template.parameters().contains_key(*n))
        {
            return Err(ResolveError::UnknownParameter { name: name.clone() });
        }
        let mut values = IndexMap::new();
        for (name, declared) in template.parameters() {
            let value = parameters
                .get(name)
                .or(declared.default.as_ref())
                .ok_or_else(|| ResolveError::MissingParameter { name: name.clone() })?;
            if !declared.allowed_values.is_empty() && !declared.allowed_values.contains(value) {
                return Err(ResolveError::ParameterNotAllowed {
                    name: name.clone(),
                    value: value.clone(),
                    allowed: declared.allowed_values.clone(),
                });
            }
            values.insert(name.clone(), value.clone());
        }
        Ok(Resolver {
            template,
            parameters: values,
            pseudo,
        })
    }

    /// The template being resolved.
    pub fn template(&self) -> &'t Template {
        self.template
    }

    /// The pseudo parameter values.
    pub fn pseudo(&self) -> &PseudoValues {
        &self.pseudo
    }

    /// The effective value of a parameter (given or default).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The concrete value. `!Ref AWS::NoValue` at the top level resolves to `null`; nested, it
    /// removes the enclosing list item or map entry.
    pub fn resolve(&self, value: &Value) -> Result<Json, ResolveError> {
        Ok(self.eval(value, &mut Stack::new())?.unwrap_or(Json::Null))
    }

    /// Whether the named condition holds.
    pub fn condition(&self, name: &str) -> Result<bool, ResolveError> {
        self.named_condition(name, &mut Stack::new())
    }

    /// The template's `Rules` that fail for this deployment, as CloudFormation checks them
    /// before it creates or updates anything: per rule whose `RuleCondition` holds (or that
    /// has none), the id and the description of each assertion that is false.
    pub fn failed_rules(&self) -> Result<Vec<(String, String)>, ResolveError> {
        let mut failed = Vec::new();
        for (id, rule) in self.template.rules() {
            if let Some(condition) = &rule.rule_condition {
                if !self.truth(condition, &mut Stack::new())? {
                    continue;
                }
            }
            for assertion in &rule.assertions {
                if !self.truth(&assertion.assert, &mut Stack::new())? {
                    failed.push((
                        id.clone(),
                        assertion.assert_description.clone().unwrap_or_default(),
                    ));
                }
            }
        }
        Ok(failed)
    }

    /// Whether the resource exists in this deployment (its condition, if any, holds).
    pub fn resource_enabled(&self, id: &str) -> Result<bool, ResolveError> {
        self.enabled(id, &mut Stack::new())
    }

    /// The resource's `Properties`, resolved.
    pub fn resource_properties(&self, id: &str) -> Result<Json, ResolveError> {
        let resource = self
            .template
            .resources()
            .get(id)
            .ok_or_else(|| ResolveError::UnknownResource { id: id.to_owned() })?;
        let at = format!("Resources.{id}.Properties");
        let yaml = convert::to_yaml(&at, &resource.properties)?;
        let value = convert::to_model(&yaml, &at)?;
        self.resolve(&value)
    }

    /// The output's value, or `None` when its condition is false.
    pub fn output(&self, id: &str) -> Result<Option<Json>, ResolveError> {
        let output = self
            .template
            .outputs()
            .get(id)
            .ok_or_else(|| ResolveError::UnknownOutput { id: id.to_owned() })?;
        if let Some(condition) = &output.condition {
            if !self.condition(condition)? {
                return Ok(None);
            }
        }
        self.resolve(&output.value).map(Some)
    }

    /// Evaluates `value`; `None` stands for `AWS::NoValue`.
    fn eval(&self, value: &Value, st: &mut Stack) -> Result<Option<Json>, ResolveError> {
        Ok(Some(match value {
            Value::Str(s) => Json::from(s.as_str()),
            Value::Bool(b) => Json::from(*b),
            Value::Int(i) => Json::from(*i),
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.eval(item, st)?);
                }
                Json::Array(out)
            }
            Value::Map(map) => {
                let mut out = JsonMap::new();
                for (k, v) in map {
                    if let Some(v) = self.eval(v, st)? {
                        out.insert(k.clone(), v);
                    }
                }
                Json::Object(out)
            }
            Value::Fn(f) => return self.eval_fn(f, st),
        }))
    }

    fn eval_fn(&self, f: &Intrinsic, st: &mut Stack) -> Result<Option<Json>, ResolveError> {
        Ok(Some(match f {
            Intrinsic::Ref(name) => return self.reference(name, st),
            Intrinsic::GetAtt {
                resource,
                attribute,
            } => Json::String(self.physical(resource, Some(attribute), st)?),
            Intrinsic::Sub(template) => Json::String(self.sub(template, &IndexMap::new(), st)?),
            Intrinsic::SubWith(template, vars) => Json::String(self.sub(template, vars, st)?),
            Intrinsic::Join(delimiter, items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = self.eval(item, st)? {
                        parts.push(text(&v, || "an item of `Fn::Join`".to_owned())?);
                    }
                }
                Json::String(parts.join(delimiter))
            }
            Intrinsic::If(condition, then, otherwise) => {
                let branch = if self.named_condition(condition, st)? {
                    then
                } else {
                    otherwise
                };
                return self.eval(branch, st);
            }
            Intrinsic::Equals(..)
            | Intrinsic::Not(_)
            | Intrinsic::And(_)
            | Intrinsic::Or(_)
            | Intrinsic::Condition(_) => Json::Bool(self.truth_of_fn(f, st)?),
            Intrinsic::FindInMap(mapping, top, second) => {
                self.find_in_map(mapping, top, second, st)?
            }
            Intrinsic::Select(index, list) => {
                let items = match self.eval(list, st)? {
                    Some(Json::Array(items)) => items,
                    other => {
                        return Err(wrong_type(
                            "the list of `Fn::Select`",
                            "a list",
                            other.as_ref(),
                        ))
                    }
                };
                let len = items.len();
                usize::try_from(*index)
                    .ok()
                    .and_then(|i| items.into_iter().nth(i))
                    .ok_or(ResolveError::IndexOutOfRange { index: *index, len })?
            }
            Intrinsic::Split(delimiter, source) => {
                let source = self.string(source, st, || "the source of `Fn::Split`".to_owned())?;
                Json::Array(source.split(delimiter.as_str()).map(Json::from).collect())
            }
            Intrinsic::GetAZs(_) => {
                return Err(ResolveError::Unsupported {
                    function: "Fn::GetAZs",
                })
            }
            Intrinsic::Base64(_) => {
                return Err(ResolveError::Unsupported {
                    function: "Fn::Base64",
                })
            }
        }))
    }

    /// `!Ref name`.
    fn reference(&self, name: &str, st: &mut Stack) -> Result<Option<Json>, ResolveError> {
        if let Some(pseudo) = Pseudo::from_name(name) {
            let p = &self.pseudo;
            return Ok(Some(match pseudo {
                Pseudo::NoValue => return Ok(None),
                Pseudo::AccountId => Json::from(p.account_id.as_str()),
                Pseudo::Region => Json::from(p.region.as_str()),
                Pseudo::Partition => Json::from(p.partition.as_str()),
                Pseudo::StackName => Json::from(p.stack_name.as_str()),
                Pseudo::UrlSuffix => Json::from(p.url_suffix()),
                Pseudo::StackId => Json::from(format!("{{Ref:{name}}}")),
                Pseudo::NotificationArns => Json::Array(Vec::new()),
            }));
        }
        if let (Some(value), Some(declared)) = (
            self.parameters.get(name),
            self.template.parameters().get(name),
        ) {
            let is_list =
                declared.type_ == "CommaDelimitedList" || declared.type_.starts_with("List<");
            return Ok(Some(if is_list {
                Json::Array(value.split(',').map(Json::from).collect())
            } else {
                Json::from(value.as_str())
            }));
        }
        if self.template.resources().contains_key(name) {
            return Ok(Some(Json::String(self.physical(name, None, st)?)));
        }
        Err(ResolveError::UnknownRef {
            name: name.to_owned(),
        })
    }

    /// `!Ref id` (attribute `None`) or `!GetAtt id.attribute` of a resource.
    fn physical(
        &self,
        id: &str,
        attribute: Option<&str>,
        st: &mut Stack,
    ) -> Result<String, ResolveError> {
        let resource = self
            .template
            .resources()
            .get(id)
            .ok_or_else(|| ResolveError::UnknownResource { id: id.to_owned() })?;
        if !self.enabled(id, st)? {
            return Err(ResolveError::DisabledResource {
                id: id.to_owned(),
                condition: resource.condition.clone().unwrap_or_default(),
            });
        }
        if let Some(attribute) = attribute {
            if !resource.properties.attributes().contains(&attribute) {
                return Err(ResolveError::UnknownAttribute {
                    resource: id.to_owned(),
                    type_name: resource.type_name(),
                    attribute: attribute.to_owned(),
                });
            }
        }
        let symbolic = || match attribute {
            None => format!("{{Ref:{id}}}"),
            Some(a) => format!("{{GetAtt:{id}.{a}}}"),
        };
        let pattern = physical::pattern(&resource.properties, attribute);
        let (Some(pattern), Some(name)) = (pattern, physical::name_property(&resource.properties))
        else {
            return Ok(symbolic());
        };
        let name = self.enter(format!("the name of resource `{id}`"), st, |r, st| {
            r.string(name, st, || format!("the name of resource `{id}`"))
        })?;
        Ok(physical::fill(pattern, &self.pseudo, &name))
    }

    fn sub(
        &self,
        template: &str,
        vars: &IndexMap<String, Value>,
        st: &mut Stack,
    ) -> Result<String, ResolveError> {
        let parts = sub::parse(template).map_err(|reason| ResolveError::MalformedSub {
            template: template.to_owned(),
            reason,
        })?;
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Literal(text) => out.push_str(&text),
                Part::Var(name) => {
                    let context = || format!("`Fn::Sub` variable `${{{name}}}`");
                    let value = match (vars.get(&name), name.split_once('.')) {
                        (Some(value), _) => self.string(value, st, context)?,
                        (None, Some((resource, attribute))) => {
                            self.physical(resource, Some(attribute), st)?
                        }
                        (None, None) => match self.reference(&name, st)? {
                            Some(v) => text(&v, context)?,
                            None => return Err(wrong_type(&context(), "a string", None)),
                        },
                    };
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    fn find_in_map(
        &self,
        name: &str,
        top: &Value,
        second: &Value,
        st: &mut Stack,
    ) -> Result<Json, ResolveError> {
        let mapping =
            self.template
                .mappings()
                .get(name)
                .ok_or_else(|| ResolveError::UnknownMapping {
                    name: name.to_owned(),
                })?;
        let top = self.string(top, st, || {
            "the top-level key of `Fn::FindInMap`".to_owned()
        })?;
        let key = self.string(second, st, || {
            "the second-level key of `Fn::FindInMap`".to_owned()
        })?;
        let value = mapping
            .get(&top, &key)
            .ok_or_else(|| ResolveError::UnknownMappingKey {
                mapping: name.to_owned(),
                top: top.clone(),
                key: key.clone(),
            })?;
        Ok(self.eval(value, st)?.unwrap_or(Json::Null))
    }

    fn named_condition(&self, name: &str, st: &mut Stack) -> Result<bool, ResolveError> {
        let condition =
            self.template
                .conditions()
                .get(name)
                .ok_or_else(|| ResolveError::UnknownCondition {
                    name: name.to_owned(),
                })?;
        self.enter(format!("condition `{name}`"), st, |r, st| {
            r.truth(condition, st)
        })
    }

    fn enabled(&self, id: &str, st: &mut Stack) -> Result<bool, ResolveError> {
        let resource = self
            .template
            .resources()
            .get(id)
            .ok_or_else(|| ResolveError::UnknownResource { id: id.to_owned() })?;
        match &resource.condition {
            Some(condition) => self.named_condition(condition, st),
            None => Ok(true),
        }
    }

    /// The truth of a condition expression.
    fn truth(&self, value: &Value, st: &mut Stack) -> Result<bool, ResolveError> {
        match value {
            Value::Fn(f) if is_condition_fn(f) => self.truth_of_fn(f, st),
            other => match self.eval(other, st)? {
                Some(Json::Bool(b)) => Ok(b),
                Some(Json::String(s)) if s == "true" => Ok(true),
                Some(Json::String(s)) if s == "false" => Ok(false),
                found => Err(wrong_type("a condition", "a boolean", found.as_ref())),
            },
        }
    }

    fn truth_of_fn(&self, f: &Intrinsic, st: &mut Stack) -> Result<bool, ResolveError> {
        match f {
            Intrinsic::Equals(a, b) => {
                let a = self.eval(a, st)?.unwrap_or(Json::Null);
                let b = self.eval(b, st)?.unwrap_or(Json::Null);
                // CloudFormation compares scalars as strings: `true` equals `"true"`.
                Ok(match (scalar_text(&a), scalar_text(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            Intrinsic::Not(x) => Ok(!self.truth(x, st)?),
            Intrinsic::And(xs) => {
                for x in xs {
                    if !self.truth(x, st)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Intrinsic::Or(xs) => {
                for x in xs {
                    if self.truth(x, st)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Intrinsic::Condition(name) => self.named_condition(name, st),
            // Not reached: callers check `is_condition_fn` first.
            other => self.truth(&Value::Fn(Box::new(other.clone())), st),
        }
    }

    /// Evaluates `value` to a string (scalars are converted, as CloudFormation does).
    fn string(
        &self,
        value: &Value,
        st: &mut Stack,
        context: impl Fn() -> String,
    ) -> Result<String, ResolveError> {
        match self.eval(value, st)? {
            Some(v) => text(&v, context),
            None => Err(wrong_type(&context(), "a string", None)),
        }
    }

    /// Runs `f` with `frame` on the stack, failing if `frame` is already on it.
    fn enter<T>(
        &self,
        frame: String,
        st: &mut Stack,
        f: impl FnOnce(&Self, &mut Stack) -> Result<T, ResolveError>,
    ) -> Result<T, ResolveError> {
        if let Some(i) = st.iter().position(|s| *s == frame) {
            let mut chain = st[i..].to_vec();
            chain.push(frame);
            return Err(ResolveError::Cycle { chain });
        }
        st.push(frame);
        let result = f(self, st);
        st.pop();
        result
    }
}

/// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition` evaluate to booleans.
fn is_condition_fn(f: &Intrinsic) -> bool {
    matches!(
        f,
        Intrinsic::Equals(..)
            | Intrinsic::Not(_)
            | Intrinsic::And(_)
            | Intrinsic::Or(_)
            | Intrinsic::Condition(_)
    )
}

/// A scalar's text: strings as they are, booleans and numbers as CloudFormation prints them.
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text(value: &Json, context: impl Fn() -> String) -> Result<String, ResolveError> {
    scalar_text(value).ok_or_else(|| wrong_type(&context(), "a string", Some(value)))
}

fn wrong_type(context: &str, expected: &'static str, found: Option<&Json>) -> ResolveError {
    ResolveError::WrongType {
        context: context.to_owned(),
        expected,
        found: match found {
            None => "`AWS::NoValue`",
            Some(Json::Null) => "null",
            Some(Json::Bool(_)) => "a boolean",
            Some(Json::Number(_)) => "a number",
            Some(Json::String(_)) => "a string",
            Some(Json::Array(_)) => "a list",
            Some(Json::Object(_)) => "a map",
        },
    }
}

#[cfg(test)]
mod tests;
