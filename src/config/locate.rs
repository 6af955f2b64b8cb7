//! Maps config paths (`stages[1].account`) to where they are written in the YAML source, so
//! validation can report a line and column without tracking positions itself.
//!
//! serde gives values but no positions; yaml-rust2's event parser gives positions, and walking
//! its events once builds the index. The same walk notes what yaml_serde reports without a
//! position: keys written twice, a second document, and the first alias.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{ConfigPath, Span};

/// Nodes deeper than this are not indexed: a config is five levels deep, and a hostile input
/// nested thousands of levels would otherwise cost time quadratic in its depth.
const MAX_DEPTH: usize = 32;

/// Where each node of a YAML document is written.
#[derive(Debug, Default)]
pub struct SourceMap {
    values: HashMap<ConfigPath, Span>,
    keys: HashMap<ConfigPath, Span>,
    /// Paths whose value is a scalar written right there (not an alias, not a collection).
    scalars: HashSet<ConfigPath>,
    duplicates: Vec<DuplicateKey>,
    second_document: Option<Span>,
    first_alias: Option<Span>,
}

/// A key written twice in the same mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The path of the entry (its last segment is the key).
    pub path: ConfigPath,
    pub first: Span,
    pub second: Span,
}

impl SourceMap {
    /// Indexes `source`. A document the parser rejects yields an empty map (the serde error,
    /// which has its own location, is reported instead).
    pub fn new(source: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(source);
        // `multi` so that a second document is seen (and reported), not silently skipped.
        if parser.load(&mut builder, true).is_err() {
            return Self::default();
        }
        builder.map
    }

    /// The span of the scalar written at exactly `path` (`None` for a collection, an alias, or
    /// a value that comes from an alias).
    pub fn scalar_span(&self, path: &ConfigPath) -> Option<Span> {
        if self.scalars.contains(path) {
            self.values.get(path).copied()
        } else {
            None
        }
    }

    /// Keys written twice in one mapping, in document order.
    pub fn duplicates(&self) -> &[DuplicateKey] {
        &self.duplicates
    }

    /// Where a second YAML document starts, if there is one.
    pub fn second_document(&self) -> Option<Span> {
        self.second_document
    }

    /// Where the first alias (`*name`) is written.
    pub fn first_alias(&self) -> Option<Span> {
        self.first_alias
    }

