//! The trust commands (`explain`, `trust`) and the trust contract over generated configs.

use proptest::prelude::*;

use crate::common::{repo_root, sampipe, write_sam_template};

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

fn fixture(name: &str) -> String {
    repo_root()
        .join(format!("fixtures/{name}.yaml"))
        .display()
        .to_string()
}

/// GitLab and Bitbucket: the trust map says what their tokens cannot express, and which
/// controls must do it instead.
#[test]
fn explain_names_the_limits_of_gitlab_and_bitbucket_tokens() {
    for name in ["gitlab", "bitbucket-environments"] {
        let (code, stdout, stderr) = sampipe(&["explain", "-c", &fixture(name)]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains("AWS STS exposes only `aud` and `sub`"),
            "{stdout}"
        );
        assert!(stdout.contains("stop them with:"), "{stdout}");
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("explain@{name}.yaml"), stdout);
        });
    }
}

/// Whether a GitLab stage's limits list the claims of a job on the deployment branch of stage
/// `other` (in environment `environment`, or in none), which its role cannot tell apart from
/// its own jobs'.
fn gitlab_limit_lists(
    limits: &[String],
    own: Option<&str>,
    other: &str,
    environment: Option<&str>,
) -> bool {
    limits.iter().any(|limit| match environment {
        _ if environment == own => {
            limit.contains("of another stage") && limit.contains(&format!("`{other}`"))
        }
        Some(environment) => limit.contains(&format!("in environment `{environment}` (")),
        None => limit.contains("without the stage's environment"),
    })
}

