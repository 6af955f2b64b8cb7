//! IAM policy documents: identity policies, resource policies and role trust policies.
//!
//! ```yaml
//! Version: '2012-10-17'
//! Statement:
//!   - Effect: Allow
//!     Principal:
//!       Federated: !Ref GitHubOidcProvider
//!     Action: sts:AssumeRoleWithWebIdentity
//!     Condition:
//!       StringEquals:
//!         token.actions.githubusercontent.com:aud: sts.amazonaws.com
//! ```
//!
//! See the [IAM JSON policy reference](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).

use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::Value;

/// An IAM policy document.
///
/// ```yaml
/// Version: '2012-10-17'
/// Statement:
///   - ...
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    pub version: PolicyVersion,
    /// The statements, in the order they were added.
    pub statement: Vec<StatementEntry>,
}

impl PolicyDocument {
    /// An empty document with `Version: '2012-10-17'`.
    pub fn new() -> PolicyDocument {
        PolicyDocument::default()
    }

    /// Adds a statement that is always present.
    pub fn statement(mut self, statement: Statement) -> PolicyDocument {
        self.statement.push(StatementEntry::Always(statement));
        self
    }

    /// Adds a statement present only where `condition` (a template condition) is true:
    /// `!If [condition, {statement}, !Ref AWS::NoValue]`.
    pub fn statement_if(
        mut self,
        condition: impl Into<String>,
        statement: Statement,
    ) -> PolicyDocument {
        self.statement.push(StatementEntry::If {
            condition: condition.into(),
            statement,
        });
        self
    }

    /// The statements, conditional ones included.
    pub fn statements(&self) -> &[StatementEntry] {
        &self.statement
    }
}

/// The policy language version. Serialized as the string `'2012-10-17'`: emitters must quote it,
/// or YAML 1.1 loaders read a date (the reference template's bug).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum PolicyVersion {
    /// `'2012-10-17'`, the current version.
    #[default]
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
}

/// A statement in a [`PolicyDocument`], possibly present only for some deployments.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementEntry {
    /// `- Effect: ...`
    Always(Statement),
    /// `- !If [condition, {Effect: ...}, !Ref AWS::NoValue]`
    If {
        /// The template condition that includes the statement.
        condition: String,
        /// The statement included when the condition is true.
        statement: Statement,
    },
}

impl StatementEntry {
    /// The statement, whether or not it is conditional.
    pub fn statement(&self) -> &Statement {
        match self {
            StatementEntry::Always(statement) | StatementEntry::If { statement, .. } => statement,
        }
    }

    /// The template condition that includes this statement, if any.
    pub fn condition(&self) -> Option<&str> {
        match self {
            StatementEntry::Always(_) => None,
            StatementEntry::If { condition, .. } => Some(condition),
        }
    }
}

impl Serialize for StatementEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatementEntry::Always(statement) => statement.serialize(s),
            // Same tag as Intrinsic::If, so it prints as `!If [..]`.
            StatementEntry::If {
                condition,
                statement,
            } => s.serialize_newtype_variant(
                "Intrinsic",
                5,
                "If",
                &(condition, statement, Value::no_value()),
            ),
        }
    }
}

/// One statement. Keys serialize in the order `Sid, Effect, Principal, Action, Resource,
/// Condition`; a one-element `Action` or `Resource` prints as a scalar.
///
/// ```yaml
/// Sid: TlsOnly
/// Effect: Deny
/// Principal: '*'
/// Action: s3:*
/// Resource:
///   - !GetAtt ArtifactsBucket.Arn
///   - !Sub '${ArtifactsBucket.Arn}/*'
/// Condition:
///   Bool:
///     aws:SecureTransport: false
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Optional statement id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Who the statement applies to (resource and trust policies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Actions, without duplicates, in insertion order.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub action: Vec<String>,
    /// `NotAction`: every action but these (instead of `Action`).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub not_action: Vec<String>,
    /// Resources; empty means the key is omitted (trust policies). A single value may be a
    /// function that returns a list, such as `!FindInMap`.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "one_or_many")]
    pub resource: Vec<Value>,
    /// `operator → condition key → value(s)`; a key's values are OR-ed, keys and operators AND-ed.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub condition: IndexMap<ConditionOperator, IndexMap<String, Value>>,
}

