//! [`Template`]: the whole CloudFormation document, with its parameters, mappings, conditions,
//! resources and outputs.
//!
//! ```yaml
//! AWSTemplateFormatVersion: '2010-09-09'
//! Description: ...
//! Parameters: ...
//! Rules: ...
//! Mappings: ...
//! Conditions: ...
//! Resources: ...
//! Outputs: ...
//! ```
//!
//! See the [template anatomy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html).

use std::fmt;

use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;

use super::convert::{self, RenderError};
use super::{Resource, Value};

/// The only template format version: `AWSTemplateFormatVersion: '2010-09-09'`.
pub const FORMAT_VERSION: &str = "2010-09-09";

/// A CloudFormation template, built with consuming builder methods.
///
/// Builders never fail; call [`Template::validate`] to get every problem at once (invalid or
/// duplicate logical ids, references to things that do not exist, limits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    description: Option<String>,
    parameters: IndexMap<String, Parameter>,
    rules: IndexMap<String, Rule>,
    mappings: IndexMap<String, Mapping>,
    conditions: IndexMap<String, Value>,
    resources: IndexMap<String, Resource>,
    outputs: IndexMap<String, Output>,
    /// Ids added twice to one section; the first declaration is kept.
    pub(crate) duplicates: Vec<(Section, String)>,
}

impl Template {
    /// An empty template.
    pub fn new() -> Template {
        Template::default()
    }

    /// `Description: ..` (at most 1024 bytes).
    pub fn description(mut self, description: impl Into<String>) -> Template {
        self.description = Some(description.into());
        self
    }

    /// Adds a parameter.
    pub fn parameter(mut self, id: impl Into<String>, parameter: Parameter) -> Template {
        insert(
            &mut self.parameters,
            &mut self.duplicates,
            Section::Parameters,
            id.into(),
            parameter,
        );
        self
    }

    /// Adds a rule: assertions on parameters and pseudo parameters that CloudFormation
    /// checks before it creates or updates anything.
    pub fn rule(mut self, id: impl Into<String>, rule: Rule) -> Template {
        insert(
            &mut self.rules,
            &mut self.duplicates,
            Section::Rules,
            id.into(),
            rule,
        );
        self
    }

    /// Adds a mapping.
    pub fn mapping(mut self, name: impl Into<String>, mapping: Mapping) -> Template {
        insert(
            &mut self.mappings,
            &mut self.duplicates,
            Section::Mappings,
            name.into(),
            mapping,
        );
        self
    }

    /// Adds a condition: `Name: !Equals [..]`.
    pub fn condition(mut self, name: impl Into<String>, condition: impl Into<Value>) -> Template {
        let condition = condition.into();
        insert(
            &mut self.conditions,
            &mut self.duplicates,
            Section::Conditions,
            name.into(),
            condition,
        );
        self
    }

    /// Adds a resource.
    pub fn resource(mut self, id: impl Into<String>, resource: Resource) -> Template {
        insert(
            &mut self.resources,
            &mut self.duplicates,
            Section::Resources,
            id.into(),
            resource,
        );
        self
    }

    /// Replaces resource `id`, keeping its place (or adds it last): for a tool or a test that
    /// edits a built template, as a reviewer's hand would.
    pub fn replace_resource(mut self, id: impl Into<String>, resource: Resource) -> Template {
        self.resources.insert(id.into(), resource);
        self
    }

    /// Adds an output.
    pub fn output(mut self, id: impl Into<String>, output: Output) -> Template {
        insert(
            &mut self.outputs,
            &mut self.duplicates,
            Section::Outputs,
            id.into(),
            output,
        );
        self
    }

    /// The description, if any.
    pub fn get_description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Parameters by logical id, in declaration order.
    pub fn parameters(&self) -> &IndexMap<String, Parameter> {
        &self.parameters
    }

    /// Rules by name, in declaration order.
    pub fn rules(&self) -> &IndexMap<String, Rule> {
        &self.rules
    }

