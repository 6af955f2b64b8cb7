//! Diagnostics: one type for every problem sampipe reports about a user's input, rendered
//! rustc-style with the file, line, column, the offending line, a caret, and a hint.
//!
//! Locations start symbolic (a [`ConfigPath`] such as `stages[1].account`) and become concrete
//! ([`Span`]) when the config source is at hand, so validation code never counts lines.

use std::fmt::{self, Write as _};

/// A position in a source file: 1-based line and column, and the width to underline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

/// A path into the config document, e.g. `stages[1].account`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfigPath(Vec<Segment>);

/// One step of a [`ConfigPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl ConfigPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_owned()));
        next
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// The path one level up (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut up = self.clone();
        up.0.pop();
        up
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Parses the dotted form produced by [`fmt::Display`] (`stages[1].account`).
    pub fn parse(text: &str) -> Self {
        let mut path = Self::root();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').unwrap_or((part, ""));
            if !key.is_empty() {
                path = path.key(key);
            }
            for index in rest.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    path = path.index(i);
                }
            }
        }
        path
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// How bad a diagnostic is. Errors stop synth; warnings are printed and synth goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// Where a diagnostic points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Nowhere in particular (the whole file).
    None,
    /// A config path, to be resolved against the source.
    Path { path: ConfigPath, key_only: bool },
    /// A concrete place, e.g. from the YAML parser.
    Span(Span),
}

/// One problem, with everything needed to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case identifier (`unknown-key`, `name-too-long`).
    pub code: &'static str,
    /// What is wrong: lowercase, no trailing period, user values in backticks.
    pub message: String,
    pub location: Location,
    /// A short note printed under the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: Location::None,
            label: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Points at the value found at `path`.
    pub fn at(mut self, path: ConfigPath) -> Self {
        self.location = Location::Path {
            path,
            key_only: false,
        };
        self
    }

    /// Points at the key of the entry found at `path` (for unknown or misplaced keys).
    pub fn at_key(mut self, path: ConfigPath) -> Self {
        self.location = Location::Path {
            path,
            key_only: true,
        };
        self
    }

    pub fn at_span(mut self, span: Span) -> Self {
        self.location = Location::Span(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Where the diagnostic points, once `locate` has turned a path into a span.
    pub fn resolve(&self, locate: &dyn Fn(&ConfigPath, bool) -> Option<Span>) -> Option<Span> {
        match &self.location {
            Location::None => None,
            Location::Path { path, key_only } => locate(path, *key_only),
            Location::Span(span) => Some(*span),
        }
    }

    /// Renders the diagnostic against `source` (named `file` in the output).
    /// `locate` turns a symbolic path into a span; unknown paths fall back to the file alone.
    pub fn render(
        &self,
        file: &str,
        source: &str,
        locate: &dyn Fn(&ConfigPath, bool) -> Option<Span>,
    ) -> String {
        self.render_lines(file, &|n| source.lines().nth(n.checked_sub(1)?), locate)
    }

    /// [`render`](Self::render) with the source given as a function from a 1-based line
    /// number to that line, for callers that index the lines once for many diagnostics.
    pub fn render_lines<'s>(
        &self,
        file: &str,
        line: &dyn Fn(usize) -> Option<&'s str>,
        locate: &dyn Fn(&ConfigPath, bool) -> Option<Span>,
    ) -> String {
        let mut out = String::new();
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{severity}[{}]: {}",
            self.code,
            printable(&self.message)
        );
        let span = self.resolve(locate);
        match span.and_then(|s| line(s.line).map(|text| (s, text))) {
            Some((span, line)) => {
                let label = self.label.as_deref().map(printable);
                render_snippet(&mut out, file, span, line, label.as_deref());
            }
            None => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
        if let Some(help) = &self.help {
            // Aligned with the gutter of the snippet above, as rustc does.
            let width = span.map_or(1, |s| s.line.to_string().len());
            let _ = writeln!(out, "{} = help: {}", " ".repeat(width), printable(help));
        }
        out
    }
}

/// Source lines longer than this (in columns) are shown as a window around the span.
const MAX_SHOWN: usize = 100;