impl Statement {
    /// An empty statement with the given effect.
    pub fn new(effect: Effect) -> Statement {
        Statement {
            sid: None,
            effect,
            principal: None,
            action: Vec::new(),
            not_action: Vec::new(),
            resource: Vec::new(),
            condition: IndexMap::new(),
        }
    }

    /// `Effect: Allow`.
    pub fn allow() -> Statement {
        Statement::new(Effect::Allow)
    }

    /// `Effect: Deny`.
    pub fn deny() -> Statement {
        Statement::new(Effect::Deny)
    }

    /// `Sid: ..`.
    pub fn sid(mut self, sid: impl Into<String>) -> Statement {
        self.sid = Some(sid.into());
        self
    }

    /// `Principal: ..`, replacing any previous principal.
    pub fn principal(mut self, principal: Principal) -> Statement {
        self.principal = Some(principal);
        self
    }

    /// Adds an action (ignored if already present).
    pub fn action(mut self, action: impl Into<String>) -> Statement {
        let action = action.into();
        if !self.action.contains(&action) {
            self.action.push(action);
        }
        self
    }

    /// Adds several actions.
    pub fn actions<A: Into<String>>(self, actions: impl IntoIterator<Item = A>) -> Statement {
        actions.into_iter().fold(self, Statement::action)
    }

    /// Adds actions to `NotAction`: the statement is about every other action.
    pub fn not_actions<A: Into<String>>(
        mut self,
        actions: impl IntoIterator<Item = A>,
    ) -> Statement {
        for action in actions {
            let action = action.into();
            if !self.not_action.contains(&action) {
                self.not_action.push(action);
            }
        }
        self
    }

    /// Adds a resource (ignored if already present).
    pub fn resource(mut self, resource: impl Into<Value>) -> Statement {
        let resource = resource.into();
        if !self.resource.contains(&resource) {
            self.resource.push(resource);
        }
        self
    }

    /// Adds several resources.
    pub fn resources<R: Into<Value>>(self, resources: impl IntoIterator<Item = R>) -> Statement {
        resources.into_iter().fold(self, Statement::resource)
    }

    /// Adds `Condition: {operator: {key: value}}`. Adding the same operator and key again makes
    /// the value a list (values of one key are OR-ed); duplicate values are ignored.
    pub fn condition(
        mut self,
        operator: ConditionOperator,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Statement {
        let value = value.into();
        let keys = self.condition.entry(operator).or_default();
        match keys.entry(key.into()) {
            indexmap::map::Entry::Vacant(slot) => {
                slot.insert(value);
            }
            indexmap::map::Entry::Occupied(mut slot) => {
                let existing = slot.get_mut();
                let mut values = match std::mem::replace(existing, Value::List(Vec::new())) {
                    Value::List(values) => values,
                    single => vec![single],
                };
                let new = match value {
                    Value::List(more) => more,
                    single => vec![single],
                };
                for v in new {
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                *existing = Value::List(values);
            }
        }
        self
    }
}

/// Serializes one element as a scalar, several as a list.
fn one_or_many<T: Serialize, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    match items {
        [one] => one.serialize(s),
        many => many.serialize(s),
    }
}

/// `Effect: Allow` or `Effect: Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// `Allow`
    Allow,
    /// `Deny`
    Deny,
}

/// The `Principal` of a resource or trust policy statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// `Principal: '*'` — anyone (narrow it with conditions).
    Everyone,
    /// `Principal: {AWS: arn-or-account}`.
    Aws(Vec<Value>),
    /// `Principal: {Service: lambda.amazonaws.com}`.
    Service(Vec<String>),
    /// `Principal: {Federated: oidc-provider-arn}`.
    Federated(Value),
}

impl Principal {
    /// `'*'`.
    pub fn everyone() -> Principal {
        Principal::Everyone
    }

    /// `{AWS: value}` — one account, role or user ARN.
    pub fn aws(value: impl Into<Value>) -> Principal {
        Principal::Aws(vec![value.into()])
    }

    /// `{Service: name}`.
    pub fn service(name: impl Into<String>) -> Principal {
        Principal::Service(vec![name.into()])
    }

