//! The config file: its serde model ([`model`]), where each value is written ([`locate`]), and
//! the checks serde cannot express ([`validate`]). [`load_file`] returns either a config known
//! to be valid or every problem found, each with a location.
//!
//! Loading runs in passes, each reporting everything it finds before the next one starts:
//! 1. bytes: size and UTF-8 ([`load_bytes`]);
//! 2. YAML: syntax, duplicate keys, documents, aliases (`syntax`);
//! 3. shape: unknown, missing and mistyped keys, all of them (`shape`);
//! 4. meaning: names, ids, regions, ARNs, and how fields relate ([`validate`]), on whatever
//!    the shape pass could keep. Only a missing or unreadable required key stops this pass.

mod extensions;
pub mod locate;
pub mod model;
pub use crate::cfn::region;
pub mod schema;
mod shape;
mod syntax;
pub mod validate;

use std::collections::HashSet;
use std::path::Path;

pub use model::{AccountId, Config, Stage};

use crate::diag::{did_you_mean, ConfigPath, Diagnostic, Span};
use locate::SourceMap;

/// Config files larger than this are refused before parsing (they are a few kilobytes).
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// At most this many diagnostics are printed: past it, more of them help no one.
const MAX_RENDERED: usize = 100;

/// Where each line of `text` starts; a line ends at `\n`, `\r\n` or a lone `\r`, as in YAML.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends_line && i + 1 < bytes.len() {
            starts.push(i + 1);
        }
    }
    starts
}

/// A config file's text, kept to render diagnostics against it.
#[derive(Debug)]
pub struct ConfigSource {
    /// The name shown in diagnostics (the path as the user gave it).
    pub name: String,
    pub text: String,
    /// Boxed to keep [`LoadError`] small; it is only read when rendering.
    map: Box<SourceMap>,
    /// Byte offset where each line starts, so that finding a line does not scan the text.
    line_starts: Vec<usize>,
}

impl ConfigSource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let map = Box::new(SourceMap::new(&text));
        let line_starts = line_starts(&text);
        Self {
            name: name.into(),
            text,
            map,
            line_starts,
        }
    }

    /// Line `number` (1-based) without its line break. Lines end as YAML ends them: at `\n`,
    /// `\r\n` or a lone `\r`.
    pub fn line(&self, number: usize) -> Option<&str> {
        let start = *self.line_starts.get(number.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(number)
            .copied()
            .unwrap_or(self.text.len());
        Some(self.text.get(start..end)?.trim_end_matches(['\n', '\r']))
    }

    /// The number of lines.
    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Where each node is written.
    pub(crate) fn map(&self) -> &SourceMap {
        &self.map
    }

    /// The scalar at `path` exactly as written, quotes included (`None` when it is not written
    /// there, e.g. when it comes from an alias).
    pub(crate) fn written(&self, path: &crate::diag::ConfigPath) -> Option<&str> {
        let span = self.map.scalar_span(path)?;
        let line = self.line(span.line)?;
        let start = line.char_indices().nth(span.column.checked_sub(1)?)?.0;
        let rest = &line[start..];
        let end = rest
            .char_indices()
            .nth(span.len)
            .map_or(rest.len(), |(i, _)| i);
        Some(&rest[..end])
    }

    /// Renders diagnostics rustc-style against this source, errors first and each group in
    /// the order of the file, followed by a summary line.
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        let locate = |path: &_, key_only| self.map.locate(path, key_only);
        let mut sorted: Vec<(&Diagnostic, Option<Span>)> = diagnostics
            .iter()
            .map(|d| (d, d.resolve(&locate)))
            .collect();
        // Stable: diagnostics at the same place keep the order they were found in.
        sorted.sort_by_key(|(d, span)| (d.severity, span.map(|s| (s.line, s.column))));
        let mut out = String::new();
        let line = |n| self.line(n);
        for (diagnostic, _) in sorted.iter().take(MAX_RENDERED) {
            out.push_str(&diagnostic.render_lines(&self.name, &line, &locate));
            out.push('\n');
        }
        if sorted.len() > MAX_RENDERED {
            out.push_str(&format!(
                "note: {} not shown\n",
                crate::diag::count(sorted.len() - MAX_RENDERED, "more problem")
            ));
        }
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            out.push_str(&format!(
                "error: `{}` is invalid: {}\n",
                self.name,
                crate::diag::count(errors, "error")
            ));
        }
        out
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The config was read but has problems; render them with [`ConfigSource::render`].
    #[error("`{}` is invalid", .config.name)]
    Invalid {
        config: ConfigSource,
        diagnostics: Vec<Diagnostic>,
    },
}

