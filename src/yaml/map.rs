//! [`Map`]: a YAML mapping built in the order a reviewer should read it.

use serde_yaml::{Mapping, Value};

/// A mapping under construction; entries keep the order in which they are added.
#[derive(Default)]
pub struct Map(Mapping);

impl Map {
    pub fn new() -> Self {
        Self(Mapping::new())
    }

    /// Adds `key: value`.
    pub fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(Value::String(key.to_owned()), value.into());
        self
    }

    /// Adds `key: value` when there is a value.
    pub fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(value) => self.put(key, value),
            None => self,
        }
    }

    /// Adds `key: value` unless the value is an empty sequence or mapping.
    pub fn non_empty(self, key: &str, value: Value) -> Self {
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

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Mapping(map.0)
    }
}