    /// `{Federated: provider}` — an OIDC or SAML provider ARN.
    pub fn federated(provider: impl Into<Value>) -> Principal {
        Principal::Federated(provider.into())
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct OneOrMany<'a, T>(&'a [T]);
        impl<T: Serialize> Serialize for OneOrMany<'_, T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                one_or_many(self.0, s)
            }
        }
        fn entry<S: Serializer, V: Serialize>(
            s: S,
            key: &str,
            value: &V,
        ) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry(key, value)?;
            map.end()
        }
        match self {
            Principal::Everyone => s.serialize_str("*"),
            Principal::Aws(values) => entry(s, "AWS", &OneOrMany(values)),
            Principal::Service(names) => entry(s, "Service", &OneOrMany(names)),
            Principal::Federated(provider) => entry(s, "Federated", provider),
        }
    }
}

/// The condition operators sampipe emits.
///
/// There is deliberately no `ForAllValues:`/`ForAnyValue:` or `...IfExists` variant: those
/// qualifiers are for multivalued or optional keys, and `ForAllValues:StringLike` on the
/// single-valued `aud`/`sub` claims is true when the key is ABSENT — the reference SAM template's
/// trust-policy bug. Trust policies must use plain `StringEquals`/`StringLike`.
/// See [condition operators](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ConditionOperator {
    /// Exact, case-sensitive match.
    StringEquals,
    /// Negated exact match.
    StringNotEquals,
    /// Case-sensitive match with `*` and `?` wildcards.
    StringLike,
    /// Negated wildcard match.
    StringNotLike,
    /// Exact ARN match.
    ArnEquals,
    /// ARN match with wildcards.
    ArnLike,
    /// Boolean match, e.g. `aws:SecureTransport`.
    Bool,
    /// Whether a key is absent (`true`) or present (`false`).
    Null,
}

impl ConditionOperator {
    /// The operator's name as IAM spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionOperator::StringEquals => "StringEquals",
            ConditionOperator::StringNotEquals => "StringNotEquals",
            ConditionOperator::StringLike => "StringLike",
            ConditionOperator::StringNotLike => "StringNotLike",
            ConditionOperator::ArnEquals => "ArnEquals",
            ConditionOperator::ArnLike => "ArnLike",
            ConditionOperator::Bool => "Bool",
            ConditionOperator::Null => "Null",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml::Value as Yaml;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    fn to_yaml<T: Serialize>(t: &T) -> Yaml {
        serde_yaml::to_value(t).expect("serializes")
    }

    fn keys(v: &Yaml) -> Vec<String> {
        v.as_mapping()
            .expect("a mapping")
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    }

    fn trust() -> Statement {
        Statement::allow()
            .action("sts:AssumeRoleWithWebIdentity")
            .principal(Principal::federated(Value::ref_to("Oidc")))
            .condition(
                ConditionOperator::StringEquals,
                "token.actions.githubusercontent.com:aud",
                "sts.amazonaws.com",
            )
    }

    #[test]
    fn version_is_a_quoted_string_through_a_yaml_round_trip() {
        let doc = PolicyDocument::new().statement(trust());
        let value = to_yaml(&doc);
        assert_eq!(value["Version"], Yaml::String("2012-10-17".into()));
        let text = serde_yaml::to_string(&doc).expect("prints");
        let back: Yaml = serde_yaml::from_str(&text).expect("parses");
        assert_eq!(back["Version"], Yaml::String("2012-10-17".into()));
        assert_eq!(keys(&value), ["Version", "Statement"]);
    }

    #[test]
    fn statement_keys_in_reviewer_order() {
        let s = Statement::deny()
            .condition(ConditionOperator::Bool, "aws:SecureTransport", false)
            .resource(Value::get_att("B", "Arn"))
            .action("s3:*")
            .principal(Principal::everyone())
            .sid("TlsOnly");
        assert_eq!(
            keys(&to_yaml(&s)),
            [
                "Sid",
                "Effect",
                "Principal",
                "Action",
                "Resource",
                "Condition"
            ]
        );
    }

    #[test]
    fn trust_statement_renders_as_documented() {
        let expected = yaml(
            "
            Effect: Allow
            Principal:
              Federated: !Ref Oidc
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                token.actions.githubusercontent.com:aud: sts.amazonaws.com
            ",
        );
        assert_eq!(to_yaml(&trust()), expected);
    }

