//! Maps config paths (`stages[1].account`) to where they are written in the YAML source, so
//! validation can report a line and column without tracking positions itself.
//!
//! serde gives values but no positions; yaml-rust2's event parser gives positions, and walking
//! its events once builds the index.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{ConfigPath, Span};

/// Where each node of a YAML document is written.
#[derive(Debug, Default)]
pub struct SourceMap {
    values: HashMap<ConfigPath, Span>,
    keys: HashMap<ConfigPath, Span>,
}

impl SourceMap {
    /// Indexes `source`. A document the parser rejects yields an empty map (the serde error,
    /// which has its own location, is reported instead).
    pub fn new(source: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(source);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        builder.map
    }

    /// The span of the value at `path` (or of its key when `key_only`), falling back to the
    /// nearest enclosing node that is written in the source.
    pub fn locate(&self, path: &ConfigPath, key_only: bool) -> Option<Span> {
        let exact = if key_only {
            self.keys.get(path).or_else(|| self.values.get(path))
        } else {
            self.values.get(path)
        };
        if let Some(span) = exact {
            return Some(*span);
        }
        let mut up = path.parent();
        loop {
            if let Some(span) = self.keys.get(&up).or_else(|| self.values.get(&up)) {
                return Some(*span);
            }
            if up.segments().is_empty() {
                return None;
            }
            up = up.parent();
        }
    }
}

enum Frame {
    Map {
        path: ConfigPath,
        key: Option<String>,
        seen_key: bool,
    },
    Seq {
        path: ConfigPath,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    map: SourceMap,
}

impl Builder {
    /// The path of the node that starts now, or `None` when the node is a mapping key.
    fn next_value_path(&mut self) -> Option<ConfigPath> {
        match self.stack.last_mut() {
            None => Some(ConfigPath::root()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map { path, key, .. }) => {
                let key = key.take().unwrap_or_default();
                Some(path.key(&key))
            }
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                Some(path.index(*next - 1))
            }
        }
    }
}

fn span(mark: Marker, len: usize) -> Span {
    Span {
        line: mark.line(),
        column: mark.col() + 1,
        len,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, style, ..) => {
                let quotes = match style {
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
                    _ => 0,
                };
                let width = text.lines().next().map_or(0, |l| l.chars().count()) + quotes;
                match self.next_value_path() {
                    Some(path) => {
                        self.map.values.insert(path, span(mark, width));
                    }
                    None => {
                        if let Some(Frame::Map {
                            path,
                            key,
                            seen_key,
                        }) = self.stack.last_mut()
                        {
                            let at = span(mark, width);
                            // A block mapping's start mark is imprecise; its first key is
                            // where a reader looks for it.
                            if !*seen_key {
                                *seen_key = true;
                                self.map.values.insert(path.clone(), at);
                            }
                            self.map.keys.insert(path.key(&text), at);
                            *key = Some(text);
                        }
                    }
                }
            }
            Event::Alias(_) => {
                if let Some(path) = self.next_value_path() {
                    self.map.values.insert(path, span(mark, 1));
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection used as a mapping key has no path of its own; index it under
                // an unnamable key so its children do not shadow real entries.
                let path = self
                    .next_value_path()
                    .unwrap_or_else(|| ConfigPath::root().key("\u{0}complex-key"));
                self.map.values.entry(path.clone()).or_insert(span(mark, 1));
                self.stack.push(match event {
                    Event::MappingStart(..) => Frame::Map {
                        path,
                        key: None,
                        seen_key: false,
                    },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
version: 1
app: sam-app
stages:
  - name: dev
    account: '111111111111'
  - name: prod
    region: us-west-2
";

    fn at(path: &str) -> Option<(usize, usize, usize)> {
        SourceMap::new(SOURCE)
            .locate(&ConfigPath::parse(path), false)
            .map(|s| (s.line, s.column, s.len))
    }

    #[test]
    fn locates_values_in_nested_sequences() {
        assert_eq!(at("app"), Some((2, 6, 7)));
        assert_eq!(at("stages[0].account"), Some((5, 14, 14)));
        assert_eq!(at("stages[1].region"), Some((7, 13, 9)));
    }

    #[test]
    fn locates_keys_and_falls_back_to_the_parent() {
        let map = SourceMap::new(SOURCE);
        let key = map.locate(&ConfigPath::parse("stages[1].region"), true);
        assert_eq!(key.map(|s| (s.line, s.column)), Some((7, 5)));
        // `stages[1].account` is missing: point at the stage itself.
        assert_eq!(at("stages[1].account"), Some((6, 5, 4)));
    }
}
