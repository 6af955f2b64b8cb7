//! The block-structure writer: walks a [`Value`] once and appends to one `String`.
//!
//! Convention: every line break is written by the node that starts the next line (as `\n` plus
//! indentation), so a node never has to know what follows it; [`document`] adds the final one.

use std::fmt::Write as _;

use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

use super::scalar::{self, push_indent, Kind};
use super::Style;

/// Keys longer than this (in bytes) use the explicit `? key` form: YAML readers reject implicit
/// keys over 1024 characters, and escaping can make a key up to six times longer than its bytes.
const MAX_IMPLICIT_KEY: usize = 160;

/// Writes `v` as a whole document; see [`to_string`](super::to_string).
pub(super) fn document(v: &Value, style: &Style) -> String {
    let mut e = Emitter {
        out: String::with_capacity(4096),
        style,
        keep: None,
    };
    match v {
        Value::Mapping(m) if !m.is_empty() => e.mapping(m, 0, true, true),
        Value::Sequence(s) if !s.is_empty() => e.sequence(s, 0, true, false),
        _ => e.after_dash(v, 2),
    }
    // A document may not end in blank lines, so a trailing `|+` block becomes double-quoted.
    if let Some((start, end, s)) = e.keep {
        if end == e.out.len() {
            e.out.truncate(start);
            scalar::write_flow(&mut e.out, s, Kind::Double);
        }
    }
    e.out.push('\n');
    e.out
}

struct Emitter<'a> {
    out: String,
    style: &'a Style,
    /// The last `|+` block: where it starts and ends in `out`, and its text. Blank separator
    /// lines written right after it would become part of its value.
    keep: Option<(usize, usize, &'a str)>,
}

impl<'a> Emitter<'a> {
    /// Starts a new line at `indent`, after a blank line if `blank` (and if that blank line
    /// would not be read as part of a `|+` block).
    fn newline(&mut self, indent: usize, blank: bool) {
        let after_keep = self.keep.is_some_and(|(_, end, _)| end == self.out.len());
        if blank && !after_keep {
            self.out.push('\n');
        }
        self.out.push('\n');
        push_indent(&mut self.out, indent);
    }