/// Regression: on GitLab the first stage's role (no `environment`) admits every later stage's
/// deploy job, but `explain` listed only the first of them (`staging`, not `production`).
/// Every claim set the proof finds admitted is listed, per stage.
#[test]
fn explain_lists_every_job_a_gitlab_role_cannot_tell_apart() {
    let stages = [
        ("dev", None),
        ("qa", None),
        ("staging", Some("staging")),
        ("prod", Some("production")),
        ("prod-eu", Some("production")),
    ];
    let mut text =
        "version: 1\napp: sam-app\nsource:\n  gitlab:\n    project: octo-group/sam-app\nstages:\n"
            .to_owned();
    for (index, (name, environment)) in stages.iter().enumerate() {
        text.push_str(&format!(
            "  - name: {name}\n    account: '{:012}'\n    region: us-east-1\n",
            100_000_000_000_u64 + index as u64
        ));
        if let Some(environment) = environment {
            text.push_str(&format!("    environment: {environment}\n"));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_sam_template(dir.path());
    let config = dir.path().join("sampipe.yaml");
    std::fs::write(&config, &text).expect("write config");
    let (code, stdout, stderr) = sampipe(&[
        "explain",
        "-c",
        &config.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let map: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let roles = map["stages"].as_array().expect("stages");
    assert_eq!(roles.len(), stages.len());
    for (role, (name, own)) in roles.iter().zip(stages) {
        assert_eq!(role["stage"], name);
        let limits: Vec<String> = role["limits"]
            .as_array()
            .expect("limits")
            .iter()
            .map(|l| l["admitted"].as_str().expect("admitted").to_owned())
            .collect();
        for (other, environment) in stages.iter().filter(|(other, _)| *other != name) {
            assert!(
                gitlab_limit_lists(&limits, own, other, *environment),
                "stage `{name}` does not list the jobs of stage `{other}`: {limits:#?}"
            );
        }
    }
    // And as people read it: the first stage names both later environments.
    let (_, text, _) = sampipe(&["explain", "-c", &config.display().to_string()]);
    let dev = &text[text.find("stage dev ").expect("stage dev")..];
    let dev = &dev[..dev.find("\nstage ").expect("next stage")];
    for environment in ["staging", "production"] {
        assert!(
            dev.contains(&format!("a job on `main` in environment `{environment}`")),
            "{dev}"
        );
    }
}

#[test]
fn trust_answers_for_gitlab_and_bitbucket_subjects() {
    let ask = |name: &str, stage: &str, subject: &str| {
        sampipe(&[
            "trust",
            "-c",
            &fixture(name),
            "--stage",
            stage,
            "--subject",
            subject,
        ])
        .0
    };
    // GitLab: the branch is in `sub`; the project part may be left out.
    assert_eq!(ask("gitlab", "prod", "ref_type:branch:ref:main"), 0);
    assert_eq!(ask("gitlab", "prod", "ref_type:tag:ref:main"), 1);
    assert_eq!(ask("gitlab", "prod", "ref_type:branch:ref:feature-x"), 1);
    assert_eq!(ask("gitlab", "dev", "ref_type:branch:ref:feature-x"), 1);
    assert_eq!(
        ask(
            "gitlab",
            "dev",
            "project_path:attacker/sam-app:ref_type:branch:ref:main"
        ),
        1
    );
    // Bitbucket: the environment is in `sub`, the branch is not.
    let production =
        "{9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d}:{11111111-2222-4333-8444-555555555555}";
    let test = "{0f1e2d3c-4b5a-4968-8776-655443322110}:{11111111-2222-4333-8444-555555555555}";
    assert_eq!(ask("bitbucket-environments", "production", production), 0);
    assert_eq!(ask("bitbucket-environments", "production", test), 1);
    assert_eq!(
        ask(
            "bitbucket-environments",
            "production",
            "{11111111-2222-4333-8444-555555555555}"
        ),
        1
    );
}

#[test]
fn explain_json_lists_every_stage_with_jobs_and_denials() {
    let (code, stdout, _) = sampipe(&["explain", "-c", &two_stages(), "--format", "json"]);
    assert_eq!(code, 0);
    let map: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let stages = map["stages"].as_array().expect("stages");
    let roles: Vec<(&str, &str)> = stages
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap_or(""),
                s["role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("dev", "pipeline"),
            ("dev", "feature"),
            ("prod", "pipeline")
        ]
    );
    assert_eq!(stages[1]["jobs"][0]["job"], "deploy-feature");
    assert_eq!(stages[2]["jobs"][0]["job"], "deploy-prod");
    assert_eq!(
        stages[2]["jobs"][0]["claims"]["sub"],
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
        ("dev", "ref:refs/heads/feature-login", 1, "DENY"),
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
    // Feature branches reach only the first stage's feature role.
    let feature = |stage: &str, subject: &str| {
        sampipe(&[
            "trust",
            "-c",
            &two_stages(),
            "--stage",
            stage,
            "--role",
            "feature",
            "--subject",
            subject,
        ])
    };
    let (code, stdout, _) = feature("dev", "ref:refs/heads/feature-login");
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with(
            "ALLOW: stage `dev`, role arn:aws:iam::111111111111:role/sam-app-dev-feature-role"
        ),
        "{stdout}"
    );
    assert_eq!(feature("dev", "ref:refs/heads/hotfix").0, 1);
    let (code, _, stderr) = feature("prod", "ref:refs/heads/feature-login");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("stage `prod` has no feature-branch role"),
        "{stderr}"
    );
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

/// One generated stage: name, account index, environment, image repository, manual gate.
type GeneratedStage = (String, usize, Option<String>, bool, bool);

/// The CI providers, as generated configs name them.
#[derive(Clone, Copy, Debug)]
enum Ci {
    GitHub,
    GitLab,
    Bitbucket,
}

/// A valid config built from generated parts.
fn config(
    ci: Ci,
    stages: &[GeneratedStage],
    feature: Option<&str>,
    ids: Option<(u64, u64)>,
    branch: &str,
) -> String {
    let mut text = format!("version: 1\napp: app\nbranch: {branch}\nsource:\n");
    match ci {
        Ci::GitHub => {
            text.push_str("  github:\n    repository: octo-org/app\n");
            if let Some((owner, repo)) = ids {
                text.push_str(&format!(
                    "    owner_id: {owner}\n    repository_id: {repo}\n"
                ));
            }
        }
        Ci::GitLab => {
            text.push_str("  gitlab:\n    project: octo-group/sub/app\n");
            if ids.is_some() {
                text.push_str("    url: https://git.example.com/gitlab\n    audience: sts.amazonaws.com\n");
            }
        }
        Ci::Bitbucket => text.push_str("  bitbucket:\n    workspace: octo\n    workspace_uuid: '{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}'\n    repository_uuid: '{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}'\n"),
    }
    if let Some(glob) = feature {
        text.push_str(&format!("feature_branches: '{glob}'\n"));
    }
    text.push_str("stages:\n");
    for (index, (name, account, environment, image, manual)) in stages.iter().enumerate() {
        text.push_str(&format!("  - name: {name}\n    account: '{:012}'\n    region: eu-west-1\n    image_repository: {image}\n", 100_000_000_000 + account));
        if let Some(environment) = environment {
            match ci {
                // Bitbucket runs an environment once per pipeline: one per stage, with a UUID.
                Ci::Bitbucket => text.push_str(&format!(
                    "    environment: {environment}-{index}\n    environment_uuid: '{{0f1e2d3c-4b5a-4968-8776-{index:012}}}'\n"
                )),
                _ => text.push_str(&format!("    environment: {environment}\n")),
            }
        }
        if *manual && !matches!(ci, Ci::GitHub) {
            text.push_str("    manual_approval: true\n");
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// For any valid config of any provider, synth proves the contract: every job is admitted
    /// by its role and every hostile claim set is denied by every role (synthesize fails
    /// otherwise), except the sets the provider's token cannot express, which are reported as
    /// limits with a control.
    #[test]
    fn every_generated_config_is_proven(
        ci in prop::sample::select(vec![Ci::GitHub, Ci::GitLab, Ci::Bitbucket]),
        count in 1usize..5,
        accounts in prop::collection::vec(0usize..3, 5),
        environments in prop::collection::vec(prop::option::of("[a-z]{1,8}"), 5),
        images in prop::collection::vec(any::<bool>(), 5),
        manual in prop::collection::vec(any::<bool>(), 5),
        feature in prop::option::of(prop::sample::select(vec!["feature*", "feature/**", "*-preview", "dev-*"])),
        ids in prop::option::of((1u64..10_000_000, 1u64..10_000_000)),
        branch in prop::sample::select(vec!["main", "trunk", "release/prod"]),
    ) {
        let stages: Vec<GeneratedStage> = (0..count)
            .map(|i| (format!("s{i}"), accounts[i], environments[i].clone(), images[i], manual[i]))
            .collect();
        let text = config(ci, &stages, feature, ids, branch);
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
        prop_assert_eq!(synthesis.trust.stages.len(), count + usize::from(feature.is_some()));
        let denied = |stage: &sampipe::trust::prove::StageTrust, what: &str| {
            stage.denied.iter().any(|d| d.starts_with(what))
        };
        let limited = |stage: &sampipe::trust::prove::StageTrust, what: &str| {
            stage.limits.iter().any(|l| l.admitted.starts_with(what))
        };
        for stage in &synthesis.trust.stages {
            let index: usize = stage.stage.trim_start_matches('s').parse().expect("stage s<i>");
            let pipeline_role = stage.role == "pipeline";
            // Feature jobs deploy in no environment.
            let environment = if pipeline_role { stages[index].2.clone() } else { None };
            // What every provider's token can express is denied everywhere.
            prop_assert!(denied(stage, "a token without `sub`"), "{:?}", stage.denied);
            prop_assert!(denied(stage, "a token for another audience"), "{:?}", stage.denied);
            prop_assert!(stage.limits.iter().all(|l| !l.control.is_empty()));
            match ci {
                Ci::GitHub => {
                    prop_assert!(stage.denied.len() >= 8, "{:?}", stage.denied);
                    prop_assert!(stage.limits.is_empty(), "{:?}", stage.limits);
                }
                Ci::GitLab => {
                    for what in ["another group's project", "a merge request from a fork", "a tag", "a project whose path extends"] {
                        prop_assert!(denied(stage, what), "{what}: {:?}", stage.denied);
                    }
                    if pipeline_role && feature.is_some() {
                        prop_assert!(denied(stage, "feature branch"), "{:?}", stage.denied);
                    }
                    // The environment is not in GitLab's `sub`.
                    if environment.is_some() {
                        prop_assert!(limited(stage, "a job on"), "{:?}", stage.limits);
                    }
                    // Every other stage's jobs on the deployment branch are admitted by a
                    // pipeline role, and listed.
                    if pipeline_role {
                        let limits: Vec<String> = stage.limits.iter().map(|l| l.admitted.clone()).collect();
                        for (other, (name, _, other_environment, _, _)) in stages.iter().enumerate() {
                            if other != index {
                                prop_assert!(
                                    gitlab_limit_lists(&limits, environment.as_deref(), name, other_environment.as_deref()),
                                    "stage `{}` does not list stage `{}`: {:?}", stage.stage, name, limits
                                );
                            }
                        }
                    }
                }
                Ci::Bitbucket => {
                    prop_assert!(denied(stage, "another repository"), "{:?}", stage.denied);
                    // The branch is never in Bitbucket's `sub`.
                    prop_assert!(limited(stage, "a pull-request pipeline step"), "{:?}", stage.limits);
                    // A deployment environment is in `sub`, and so is its absence: a role
                    // trusts steps in its environment, or steps in none.
                    prop_assert!(denied(stage, "a step deploying to"), "{:?}", stage.denied);
                    if environment.is_some() {
                        prop_assert!(denied(stage, "a step without a deployment environment"), "{:?}", stage.denied);
                    }
                }
            }
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
