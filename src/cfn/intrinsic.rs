//! CloudFormation intrinsic functions and pseudo parameters.
//!
//! [`Intrinsic`] serializes as a YAML tag (`!Ref`, `!GetAtt`, `!Sub`, ...): `serde_yaml::to_value`
//! turns every `serialize_newtype_variant` into a `Value::Tagged`, so the short forms a reviewer
//! expects come straight out of serde. [`Value::to_json`](super::Value::to_json) gives the long
//! form (`{"Fn::Sub": ..}`) for JSON output.
//!
//! See the [intrinsic function reference](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html)
//! and the [pseudo parameter reference](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).

use std::fmt;

use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::Value;

/// A CloudFormation intrinsic function (or `Condition` reference).
///
/// Build these through the constructors on [`Value`] (`Value::ref_to`, `Value::sub`, ...); each
/// variant's doc shows the YAML it emits.
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic {
    /// `!Ref Name` — a parameter, a resource or a pseudo parameter (`AWS::Region`).
    Ref(String),
    /// `!GetAtt Resource.Attribute`.
    GetAtt {
        /// Logical id of the resource.
        resource: String,
        /// Attribute name, e.g. `Arn`.
        attribute: String,
    },
    /// `!Sub 'arn:${AWS::Partition}:s3:::${Bucket}'`.
    Sub(String),
    /// `!Sub ['${Url}:sub', {Url: ..}]` — a template with its own variables.
    SubWith(String, IndexMap<String, Value>),
    /// `!Join ['', [a, b]]`.
    Join(String, Vec<Value>),
    /// `!If [Condition, then, else]`.
    If(String, Value, Value),
    /// `!Equals [a, b]`.
    Equals(Value, Value),
    /// `!Not [condition]` — CloudFormation requires the one-element list.
    Not(Value),
    /// `!And [c1, c2, ...]`.
    And(Vec<Value>),
    /// `!Or [c1, c2, ...]`.
    Or(Vec<Value>),
    /// `!FindInMap [Map, TopKey, SecondKey]`.
    FindInMap(String, Value, Value),
    /// `!Select [index, list]`.
    Select(u32, Value),
    /// `!Split [delimiter, source]`.
    Split(String, Value),
    /// `!Condition Name` — only meaningful inside `Conditions` and `!And`/`!Or`/`!Not`.
    Condition(String),
    /// `!GetAZs region` (`''` means the stack's region).
    GetAZs(Value),
    /// `!Base64 value`.
    Base64(Value),
}

impl Intrinsic {
    /// The short-form tag, without the `!`: `Ref`, `GetAtt`, `Sub`, ...
    pub fn tag(&self) -> &'static str {
        match self {
            Intrinsic::Ref(_) => "Ref",
            Intrinsic::GetAtt { .. } => "GetAtt",
            Intrinsic::Sub(_) | Intrinsic::SubWith(..) => "Sub",
            Intrinsic::Join(..) => "Join",
            Intrinsic::If(..) => "If",
            Intrinsic::Equals(..) => "Equals",
            Intrinsic::Not(_) => "Not",
            Intrinsic::And(_) => "And",
            Intrinsic::Or(_) => "Or",
            Intrinsic::FindInMap(..) => "FindInMap",
            Intrinsic::Select(..) => "Select",
            Intrinsic::Split(..) => "Split",
            Intrinsic::Condition(_) => "Condition",
            Intrinsic::GetAZs(_) => "GetAZs",
            Intrinsic::Base64(_) => "Base64",
        }
    }

    /// The long-form key: `Ref`, `Condition`, or `Fn::<Tag>`.
    pub fn long_name(&self) -> &'static str {
        match self {
            Intrinsic::Ref(_) => "Ref",
            Intrinsic::Condition(_) => "Condition",
            Intrinsic::GetAtt { .. } => "Fn::GetAtt",
            Intrinsic::Sub(_) | Intrinsic::SubWith(..) => "Fn::Sub",
            Intrinsic::Join(..) => "Fn::Join",
            Intrinsic::If(..) => "Fn::If",
            Intrinsic::Equals(..) => "Fn::Equals",
            Intrinsic::Not(_) => "Fn::Not",
            Intrinsic::And(_) => "Fn::And",
            Intrinsic::Or(_) => "Fn::Or",
            Intrinsic::FindInMap(..) => "Fn::FindInMap",
            Intrinsic::Select(..) => "Fn::Select",
            Intrinsic::Split(..) => "Fn::Split",
            Intrinsic::GetAZs(_) => "Fn::GetAZs",
            Intrinsic::Base64(_) => "Fn::Base64",
        }
    }

    /// The values nested in this function, each with a path segment naming where it sits
    /// (`Fn::If[1]`), for walking a template.
    pub(crate) fn children(&self) -> Vec<(String, &Value)> {
        let name = self.long_name();
        let at = |i: usize| format!("{name}[{i}]");
        match self {
            Intrinsic::Ref(_)
            | Intrinsic::GetAtt { .. }
            | Intrinsic::Sub(_)
            | Intrinsic::Condition(_) => Vec::new(),
            Intrinsic::SubWith(_, vars) => vars
                .iter()
                .map(|(k, v)| (format!("{name}[1].{k}"), v))
                .collect(),
            Intrinsic::Join(_, items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{name}[1][{i}]"), v))
                .collect(),
            Intrinsic::If(_, a, b) => vec![(at(1), a), (at(2), b)],
            Intrinsic::Equals(a, b) => vec![(at(0), a), (at(1), b)],
            Intrinsic::Not(x) => vec![(at(0), x)],
            Intrinsic::And(xs) | Intrinsic::Or(xs) => {
                xs.iter().enumerate().map(|(i, v)| (at(i), v)).collect()
            }
            Intrinsic::FindInMap(_, top, second) => vec![(at(1), top), (at(2), second)],
            Intrinsic::Select(_, list) | Intrinsic::Split(_, list) => vec![(at(1), list)],
            Intrinsic::GetAZs(x) | Intrinsic::Base64(x) => vec![(name.to_owned(), x)],
        }
    }
}

