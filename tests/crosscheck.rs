//! The two outputs agree, read back from their text alone (not from the model that made them):
//! every role, region, account, bucket, stack and image repository a deploy job uses is the one
//! template.yaml creates for that stage, and each deploy job assumes only its own stage's role.

use serde_yaml::Value;

use crate::common::{file, fixture_name, fixtures, synth_fixture};

fn get<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| &v[*key])
}

fn string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The `with:` of every configure-aws-credentials step of a job.
fn credential_steps(job: &Value) -> Vec<&Value> {
    job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .filter(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.starts_with("aws-actions/configure-aws-credentials@"))
        })
        .map(|step| &step["with"])
        .collect()
}

/// The env of the step that runs `sam deploy` (or `sam delete`).
fn sam_step_env<'a>(job: &'a Value, command: &str) -> &'a Value {
    let step = job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|step| {
            step["run"]
                .as_str()
                .is_some_and(|run| run.contains(command))
        })
        .unwrap_or_else(|| panic!("no `{command}` step"));
    &step["env"]
}

#[test]
fn each_deploy_job_uses_exactly_its_stage_resources() {
    for path in fixtures() {
        let name = fixture_name(&path);
        let synthesis = synth_fixture(&path);
        if synthesis.pipeline.provider.github().is_none() {
            continue; // `each_ci_job_assumes_exactly_its_stage_role` reads the other CI files.
        }
        let template: Value =
            serde_yaml::from_str(file(&synthesis, "template.yaml")).expect("template");
        let workflow: Value =
            serde_yaml::from_str(file(&synthesis, "pipeline.yaml")).expect("workflow");
        let stages = get(&template, &["Mappings", "Stages"])
            .as_mapping()
            .expect("Stages mapping");
        let allowed = get(&template, &["Parameters", "Stage", "AllowedValues"])
            .as_sequence()
            .expect("AllowedValues");
        assert_eq!(
            allowed.len(),
            stages.len(),
            "{name}: one mapping row per stage"
        );

        // The role resources take their names from the mapping rows checked below.
        let role_name = get(
            &template,
            &[
                "Resources",
                "PipelineExecutionRole",
                "Properties",
                "RoleName",
            ],
        );
        assert!(
            serde_yaml::to_string(role_name)
                .expect("yaml")
                .contains("PipelineExecutionRoleName"),
            "{name}: role name must come from the Stages mapping"
        );

        let mut assumed_roles = Vec::new();
        for (stage, row) in stages {
            let stage = string(stage);
            let account = string(&row["Account"]);
            let region = string(&row["Region"]);
            let role_arn = format!(
                "arn:{}:iam::{account}:role/{}",
                partition(&region),
                string(&row["PipelineExecutionRoleName"])
            );
            let job = &workflow["jobs"][format!("deploy-{stage}").as_str()];
            assert!(job.is_mapping(), "{name}: no deploy job for `{stage}`");
            let credentials = credential_steps(job);
            assert_eq!(
                credentials.len(),
                1,
                "{name}: deploy-{stage} must assume exactly one role"
            );
            let with = credentials[0];
            assert_eq!(
                string(&with["role-to-assume"]),
                role_arn,
                "{name}: deploy-{stage} role"
            );
            assert_eq!(
                string(&with["aws-region"]),
                region,
                "{name}: deploy-{stage} region"
            );
            assert_eq!(
                string(&with["allowed-account-ids"]),
                account,
                "{name}: deploy-{stage} account"
            );
            assumed_roles.push(role_arn);

            let env = sam_step_env(job, "sam deploy");
            assert_eq!(
                string(&env["STACK_NAME"]),
                string(&row["ApplicationStackName"]),
                "{name}: {stage} stack"
            );
            assert_eq!(
                string(&env["ARTIFACTS_BUCKET"]),
                string(&row["ArtifactsBucketName"]),
                "{name}: {stage} bucket"
            );
            assert_eq!(string(&env["REGION"]), region, "{name}: {stage} region");
            assert_eq!(
                string(&env["CLOUDFORMATION_EXECUTION_ROLE"]),
                string(&row["CloudFormationExecutionRoleArn"]),
                "{name}: {stage} execution role"
            );
            // The boundary the deploy adds is the one this stage's template creates (and its
            // execution role requires); a reused execution role comes without one.
            match string(&row["PermissionsBoundaryName"]).as_str() {
                "none" => assert!(
                    env.get("PERMISSIONS_BOUNDARY").is_none(),
                    "{name}: {stage} has no boundary"
                ),
                boundary => assert_eq!(
                    string(&env["PERMISSIONS_BOUNDARY"]),
                    format!(
                        "arn:{}:iam::{account}:policy/{boundary}",
                        partition(&region)
                    ),
                    "{name}: {stage} boundary"
                ),
            }
            match row
                .get("ImageRepositoryName")
                .map(string)
                .filter(|n| n != "none")
            {
                Some(repository) => {
                    let suffix = if region.starts_with("cn-") {
                        "amazonaws.com.cn"
                    } else {
                        "amazonaws.com"
                    };
                    assert_eq!(
                        string(&env["IMAGE_REPOSITORY"]),
                        format!("{account}.dkr.ecr.{region}.{suffix}/{repository}"),
                        "{name}: {stage} image repository"
                    );
                }
                None => assert!(
                    env.get("IMAGE_REPOSITORY").is_none(),
                    "{name}: {stage} has no image repository"
                ),
            }
        }

        // Feature jobs assume the first stage's role; a job after a stage's deploy (the
        // integration tests, a job of the user's) may assume that stage's role, and only in
        // that stage's account; no other job assumes any role.
        let mut last_deploy: Option<String> = None;
        for (job_id, job) in workflow["jobs"].as_mapping().expect("jobs") {
            let job_id = string(job_id);
            let credentials = credential_steps(job);
            if job_id.starts_with("deploy-") && !job_id.ends_with("feature") {
                last_deploy = Some(job_id.clone());
                continue;
            }
            if let (false, Some(deploy)) = (
                credentials.is_empty() || job_id.ends_with("-feature"),
                &last_deploy,
            ) {
                let deployed = &workflow["jobs"][deploy.as_str()];
                let deploy_credentials = credential_steps(deployed);
                assert_eq!(credentials.len(), 1, "{name}: {job_id}");
                for key in ["role-to-assume", "aws-region", "allowed-account-ids"] {
                    assert_eq!(
                        string(&credentials[0][key]),
                        string(&deploy_credentials[0][key]),
                        "{name}: {job_id} must assume the role {deploy} assumed ({key})"
                    );
                }
                assert_eq!(
                    job["environment"], deployed["environment"],
                    "{name}: {job_id} runs in {deploy}'s environment, so its subject is the same"
                );
                continue;
            }
            if job_id.ends_with("-feature") {
                assert_eq!(credentials.len(), 1, "{name}: {job_id}");
                assert_eq!(
                    string(&credentials[0]["role-to-assume"]),
                    feature_role_arn(&template, &assumed_roles[0]),
                    "{name}: {job_id} must use the first stage's feature role"
                );
                if job_id == "deploy-feature" {
                    let boundary = string(get(
                        &template,
                        &[
                            "Resources",
                            "FeaturePermissionsBoundary",
                            "Properties",
                            "ManagedPolicyName",
                        ],
                    ));
                    let (account_part, _) =
                        assumed_roles[0].rsplit_once(":role/").expect("a role ARN");
                    assert_eq!(
                        string(&sam_step_env(job, "sam deploy")["PERMISSIONS_BOUNDARY"]),
                        format!("{account_part}:policy/{boundary}"),
                        "{name}: feature stacks get the feature boundary"
                    );
                }
            } else {
                assert!(
                    credentials.is_empty(),
                    "{name}: `{job_id}` must not assume any role"
                );
                let id_token = &job["permissions"]["id-token"];
                assert!(
                    id_token.is_null(),
                    "{name}: `{job_id}` must not get id-token"
                );
            }
        }
        assert!(
            workflow["permissions"]["id-token"].is_null(),
            "{name}: id-token must not be granted workflow-wide"
        );
    }
}

