//! [`Value`]: anything that can appear as a property, output, condition or policy value in a
//! CloudFormation template — a literal or an [`Intrinsic`] function.
//!
//! See the [template anatomy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html).

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map as JsonMap, Value as Json};

use super::{Intrinsic, Pseudo};

/// A template value: a literal, a list, a map or an intrinsic function.
///
/// Serialized `untagged`, so only [`Intrinsic`] produces YAML tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// `text`
    Str(String),
    /// `true`
    Bool(bool),
    /// `42`
    Int(i64),
    /// `[a, b]`
    List(Vec<Value>),
    /// `{Key: value}`, keys in insertion order.
    Map(IndexMap<String, Value>),
    /// `!Ref X`, `!Sub ...`, ...
    Fn(Box<Intrinsic>),
}

impl Value {
    /// A literal string: `text`.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// `!Ref Name` — a parameter, resource or pseudo parameter.
    pub fn ref_to(name: impl Into<String>) -> Value {
        Intrinsic::Ref(name.into()).into()
    }

    /// Same as [`Value::ref_to`].
    pub fn r#ref(name: impl Into<String>) -> Value {
        Value::ref_to(name)
    }

    /// `!GetAtt Resource.Attribute`.
    pub fn get_att(resource: impl Into<String>, attribute: impl Into<String>) -> Value {
        Intrinsic::GetAtt {
            resource: resource.into(),
            attribute: attribute.into(),
        }
        .into()
    }

    /// `!Sub template` — `${Name}`, `${AWS::Region}`, `${Res.Attr}`; `${!Literal}` escapes.
    pub fn sub(template: impl Into<String>) -> Value {
        Intrinsic::Sub(template.into()).into()
    }

    /// `!Sub text` when `text` refers to a variable (`${...}`), else the literal `text`
    /// (cfn-lint warns on a `!Sub` without variables).
    pub fn sub_or_str(text: &str) -> Value {
        if text.contains("${") {
            Value::sub(text)
        } else {
            Value::str(text)
        }
    }

    /// `!Sub [template, {Var: value}]`.
    pub fn sub_with<K, V>(
        template: impl Into<String>,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Value
    where
        K: Into<String>,
        V: Into<Value>,
    {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Intrinsic::SubWith(template.into(), vars).into()
    }

    /// `!Join [delimiter, [values]]`.
    pub fn join<V: Into<Value>>(
        delimiter: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Value {
        let values = values.into_iter().map(Into::into).collect();
        Intrinsic::Join(delimiter.into(), values).into()
    }

    /// `!If [condition, then, else]`.
    pub fn if_(
        condition: impl Into<String>,
        then: impl Into<Value>,
        otherwise: impl Into<Value>,
    ) -> Value {
        Intrinsic::If(condition.into(), then.into(), otherwise.into()).into()
    }

    /// `!Equals [a, b]`.
    pub fn equals(a: impl Into<Value>, b: impl Into<Value>) -> Value {
        Intrinsic::Equals(a.into(), b.into()).into()
    }

    /// `!Not [condition]`.
    pub fn not(condition: impl Into<Value>) -> Value {
        Intrinsic::Not(condition.into()).into()
    }

    /// `!And [c1, c2, ...]` (CloudFormation accepts 2 to 10).
    pub fn and<V: Into<Value>>(conditions: impl IntoIterator<Item = V>) -> Value {
        Intrinsic::And(conditions.into_iter().map(Into::into).collect()).into()
    }

    /// `!Or [c1, c2, ...]` (CloudFormation accepts 2 to 10).
    pub fn or<V: Into<Value>>(conditions: impl IntoIterator<Item = V>) -> Value {
        Intrinsic::Or(conditions.into_iter().map(Into::into).collect()).into()
    }

    /// `!FindInMap [Map, TopKey, SecondKey]`.
    pub fn find_in_map(
        map: impl Into<String>,
        top: impl Into<Value>,
        second: impl Into<Value>,
    ) -> Value {
        Intrinsic::FindInMap(map.into(), top.into(), second.into()).into()
    }

    /// `!Select [index, list]`.
    pub fn select(index: u32, list: impl Into<Value>) -> Value {
        Intrinsic::Select(index, list.into()).into()
    }

    /// `!Split [delimiter, source]`.
    pub fn split(delimiter: impl Into<String>, source: impl Into<Value>) -> Value {
        Intrinsic::Split(delimiter.into(), source.into()).into()
    }

    /// `!Condition Name`, for use inside `Conditions`.
    pub fn condition(name: impl Into<String>) -> Value {
        Intrinsic::Condition(name.into()).into()
    }

    /// `!GetAZs region`.
    pub fn get_azs(region: impl Into<Value>) -> Value {
        Intrinsic::GetAZs(region.into()).into()
    }

    /// `!Base64 value`.
    pub fn base64(value: impl Into<Value>) -> Value {
        Intrinsic::Base64(value.into()).into()
    }

    /// `!Ref AWS::<Name>`.
    pub fn pseudo(pseudo: Pseudo) -> Value {
        Value::ref_to(pseudo.as_str())
    }

    /// `!Ref AWS::NoValue`: removes the enclosing property or list item.
    pub fn no_value() -> Value {
        Value::pseudo(Pseudo::NoValue)
    }

    /// The intrinsic function, if this value is one.
    pub fn as_fn(&self) -> Option<&Intrinsic> {
        match self {
            Value::Fn(f) => Some(f),
            _ => None,
        }
    }

    /// The literal string, if this value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `!Ref AWS::NoValue`.
    pub fn is_no_value(&self) -> bool {
        matches!(self.as_fn(), Some(Intrinsic::Ref(name)) if name == Pseudo::NoValue.as_str())
    }

    /// The long (JSON) form: `{"Ref": ..}`, `{"Fn::GetAtt": [res, attr]}`, `{"Fn::Sub": s}`,
    /// `{"Condition": name}`, ...
    pub fn to_json(&self) -> Json {
        match self {
            Value::Str(s) => Json::from(s.as_str()),
            Value::Bool(b) => Json::from(*b),
            Value::Int(i) => Json::from(*i),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Fn(f) => {
                let mut object = JsonMap::new();
                object.insert(f.long_name().to_owned(), long_payload(f));
                Json::Object(object)
            }
        }
    }

    /// Calls `visit(path, function)` for every intrinsic in this value, outermost first; `path`
    /// starts at `at` and names map keys (`.Key`), list items (`[0]`) and function arguments
    /// (`.Fn::If[1]`).
    pub(crate) fn walk(&self, at: &str, visit: &mut dyn FnMut(&str, &Intrinsic)) {
        match self {
            Value::Str(_) | Value::Bool(_) | Value::Int(_) => {}
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    item.walk(&format!("{at}[{i}]"), visit);
                }
            }
            Value::Map(map) => {
                for (k, v) in map {
                    v.walk(&format!("{at}.{k}"), visit);
                }
            }
            Value::Fn(f) => {
                visit(at, f);
                for (segment, child) in f.children() {
                    child.walk(&format!("{at}.{segment}"), visit);
                }
            }
        }
    }
}