    #[test]
    fn one_action_and_resource_render_as_scalars_many_as_lists() {
        let one = to_yaml(&Statement::allow().action("s3:GetObject").resource("*"));
        assert_eq!(one["Action"], yaml("s3:GetObject"));
        assert_eq!(one["Resource"], yaml("'*'"));

        let many = to_yaml(
            &Statement::allow()
                .actions(["s3:GetObject", "s3:PutObject", "s3:GetObject"])
                .resources([Value::get_att("B", "Arn"), Value::sub("${B.Arn}/*")]),
        );
        assert_eq!(many["Action"], yaml("[s3:GetObject, s3:PutObject]"));
        assert_eq!(many["Resource"].as_sequence().map(Vec::len), Some(2));
    }

    #[test]
    fn resource_is_omitted_when_empty_and_may_be_a_list_function() {
        assert!(to_yaml(&trust()).get("Resource").is_none());
        let s = Statement::allow()
            .action("s3:GetObject")
            .resource(Value::find_in_map(
                "Stages",
                Value::ref_to("Stage"),
                "Buckets",
            ));
        assert!(matches!(&to_yaml(&s)["Resource"], Yaml::Tagged(t) if t.tag == "FindInMap"));
    }

    #[test]
    fn principals() {
        assert_eq!(to_yaml(&Principal::everyone()), yaml("'*'"));
        assert_eq!(
            to_yaml(&Principal::service("lambda.amazonaws.com")),
            yaml("Service: lambda.amazonaws.com")
        );
        assert_eq!(
            to_yaml(&Principal::Service(vec!["a".into(), "b".into()])),
            yaml("Service: [a, b]")
        );
        assert_eq!(
            to_yaml(&Principal::Aws(vec![
                Value::get_att("R", "Arn"),
                Value::ref_to("P")
            ])),
            yaml("AWS: [!GetAtt R.Arn, !Ref P]")
        );
        assert_eq!(
            to_yaml(&Principal::aws("111111111111")),
            yaml("AWS: '111111111111'")
        );
    }

    #[test]
    fn repeated_condition_key_accumulates_values() {
        let sub = "token.actions.githubusercontent.com:sub";
        let s = trust()
            .condition(
                ConditionOperator::StringLike,
                sub,
                "repo:o/r:ref:refs/heads/main",
            )
            .condition(
                ConditionOperator::StringLike,
                sub,
                "repo:o/r:environment:prod",
            )
            .condition(
                ConditionOperator::StringLike,
                sub,
                "repo:o/r:environment:prod",
            );
        assert_eq!(
            to_yaml(&s)["Condition"]["StringLike"][sub],
            yaml("[repo:o/r:ref:refs/heads/main, repo:o/r:environment:prod]")
        );
        assert_eq!(
            s.condition.keys().copied().collect::<Vec<_>>(),
            [
                ConditionOperator::StringEquals,
                ConditionOperator::StringLike
            ]
        );
    }

    #[test]
    fn conditional_statement_renders_as_if_with_no_value() {
        let doc = PolicyDocument::new()
            .statement(
                Statement::allow()
                    .action("ecr:GetAuthorizationToken")
                    .resource("*"),
            )
            .statement_if(
                "HasImageRepository",
                Statement::allow().action("ecr:PutImage").resource("*"),
            );
        let expected = yaml(
            "
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: ecr:GetAuthorizationToken
                Resource: '*'
              - !If
                - HasImageRepository
                - Effect: Allow
                  Action: ecr:PutImage
                  Resource: '*'
                - !Ref AWS::NoValue
            ",
        );
        assert_eq!(to_yaml(&doc), expected);
        assert_eq!(doc.statements()[1].condition(), Some("HasImageRepository"));
        assert_eq!(doc.statements()[0].condition(), None);
        assert_eq!(doc.statements()[1].statement().action, ["ecr:PutImage"]);
    }

    #[test]
    fn operator_names_match_serialization() {
        for op in [
            ConditionOperator::StringEquals,
            ConditionOperator::StringNotEquals,
            ConditionOperator::StringLike,
            ConditionOperator::StringNotLike,
            ConditionOperator::ArnEquals,
            ConditionOperator::ArnLike,
            ConditionOperator::Bool,
            ConditionOperator::Null,
        ] {
            assert_eq!(to_yaml(&op), Yaml::String(op.as_str().into()));
        }
    }
}