/// A config that parsed and validated, with its source for later diagnostics.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: ConfigSource,
    /// Problems that do not stop synth.
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates the config at `path`.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: name.clone(),
        source,
    })?;
    let mut loaded = load_bytes(&name, &bytes)?;
    let root = path.parent().unwrap_or_else(|| Path::new(""));
    loaded.config.sam_app = Some(load_sam_template(root, &loaded)?);
    Ok(loaded)
}

/// Reads and parses the application's SAM template: `sam_template` is relative to the
/// repository root, which is taken to be the directory that holds the config file.
fn load_sam_template(root: &Path, loaded: &Loaded) -> Result<crate::app::SamApp, LoadError> {
    let config = &loaded.config;
    let path = root.join(&config.sam_template);
    let name = path.display().to_string();
    let at_key = |diagnostic: Diagnostic| {
        let key = ConfigPath::root().key("sam_template");
        if loaded.source.map().scalar_span(&key).is_some() {
            diagnostic.at(key)
        } else {
            diagnostic
        }
    };
    let config_error = |diagnostic: Diagnostic| LoadError::Invalid {
        config: ConfigSource::new(loaded.source.name.clone(), loaded.source.text.clone()),
        diagnostics: vec![at_key(diagnostic)],
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let what = if error.kind() == std::io::ErrorKind::NotFound {
                "does not exist".to_owned()
            } else {
                format!("cannot be read: {error}")
            };
            return Err(config_error(
                Diagnostic::error(
                    "read-sam-template",
                    format!("the SAM template `{name}` {what}"),
                )
                .label("relative to the directory of the config file (the repository root)")
                .help(format!(
                    "create it, or set `sam_template` to the application's SAM template, relative to the directory of the config file (`{}`)",
                    if root.as_os_str().is_empty() {
                        ".".to_owned()
                    } else {
                        root.display().to_string()
                    }
                )),
            ));
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(config_error(
            Diagnostic::error(
                "read-sam-template",
                format!("the SAM template `{name}` is not UTF-8"),
            )
            .help("save the SAM template as UTF-8"),
        ));
    };
    crate::app::parse(&text).map_err(|diagnostics| LoadError::Invalid {
        config: ConfigSource::new(name, text.strip_prefix('\u{feff}').unwrap_or(&text)),
        diagnostics,
    })
}

