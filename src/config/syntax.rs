//! Reading the YAML itself, before what it says is looked at: characters YAML forbids, syntax
//! errors (tabs in indentation called out by name), keys written twice, a second document,
//! alias bombs, runaway nesting, an empty file, and a document that is not a mapping.
//!
//! yaml_serde reports some of these without a position or only the first of them; the
//! [`SourceMap`](super::locate::SourceMap) supplies the positions and the rest.

use serde_yaml::Value;

use super::ConfigSource;
use crate::diag::{ConfigPath, Diagnostic, Segment, Span};

/// Parses the config's text into a YAML value, or says every way in which it is not one.
pub(crate) fn parse(source: &ConfigSource) -> Result<Value, Vec<Diagnostic>> {
    let forbidden = forbidden_characters(source);
    if !forbidden.is_empty() {
        return Err(forbidden);
    }
    let value = serde_yaml::from_str::<Value>(&source.text)
        .map_err(|error| from_yaml_error(&error, source))?;
    match value {
        Value::Null => Err(vec![Diagnostic::error(
            "empty-config",
            "the config is empty",
        )
        .help("run `sampipe init` to write a starter config")]),
        Value::Mapping(_) => Ok(value),
        Value::Tagged(tagged) if tagged.value.is_mapping() => Ok(Value::Tagged(tagged)),
        other => {
            let what = match other {
                Value::Sequence(_) => "a list",
                Value::Tagged(_) => "a tagged value",
                _ => "a single value",
            };
            let mut diagnostic = Diagnostic::error(
                "not-a-mapping",
                format!("the config is {what}, not a mapping of keys to values"),
            )
            .at(ConfigPath::root());
            diagnostic.help = Some(if other.is_sequence() {
                "write the keys (`version:`, `app:`, `source:`, `stages:`) at the left margin, without a leading `- `".into()
            } else {
                "write the keys `version:`, `app:`, `source:` and `stages:`, one per line".into()
            });
            Err(vec![diagnostic])
        }
    }
}

/// Characters YAML does not allow anywhere (control characters other than tab and line
/// breaks, and the non-characters U+FFFE and U+FFFF): one diagnostic per line that has them.
fn forbidden_characters(source: &ConfigSource) -> Vec<Diagnostic> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || (' '..='~').contains(&c)
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    let mut out = Vec::new();
    for number in 1..=source.line_count() {
        let Some(line) = source.line(number) else {
            continue;
        };
        if let Some((column, c)) = line.chars().enumerate().find(|&(_, c)| !allowed(c)) {
            out.push(
                Diagnostic::error(
                    "control-character",
                    format!(
                        "the config contains the control character U+{:04X}",
                        u32::from(c)
                    ),
                )
                .at_span(Span {
                    line: number,
                    column: column + 1,
                    len: 1,
                })
                .help(
                    "remove it; YAML allows tabs and line breaks but no other control characters",
                ),
            );
        }
    }
    out
}

