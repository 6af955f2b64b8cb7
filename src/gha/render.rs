//! Private helpers that turn the model into `serde_yaml::Value`s with keys in a fixed order.
//!
//! Rendering builds values by hand instead of deriving `Serialize`, so it cannot fail and the
//! key order is written down once, in each type's `to_yaml`.

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

/// Conversion of a model type into the YAML value GitHub reads.
pub(crate) trait ToYaml {
    fn to_yaml(&self) -> Value;
}

impl ToYaml for String {
    fn to_yaml(&self) -> Value {
        Value::String(self.clone())
    }
}

impl<T: ToYaml> ToYaml for IndexMap<String, T> {
    fn to_yaml(&self) -> Value {
        let mut map = Mapping::new();
        for (key, value) in self {
            map.insert(Value::String(key.clone()), value.to_yaml());
        }
        Value::Mapping(map)
    }
}

impl<T: ToYaml> ToYaml for [T] {
    fn to_yaml(&self) -> Value {
        Value::Sequence(self.iter().map(ToYaml::to_yaml).collect())
    }
}

pub(crate) use crate::yaml::Map;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::assert_yaml;

    #[test]
    fn map_keeps_insertion_order_and_skips_empty_values() {
        let value: Value = Map::new()
            .put("b", "1")
            .opt("skipped", None::<Value>)
            .non_empty("empty", Value::Sequence(Vec::new()))
            .non_empty("list", ["x".to_owned()].to_yaml())
            .put("a", true)
            .into();
        assert_yaml(&value, "b: '1'\nlist: [x]\na: true\n");
    }
}