/// Parses and validates config bytes named `name` (for messages). A UTF-8 byte order mark is
/// skipped.
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<Loaded, LoadError> {
    let invalid = |text: String, diagnostic: Diagnostic| LoadError::Invalid {
        config: ConfigSource::new(name, text),
        diagnostics: vec![diagnostic],
    };
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(invalid(
            String::new(),
            Diagnostic::error(
                "too-large",
                format!(
                    "the config is {} bytes; sampipe reads at most {MAX_CONFIG_BYTES}",
                    bytes.len()
                ),
            )
            .help("a sampipe config is a few kilobytes; check that this is the right file"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            return Err(invalid(
                lossy,
                Diagnostic::error("not-utf8", "the config is not valid UTF-8")
                    .at_span(Span {
                        line,
                        column,
                        len: 1,
                    })
                    .help("save the file as UTF-8"),
            ));
        }
    };
    load_str(name, &text)
}

/// Parses and validates config text named `name` (for messages).
pub fn load_str(name: &str, text: &str) -> Result<Loaded, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let source = ConfigSource::new(name, text);
    let document = match syntax::parse(&source) {
        Ok(document) => document,
        Err(diagnostics) => {
            return Err(LoadError::Invalid {
                config: source,
                diagnostics,
            })
        }
    };
    // Placeholders left by `sampipe init` come first: until they are filled in, every other
    // message about those values would only repeat "fill this in".
    let placeholders = placeholders(text);
    if !placeholders.is_empty() {
        return Err(LoadError::Invalid {
            config: source,
            diagnostics: placeholders,
        });
    }
    let shaped = shape::check(document, &source);
    let mut diagnostics = shaped.diagnostics;
    match serde_yaml::from_value::<Config>(shaped.value) {
        Ok(config) => {
            // A value the shape pass already reported (and replaced) is not reported again.
            let reported: HashSet<ConfigPath> = shaped.replaced.into_iter().collect();
            let already_reported = |path: ConfigPath| {
                let mut up = path;
                loop {
                    if reported.contains(&up) {
                        return true;
                    }
                    if up.segments().is_empty() {
                        return false;
                    }
                    up = up.parent();
                }
            };
            diagnostics.extend(
                validate::validate(&config)
                    .into_iter()
                    .filter(|d| path_of(d).is_none_or(|p| !already_reported(p))),
            );
            if !diagnostics.iter().any(Diagnostic::is_error) {
                return Ok(Loaded {
                    config,
                    source,
                    warnings: diagnostics,
                });
            }
        }
        // The shape pass let something through that serde refuses; serde's own error, with
        // its position, is the best explanation left.
        Err(_) => match serde_yaml::from_str::<Config>(text) {
            Err(error) => diagnostics.push(from_serde(&error)),
            Ok(_) => diagnostics.push(
                Diagnostic::error("internal-error", "the config could not be read")
                    .help("this is a bug in sampipe; please report it with your config"),
            ),
        },
    }
    Err(LoadError::Invalid {
        config: source,
        diagnostics,
    })
}

/// Every `<FILL-IN: ...>` value written by `sampipe init` and not yet replaced.
fn placeholders(text: &str) -> Vec<Diagnostic> {
    let marker = crate::init::PLACEHOLDER_PREFIX;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(at) = line.find(marker) else {
            continue;
        };
        if line[..at].contains('#') {
            continue; // a comment that mentions the marker
        }
        let start = line[..at].trim_end_matches(['"', '\'']).len();
        let end = line[at..].find('>').map_or(line.len(), |e| at + e + 1);
        let end = if line[end..].starts_with(['"', '\'']) {
            end + 1
        } else {
            end
        };
        let what = line[at + marker.len()..end]
            .trim_end_matches(['>', '"', '\''])
            .trim();
        out.push(
            Diagnostic::error(
                "placeholder",
                format!("`sampipe init` could not infer this value: {what}"),
            )
            .at_span(Span {
                line: index + 1,
                column: line[..start].chars().count() + 1,
                len: line[start..end].chars().count(),
            })
            .help("replace the placeholder with the real value"),
        );
    }
    out
}

fn path_of(diagnostic: &Diagnostic) -> Option<ConfigPath> {
    match &diagnostic.location {
        crate::diag::Location::Path { path, .. } => Some(path.clone()),
        _ => None,
    }
}