    /// The span of the value at `path` (or of its key when `key_only`), falling back to the
    /// nearest enclosing node that is written in the source.
    pub fn locate(&self, path: &ConfigPath, key_only: bool) -> Option<Span> {
        // A value that is not written (`key:` with nothing after it) is shown at its key.
        let exact = if key_only {
            self.keys.get(path).or_else(|| self.values.get(path))
        } else {
            self.values.get(path).or_else(|| self.keys.get(path))
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
    /// Collections opened below [`MAX_DEPTH`] and not yet closed; their contents are skipped.
    too_deep: usize,
    /// Documents started so far; only the first is indexed.
    documents: usize,
}

/// A key that is not a plain scalar (an alias or a collection) has no name to index by.
const UNNAMED_KEY: &str = "\u{0}unnamed-key";

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

    /// The path of a node that is not a scalar key: a value's own path, or, for an alias or a
    /// collection used as a key, an unnamable path (so its value is still paired with it and
    /// its children do not shadow real entries).
    fn next_node_path(&mut self) -> ConfigPath {
        if let Some(path) = self.next_value_path() {
            return path;
        }
        match self.stack.last_mut() {
            Some(Frame::Map { path, key, .. }) => {
                *key = Some(UNNAMED_KEY.to_owned());
                path.key(UNNAMED_KEY).key(UNNAMED_KEY)
            }
            _ => ConfigPath::root().key(UNNAMED_KEY),
        }
    }

    fn on_scalar(&mut self, text: String, style: TScalarStyle, mark: Marker) {
        let quotes = match style {
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
            _ => 0,
        };
        let width = text.lines().next().map_or(0, |l| l.chars().count()) + quotes;
        let at = span(mark, width);
        match self.next_value_path() {
            // An empty plain scalar is a value left out (`key:`); yaml-rust2 marks it at the
            // next token, so it is better located by its key.
            Some(_) if text.is_empty() && matches!(style, TScalarStyle::Plain) => {}
            Some(path) => {
                self.map.scalars.insert(path.clone());
                self.map.values.insert(path, at);
            }
            None => {
                let Some(Frame::Map {
                    path,
                    key,
                    seen_key,
                }) = self.stack.last_mut()
                else {
                    return;
                };
                // A block mapping's start mark is imprecise; its first key is where a reader
                // looks for it.
                if !*seen_key {
                    *seen_key = true;
                    self.map.values.insert(path.clone(), at);
                }
                let entry = path.key(&text);
                if let Some(first) = self.map.keys.insert(entry.clone(), at) {
                    // Everything else keeps pointing at the first occurrence.
                    self.map.keys.insert(entry.clone(), first);
                    self.map.duplicates.push(DuplicateKey {
                        path: entry,
                        first,
                        second: at,
                    });
                }
                *key = Some(text);
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
        if let Event::DocumentStart = event {
            self.documents += 1;
            if self.documents == 2 {
                self.map.second_document = Some(span(mark, 3));
            }
            return;
        }
        if self.documents > 1 {
            return;
        }
        if self.too_deep > 0 {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.too_deep += 1,
                Event::MappingEnd | Event::SequenceEnd => self.too_deep -= 1,
                _ => {}
            }
            return;
        }
        match event {
            Event::Scalar(text, style, ..) => self.on_scalar(text, style, mark),
            Event::Alias(_) => {
                let at = span(mark, 1);
                self.map.first_alias.get_or_insert(at);
                let path = self.next_node_path();
                self.map.values.insert(path, at);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) if self.stack.len() >= MAX_DEPTH => {
                // Consume the slot so that the parent's next entry still gets the right path.
                let _ = self.next_node_path();
                self.too_deep = 1;
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.next_node_path();
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

    #[test]
    fn records_keys_written_twice() {
        let map = SourceMap::new("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
        let found: Vec<(String, usize, usize)> = map
            .duplicates()
            .iter()
            .map(|d| (d.path.to_string(), d.first.line, d.second.line))
            .collect();
        assert_eq!(found, [("b.c".to_owned(), 3, 4), ("a".to_owned(), 1, 5)]);
        // Other lookups keep pointing at the first occurrence.
        assert_eq!(
            map.locate(&ConfigPath::parse("a"), true).map(|s| s.line),
            Some(1)
        );
    }

    #[test]
    fn records_a_second_document_and_the_first_alias() {
        let map = SourceMap::new("a: &x 1\nb: *x\n---\nc: 2\n");
        assert_eq!(map.second_document().map(|s| s.line), Some(3));
        assert_eq!(map.first_alias().map(|s| (s.line, s.column)), Some((2, 4)));
        // The second document is not indexed.
        assert_eq!(map.scalar_span(&ConfigPath::parse("c")), None);
        assert_eq!(
            map.scalar_span(&ConfigPath::parse("b")),
            None,
            "an alias is not a scalar written there"
        );
    }

    #[test]
    fn a_value_left_out_is_located_at_its_key() {
        let map = SourceMap::new("a:\nb: 1\n");
        let at = map.locate(&ConfigPath::parse("a"), false);
        assert_eq!(at.map(|s| (s.line, s.column, s.len)), Some((1, 1, 1)));
    }

    #[test]
    fn keys_that_are_not_text_do_not_shift_the_next_entries() {
        for source in ["? [x]\n: 1\nname: dev\n", "k: &k v\n*k : 2\nname: dev\n"] {
            let map = SourceMap::new(source);
            let at = map.locate(&ConfigPath::parse("name"), false);
            assert_eq!(at.map(|s| (s.line, s.column)), Some((3, 7)), "{source}");
        }
    }

    #[test]
    fn deep_nesting_is_not_indexed_and_costs_no_more_than_its_length() {
        let deep = format!("a: {}{}\nb: 1\n", "[".repeat(200), "]".repeat(200));
        let map = SourceMap::new(&deep);
        assert_eq!(
            map.locate(&ConfigPath::parse("b"), false).map(|s| s.line),
            Some(2),
            "entries after a deep value are still found"
        );
    }
}
