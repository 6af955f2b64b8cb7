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

/// A mapping under construction; entries keep the order in which they are added.
pub(crate) struct Map(Mapping);

impl Map {
    pub(crate) fn new() -> Self {
        Self(Mapping::new())
    }

    /// Adds `key: value`.
    pub(crate) fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(Value::String(key.to_owned()), value.into());
        self
    }

    /// Adds `key: value` when there is a value.
    pub(crate) fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(value) => self.put(key, value),
            None => self,
        }
    }

    /// Adds `key: value` unless the value is an empty sequence or mapping.
    pub(crate) fn non_empty(self, key: &str, value: Value) -> Self {
        let empty = match &value {
            Value::Sequence(items) => items.is_empty(),
            Value::Mapping(entries) => entries.is_empty(),
            _ => false,
        };
        if empty {
            self
        } else {
            self.put(key, value)
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Mapping(map.0)
    }
}

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