fn long_payload(f: &Intrinsic) -> Json {
    let all = |xs: &[Value]| Json::Array(xs.iter().map(Value::to_json).collect());
    match f {
        Intrinsic::Ref(name) | Intrinsic::Sub(name) | Intrinsic::Condition(name) => json!(name),
        Intrinsic::GetAtt {
            resource,
            attribute,
        } => json!([resource, attribute]),
        Intrinsic::SubWith(template, vars) => {
            let vars: JsonMap<String, Json> =
                vars.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            json!([template, vars])
        }
        Intrinsic::Join(delimiter, items) => json!([delimiter, all(items)]),
        Intrinsic::If(condition, a, b) => json!([condition, a.to_json(), b.to_json()]),
        Intrinsic::Equals(a, b) => json!([a.to_json(), b.to_json()]),
        Intrinsic::Not(x) => json!([x.to_json()]),
        Intrinsic::And(xs) | Intrinsic::Or(xs) => all(xs),
        Intrinsic::FindInMap(map, top, second) => json!([map, top.to_json(), second.to_json()]),
        Intrinsic::Select(index, list) => json!([index, list.to_json()]),
        Intrinsic::Split(delimiter, source) => json!([delimiter, source.to_json()]),
        Intrinsic::GetAZs(x) | Intrinsic::Base64(x) => x.to_json(),
    }
}

