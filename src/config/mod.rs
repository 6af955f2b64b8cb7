//! The config file: its serde model ([`model`]), where each value is written ([`locate`]), and
//! the checks serde cannot express ([`validate`]). [`load`] runs all three and returns either a
//! config known to be valid or every problem found, each with a location.

pub mod locate;
pub mod model;
pub mod region;
pub mod validate;

use std::path::Path;

pub use model::{AccountId, Config, Stage};

use crate::diag::{did_you_mean, Diagnostic, Span};
use locate::SourceMap;

/// Config files larger than this are refused before parsing (they are a few kilobytes).
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// A config file's text, kept to render diagnostics against it.
#[derive(Debug)]
pub struct ConfigSource {
    /// The name shown in diagnostics (the path as the user gave it).
    pub name: String,
    pub text: String,
    /// Boxed to keep [`LoadError`] small; it is only read when rendering.
    map: Box<SourceMap>,
}

impl ConfigSource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let map = Box::new(SourceMap::new(&text));
        Self {
            name: name.into(),
            text,
            map,
        }
    }

    /// Renders diagnostics rustc-style against this source, followed by a summary line.
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        let locate = |path: &_, key_only| self.map.locate(path, key_only);
        let mut out = String::new();
        for diagnostic in diagnostics {
            out.push_str(&diagnostic.render(&self.name, &self.text, &locate));
            out.push('\n');
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
    load_bytes(&name, &bytes)
}

/// Parses and validates config bytes named `name` (for messages).
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
    let source = ConfigSource::new(name, text);
    let config: Config = match serde_yaml::from_str(text) {
        Ok(config) => config,
        Err(error) => {
            let diagnostic = from_serde(&error);
            return Err(LoadError::Invalid {
                config: source,
                diagnostics: vec![diagnostic],
            });
        }
    };
    let (errors, warnings): (Vec<_>, Vec<_>) = validate::validate(&config)
        .into_iter()
        .partition(Diagnostic::is_error);
    if errors.is_empty() {
        Ok(Loaded {
            config,
            source,
            warnings,
        })
    } else {
        Err(LoadError::Invalid {
            config: source,
            diagnostics: errors.into_iter().chain(warnings).collect(),
        })
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
