//! The JSON Schema of `sampipe.yaml`, generated from the config types so it cannot drift from
//! what the loader accepts. Editors use it through a `# yaml-language-server: $schema=...` line.

/// The schema as pretty-printed JSON.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(super::Config);
    schema.insert("title".into(), "sampipe config (sampipe.yaml)".into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