/// Turns a serde/YAML error into a diagnostic, with a "did you mean" for unknown keys.
fn from_serde(error: &serde_yaml::Error) -> Diagnostic {
    let full = error.to_string();
    // yaml_serde appends " at line L column C"; the span carries that instead.
    let message = match full.rfind(" at line ") {
        Some(at) => &full[..at],
        None => full.as_str(),
    };
    // ... and prefixes the path of the offending node (`stages[0]: ...`), which we keep.
    let (path, detail) = match message.split_once(": ") {
        Some((path, detail)) if !path.contains(' ') => (Some(path), detail),
        _ => (None, message),
    };
    let mut diagnostic = if let Some(rest) = detail.strip_prefix("unknown field `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let mut d = Diagnostic::error("unknown-key", format!("unknown key `{unknown}`"));
        d.help = Some(match did_you_mean(unknown, candidates.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected one of {}", ticked(&candidates)),
        });
        d
    } else if let Some(rest) = detail.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        Diagnostic::error("missing-key", format!("missing key `{field}`")).help(format!(
            "add `{field}:`; see `sampipe schema` for every key"
        ))
    } else if detail.starts_with("invalid type") {
        let d = Diagnostic::error(
            "invalid-type",
            detail.replace("invalid type: ", "wrong type: "),
        );
        if detail.contains("expected a string") || detail.contains("expected a 12-digit") {
            d.help("put the value in quotes to make it a string")
        } else {
            d
        }
    } else if detail.contains("duplicate") {
        Diagnostic::error("duplicate-key", detail.to_owned()).help("remove one of the two entries")
    } else {
        Diagnostic::error("invalid-yaml", detail.to_owned())
    };
    if let Some(path) = path {
        diagnostic.message = format!("{} (in `{path}`)", diagnostic.message);
    }
    if let Some(location) = error.location() {
        diagnostic = diagnostic.at_span(Span {
            line: location.line(),
            column: location.column(),
            len: 1,
        });
    }
    diagnostic
}

fn ticked(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> String {
        match load_str("sampipe.yaml", text) {
            Ok(_) => String::new(),
            Err(LoadError::Invalid {
                config,
                diagnostics,
            }) => config.render(&diagnostics),
            Err(other) => other.to_string(),
        }
    }

    const HEAD: &str = "version: 1\napp: sam-app\nsource:\n  github:\n    repository: o/r\n";

    #[test]
    fn an_unreadable_stage_keeps_the_later_stages_in_place() {
        let text = format!(
            "{HEAD}stages:\n  - dev\n  - name: prod\n    account: \"1\"\n    region: us-west-2\n"
        );
        let rendered = problems(&text);
        assert!(
            rendered.contains("error[invalid-type]: `stages[0]` must be a stage"),
            "{rendered}"
        );
        // The account of the second stage is reported on its own line, 9.
        assert!(rendered.contains("error[invalid-account]"), "{rendered}");
        assert!(rendered.contains("sampipe.yaml:9:14"), "{rendered}");
    }

    #[test]
    fn a_value_reported_by_the_shape_pass_is_not_reported_again() {
        let text =
            format!("{HEAD}stages:\n  - name: dev\n    account: 12345\n    region: us-east-1\n");
        let rendered = problems(&text);
        assert!(rendered.contains("error[unquoted-account]"), "{rendered}");
        assert!(
            rendered.contains("`account: \"000000012345\"`"),
            "{rendered}"
        );
        assert!(!rendered.contains("invalid-account"), "{rendered}");
    }

    #[test]
    fn a_missing_required_key_does_not_stop_the_other_checks() {
        let text = format!(
            "{HEAD}stages:\n  - name: Dev\n    region: us-east-1\n  - name: prod\n    account: \"x\"\n    region: mars\n"
        );
        let rendered = problems(&text);
        for code in [
            "missing-key",
            "invalid-name",
            "invalid-account",
            "invalid-region",
        ] {
            assert!(
                rendered.contains(&format!("error[{code}]")),
                "{code}: {rendered}"
            );
        }
        assert!(rendered.ends_with("is invalid: 4 errors\n"), "{rendered}");
    }

    #[test]
    fn windows_line_endings_give_the_same_positions() {
        let text =
            format!("{HEAD}stages:\n  - name: dev\n    account: \"1\"\n    region: us-east-1\n")
                .replace('\n', "\r\n");
        let rendered = problems(&text);
        assert!(rendered.contains("sampipe.yaml:8:14"), "{rendered}");
        assert!(rendered.contains("8 |     account: \"1\"\n"), "{rendered}");
    }

    #[test]
    fn lines_end_as_yaml_ends_them() {
        let source = ConfigSource::new("f", "a\r\nb\rc\nd");
        let lines: Vec<_> = (1..=source.line_count()).map(|n| source.line(n)).collect();
        assert_eq!(lines, [Some("a"), Some("b"), Some("c"), Some("d")]);
        assert_eq!(source.line(5), None);
        assert_eq!(source.line(0), None);
    }
}
