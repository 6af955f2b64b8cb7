//! `sampipe schema`: the config's JSON Schema.

use std::io::Write;

use clap::Args;

use super::EXIT_OK;

/// Print the JSON Schema of sampipe.yaml (generated from the config types). For editor
/// completion, save it and start the config with
/// `# yaml-language-server: $schema=./sampipe.schema.json`.
#[derive(Debug, Args)]
pub(super) struct Schema {}

impl Schema {
    pub(super) fn run(&self, stdout: &mut dyn Write) -> Result<u8, String> {
        let _ = stdout.write_all(crate::config::schema::json_schema().as_bytes());
        Ok(EXIT_OK)
    }
}
