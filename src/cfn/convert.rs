//! Conversions of serialized templates: to CloudFormation's long-form JSON, and back into
//! [`Value`]s so validation and resolution can read typed properties generically.

use serde::Serialize;
use serde_json::{Map as JsonMap, Value as Json};
use serde_yaml::Value as Yaml;

use super::{Intrinsic, Value};

/// Why a model could not be turned into YAML or JSON. Serializing the model only fails if a
/// `Serialize` impl is broken, so these indicate a bug in sampipe rather than bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// serde refused a value.
    #[error("cannot serialize `{what}`: {message}")]
    Serialize {
        /// What was being serialized, e.g. `Resources.Bucket`.
        what: String,
        /// serde's message.
        message: String,
    },
    /// A serialized node has no template meaning (e.g. `null`).
    #[error("`{at}` holds {found}, which is not a template value")]
    Unsupported {
        /// Path of the node.
        at: String,
        /// What was found.
        found: &'static str,
    },
    /// A function's arguments do not have the shape CloudFormation expects.
    #[error("`{at}` has a malformed `{function}`: expected {expected}")]
    Malformed {
        /// Path of the function.
        at: String,
        /// Function name, e.g. `Fn::If`.
        function: String,
        /// The expected argument shape.
        expected: &'static str,
    },
}