/// Serializes the short form: a YAML tag named by [`Intrinsic::tag`] on its payload.
///
/// With `serde_yaml::to_value` this yields `Value::Tagged`; other serializers see an externally
/// tagged enum (`{"Ref": ..}`), which is NOT CloudFormation's JSON: use `Value::to_json` for JSON.
impl Serialize for Intrinsic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let payload = Payload {
            function: self,
            long: false,
        };
        serializer.serialize_newtype_variant("Intrinsic", self.index(), self.tag(), &payload)
    }
}

impl Intrinsic {
    fn index(&self) -> u32 {
        match self {
            Intrinsic::Ref(_) => 0,
            Intrinsic::GetAtt { .. } => 1,
            Intrinsic::Sub(_) => 2,
            Intrinsic::SubWith(..) => 3,
            Intrinsic::Join(..) => 4,
            Intrinsic::If(..) => 5,
            Intrinsic::Equals(..) => 6,
            Intrinsic::Not(_) => 7,
            Intrinsic::And(_) => 8,
            Intrinsic::Or(_) => 9,
            Intrinsic::FindInMap(..) => 10,
            Intrinsic::Select(..) => 11,
            Intrinsic::Split(..) => 12,
            Intrinsic::Condition(_) => 13,
            Intrinsic::GetAZs(_) => 14,
            Intrinsic::Base64(_) => 15,
        }
    }
}

/// The argument of an intrinsic, in short (`long: false`) or long form. The forms differ only for
/// `GetAtt` (`Res.Attr` vs `[Res, Attr]`).
struct Payload<'a> {
    function: &'a Intrinsic,
    long: bool,
}

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.function {
            Intrinsic::Ref(name) | Intrinsic::Sub(name) | Intrinsic::Condition(name) => {
                s.serialize_str(name)
            }
            Intrinsic::GetAtt {
                resource,
                attribute,
            } => {
                if self.long {
                    (resource, attribute).serialize(s)
                } else {
                    s.serialize_str(&format!("{resource}.{attribute}"))
                }
            }
            Intrinsic::SubWith(template, vars) => (template, vars).serialize(s),
            Intrinsic::Join(delimiter, items) => (delimiter, items).serialize(s),
            Intrinsic::If(condition, a, b) => (condition, a, b).serialize(s),
            Intrinsic::Equals(a, b) => (a, b).serialize(s),
            Intrinsic::Not(x) => [x].serialize(s),
            Intrinsic::And(xs) | Intrinsic::Or(xs) => xs.serialize(s),
            Intrinsic::FindInMap(map, top, second) => (map, top, second).serialize(s),
            Intrinsic::Select(index, list) => (index, list).serialize(s),
            Intrinsic::Split(delimiter, source) => (delimiter, source).serialize(s),
            Intrinsic::GetAZs(x) | Intrinsic::Base64(x) => Nested(x).serialize(s),
        }
    }
}

/// The sole argument of `!Base64`/`!GetAZs`. YAML allows one tag per node, so `!Base64 !Sub x` is
/// invalid: a function directly inside is written in long form, `!Base64 {Fn::Sub: x}`.
struct Nested<'a>(&'a Value);