/// GitLab and Bitbucket, read back from the CI file's text: every deploy job of stage S sets
/// `AWS_ROLE_ARN` to the role the template names for S (and checks S's account), and every
/// job that gets an OIDC token is a deploy job.
/// The first stage's feature role, in the account of `first_role` (that stage's pipeline
/// role): named by the template's `FeatureRole`.
fn feature_role_arn(template: &Value, first_role: &str) -> String {
    let name = string(get(
        template,
        &["Resources", "FeatureRole", "Properties", "RoleName"],
    ));
    let (account_part, _) = first_role.rsplit_once(":role/").expect("a role ARN");
    format!("{account_part}:role/{name}")
}

#[test]
fn each_ci_job_assumes_exactly_its_stage_role() {
    let mut checked = 0;
    for path in fixtures() {
        let name = fixture_name(&path);
        let synthesis = synth_fixture(&path);
        let provider = &synthesis.pipeline.provider;
        if provider.github().is_some() {
            continue;
        }
        let template: Value =
            serde_yaml::from_str(file(&synthesis, "template.yaml")).expect("template");
        let ci: Value = serde_yaml::from_str(file(&synthesis, provider.file_name())).expect("ci");
        let stages = get(&template, &["Mappings", "Stages"])
            .as_mapping()
            .expect("Stages mapping");
        // Job id → (role ARN, script text), for every job or step that gets a token.
        let mut role_jobs: Vec<(String, String, String)> = Vec::new();
        if let Some(jobs) = ci.as_mapping() {
            for (id, job) in jobs {
                if job.get("id_tokens").is_some() {
                    let script = serde_yaml::to_string(&job["script"]).expect("yaml");
                    role_jobs.push((
                        string(id),
                        string(&job["variables"]["AWS_ROLE_ARN"]),
                        script,
                    ));
                }
            }
        }
        let mut steps: Vec<&Value> = Vec::new();
        for group in ["branches", "custom"] {
            for (_, pipeline) in ci["pipelines"][group].as_mapping().into_iter().flatten() {
                for item in pipeline.as_sequence().into_iter().flatten() {
                    steps.extend(item.get("step"));
                    // A deployment stage's steps.
                    steps.extend(
                        item.get("stage")
                            .and_then(|stage| stage["steps"].as_sequence())
                            .into_iter()
                            .flatten()
                            .filter_map(|item| item.get("step")),
                    );
                }
            }
        }
        for step in steps {
            if step.get("oidc").is_some_and(|v| v == &Value::Bool(true)) {
                let script = serde_yaml::to_string(&step["script"]).expect("yaml");
                let id = string(&step["name"]);
                let id = id.rsplit_once('(').map_or(id.clone(), |(_, rest)| {
                    rest.trim_end_matches(')').to_owned()
                });
                let role = script
                    .split("AWS_ROLE_ARN='")
                    .nth(1)
                    .and_then(|rest| rest.split('\'').next())
                    .unwrap_or_default()
                    .to_owned();
                role_jobs.push((id, role, script));
            }
        }
        assert!(!role_jobs.is_empty(), "{name}: no job gets a token");
        // A job that is neither a deploy nor a feature job follows a deploy in file order and
        // may assume only that deploy's stage's role.
        let mut last_stage: Option<String> = None;
        for (id, role, script) in &role_jobs {
            let stage = id.strip_prefix("deploy-").filter(|s| *s != "feature");
            let stage = match (stage, id.ends_with("-feature")) {
                (Some(stage), _) => {
                    last_stage = Some(stage.to_owned());
                    stage.to_owned()
                }
                // Feature jobs use the first stage's role.
                (None, true) => string(stages.keys().next().expect("a stage")),
                (None, false) => last_stage
                    .clone()
                    .unwrap_or_else(|| panic!("{name}: {id} gets a token before any deploy")),
            };
            let row = &stages[stage.as_str()];
            let account = string(&row["Account"]);
            let expected = format!(
                "arn:{}:iam::{account}:role/{}",
                partition(&string(&row["Region"])),
                string(&row["PipelineExecutionRoleName"])
            );
            let expected = if id.ends_with("-feature") {
                feature_role_arn(&template, &expected)
            } else {
                expected
            };
            assert_eq!(role, &expected, "{name}: {id} assumes the wrong role");
            assert!(
                script.contains(&account),
                "{name}: {id} does not check account {account}"
            );
        }
        for (stage, _) in stages {
            let job = format!("deploy-{}", string(stage));
            assert!(
                role_jobs.iter().any(|(id, _, _)| *id == job),
                "{name}: no {job}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} GitLab and Bitbucket fixtures");
}