    /// Writes the entries of a non-empty mapping at `indent`. With `inline_first` the cursor is
    /// already at the first key's column (document start, or after `- `).
    fn mapping(&mut self, m: &'a Mapping, indent: usize, inline_first: bool, spaced: bool) {
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 || !inline_first {
                self.newline(indent, spaced && i > 0);
            }
            // Only top-level keys (indent 0) name spaced sections.
            let spaced_children = indent == 0
                && matches!(k, Value::String(k) if self.style.spaced_sections.iter().any(|s| s == k));
            if is_implicit_key(k) {
                self.key(k);
            } else {
                self.out.push_str("? ");
                self.after_dash(k, indent + 2);
                self.newline(indent, false);
            }
            self.out.push(':');
            self.after_key(v, indent, spaced_children);
        }
    }

    /// Writes the items of a non-empty sequence with their dashes at `indent`.
    fn sequence(&mut self, s: &'a [Value], indent: usize, inline_first: bool, spaced: bool) {
        for (i, item) in s.iter().enumerate() {
            if i > 0 || !inline_first {
                self.newline(indent, spaced && i > 0);
            }
            self.out.push_str("- ");
            self.after_dash(item, indent + 2);
        }
    }

    /// Writes a mapping value after `key:` (no space yet); `indent` is the key's column.
    fn after_key(&mut self, v: &'a Value, indent: usize, spaced: bool) {
        match v {
            Value::Mapping(m) if !m.is_empty() => self.mapping(m, indent + 2, false, spaced),
            Value::Sequence(s) if !s.is_empty() => self.sequence(s, indent + 2, false, spaced),
            _ => {
                self.out.push(' ');
                self.after_dash(v, indent + 2);
            }
        }
    }

    /// Writes a node whose first line continues the current one (after `- `, `? ` or
    /// `key: `); `indent` is the column of any following lines.
    fn after_dash(&mut self, v: &'a Value, indent: usize) {
        match v {
            Value::Mapping(m) if !m.is_empty() => self.mapping(m, indent, true, false),
            Value::Sequence(s) if !s.is_empty() => self.sequence(s, indent, true, false),
            Value::Tagged(t) => self.tagged(t, indent),
            Value::String(s) => match scalar::kind(s, false) {
                Kind::Literal => {
                    let start = self.out.len();
                    if scalar::write_literal(&mut self.out, s, indent) {
                        self.keep = Some((start, self.out.len(), s));
                    }
                }
                kind => scalar::write_flow(&mut self.out, s, kind),
            },
            _ => self.atom(v, false),
        }
    }

    /// Writes `!Tag` and its value: in flow style if it is a sequence of scalars that fits on
    /// the line, otherwise as the block that follows on the next lines at `indent`.
    fn tagged(&mut self, t: &'a TaggedValue, indent: usize) {
        self.tag(&t.tag);
        match &t.value {
            Value::Mapping(m) if !m.is_empty() => self.mapping(m, indent, false, false),
            Value::Sequence(s) if !s.is_empty() => {
                let start = self.out.len();
                if flowable(&t.value) {
                    self.out.push(' ');
                    self.flow(&t.value);
                    let line_start = self.out[..start].rfind('\n').map_or(0, |i| i + 1);
                    if self.out[line_start..].chars().count() <= self.style.flow_width {
                        return;
                    }
                    self.out.truncate(start);
                }
                self.sequence(s, indent, false, false);
            }
            // `!A !B x` is not YAML; written anyway so the mistake fails at the first parse
            // (documented in the module header).
            inner => {
                self.out.push(' ');
                self.after_dash(inner, indent);
            }
        }
    }

    /// Writes `!` and the tag name, percent-encoding bytes that YAML does not allow in a tag.
    fn tag(&mut self, tag: &Tag) {
        let start = self.out.len();
        // `Tag`'s Display writes exactly one leading `!`, whether or not the name had one.
        let _ = write!(self.out, "{tag}");
        let name_start = start + 1;
        let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:/~".contains(b);
        if !self.out.as_bytes()[name_start..].iter().all(safe) {
            let name = self.out.split_off(name_start);
            for b in name.bytes() {
                if safe(&b) {
                    self.out.push(char::from(b));
                } else {
                    let _ = write!(self.out, "%{b:02X}");
                }
            }
        }
    }

    /// Writes a [`flowable`] value in flow style.
    fn flow(&mut self, v: &'a Value) {
        match v {
            Value::Sequence(s) => {
                self.out.push('[');
                for (i, item) in s.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.flow(item);
                }
                self.out.push(']');
            }
            Value::Tagged(t) => {
                self.tag(&t.tag);
                self.out.push(' ');
                self.flow(&t.value);
            }
            _ => self.atom(v, true),
        }
    }

    /// Writes a key that fits on one line ([`is_implicit_key`]).
    fn key(&mut self, k: &'a Value) {
        match k {
            // GitHub Actions spells its trigger key `on:`, and its parser reads it as a string.
            Value::String(s) if s == "on" => self.out.push_str(s),
            _ => self.atom(k, false),
        }
    }

    /// Writes a scalar or an empty collection on the current line (in a flow sequence if
    /// `flow`); strings never as blocks.
    fn atom(&mut self, v: &Value, flow: bool) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let _ = write!(self.out, "{n}");
            }
            Value::String(s) => {
                let kind = match scalar::kind(s, flow) {
                    Kind::Literal => Kind::Double,
                    kind => kind,
                };
                scalar::write_flow(&mut self.out, s, kind);
            }
            Value::Sequence(_) => self.out.push_str("[]"),
            Value::Mapping(_) => self.out.push_str("{}"),
            // Only tagged scalars reach here (keys); `flow` and `tagged` handle the rest.
            Value::Tagged(t) => {
                self.tag(&t.tag);
                self.out.push(' ');
                self.atom(&t.value, flow);
            }
        }
    }
}

/// True if `v` can be written in flow style: scalars without line breaks, empty collections,
/// tagged such values and sequences of them.
fn flowable(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains('\n'),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        Value::Sequence(s) => s.iter().all(flowable),
        Value::Mapping(m) => m.is_empty(),
        Value::Tagged(t) => !matches!(t.value, Value::Tagged(_)) && flowable(&t.value),
    }
}

/// True if `k` can be written as an implicit `key:`; other keys (collections, long strings)
/// use the explicit `? key` form.
fn is_implicit_key(k: &Value) -> bool {
    match k {
        Value::String(s) => s.len() <= MAX_IMPLICIT_KEY,
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        Value::Tagged(t) => match &t.value {
            Value::String(s) => s.len() <= MAX_IMPLICIT_KEY,
            inner => matches!(inner, Value::Null | Value::Bool(_) | Value::Number(_)),
        },
        Value::Sequence(_) | Value::Mapping(_) => false,
    }
}
