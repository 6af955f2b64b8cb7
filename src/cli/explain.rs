//! `sampipe explain`: the trust map, per stage.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::common::{load_and_synthesize, ConfigArg};
use super::EXIT_OK;
use crate::trust::report::render_text;

/// Print, per stage, the role, the claims its trust policy admits, the jobs that assume it,
/// the hostile claim sets it was proven to deny, and warnings a reviewer must act on; then,
/// per role, what it can do and the requests it was proven unable to make.
#[derive(Debug, Args)]
pub(super) struct Explain {
    #[command(flatten)]
    config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Aligned text for people.
    Text,
    /// JSON for tools.
    Json,
}

impl Explain {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        let synthesis = load_and_synthesize(&self.config, stderr)?;
        let text = match self.format {
            Format::Text => {
                render_text(&synthesis.trust)
                    + &crate::permissions::report::render_text(&synthesis.permissions)
            }
            Format::Json => {
                #[derive(serde::Serialize)]
                struct Both<'s> {
                    #[serde(flatten)]
                    trust: &'s crate::trust::prove::TrustMap,
                    permissions: &'s crate::permissions::prove::PermissionsMap,
                }
                let both = Both {
                    trust: &synthesis.trust,
                    permissions: &synthesis.permissions,
                };
                let mut json = serde_json::to_string_pretty(&both)
                    .map_err(|e| format!("error[internal-error]: cannot print JSON: {e}\n"))?;
                json.push('\n');
                json
            }
        };
        let _ = stdout.write_all(text.as_bytes());
        Ok(EXIT_OK)
    }
}
