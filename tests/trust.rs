//! The trust commands (`explain`, `trust`) and the trust contract over generated configs.

use proptest::prelude::*;

use crate::common::{repo_root, sampipe};

fn two_stages() -> String {
    repo_root()
        .join("fixtures/two-stages.yaml")
        .display()
        .to_string()
}

#[test]
fn explain_prints_the_trust_map() {
    let (code, stdout, stderr) = sampipe(&["explain", "-c", &two_stages()]);
    assert_eq!(code, 0, "{stderr}");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("explain@two-stages.yaml", stdout);
    });
}

#[test]
fn explain_json_lists_every_stage_with_jobs_and_denials() {
    let (code, stdout, _) = sampipe(&["explain", "-c", &two_stages(), "--format", "json"]);
    assert_eq!(code, 0);
    let map: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let stages = map["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[1]["jobs"][0]["job"], "deploy-prod");
    assert_eq!(
        stages[1]["jobs"][0]["claims"]["sub"],
        "repo:octo-org/sam-app:environment:production"
    );
    assert!(stages
        .iter()
        .all(|s| s["denied"].as_array().is_some_and(|d| d.len() >= 9)));
}

#[test]
fn trust_answers_allow_with_exit_0_and_deny_with_exit_1() {
    let cases = [
        ("prod", "environment:production", 0, "ALLOW"),
        ("prod", "ref:refs/heads/main", 1, "DENY"),
        ("prod", "ref:refs/heads/feature-login", 1, "DENY"),
        ("dev", "ref:refs/heads/feature-login", 0, "ALLOW"),
        ("dev", "ref:refs/heads/main", 0, "ALLOW"),
        ("dev", "pull_request", 1, "DENY"),
        ("dev", "ref:refs/tags/v1.0.0", 1, "DENY"),
        (
            "dev",
            "repo:evil-org/sam-app:ref:refs/heads/main",
            1,
            "DENY",
        ),
    ];
    for (stage, subject, expected, verdict) in cases {
        let (code, stdout, stderr) = sampipe(&[
            "trust",
            "-c",
            &two_stages(),
            "--stage",
            stage,
            "--subject",
            subject,
        ]);
        assert_eq!(code, expected, "{stage} {subject}: {stdout}{stderr}");
        assert!(stdout.starts_with(verdict), "{stage} {subject}: {stdout}");
    }
}

#[test]
fn trust_claims_override_the_derived_ones() {
    // The right subject from another workflow file is denied: job_workflow_ref is bound.
    let (code, stdout, _) = sampipe(&[
        "trust",
        "-c",
        &two_stages(),
        "--stage",
        "dev",
        "--subject",
        "ref:refs/heads/main",
        "--claim",
        "job_workflow_ref=octo-org/sam-app/.github/workflows/other.yaml@refs/heads/main",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("job_workflow_ref"), "{stdout}");
    let (code, stdout, _) = sampipe(&[
        "trust",
        "-c",
        &two_stages(),
        "--stage",
        "dev",
        "--subject",
        "ref:refs/heads/main",
        "--claim",
        "aud=https://github.com/octo-org",
    ]);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn trust_rejects_an_unknown_stage_with_a_suggestion() {
    let (code, _, stderr) = sampipe(&[
        "trust",
        "-c",
        &two_stages(),
        "--stage",
        "prd",
        "--subject",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `prod`?"), "{stderr}");
}

/// A valid config built from generated parts.
fn config(
    stages: &[(String, usize, Option<String>, bool)],
    feature: Option<&str>,
    ids: Option<(u64, u64)>,
    branch: &str,
) -> String {
    let mut text = format!("version: 1\napp: app\nbranch: {branch}\nsource:\n  github:\n    repository: octo-org/app\n");
    if let Some((owner, repo)) = ids {
        text.push_str(&format!(
            "    owner_id: {owner}\n    repository_id: {repo}\n"
        ));
    }
    if let Some(glob) = feature {
        text.push_str(&format!("feature_branches: '{glob}'\n"));
    }
    text.push_str("stages:\n");
    for (name, account, environment, image) in stages {
        text.push_str(&format!("  - name: {name}\n    account: '{:012}'\n    region: eu-west-1\n    image_repository: {image}\n", 100_000_000_000 + account));
        if let Some(environment) = environment {
            text.push_str(&format!("    environment: {environment}\n"));
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For any valid config, synth proves the contract: every job is admitted by its role and
    /// every hostile claim set is denied by every role (synthesize fails otherwise).
    #[test]
    fn every_generated_config_is_proven(
        count in 1usize..5,
        accounts in prop::collection::vec(0usize..3, 5),
        environments in prop::collection::vec(prop::option::of("[a-z]{1,8}"), 5),
        images in prop::collection::vec(any::<bool>(), 5),
        feature in prop::option::of(prop::sample::select(vec!["feature*", "feature/**", "*-preview", "dev-*"])),
        ids in prop::option::of((1u64..10_000_000, 1u64..10_000_000)),
        branch in prop::sample::select(vec!["main", "trunk", "release/prod"]),
    ) {
        let stages: Vec<_> = (0..count)
            .map(|i| (format!("s{i}"), accounts[i], environments[i].clone(), images[i]))
            .collect();
        let text = config(&stages, feature, ids, branch);
        let loaded = sampipe::config::load_str("sampipe.yaml", &text);
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(sampipe::config::LoadError::Invalid { config, diagnostics }) => panic!("{}\n{text}", config.render(&diagnostics)),
            Err(e) => panic!("{e}"),
        };
        let synthesis = match sampipe::pipeline::synthesize(&loaded.config) {
            Ok(synthesis) => synthesis,
            Err(diagnostics) => panic!("{}\n{text}", loaded.source.render(&diagnostics)),
        };
        prop_assert_eq!(synthesis.trust.stages.len(), count);
        for stage in &synthesis.trust.stages {
            prop_assert!(stage.denied.len() >= 8, "{:?}", stage.denied);
        }
    }
}

/// Regression: the proof once resolved ARNs in the `aws` partition for `eu-isoe-west-1` while the
/// workflow used `aws-iso-e`, and synth failed with a trust violation (found by the round-trip
/// property test in tests/errors.rs).
#[test]
fn regions_of_every_partition_are_proven() {
    let cases = [
        ("eu-isoe-west-1", "aws-iso-e"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ];
    for (region, partition) in cases {
        let text = format!(
            "version: 1\napp: a\nsource:\n  github:\n    repository: octo-org/a\nstages:\n  - name: a\n    account: '000000000000'\n    region: {region}\n"
        );
        let loaded = sampipe::config::load_str("sampipe.yaml", &text).expect("valid config");
        let synthesis = sampipe::pipeline::synthesize(&loaded.config)
            .unwrap_or_else(|d| panic!("{region}: {}", loaded.source.render(&d)));
        let role = &synthesis.trust.stages[0].role_arn;
        assert!(
            role.starts_with(&format!("arn:{partition}:iam::")),
            "{region}: {role}"
        );
    }
}