/// Turns a yaml_serde parse error into diagnostics, with positions and names where
/// yaml_serde has none.
fn from_yaml_error(error: &serde_yaml::Error, source: &ConfigSource) -> Vec<Diagnostic> {
    let full = error.to_string();
    let at = error.location().map(|l| Span {
        line: l.line(),
        column: l.column(),
        len: 1,
    });
    let map = source.map();
    if full.contains("duplicate entry with key") {
        let duplicates: Vec<Diagnostic> = map
            .duplicates()
            .iter()
            .map(|duplicate| {
                let path = &duplicate.path;
                let key = match path.segments().last() {
                    Some(Segment::Key(key)) => key.as_str(),
                    _ => "",
                };
                let parent = path.parent();
                let place = if parent.segments().is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in `{parent}`")
                };
                Diagnostic::error(
                    "duplicate-key",
                    format!("key `{key}` is written twice {place}"),
                )
                .at_span(Span {
                    len: key.chars().count().max(1),
                    ..duplicate.second
                })
                .label(format!("first written on line {}", duplicate.first.line))
                .help("remove one of the two; YAML keeps only one value per key")
            })
            .collect();
        if !duplicates.is_empty() {
            return duplicates;
        }
    }
    if full.contains("more than one document") {
        let mut diagnostic = Diagnostic::error(
            "multiple-documents",
            "the config has more than one YAML document",
        )
        .label("a second document starts here")
        .help("a config is one document: remove this `---` line, or everything after it");
        if let Some(span) = map.second_document() {
            diagnostic = diagnostic.at_span(span);
        }
        return vec![diagnostic];
    }
    if full.contains("repetition limit exceeded") {
        let mut diagnostic = Diagnostic::error(
            "alias-limit",
            "the config's aliases expand to too large a document",
        )
        .help("sampipe refuses documents whose aliases (`*name`) expand without bound; write the values out instead");
        if let Some(span) = map.first_alias() {
            diagnostic = diagnostic.at_span(span).label("the first alias");
        }
        return vec![diagnostic];
    }
    let mut diagnostic = if full.starts_with("recursion limit exceeded") {
        Diagnostic::error("too-deep", "the config is nested too deeply")
            .help("a sampipe config is a few levels deep; check that this is the right file")
    } else if full.starts_with("unknown anchor") {
        let name = at
            .and_then(|span| source.line(span.line))
            .and_then(|line| {
                let from = line.char_indices().nth(at?.column.checked_sub(1)?)?.0;
                let rest = line[from..].strip_prefix('*')?;
                Some(
                    rest.split(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
                        .next()
                        .unwrap_or(rest)
                        .to_owned(),
                )
            })
            .unwrap_or_default();
        Diagnostic::error(
            "unknown-anchor",
            format!("alias `*{name}` refers to no anchor"),
        )
        .help(format!(
            "define `&{name}` on a value before this alias, or write the value out"
        ))
    } else if at.is_some_and(|span| char_at(source, span) == Some('\t')) {
        Diagnostic::error("tab-indentation", "the config is indented with a tab")
            .help("indent with spaces; YAML does not allow tabs in indentation")
    } else {
        syntax_error(&full)
    };
    if let Some(span) = at {
        diagnostic = diagnostic.at_span(span);
    }
    if let (Some(span), "unknown-anchor") = (at, diagnostic.code) {
        // Underline the whole alias, not only its `*`.
        let width = diagnostic
            .message
            .split('`')
            .nth(1)
            .map_or(1, |a| a.chars().count());
        diagnostic = diagnostic.at_span(Span { len: width, ..span });
    }
    vec![diagnostic]
}

/// Any other YAML syntax error: libyaml's words, without its positions, and a hint for the
/// common ones.
fn syntax_error(full: &str) -> Diagnostic {
    // `PROBLEM at line L column C, while parsing CONTEXT at line L column C`
    let (problem, context) = match full.split_once(", while ") {
        Some((problem, context)) => (problem, Some(context)),
        None => (full, None),
    };
    let strip = |text: &str| -> String {
        match text.find(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text.to_owned(),
        }
    };
    let problem = strip(problem);
    let help = if problem.contains("mapping values are not allowed") {
        "a value that contains `: ` must be quoted; otherwise check the indentation of this line"
    } else if problem.contains("unknown escape character") {
        "in double quotes a backslash starts an escape: use single quotes, or write `\\\\`"
    } else if problem.contains("did not find expected '-' indicator") {
        "every entry of a list starts with `- ` at the same indentation"
    } else if problem.contains("found unexpected end of stream") {
        "a quote or bracket is not closed"
    } else if problem.contains("did not find expected key") {
        "check the indentation: keys of one mapping start in the same column"
    } else {
        "check the indentation and quoting around this position"
    };
    let mut diagnostic =
        Diagnostic::error("invalid-yaml", format!("invalid YAML: {problem}")).help(help);
    if let Some(context) = context {
        let line = context
            .split(" at line ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next());
        let context = strip(context);
        diagnostic.label = Some(match line {
            Some(line) => format!("{context} that starts on line {line}"),
            None => context,
        });
    }
    diagnostic
}

fn char_at(source: &ConfigSource, span: Span) -> Option<char> {
    let line = source.line(span.line)?;
    line.chars().nth(span.column.checked_sub(1)?)
}