impl Serialize for Nested<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Fn(function) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(
                    function.long_name(),
                    &Payload {
                        function,
                        long: true,
                    },
                )?;
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

/// A pseudo parameter, referenced with `!Ref AWS::<Name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `AWS::AccountId`
    AccountId,
    /// `AWS::Region`
    Region,
    /// `AWS::Partition` (`aws`, `aws-cn`, `aws-us-gov`, ...)
    Partition,
    /// `AWS::StackName`
    StackName,
    /// `AWS::StackId`
    StackId,
    /// `AWS::URLSuffix` (`amazonaws.com`, `amazonaws.com.cn`, ...)
    UrlSuffix,
    /// `AWS::NoValue`: removes the enclosing property or list item.
    NoValue,
    /// `AWS::NotificationARNs`
    NotificationArns,
}

impl Pseudo {
    /// Every pseudo parameter, in declaration order.
    pub const ALL: [Pseudo; 8] = [
        Pseudo::AccountId,
        Pseudo::Region,
        Pseudo::Partition,
        Pseudo::StackName,
        Pseudo::StackId,
        Pseudo::UrlSuffix,
        Pseudo::NoValue,
        Pseudo::NotificationArns,
    ];

    /// The name `!Ref` uses, e.g. `AWS::Partition`.
    pub fn as_str(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
        }
    }

    /// The pseudo parameter named `name` (`AWS::Region`), if any.
    pub fn from_name(name: &str) -> Option<Pseudo> {
        Pseudo::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Pseudo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml::Value as Yaml;

    fn tagged(v: &Value) -> (String, Yaml) {
        match serde_yaml::to_value(v) {
            Ok(Yaml::Tagged(t)) => (t.tag.to_string(), t.value),
            other => panic!("expected a tagged value, got {other:?}"),
        }
    }

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    #[test]
    fn pseudo_names_round_trip() {
        for p in Pseudo::ALL {
            assert_eq!(Pseudo::from_name(p.as_str()), Some(p));
        }
        assert_eq!(Pseudo::from_name("AWS::Nope"), None);
        assert_eq!(Pseudo::UrlSuffix.to_string(), "AWS::URLSuffix");
    }

    #[test]
    fn every_intrinsic_has_distinct_index_and_known_tag() {
        let all = sample_of_each();
        let mut seen = std::collections::BTreeSet::new();
        for f in &all {
            assert!(seen.insert(f.index()), "duplicate index for {f:?}");
            assert!(f.long_name().ends_with(f.tag()));
        }
        assert_eq!(all.len(), 16);
    }

    pub(crate) fn sample_of_each() -> Vec<Intrinsic> {
        vec![
            Intrinsic::Ref("A".into()),
            Intrinsic::GetAtt {
                resource: "R".into(),
                attribute: "Arn".into(),
            },
            Intrinsic::Sub("x".into()),
            Intrinsic::SubWith("x".into(), IndexMap::new()),
            Intrinsic::Join(",".into(), vec![]),
            Intrinsic::If("C".into(), Value::from("a"), Value::from("b")),
            Intrinsic::Equals(Value::from("a"), Value::from("b")),
            Intrinsic::Not(Value::condition("C")),
            Intrinsic::And(vec![]),
            Intrinsic::Or(vec![]),
            Intrinsic::FindInMap("M".into(), Value::from("a"), Value::from("b")),
            Intrinsic::Select(0, Value::List(vec![])),
            Intrinsic::Split(",".into(), Value::from("a")),
            Intrinsic::Condition("C".into()),
            Intrinsic::GetAZs(Value::from("")),
            Intrinsic::Base64(Value::from("x")),
        ]
    }

    #[test]
    fn ref_short_form() {
        assert_eq!(
            tagged(&Value::ref_to("Bucket")),
            ("!Ref".into(), yaml("Bucket"))
        );
        assert_eq!(
            tagged(&Value::pseudo(Pseudo::Partition)),
            ("!Ref".into(), yaml("AWS::Partition"))
        );
    }

    #[test]
    fn get_att_short_form_is_a_dotted_scalar() {
        assert_eq!(
            tagged(&Value::get_att("Role", "Arn")),
            ("!GetAtt".into(), yaml("Role.Arn"))
        );
    }

    #[test]
    fn sub_short_forms() {
        assert_eq!(
            tagged(&Value::sub("arn:${AWS::Partition}:s3:::x")),
            ("!Sub".into(), yaml("'arn:${AWS::Partition}:s3:::x'"))
        );
        let with = Value::sub_with("${Url}:sub", [("Url", Value::ref_to("P"))]);
        let (tag, payload) = tagged(&with);
        assert_eq!(tag, "!Sub");
        let Yaml::Sequence(items) = payload else {
            panic!("expected a sequence")
        };
        assert_eq!(items[0], yaml("'${Url}:sub'"));
        assert_eq!(
            items[1]["Url"],
            serde_yaml::to_value(Value::ref_to("P")).expect("serializes")
        );
    }

    #[test]
    fn join_short_form() {
        let (tag, payload) = tagged(&Value::join("", [Value::get_att("B", "Arn"), "/*".into()]));
        assert_eq!(tag, "!Join");
        assert_eq!(payload[0], yaml("''"));
        assert_eq!(payload[1][1], yaml("/*"));
        assert!(matches!(&payload[1][0], Yaml::Tagged(t) if t.tag == "GetAtt"));
    }

    #[test]
    fn if_short_form() {
        let (tag, payload) = tagged(&Value::if_("IsProd", "a", Value::no_value()));
        assert_eq!(tag, "!If");
        assert_eq!(payload[0], yaml("IsProd"));
        assert_eq!(payload[1], yaml("a"));
        assert!(matches!(&payload[2], Yaml::Tagged(t) if t.tag == "Ref"));
    }

    #[test]
    fn equals_not_and_or_short_forms() {
        let eq = Value::equals(Value::ref_to("Stage"), "prod");
        let (tag, payload) = tagged(&eq);
        assert_eq!(tag, "!Equals");
        assert_eq!(payload[1], yaml("prod"));

        let (tag, payload) = tagged(&Value::not(eq.clone()));
        assert_eq!(tag, "!Not");
        let Yaml::Sequence(items) = payload else {
            panic!("!Not takes a one-element list")
        };
        assert_eq!(items.len(), 1);

        let (tag, payload) = tagged(&Value::and([eq.clone(), Value::condition("C")]));
        assert_eq!(tag, "!And");
        assert!(matches!(&payload[1], Yaml::Tagged(t) if t.tag == "Condition"));

        let (tag, payload) = tagged(&Value::or([eq, Value::condition("C")]));
        assert_eq!(tag, "!Or");
        assert_eq!(payload.as_sequence().map(Vec::len), Some(2));
    }

    #[test]
    fn find_in_map_short_form() {
        let (tag, payload) = tagged(&Value::find_in_map(
            "Stages",
            Value::ref_to("Stage"),
            "Role",
        ));
        assert_eq!(tag, "!FindInMap");
        assert_eq!(payload[0], yaml("Stages"));
        assert!(matches!(&payload[1], Yaml::Tagged(t) if t.tag == "Ref"));
        assert_eq!(payload[2], yaml("Role"));
    }

    #[test]
    fn select_and_split_short_forms() {
        let split = Value::split("//", Value::ref_to("Url"));
        let (tag, payload) = tagged(&Value::select(1, split));
        assert_eq!(tag, "!Select");
        assert_eq!(payload[0], yaml("1"));
        assert!(matches!(&payload[1], Yaml::Tagged(t) if t.tag == "Split"));
        let (tag, payload) = tagged(&Value::split(",", "a,b"));
        assert_eq!(tag, "!Split");
        assert_eq!(payload, yaml("[',', 'a,b']"));
    }

    #[test]
    fn condition_short_form_is_a_scalar() {
        assert_eq!(
            tagged(&Value::condition("IsProd")),
            ("!Condition".into(), yaml("IsProd"))
        );
    }

    #[test]
    fn get_azs_and_base64_nest_functions_in_long_form() {
        assert_eq!(tagged(&Value::get_azs("")), ("!GetAZs".into(), yaml("''")));
        let (tag, payload) = tagged(&Value::get_azs(Value::pseudo(Pseudo::Region)));
        assert_eq!(tag, "!GetAZs");
        assert_eq!(payload, yaml("{Ref: AWS::Region}"));

        let (tag, payload) = tagged(&Value::base64(Value::sub("${AWS::StackName}")));
        assert_eq!(tag, "!Base64");
        assert_eq!(payload, yaml("{Fn::Sub: '${AWS::StackName}'}"));

        let (_, payload) = tagged(&Value::base64(Value::get_att("R", "Arn")));
        assert_eq!(payload, yaml("{Fn::GetAtt: [R, Arn]}"));

        // The whole thing must also be printable YAML.
        let text = serde_yaml::to_string(&Value::base64(Value::sub("x"))).expect("prints");
        assert_eq!(text, "!Base64\nFn::Sub: x\n");
    }
}
