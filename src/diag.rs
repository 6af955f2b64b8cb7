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

    /// Renders the diagnostic against `source` (named `file` in the output).
    /// `locate` turns a symbolic path into a span; unknown paths fall back to the file alone.
    pub fn render(
        &self,
        file: &str,
        source: &str,
        locate: &dyn Fn(&ConfigPath, bool) -> Option<Span>,
    ) -> String {
        let mut out = String::new();
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{severity}[{}]: {}", self.code, self.message);
        let span = match &self.location {
            Location::None => None,
            Location::Path { path, key_only } => locate(path, *key_only),
            Location::Span(span) => Some(*span),
        };
        match span.and_then(|s| source.lines().nth(s.line - 1).map(|line| (s, line))) {
            Some((span, line)) => render_snippet(&mut out, file, span, line, self.label.as_deref()),
            None => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}

fn render_snippet(out: &mut String, file: &str, span: Span, line: &str, label: Option<&str>) {
    let number = span.line.to_string();
    let gutter = " ".repeat(number.len());
    let _ = writeln!(out, "{gutter}--> {file}:{}:{}", span.line, span.column);
    let _ = writeln!(out, "{gutter} |");
    let shown = line.replace('\t', "    ");
    let _ = writeln!(out, "{number} | {shown}");
    // Columns count characters; tabs before the caret were widened to four spaces above.
    let before: String = line.chars().take(span.column.saturating_sub(1)).collect();
    let pad = before
        .chars()
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum::<usize>();
    let carets = "^".repeat(span.len.max(1));
    let label = label.map(|l| format!(" {l}")).unwrap_or_default();
    let _ = writeln!(out, "{gutter} | {}{carets}{label}", " ".repeat(pad));
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
    fn suggests_close_candidates_only() {
        assert_eq!(did_you_mean("stagse", ["stages", "source"]), Some("stages"));
        assert_eq!(did_you_mean("zzz", ["stages", "source"]), None);
        assert_eq!(count(1, "error"), "1 error");
        assert_eq!(count(3, "error"), "3 errors");
    }
}