fn render_snippet(out: &mut String, file: &str, span: Span, line: &str, label: Option<&str>) {
    let number = span.line.to_string();
    let gutter = " ".repeat(number.len());
    let _ = writeln!(out, "{gutter}--> {file}:{}:{}", span.line, span.column);
    let _ = writeln!(out, "{gutter} |");
    // One cell per character as it is shown: tabs widened to four spaces, control
    // characters escaped. Columns count characters, so the caret goes by cells.
    let cells: Vec<String> = line
        .chars()
        .map(|c| match c {
            '\t' => "    ".to_owned(),
            c => printable(c.encode_utf8(&mut [0; 4])),
        })
        .collect();
    let start = span.column.saturating_sub(1).min(cells.len());
    let end = (start + span.len.max(1)).min(cells.len());
    // A long line is cut to a window that starts a little before the span.
    let first = if cells.iter().map(|c| c.chars().count()).sum::<usize>() > MAX_SHOWN {
        start.saturating_sub(MAX_SHOWN / 3)
    } else {
        0
    };
    let mut shown = String::new();
    let mut width = 0;
    let mut pad = 0;
    let mut carets = 0;
    if first > 0 {
        shown.push_str("...");
        width += 3;
    }
    for (index, cell) in cells.iter().enumerate().skip(first) {
        let w = cell.chars().count();
        if width + w > MAX_SHOWN && index > start {
            shown.push_str("...");
            break;
        }
        if index < start {
            pad += w;
        } else if index < end {
            carets += w;
        }
        shown.push_str(cell);
        width += w;
    }
    if first > 0 {
        pad += 3;
    }
    let _ = writeln!(out, "{number} | {shown}");
    let carets = "^".repeat(carets.max(1));
    let label = label.map(|l| format!(" {l}")).unwrap_or_default();
    let _ = writeln!(out, "{gutter} | {}{carets}{label}", " ".repeat(pad));
}

/// `text` with control characters replaced by `\u{..}` escapes: a config can hold any
/// character, and echoing an escape sequence from it into a terminal would let it rewrite
/// what the user sees.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `1 error`, `2 warnings`: counts that read as English.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display_and_parse_round_trip() {
        let path = ConfigPath::root().key("stages").index(1).key("account");
        assert_eq!(path.to_string(), "stages[1].account");
        assert_eq!(ConfigPath::parse("stages[1].account"), path);
    }

    #[test]
    fn renders_rustc_style_with_caret_under_the_span() {
        let source = "version: 1\napp: Sam_App\n";
        let diag = Diagnostic::error("invalid-name", "app name `Sam_App` is not allowed")
            .at_span(Span {
                line: 2,
                column: 6,
                len: 7,
            })
            .label("use lowercase letters, digits and `-`")
            .help("rename it, e.g. `sam-app`");
        let text = diag.render("sampipe.yaml", source, &|_, _| None);
        assert_eq!(
            text,
            "error[invalid-name]: app name `Sam_App` is not allowed\n \
             --> sampipe.yaml:2:6\n  |\n2 | app: Sam_App\n  |      ^^^^^^^ use lowercase letters, digits and `-`\n  \
             = help: rename it, e.g. `sam-app`\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_in_what_is_printed() {
        let source = "app: \u{1b}[2Jx\n";
        let diag = Diagnostic::error("invalid-name", "app name `\u{1b}[2Jx` is not allowed")
            .at_span(Span {
                line: 1,
                column: 6,
                len: 1,
            });
        let text = diag.render("f", source, &|_, _| None);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("`\\u{1b}[2Jx`"), "{text}");
    }

    #[test]
    fn long_lines_are_shown_as_a_window_around_the_span() {
        let source = format!("key: {}x{}\n", "a".repeat(300), "b".repeat(300));
        let diag = Diagnostic::error("c", "m").at_span(Span {
            line: 1,
            column: 306,
            len: 1,
        });
        let text = diag.render("f", &source, &|_, _| None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[3].starts_with("1 | ...aaa") && lines[3].ends_with("bbb..."),
            "{text}"
        );
        let caret = lines[4].find('^').expect("caret");
        assert_eq!(lines[3].chars().nth(caret), Some('x'), "{text}");
        assert!(lines[3].chars().count() < 120, "{text}");
    }

    #[test]
    fn suggests_close_candidates_only() {
        assert_eq!(did_you_mean("stagse", ["stages", "source"]), Some("stages"));
        assert_eq!(did_you_mean("zzz", ["stages", "source"]), None);
        assert_eq!(count(1, "error"), "1 error");
        assert_eq!(count(3, "error"), "3 errors");
    }
}