/// `serde_yaml::to_value`, with the error named after `what`.
pub(crate) fn to_yaml<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Yaml, RenderError> {
    serde_yaml::to_value(value).map_err(|e| RenderError::Serialize {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// Long-form JSON of a serialized template: tags become `{"Ref": ..}`, `{"Fn::GetAtt": [r, a]}`,
/// `{"Condition": ..}` and `{"Fn::<Tag>": ..}`.
pub(crate) fn long_form(yaml: &Yaml) -> Json {
    match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64().map_or(Json::Null, Json::from)
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(long_form).collect()),
        Yaml::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (key_string(k), long_form(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let (key, payload) = match (tag, &tagged.value) {
                ("Ref" | "Condition", v) => (tag.to_owned(), long_form(v)),
                ("GetAtt", Yaml::String(s)) => match s.split_once('.') {
                    Some((resource, attribute)) => (
                        "Fn::GetAtt".to_owned(),
                        serde_json::json!([resource, attribute]),
                    ),
                    None => ("Fn::GetAtt".to_owned(), Json::String(s.clone())),
                },
                (other, v) => (format!("Fn::{other}"), long_form(v)),
            };
            let mut object = JsonMap::new();
            object.insert(key, payload);
            Json::Object(object)
        }
    }
}

fn key_string(key: &Yaml) -> String {
    match key {
        Yaml::String(s) => s.clone(),
        other => match long_form(other) {
            Json::String(s) => s,
            json => json.to_string(),
        },
    }
}

/// Reads a serialized node back as a [`Value`]. Tags and single-key `Ref`/`Fn::*` maps become
/// [`Intrinsic`]s, as CloudFormation reads them. `at` names the node in errors.
pub(crate) fn to_model(yaml: &Yaml, at: &str) -> Result<Value, RenderError> {
    match yaml {
        Yaml::Null => Err(RenderError::Unsupported {
            at: at.to_owned(),
            found: "null",
        }),
        Yaml::Bool(b) => Ok(Value::Bool(*b)),
        Yaml::Number(n) => Ok(n
            .as_i64()
            .map_or_else(|| Value::Str(n.to_string()), Value::Int)),
        Yaml::String(s) => Ok(Value::Str(s.clone())),
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| to_model(item, &format!("{at}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Value::List),
        Yaml::Mapping(map) => {
            if let [(Yaml::String(key), payload)] = map.iter().collect::<Vec<_>>().as_slice() {
                // `{Condition: Name}` is a function only with a string argument, so an IAM
                // statement's `Condition: {..}` block is never mistaken for one.
                let condition = key == "Condition" && payload.is_string();
                if key == "Ref" || key.starts_with("Fn::") || condition {
                    return function(key.trim_start_matches("Fn::"), payload, at);
                }
            }
            let mut out = indexmap::IndexMap::new();
            for (k, v) in map {
                let key = key_string(k);
                let value = to_model(v, &format!("{at}.{key}"))?;
                out.insert(key, value);
            }
            Ok(Value::Map(out))
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            function(tag.trim_start_matches('!'), &tagged.value, at)
        }
    }
}

/// Parses the arguments of the function `name` (`Ref`, `GetAtt`, ..., without `Fn::`).
fn function(name: &str, payload: &Yaml, at: &str) -> Result<Value, RenderError> {
    let malformed = |expected: &'static str| RenderError::Malformed {
        at: at.to_owned(),
        function: if matches!(name, "Ref" | "Condition") {
            name.to_owned()
        } else {
            format!("Fn::{name}")
        },
        expected,
    };
    let here = format!("{at}.Fn::{name}");
    let model = |y: &Yaml, i: usize| to_model(y, &format!("{here}[{i}]"));
    let string = |y: &Yaml, expected| match y {
        Yaml::String(s) => Ok(s.clone()),
        _ => Err(malformed(expected)),
    };
    let args = |n: usize, expected| match payload {
        Yaml::Sequence(items) if items.len() == n => Ok(items.as_slice()),
        _ => Err(malformed(expected)),
    };
    let list = |y: &Yaml, expected| match y {
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| model(item, i))
            .collect::<Result<Vec<_>, _>>(),
        _ => Err(malformed(expected)),
    };
    let f = match name {
        "Ref" => Intrinsic::Ref(string(payload, "a logical id")?),
        "Condition" => Intrinsic::Condition(string(payload, "a condition name")?),
        "GetAtt" => {
            const SHAPE: &str = "`Resource.Attribute` or `[Resource, Attribute]`";
            let (resource, attribute) = match payload {
                Yaml::String(s) => s
                    .split_once('.')
                    .map(|(r, a)| (r.to_owned(), a.to_owned()))
                    .ok_or_else(|| malformed(SHAPE))?,
                _ => {
                    let a = args(2, SHAPE)?;
                    (string(&a[0], SHAPE)?, string(&a[1], SHAPE)?)
                }
            };
            Intrinsic::GetAtt {
                resource,
                attribute,
            }
        }
        "Sub" => {
            const SHAPE: &str = "a string or `[string, {variables}]`";
            match payload {
                Yaml::String(s) => Intrinsic::Sub(s.clone()),
                _ => {
                    let a = args(2, SHAPE)?;
                    let Value::Map(vars) = model(&a[1], 1)? else {
                        return Err(malformed(SHAPE));
                    };
                    Intrinsic::SubWith(string(&a[0], SHAPE)?, vars)
                }
            }
        }
        "Join" => {
            const SHAPE: &str = "`[delimiter, [values]]`";
            let a = args(2, SHAPE)?;
            Intrinsic::Join(string(&a[0], SHAPE)?, list(&a[1], SHAPE)?)
        }
        "If" => {
            const SHAPE: &str = "`[condition, then, else]`";
            let a = args(3, SHAPE)?;
            Intrinsic::If(string(&a[0], SHAPE)?, model(&a[1], 1)?, model(&a[2], 2)?)
        }
        "Equals" => {
            let a = args(2, "`[a, b]`")?;
            Intrinsic::Equals(model(&a[0], 0)?, model(&a[1], 1)?)
        }
        "Not" => Intrinsic::Not(model(&args(1, "`[condition]`")?[0], 0)?),
        "And" => Intrinsic::And(list(payload, "a list of conditions")?),
        "Or" => Intrinsic::Or(list(payload, "a list of conditions")?),
        "FindInMap" => {
            const SHAPE: &str = "`[map, top-level key, second-level key]`";
            let a = args(3, SHAPE)?;
            Intrinsic::FindInMap(string(&a[0], SHAPE)?, model(&a[1], 1)?, model(&a[2], 2)?)
        }
        "Select" => {
            const SHAPE: &str = "`[index, list]`";
            let a = args(2, SHAPE)?;
            let index = match &a[0] {
                Yaml::Number(n) => n.as_u64().and_then(|i| u32::try_from(i).ok()),
                Yaml::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| malformed(SHAPE))?;
            Intrinsic::Select(index, model(&a[1], 1)?)
        }
        "Split" => {
            const SHAPE: &str = "`[delimiter, source]`";
            let a = args(2, SHAPE)?;
            Intrinsic::Split(string(&a[0], SHAPE)?, model(&a[1], 1)?)
        }
        "GetAZs" => Intrinsic::GetAZs(to_model(payload, &here)?),
        "Base64" => Intrinsic::Base64(to_model(payload, &here)?),
        _ => return Err(malformed("a known intrinsic function")),
    };
    Ok(f.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::Pseudo;
    use indexmap::IndexMap;
    use proptest::prelude::*;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    #[test]
    fn long_form_of_tags() {
        let y = yaml("[!Ref A, !GetAtt R.Arn, !Condition C, !Sub x, !If [C, a, b], 1]");
        assert_eq!(
            long_form(&y),
            serde_json::json!([
                {"Ref": "A"},
                {"Fn::GetAtt": ["R", "Arn"]},
                {"Condition": "C"},
                {"Fn::Sub": "x"},
                {"Fn::If": ["C", "a", "b"]},
                1
            ])
        );
    }

    #[test]
    fn reads_short_and_long_forms() {
        let y = yaml("[!GetAtt R.Arn, {Fn::GetAtt: [R, Arn]}, {Ref: AWS::Region}, {Select: x}]");
        let v = to_model(&y, "X").expect("parses");
        assert_eq!(
            v,
            Value::List(vec![
                Value::get_att("R", "Arn"),
                Value::get_att("R", "Arn"),
                Value::pseudo(Pseudo::Region),
                Value::Map(IndexMap::from([("Select".to_owned(), Value::from("x"))])),
            ])
        );
    }

    #[test]
    fn malformed_functions_are_reported_with_their_path() {
        let err = to_model(&yaml("{P: [!If [C, a]]}"), "Resources.R").expect_err("malformed");
        assert_eq!(
            err.to_string(),
            "`Resources.R.P[0]` has a malformed `Fn::If`: expected `[condition, then, else]`"
        );
        let err = to_model(&yaml("!Nope x"), "X").expect_err("unknown");
        assert!(err.to_string().contains("`Fn::Nope`"), "{err}");
        let err = to_model(&yaml("{a: null}"), "X").expect_err("null");
        assert_eq!(
            err.to_string(),
            "`X.a` holds null, which is not a template value"
        );
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Z][a-zA-Z0-9]{0,6}"
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "[a-z0-9 :/*-]{0,8}".prop_map(Value::Str),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            name().prop_map(Value::ref_to),
            (name(), name()).prop_map(|(r, a)| Value::get_att(r, a)),
            "[a-z${}.:]{0,10}".prop_map(Value::sub),
            name().prop_map(Value::condition),
        ];
        leaf.prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::vec(("[a-z]{1,5}", inner.clone()), 0..4)
                    .prop_map(|kv| Value::Map(kv.into_iter().collect())),
                (
                    "[a-z]{0,3}",
                    prop::collection::vec(("[A-Z]{1,3}", inner.clone()), 0..3)
                )
                    .prop_map(|(t, vars)| Value::sub_with(t, vars)),
                ("[,/]{0,1}", prop::collection::vec(inner.clone(), 0..3))
                    .prop_map(|(d, vs)| Value::join(d, vs)),
                (name(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| Value::if_(c, a, b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Value::equals(a, b)),
                inner.clone().prop_map(Value::not),
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::and),
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::or),
                (name(), inner.clone(), inner.clone())
                    .prop_map(|(m, t, k)| Value::find_in_map(m, t, k)),
                (0u32..5, inner.clone()).prop_map(|(i, l)| Value::select(i, l)),
                (",", inner.clone()).prop_map(|(d, s)| Value::split(d, s)),
                inner.clone().prop_map(Value::get_azs),
                inner.prop_map(Value::base64),
            ]
        })
    }

    proptest! {
        /// The YAML path (used for templates) and `Value::to_json` agree on the long form, and
        /// reading serialized YAML back gives the same value.
        #[test]
        fn yaml_and_json_forms_agree(v in value()) {
            let y = to_yaml("value", &v).expect("serializes");
            prop_assert_eq!(long_form(&y), v.to_json());
            prop_assert_eq!(to_model(&y, "value").expect("reads back"), v.clone());
            // Every value must also print as YAML (no tag directly on a tag).
            prop_assert!(serde_yaml::to_string(&v).is_ok());
        }
    }
}
