//! What a team's own additions to its pipeline did, the same on every CI system: python-api's
//! `sampipe.yaml` gives every job `BUILD_LABEL`, labels the build in an `after_build` step
//! (a file the deploy ships inside the function's code), checks a release token (a secret the
//! CI system stores) before the prod deploy, runs a job with dev's role between dev and prod,
//! and its integration tests call the deployed API at the `STACK_OUTPUT_ITEMSAPI` they get.

use serde_json::Value;

use super::github::RunReport;
use super::{stacks, LocalAws};
use sampipe::pipeline::StagePlan;

/// The app whose config has the additions checked here.
pub(crate) const APP: &str = "python-api";

/// The release token, as the team stores it in the CI system (a GitHub secret, a masked
/// GitLab variable, a secured Bitbucket variable). The config holds only its SHA-256; the
/// value meets GitLab's masking rules.
pub(crate) const RELEASE_TOKEN: (&str, &str) = ("RELEASE_TOKEN", "rel3ase-T0ken_for+sampipe=e2e");

/// The value of `workflow.env.BUILD_LABEL` in python-api's config, as the label file holds it.
const BUILD_LABEL: &str = "items-api, built by the pipeline\n";

/// Checks python-api's additions in `report`, a push to the deployment branch; `mask` is what
/// the CI system shows in place of a secret's value (none when, as on Bitbucket, that text is
/// also the variable's name in the echoed script). Returns what it proved.
pub(crate) fn assert_python_api_additions(
    label: &str,
    aws: &LocalAws,
    stages: &[StagePlan],
    report: &RunReport,
    mask: Option<&str>,
) -> Vec<String> {
    let summary = report.summary();
    let (dev, prod) = (&stages[0], &stages[stages.len() - 1]);

    // 1. The after-build step's file is in the code every stage runs.
    for stage in stages {
        let code = stacks::deployed_code(aws, stage, &stage.stack_name);
        let (function, zip) = code
            .functions
            .iter()
            .find(|(name, _)| name.contains("ItemsFunction"))
            .unwrap_or_else(|| panic!("{label}: no ItemsFunction in {}", stage.stack_name));
        let zip = zip.as_ref().unwrap_or_else(|| {
            panic!(
                "{label}: {function} runs code none of {:?} holds",
                code.uploaded
            )
        });
        assert_eq!(
            stacks::zip_member(zip, "BUILD_LABEL").as_deref(),
            Some(BUILD_LABEL),
            "{label}: {function} in {} must ship the file the after-build step wrote",
            stage.name
        );
    }

    // 2. The secret reached the prod deploy's step (only that one: `stages: [prod]`), and no
    //    log shows it, nor its mask (nothing printed it).
    let (secret, value) = RELEASE_TOKEN;
    let prod_log = report.log(&format!("deploy-{}", prod.name));
    assert!(
        prod_log.contains("The release token matches."),
        "{label}: the prod deploy's step must have had {secret}:\n{prod_log}"
    );
    assert!(
        !report
            .log(&format!("deploy-{}", dev.name))
            .contains("release token"),
        "{label}: the release-token step is for prod only"
    );
    for job in &report.jobs {
        assert!(
            !job.log.contains(value),
            "{label}: the log of {} shows {secret}'s value",
            job.id
        );
        if let Some(mask) = mask {
            assert!(
                !job.log.contains(mask),
                "{label}: the log of {} shows {mask}: something printed a secret",
                job.id
            );
        }
    }

    // 3. The added job ran with dev's role between the dev and prod deploys, and had the
    //    stack's name, region and outputs.
    let position = |job: &str| {
        report
            .jobs
            .iter()
            .position(|j| j.id == job)
            .unwrap_or_else(|| panic!("{label}: no job {job}:\n{summary}"))
    };
    let deploy_dev = position(&format!("deploy-{}", dev.name));
    let check = position("check-dev");
    let deploy_prod = position(&format!("deploy-{}", prod.name));
    assert!(
        deploy_dev < check && check < deploy_prod,
        "{label}: check-dev runs after deploy-dev and before deploy-prod:\n{summary}"
    );
    let stack = stacks::stack(aws, dev, &dev.stack_name).expect("the dev stack");
    let table = output(&stack, "ItemsTableName");
    let said = format!("{} in {} is ", dev.stack_name, dev.region);
    let log = report.log("check-dev");
    assert!(
        log.contains(&said) && log.contains(&format!("; its table is {table}.")),
        "{label}: check-dev must describe the dev stack with its role and outputs:\n{log}"
    );

    // 4. The integration tests called the deployed API with the output they were given:
    //    they ran (not skipped), and the item they stored is in dev's table.
    let log = report.log("integration-test");
    assert!(
        log.contains("test_put_then_get") && log.contains("... ok") && !log.contains("skipped"),
        "{label}: the integration test must have called the deployed API:\n{log}"
    );
    let admin = aws.admin(&dev.account);
    let items = aws.aws(
        &admin,
        &dev.region,
        &["dynamodb", "scan", "--table-name", &table],
    );
    let stored = items["Items"].as_array().map_or(0, Vec::len);
    assert!(
        stored > 0,
        "{label}: the integration test's item must be in {table}: {items}"
    );

    vec![
        format!("BUILD_LABEL shipped to every stage, {secret} checked on prod and never logged"),
        format!("check-dev between the deploys, integration test stored {stored} item(s) through the API"),
    ]
}

/// Checks python-api's dependency cache from its build jobs' logs: the first push fills pip's
/// cache folder (under the checkout, where the CI system caches it), the second restores it,
/// and a feature branch's build restores it only where the CI system lets a branch read the
/// default branch's entries (GitHub; GitLab keys an entry by branch).
pub(crate) fn assert_dependency_cache(
    label: &str,
    first_build: &str,
    second_build: &str,
    feature_build: &str,
    feature_reads_default: bool,
    branch: &str,
) -> String {
    let uses = "/.aws-sam/dependencies/pip\n";
    assert!(
        first_build.contains("pip keeps its downloads in ") && first_build.contains(uses),
        "{label}: pip must keep its downloads in the cached folder:\n{first_build}"
    );
    assert!(
        !first_build.contains("Restored the dependency cache"),
        "{label}: the first build has no cache to restore:\n{first_build}"
    );
    let restored = format!("Restored the dependency cache filled on {branch}.");
    assert!(
        second_build.contains(&restored),
        "{label}: the second build must restore what the first saved:\n{second_build}"
    );
    assert_eq!(
        feature_build.contains(&restored),
        feature_reads_default,
        "{label}: a feature branch's build {} the deployment branch's cache:\n{feature_build}",
        if feature_reads_default {
            "restores"
        } else {
            "must not restore"
        }
    );
    format!(
        "dependency cache saved and restored on {branch}, {} on a feature branch",
        if feature_reads_default {
            "restored from the deployment branch's entry"
        } else {
            "not restored (an entry per branch)"
        }
    )
}

fn output(stack: &Value, key: &str) -> String {
    stack["Outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["OutputKey"] == key)
        .and_then(|o| o["OutputValue"].as_str())
        .unwrap_or_else(|| panic!("no output {key} in {stack}"))
        .to_owned()
}
