//! `sampipe schema` against check-jsonschema: every valid fixture passes, and every invalid
//! fixture whose mistake is about the document's shape fails.

use std::process::Command;

use crate::common::{fixtures, printed, repo_root, run, sampipe, tool};

/// Invalid fixtures whose mistake a JSON Schema can see (types, keys, patterns, counts).
/// The rest (YAML syntax, cross-field rules, AWS name limits) need sampipe itself.
/// `billion-laughs` is left out on purpose: expanding it exhausts a YAML library's memory.
const SCHEMA_LEVEL: &[&str] = &[
    "account-leading-zero",
    "account-too-short",
    "app-without-value",
    "availability-zone",
    "branch-without-value",
    "empty",
    "invalid-name",
    "invalid-region",
    "list-not-mapping",
    "many-errors",
    "misplaced-key",
    "missing-key",
    "no-stages",
    "quoted-owner-id",
    "quoted-version",
    "repository-url",
    "stage-names-only",
    "stages-not-a-list",
    "unknown-key",
    "unquoted-account",
    "unsupported-version",
    "yes-for-boolean",
];

#[test]
fn schema_accepts_every_fixture_and_rejects_schema_level_mistakes() {
    let Some(checker) = tool("check-jsonschema") else {
        return;
    };
    let (code, schema, _) = sampipe(&["schema"]);
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let schema_path = dir.path().join("sampipe.schema.json");
    std::fs::write(&schema_path, &schema).expect("write");

    let output = run(Command::new(&checker)
        .arg("--check-metaschema")
        .arg(&schema_path));
    assert!(
        output.status.success(),
        "the schema is not a valid JSON Schema:\n{}",
        printed(&output)
    );

    for fixture in fixtures() {
        let output = run(Command::new(&checker)
            .arg("--schemafile")
            .arg(&schema_path)
            .arg(&fixture));
        assert!(
            output.status.success(),
            "{} should match the schema:\n{}",
            fixture.display(),
            printed(&output)
        );
    }
    for name in SCHEMA_LEVEL {
        let fixture = repo_root()
            .join("fixtures/invalid")
            .join(format!("{name}.yaml"));
        assert!(fixture.exists(), "{name}");
        let output = run(Command::new(&checker)
            .arg("--schemafile")
            .arg(&schema_path)
            .arg(&fixture));
        assert!(
            !output.status.success(),
            "{name} should not match the schema:\n{}",
            printed(&output)
        );
    }
}

#[test]
fn schema_describes_and_exemplifies_every_field() {
    let (_, schema, _) = sampipe(&["schema"]);
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("json");
    let mut missing = Vec::new();
    let mut objects = vec![("Config".to_owned(), &schema)];
    if let Some(defs) = schema["$defs"].as_object() {
        objects.extend(defs.iter().map(|(name, def)| (name.clone(), def)));
    }
    for (name, object) in objects {
        for (field, property) in object["properties"].as_object().into_iter().flatten() {
            let described = property.get("description").is_some();
            let exemplified = property.get("examples").is_some();
            // A field whose type is another object carries its docs in `$defs`.
            let reference = property.get("$ref").is_some() || property.get("allOf").is_some();
            let documented = described && exemplified;
            if !reference && !documented {
                missing.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields without a description or an example: {missing:?}"
    );
}