    /// Mappings by name, in declaration order.
    pub fn mappings(&self) -> &IndexMap<String, Mapping> {
        &self.mappings
    }

    /// Conditions by name, in declaration order.
    pub fn conditions(&self) -> &IndexMap<String, Value> {
        &self.conditions
    }

    /// Resources by logical id, in declaration order.
    pub fn resources(&self) -> &IndexMap<String, Resource> {
        &self.resources
    }

    /// Outputs by logical id, in declaration order.
    pub fn outputs(&self) -> &IndexMap<String, Output> {
        &self.outputs
    }

    /// The YAML tree, with intrinsic functions as tags, for the YAML emitter.
    pub fn to_yaml_value(&self) -> Result<serde_yaml::Value, RenderError> {
        convert::to_yaml("template", self)
    }

    /// CloudFormation JSON: the same tree with functions in long form (`{"Fn::Sub": ..}`).
    pub fn to_json(&self) -> Result<Json, RenderError> {
        self.to_yaml_value().map(|yaml| convert::long_form(&yaml))
    }
}

fn insert<T>(
    section: &mut IndexMap<String, T>,
    duplicates: &mut Vec<(Section, String)>,
    which: Section,
    id: String,
    item: T,
) {
    if section.contains_key(&id) {
        duplicates.push((which, id));
    } else {
        section.insert(id, item);
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("AWSTemplateFormatVersion", FORMAT_VERSION)?;
        if let Some(description) = &self.description {
            map.serialize_entry("Description", description)?;
        }
        fn section<M: SerializeMap, T: Serialize>(
            map: &mut M,
            key: Section,
            items: &IndexMap<String, T>,
        ) -> Result<(), M::Error> {
            if items.is_empty() {
                Ok(())
            } else {
                map.serialize_entry(key.as_str(), items)
            }
        }
        section(&mut map, Section::Parameters, &self.parameters)?;
        section(&mut map, Section::Rules, &self.rules)?;
        section(&mut map, Section::Mappings, &self.mappings)?;
        section(&mut map, Section::Conditions, &self.conditions)?;
        section(&mut map, Section::Resources, &self.resources)?;
        section(&mut map, Section::Outputs, &self.outputs)?;
        map.end()
    }
}

/// A top-level section of a template that holds named entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `Parameters`
    Parameters,
    /// `Rules`
    Rules,
    /// `Mappings`
    Mappings,
    /// `Conditions`
    Conditions,
    /// `Resources`
    Resources,
    /// `Outputs`
    Outputs,
}

impl Section {
    /// The section's key in the template.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Parameters => "Parameters",
            Section::Rules => "Rules",
            Section::Mappings => "Mappings",
            Section::Conditions => "Conditions",
            Section::Resources => "Resources",
            Section::Outputs => "Outputs",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule: when `RuleCondition` holds (always, without one), every assertion must, or
/// CloudFormation refuses the stack operation before it changes anything and shows the
/// failed assertion's description.
///
/// ```yaml
/// DevAccountAndRegion:
///   RuleCondition: !Equals [!Ref Stage, dev]
///   Assertions:
///     - Assert: !Equals [!Ref AWS::AccountId, '111111111111']
///       AssertDescription: Stage dev belongs in account 111111111111
/// ```
///
/// Only the [rule-specific functions](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html)
/// are allowed here (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Fn::Contains`, ..., and
/// `Ref` to parameters and pseudo parameters); `Fn::FindInMap` is not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// When the rule applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_condition: Option<Value>,
    /// What must hold.
    pub assertions: Vec<Assertion>,
}

/// One assertion of a [`Rule`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Assertion {
    /// A rule-specific function that must be true.
    pub assert: Value,
    /// The message CloudFormation shows when it is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assert_description: Option<String>,
}

