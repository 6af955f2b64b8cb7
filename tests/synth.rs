//! Snapshots of both outputs for every fixture (`snapshots/{template,pipeline}@<fixture>.snap`;
//! `pipeline` is the provider's CI file),
//! and the properties every synth must have: determinism and a parseable result.

use crate::common::{file, fixture_name, fixtures, synth_fixture};

#[test]
fn outputs_match_the_reviewed_snapshots() {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::glob!("../fixtures", "*.yaml", |path| {
            if crate::common::is_sam_template(path) {
                return;
            }
            let synthesis = synth_fixture(path);
            insta::assert_snapshot!("template", file(&synthesis, "template.yaml"));
            // The CI file: `pipeline.yaml`, `.gitlab-ci.yml` or `bitbucket-pipelines.yml`.
            let ci = synthesis.pipeline.provider.file_name();
            insta::assert_snapshot!("pipeline", file(&synthesis, ci));
        });
    });
}

#[test]
fn synth_is_deterministic() {
    for path in fixtures() {
        let first = synth_fixture(&path);
        let second = synth_fixture(&path);
        assert_eq!(first.files, second.files, "{}", fixture_name(&path));
    }
}

#[test]
fn outputs_are_yaml_with_a_quoted_policy_version() {
    for path in fixtures() {
        let synthesis = synth_fixture(&path);
        for artifact in &synthesis.files {
            let parsed: Result<serde_yaml::Value, _> = serde_yaml::from_str(&artifact.contents);
            assert!(
                parsed.is_ok(),
                "{} {}: {parsed:?}",
                fixture_name(&path),
                artifact.file_name
            );
        }
        let template = file(&synthesis, "template.yaml");
        assert!(
            template.contains("Version: '2012-10-17'") && !template.contains("Version: 2012-10-17"),
            "{}: policy Version must be a quoted string",
            fixture_name(&path)
        );
        assert!(
            !template.contains("ForAllValues"),
            "{}",
            fixture_name(&path)
        );
    }
}