impl From<Intrinsic> for Value {
    fn from(f: Intrinsic) -> Value {
        Value::Fn(Box::new(f))
    }
}

impl From<Pseudo> for Value {
    fn from(p: Pseudo) -> Value {
        Value::pseudo(p)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Str(s.clone())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::List(items)
    }
}

impl From<IndexMap<String, Value>> for Value {
    fn from(map: IndexMap<String, Value>) -> Value {
        Value::Map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_serialize_plainly() {
        let v = Value::List(vec!["a".into(), true.into(), 3i64.into()]);
        assert_eq!(
            serde_yaml::to_value(&v).expect("serializes"),
            serde_yaml::from_str::<serde_yaml::Value>("[a, true, 3]").expect("parses")
        );
        assert_eq!(v.to_json(), json!(["a", true, 3]));
    }

    #[test]
    fn long_form_of_every_intrinsic() {
        let cases: Vec<(Value, Json)> = vec![
            (Value::ref_to("B"), json!({"Ref": "B"})),
            (Value::r#ref("B"), json!({"Ref": "B"})),
            (Value::pseudo(Pseudo::Region), json!({"Ref": "AWS::Region"})),
            (
                Value::get_att("R", "Arn"),
                json!({"Fn::GetAtt": ["R", "Arn"]}),
            ),
            (Value::sub("a${B}"), json!({"Fn::Sub": "a${B}"})),
            (
                Value::sub_with("${U}:aud", [("U", Value::ref_to("P"))]),
                json!({"Fn::Sub": ["${U}:aud", {"U": {"Ref": "P"}}]}),
            ),
            (
                Value::join("", [Value::get_att("B", "Arn"), "/*".into()]),
                json!({"Fn::Join": ["", [{"Fn::GetAtt": ["B", "Arn"]}, "/*"]]}),
            ),
            (
                Value::if_("C", "a", Value::no_value()),
                json!({"Fn::If": ["C", "a", {"Ref": "AWS::NoValue"}]}),
            ),
            (
                Value::equals(Value::ref_to("S"), "prod"),
                json!({"Fn::Equals": [{"Ref": "S"}, "prod"]}),
            ),
            (
                Value::not(Value::condition("C")),
                json!({"Fn::Not": [{"Condition": "C"}]}),
            ),
            (
                Value::and([Value::condition("A"), Value::condition("B")]),
                json!({"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
            ),
            (
                Value::or([Value::condition("A"), Value::condition("B")]),
                json!({"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
            ),
            (
                Value::find_in_map("M", Value::ref_to("S"), "K"),
                json!({"Fn::FindInMap": ["M", {"Ref": "S"}, "K"]}),
            ),
            (
                Value::select(1, Value::split("//", Value::ref_to("U"))),
                json!({"Fn::Select": [1, {"Fn::Split": ["//", {"Ref": "U"}]}]}),
            ),
            (Value::condition("C"), json!({"Condition": "C"})),
            (Value::get_azs(""), json!({"Fn::GetAZs": ""})),
            (
                Value::base64(Value::sub("x")),
                json!({"Fn::Base64": {"Fn::Sub": "x"}}),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(value.to_json(), expected, "{value:?}");
        }
    }

    #[test]
    fn no_value_is_recognised() {
        assert!(Value::no_value().is_no_value());
        assert!(!Value::ref_to("X").is_no_value());
        assert!(!Value::from("AWS::NoValue").is_no_value());
    }

    #[test]
    fn walk_reports_paths_outermost_first() {
        let v = Value::Map(IndexMap::from([(
            "Resource".to_owned(),
            Value::List(vec![Value::if_(
                "C",
                Value::get_att("B", "Arn"),
                Value::no_value(),
            )]),
        )]));
        let mut seen = Vec::new();
        v.walk("Props", &mut |at, f| seen.push(format!("{at} {}", f.tag())));
        assert_eq!(
            seen,
            [
                "Props.Resource[0] If",
                "Props.Resource[0].Fn::If[1] GetAtt",
                "Props.Resource[0].Fn::If[2] Ref",
            ]
        );
    }
}