impl Rule {
    /// A rule that applies when `condition` holds.
    pub fn when(condition: impl Into<Value>) -> Rule {
        Rule {
            rule_condition: Some(condition.into()),
            assertions: Vec::new(),
        }
    }

    /// Adds an assertion with its message.
    pub fn assert(mut self, assert: impl Into<Value>, description: impl Into<String>) -> Rule {
        self.assertions.push(Assertion {
            assert: assert.into(),
            assert_description: Some(description.into()),
        });
        self
    }
}

/// A template parameter.
///
/// ```yaml
/// Stage:
///   Type: String
///   Description: The stage this stack belongs to
///   AllowedValues: [dev, prod]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    /// `String`, `CommaDelimitedList`, `Number`, ...
    #[serde(rename = "Type")]
    pub type_: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Value used when none is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The only values accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// Regular expression values must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// Message shown when a value is rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

impl Parameter {
    /// A parameter of the given type.
    pub fn new(type_: impl Into<String>) -> Parameter {
        Parameter {
            type_: type_.into(),
            description: None,
            default: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
        }
    }

    /// `Type: String`.
    pub fn string() -> Parameter {
        Parameter::new("String")
    }

    /// `Description`.
    pub fn description(mut self, description: impl Into<String>) -> Parameter {
        self.description = Some(description.into());
        self
    }

    /// `Default`.
    pub fn default(mut self, default: impl Into<String>) -> Parameter {
        self.default = Some(default.into());
        self
    }

    /// `AllowedValues`.
    pub fn allowed_values<S: Into<String>>(
        mut self,
        values: impl IntoIterator<Item = S>,
    ) -> Parameter {
        self.allowed_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// `AllowedPattern`.
    pub fn allowed_pattern(mut self, pattern: impl Into<String>) -> Parameter {
        self.allowed_pattern = Some(pattern.into());
        self
    }

    /// `ConstraintDescription`.
    pub fn constraint_description(mut self, description: impl Into<String>) -> Parameter {
        self.constraint_description = Some(description.into());
        self
    }
}

/// A mapping: top-level key → second-level key → a string or list of strings.
///
/// ```yaml
/// Stages:
///   dev:
///     Account: '111111111111'
///     Subjects: [repo:o/r:ref:refs/heads/main]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Mapping(pub IndexMap<String, IndexMap<String, Value>>);

impl Mapping {
    /// An empty mapping.
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// Sets `top → key → value` (a literal string or list of strings).
    pub fn entry(
        mut self,
        top: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Mapping {
        self.0
            .entry(top.into())
            .or_default()
            .insert(key.into(), value.into());
        self
    }

    /// The value at `top → key`.
    pub fn get(&self, top: &str, key: &str) -> Option<&Value> {
        self.0.get(top).and_then(|keys| keys.get(key))
    }
}

/// A template output.
///
/// ```yaml
/// PipelineExecutionRoleArn:
///   Description: Role the deploy job assumes
///   Condition: CreateRole
///   Value: !GetAtt PipelineExecutionRole.Arn
///   Export:
///     Name: !Sub '${AWS::StackName}-PipelineExecutionRoleArn'
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Description.
    pub description: Option<String>,
    /// Template condition that decides whether the output exists.
    pub condition: Option<String>,
    /// The value.
    pub value: Value,
    /// `Export: {Name: ..}` for cross-stack references.
    pub export_name: Option<Value>,
}

impl Output {
    /// An output with this value.
    pub fn new(value: impl Into<Value>) -> Output {
        Output {
            description: None,
            condition: None,
            value: value.into(),
            export_name: None,
        }
    }

    /// `Description`.
    pub fn description(mut self, description: impl Into<String>) -> Output {
        self.description = Some(description.into());
        self
    }

    /// `Condition`.
    pub fn condition(mut self, condition: impl Into<String>) -> Output {
        self.condition = Some(condition.into());
        self
    }

    /// `Export: {Name: name}`.
    pub fn export_name(mut self, name: impl Into<Value>) -> Output {
        self.export_name = Some(name.into());
        self
    }
}

impl Serialize for Output {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Export<'a> {
            #[serde(rename = "Name")]
            name: &'a Value,
        }
        let mut map = s.serialize_map(None)?;
        if let Some(description) = &self.description {
            map.serialize_entry("Description", description)?;
        }
        if let Some(condition) = &self.condition {
            map.serialize_entry("Condition", condition)?;
        }
        map.serialize_entry("Value", &self.value)?;
        if let Some(name) = &self.export_name {
            map.serialize_entry("Export", &Export { name })?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::s3;
    use serde_json::json;
    use serde_yaml::Value as Yaml;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    fn keys(v: &Yaml) -> Vec<String> {
        v.as_mapping()
            .expect("a mapping")
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    }

    fn sample() -> Template {
        // Added out of order on purpose: the output order is fixed by the type.
        Template::new()
            .output(
                "BucketArn",
                Output::new(Value::get_att("Bucket", "Arn"))
                    .export_name(Value::sub("${AWS::StackName}-BucketArn"))
                    .condition("IsProd")
                    .description("Artifacts bucket"),
            )
            .resource(
                "Bucket",
                Resource::new(s3::Bucket::new().versioned()).retain(),
            )
            .condition("IsProd", Value::equals(Value::ref_to("Stage"), "prod"))
            .mapping(
                "Stages",
                Mapping::new().entry("prod", "Account", "222222222222"),
            )
            .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
            .description("Pipeline resources")
    }

    #[test]
    fn sections_in_fixed_order_version_first() {
        let v = sample().to_yaml_value().expect("renders");
        assert_eq!(
            keys(&v),
            [
                "AWSTemplateFormatVersion",
                "Description",
                "Parameters",
                "Mappings",
                "Conditions",
                "Resources",
                "Outputs"
            ]
        );
        assert_eq!(
            v["AWSTemplateFormatVersion"],
            Yaml::String("2010-09-09".into())
        );
        assert_eq!(
            keys(&v["Outputs"]["BucketArn"]),
            ["Description", "Condition", "Value", "Export"]
        );
    }

    #[test]
    fn empty_sections_are_omitted() {
        let v = Template::new()
            .resource("Bucket", Resource::new(s3::Bucket::new()))
            .to_yaml_value()
            .expect("renders");
        assert_eq!(
            v,
            yaml(
                "
                AWSTemplateFormatVersion: '2010-09-09'
                Resources:
                  Bucket:
                    Type: AWS::S3::Bucket
                    Properties: {}
                "
            )
        );
    }

    #[test]
    fn json_uses_long_forms() {
        let json = sample().to_json().expect("renders");
        assert_eq!(
            json["Conditions"]["IsProd"],
            json!({"Fn::Equals": [{"Ref": "Stage"}, "prod"]})
        );
        assert_eq!(
            json["Outputs"]["BucketArn"],
            json!({
                "Description": "Artifacts bucket",
                "Condition": "IsProd",
                "Value": {"Fn::GetAtt": ["Bucket", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-BucketArn"}}
            })
        );
        assert_eq!(
            json["Parameters"]["Stage"],
            json!({"Type": "String", "AllowedValues": ["dev", "prod"]})
        );
        assert_eq!(
            json["Mappings"]["Stages"]["prod"]["Account"],
            json!("222222222222")
        );
        assert_eq!(
            json["Resources"]["Bucket"]["UpdateReplacePolicy"],
            json!("Retain")
        );
    }

    #[test]
    fn duplicates_keep_the_first_declaration_and_are_recorded() {
        let t = Template::new()
            .parameter("Stage", Parameter::string().default("dev"))
            .parameter("Stage", Parameter::string().default("prod"));
        assert_eq!(t.parameters()["Stage"].default.as_deref(), Some("dev"));
        assert_eq!(t.duplicates, [(Section::Parameters, "Stage".to_owned())]);
    }

    #[test]
    fn parameter_fields_in_order() {
        let p = Parameter::string()
            .constraint_description("lowercase")
            .allowed_pattern("[a-z]+")
            .allowed_values(["a"])
            .default("a")
            .description("d");
        assert_eq!(
            keys(&serde_yaml::to_value(&p).expect("serializes")),
            [
                "Type",
                "Description",
                "Default",
                "AllowedValues",
                "AllowedPattern",
                "ConstraintDescription"
            ]
        );
    }

    #[test]
    fn mapping_lookup() {
        let m = Mapping::new()
            .entry("dev", "Subjects", Value::List(vec!["a".into(), "b".into()]))
            .entry("dev", "Account", "1");
        assert_eq!(m.get("dev", "Account"), Some(&Value::from("1")));
        assert_eq!(m.get("prod", "Account"), None);
        assert_eq!(
            serde_yaml::to_value(&m).expect("serializes"),
            yaml("{dev: {Subjects: [a, b], Account: '1'}}")
        );
    }

    /// Pins the short (YAML tag) and long (JSON) forms of every intrinsic in one template.
    #[test]
    fn every_intrinsic_snapshot() {
        use crate::cfn::resources::iam;
        use crate::cfn::{PolicyDocument, Pseudo, Statement};
        let stage = || Value::ref_to("Stage");
        let policy = PolicyDocument::new()
            .statement(
                Statement::allow()
                    .action("s3:GetObject")
                    .resource(Value::join(
                        "",
                        [Value::get_att("Bucket", "Arn"), "/*".into()],
                    )),
            )
            .statement_if(
                "IsProd",
                Statement::allow().action("s3:PutObject").resource("*"),
            );
        let t = Template::new()
            .description("Every intrinsic function")
            .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
            .mapping(
                "Stages",
                Mapping::new()
                    .entry("dev", "Url", "https://example.com/dev")
                    .entry("prod", "Url", "https://example.com/prod"),
            )
            .condition("IsProd", Value::equals(stage(), "prod"))
            .condition("IsDev", Value::not(Value::condition("IsProd")))
            .condition(
                "Either",
                Value::or([Value::condition("IsProd"), Value::condition("IsDev")]),
            )
            .condition(
                "Both",
                Value::and([Value::condition("Either"), Value::equals("a", "a")]),
            )
            .resource("Bucket", Resource::new(s3::Bucket::new()).retain())
            .resource(
                "Policy",
                Resource::new(iam::ManagedPolicy::new(policy).description(Value::sub_with(
                    "${Host} in ${AWS::Region}, ${!Literal}",
                    [(
                        "Host",
                        Value::select(
                            1,
                            Value::split("//", Value::find_in_map("Stages", stage(), "Url")),
                        ),
                    )],
                )))
                .condition("Both"),
            )
            .output(
                "Zones",
                Output::new(Value::select(
                    0,
                    Value::get_azs(Value::pseudo(Pseudo::Region)),
                )),
            )
            .output(
                "Encoded",
                Output::new(Value::base64(Value::sub("${AWS::StackName}"))),
            )
            .output(
                "Maybe",
                Output::new(Value::if_(
                    "IsProd",
                    Value::ref_to("Bucket"),
                    Value::no_value(),
                ))
                .export_name(Value::sub("${AWS::StackName}-Maybe")),
            );
        assert_eq!(t.validate(), []);
        // Rendered by the emitter sampipe writes templates with, so this pins the short forms
        // reviewers see.
        let yaml = crate::yaml::to_string(
            &t.to_yaml_value().expect("renders"),
            &crate::yaml::Style::default(),
        );
        let json = serde_json::to_string_pretty(&t.to_json().expect("renders")).expect("prints");
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("cfn-every-intrinsic.yaml", yaml);
            insta::assert_snapshot!("cfn-every-intrinsic.json", json);
        });
    }
}
