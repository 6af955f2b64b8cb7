//! Each bundled app, end to end on GitHub Actions: synth; deploy every stage's pipeline
//! resources with the commands `synth` printed; run the workflow for a push to the
//! deployment branch, again (a no-op), for a feature branch and for its deletion; and check
//! what the local AWS then holds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::github::{Event, Outcome, Repository, RunReport, Runner};
use super::{additions, bundled_apps, copy_dir, stacks, LocalAws};
use crate::common::{printed, sampipe};
use sampipe::pipeline::{RoleKind, StagePlan, Synthesis};

/// One app, synthesized into a scratch copy of its repository.
struct App {
    name: String,
    repo: tempfile::TempDir,
    synthesis: Synthesis,
    /// What `sampipe synth` printed.
    printed: String,
}

impl App {
    fn synth(source: &Path) -> Self {
        let name = source
            .file_name()
            .expect("app name")
            .to_string_lossy()
            .into_owned();
        let repo = tempfile::tempdir().expect("repo dir");
        copy_dir(source, repo.path());
        let config = repo.path().join("sampipe.yaml");
        let out = repo.path().join("pipeline");
        let (code, stdout, stderr) = sampipe(&[
            "synth",
            "-c",
            &config.display().to_string(),
            "-o",
            &out.display().to_string(),
        ]);
        assert_eq!(code, 0, "{name}: synth failed:\n{stdout}{stderr}");
        let loaded = sampipe::config::load_file(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let synthesis = sampipe::pipeline::synthesize(&loaded.config)
            .unwrap_or_else(|d| panic!("{name}: {}", loaded.source.render(&d)));
        Self {
            name,
            repo,
            synthesis,
            printed: stdout,
        }
    }

    /// The CI file as the CI system runs it: where the workflow lives in the repository.
    fn workflow(&self) -> String {
        let p = &self.synthesis.pipeline;
        let running = self.repo.path().join(&p.workflow_path);
        if running.is_file() {
            return std::fs::read_to_string(running).expect("workflow");
        }
        // Not installed by synth: commit the copy from the out dir where it runs, as the
        // printed instructions say.
        let copy = self.repo.path().join("pipeline/pipeline.yaml");
        let text = std::fs::read_to_string(&copy).expect("pipeline/pipeline.yaml");
        std::fs::create_dir_all(running.parent().expect("workflow dir")).expect("mkdir");
        std::fs::write(&running, &text).expect("install workflow");
        text
    }

    /// Deploys each stage's pipeline resources with the commands synth printed, after
    /// showing that the first stage's command is refused in another account or region.
    fn deploy_pipeline_resources(&self, aws: &LocalAws) {
        let stages = &self.synthesis.pipeline.stages;
        let commands = stacks::printed_deploy_commands(&self.name, &self.printed, stages);
        // The template guards each stage's account and region (its Rules): the first
        // stage's command, run with another account's credentials or into another region,
        // is refused before anything is created.
        let first = &stages[0];
        let wrong_region = if first.region == "eu-north-1" {
            "ap-south-1"
        } else {
            "eu-north-1"
        };
        for (account, command, refusal) in [
            ("999999999999", commands[0].clone(), "belongs in account"),
            (
                first.account.as_str(),
                commands[0].replace(
                    &format!("--region {}", first.region),
                    &format!("--region {wrong_region}"),
                ),
                "belongs in region",
            ),
        ] {
            let output = stacks::run_deploy_command(aws, account, &command, self.repo.path());
            let said = printed(&output);
            assert!(
                !output.status.success() && said.contains(refusal),
                "{}: `{command}` with account {account} must be refused ({refusal}):\n{said}",
                self.name
            );
        }
        stacks::deploy_pipeline_resources(aws, &self.name, &commands, stages, self.repo.path());
    }

    fn runner<'a>(&self, aws: &'a LocalAws, repository: &'a Repository, run: &str) -> Runner<'a> {
        Runner {
            aws,
            repository,
            scratch: self.repo.path().join(".runs").join(run),
        }
    }

    fn repository(&self) -> Repository {
        let github = match &self.synthesis.pipeline.provider {
            sampipe::pipeline::Provider::GitHub(repository) => repository,
            other => panic!("{}: not a GitHub app: {other:?}", self.name),
        };
        Repository {
            full_name: github.full_name(),
            subject_prefix: github.subject_prefix(),
            ids: github.ids.unwrap_or((123_456, 456_789)),
            workflow_path: self.synthesis.pipeline.workflow_path.clone(),
            checkout: self.checkout(),
            default_branch: self.synthesis.pipeline.branch.clone(),
            // Kept across this app's runs, like the repository's cache on GitHub.
            cache: self.repo.path().join(".runs/actions-cache"),
            secrets: BTreeMap::from([(
                additions::RELEASE_TOKEN.0.to_owned(),
                additions::RELEASE_TOKEN.1.to_owned(),
            )]),
        }
    }

    /// The repository's files as `actions/checkout` gets them: the app without the scratch
    /// folders of this test.
    fn checkout(&self) -> std::path::PathBuf {
        let dir = self.repo.path().join(".checkout");
        if !dir.exists() {
            std::fs::create_dir_all(&dir).expect("checkout dir");
            let status = Command::new("bash")
                .args([
                    "-c",
                    "tar --exclude=./.runs --exclude=./.checkout -cf - . | tar -xf - -C .checkout",
                ])
                .current_dir(self.repo.path())
                .status()
                .expect("tar");
            assert!(status.success());
        }
        dir
    }
}

fn assert_outcomes(
    app: &str,
    what: &str,
    report: &RunReport,
    expected: &[(&str, Outcome)],
    aws: &LocalAws,
) {
    for (job, outcome) in expected {
        assert_eq!(
            report.outcome(job),
            Some(*outcome),
            "{app} ({what}): job `{job}`\n{}\n--- local AWS\n{}",
            report.summary(),
            aws.server_log()
        );
    }
}

#[test]
fn bundled_apps_deploy_end_to_end_on_github_actions() {
    let Some(aws) = LocalAws::start() else { return };
    let apps = bundled_apps();
    assert!(!apps.is_empty(), "no bundled apps in fixtures/apps/");
    let mut summary = Vec::new();
    for source in apps {
        aws.reset();
        let app = App::synth(&source);
        let pipeline = &app.synthesis.pipeline;
        if pipeline.stages.iter().any(|s| s.image_repository.is_some())
            && !stacks::docker_available()
        {
            // Image functions need a Docker daemon to build and push; this machine has none.
            super::skip_loudly(&format!(
                "{} on GitHub Actions: its image functions need a Docker daemon, and this machine has none",
                app.name
            ));
            summary.push(format!("{}: skipped, needs a Docker daemon", app.name));
            continue;
        }
        app.deploy_pipeline_resources(&aws);
        let workflow = app.workflow();
        let repository = app.repository();
        let deploy_jobs: Vec<String> = pipeline
            .stages
            .iter()
            .map(|s| format!("deploy-{}", s.name))
            .collect();

        // 1. A push to the deployment branch deploys every stage in order.
        let push = Event::Push {
            branch: pipeline.branch.clone(),
        };
        let report = app
            .runner(&aws, &repository, "push-1")
            .run(&workflow, &push);
        // Every job runs and succeeds except the feature-branch ones.
        let all_jobs = job_ids(&workflow);
        let expected: Vec<(&str, Outcome)> = all_jobs
            .iter()
            .map(|j| {
                let feature = j == "deploy-feature" || j == "delete-feature";
                (
                    j.as_str(),
                    if feature {
                        Outcome::Skipped
                    } else {
                        Outcome::Success
                    },
                )
            })
            .collect();
        assert!(
            expected.iter().any(|(j, _)| *j == "build"),
            "{}: a build job",
            app.name
        );
        assert_outcomes(&app.name, "push", &report, &expected, &aws);
        stacks::assert_stages_deployed(&aws, &pipeline.stages, &app.name);
        for stage in &pipeline.stages {
            let job = format!("deploy-{}", stage.name);
            summary.extend(
                stacks::assert_bounded(
                    &aws,
                    &app.name,
                    stage,
                    RoleKind::Pipeline,
                    &stage.stack_name,
                    report.log(&job),
                )
                .map(|checked| format!("{}: {checked}", app.name)),
            );
        }

        if app.name == additions::APP {
            summary.extend(
                additions::assert_python_api_additions(
                    &app.name,
                    &aws,
                    &pipeline.stages,
                    &report,
                    Some("***"),
                )
                .into_iter()
                .map(|checked| format!("{}: {checked}", app.name)),
            );
        }
        for stage in &pipeline.stages {
            let checked = assert_code_from_artifacts(&aws, stage, &stage.stack_name);
            assert!(
                checked > 0 || !app_has_zip_functions(&app),
                "{}/{}: no Lambda function found in the stack",
                app.name,
                stage.name
            );
        }

        let first_build = report.log("build").to_owned();
        // 2. The same commit again: the build is reproducible, so no stage changes.
        let again = app
            .runner(&aws, &repository, "push-2")
            .run(&workflow, &push);
        assert_outcomes(&app.name, "second push", &again, &expected, &aws);
        for job in &deploy_jobs {
            assert!(
                again.log(job).contains("No changes to deploy"),
                "{}: the second run of {job} must change nothing:\n{}",
                app.name,
                again.log(job)
            );
        }

        // 3. Feature branches: a push deploys the branch's stack to the first stage only,
        //    deleting the branch deletes it.
        if let Some(glob) = &pipeline.feature_branches {
            let branch = format!("{}login", glob.trim_end_matches('*'));
            let first = &pipeline.stages[0];
            let report = app.runner(&aws, &repository, "feature-push").run(
                &workflow,
                &Event::Push {
                    branch: branch.clone(),
                },
            );
            let mut expected = vec![
                ("build", Outcome::Success),
                ("deploy-feature", Outcome::Success),
            ];
            expected.extend(deploy_jobs.iter().map(|j| (j.as_str(), Outcome::Skipped)));
            assert_outcomes(&app.name, "feature push", &report, &expected, &aws);
            if pipeline.workflow.cache && app.name == additions::APP {
                summary.push(format!(
                    "{}: {}",
                    app.name,
                    additions::assert_dependency_cache(
                        &app.name,
                        &first_build,
                        again.log("build"),
                        report.log("build"),
                        true,
                        &pipeline.branch,
                    )
                ));
            }
            let live = stacks::list_stacks(&aws, first);
            let feature_stack = live
                .iter()
                .find(|s| s.contains("feature"))
                .unwrap_or_else(|| panic!("{}: no feature stack among {live:?}", app.name))
                .clone();
            summary.extend(
                stacks::assert_bounded(
                    &aws,
                    &app.name,
                    first,
                    RoleKind::Feature,
                    &feature_stack,
                    report.log("deploy-feature"),
                )
                .map(|checked| format!("{}: {checked}", app.name)),
            );
            let deleted = app.runner(&aws, &repository, "feature-delete").run(
                &workflow,
                &Event::DeleteBranch {
                    branch,
                    default_branch: pipeline.branch.clone(),
                },
            );
            assert_outcomes(
                &app.name,
                "branch deleted",
                &deleted,
                &[
                    ("delete-feature", Outcome::Success),
                    ("build", Outcome::Skipped),
                ],
                &aws,
            );
            assert!(
                stacks::stack(&aws, first, &feature_stack).is_none(),
                "{}: {feature_stack} must be gone after the branch is deleted",
                app.name
            );
            summary.push(format!(
                "{}: feature stack {feature_stack} created and deleted",
                app.name
            ));
        }

        // 4. The trust is real: the last stage's deploy job, moved out of its environment,
        //    presents another subject and is refused by the local STS.
        let last = pipeline.stages.last().expect("a stage");
        if last.environment.is_some() {
            let tampered = workflow.replace(
                &format!(
                    "    environment: {}\n",
                    last.environment.as_deref().unwrap_or_default()
                ),
                "",
            );
            assert_ne!(tampered, workflow, "the environment line exists");
            let report = app
                .runner(&aws, &repository, "tampered")
                .run(&tampered, &push);
            let job = format!("deploy-{}", last.name);
            assert_eq!(
                report.outcome(&job),
                Some(Outcome::Failure),
                "{}: {}",
                app.name,
                report.summary()
            );
            assert!(
                report
                    .log(&job)
                    .contains("AssumeRoleWithWebIdentity denied"),
                "{}: {job} must fail at the trust policy:\n{}",
                app.name,
                report.log(&job)
            );
        }
        summary.push(format!(
            "{}: {} stages deployed, second run a no-op",
            app.name,
            pipeline.stages.len()
        ));
    }
    println!("{}", summary.join("\n"));
}

/// Checks that every Lambda function of `stack` runs code that the deploy job uploaded to
/// its own stage's artifacts bucket, under the stack's prefix (the deploy job has no checkout:
/// that code can only come from the build job's artifact). Returns how many it checked.
fn assert_code_from_artifacts(aws: &LocalAws, stage: &StagePlan, stack: &str) -> usize {
    let code = stacks::deployed_code(aws, stage, stack);
    for (function, zip) in &code.functions {
        assert!(
            zip.is_some(),
            "{}: function {function} runs code which is none of the objects uploaded to {}/{stack}/: {:?}",
            stage.name,
            stage.artifacts_bucket,
            code.uploaded
        );
    }
    code.functions.len()
}

fn app_has_zip_functions(app: &App) -> bool {
    std::fs::read_to_string(app.repo.path().join(&app.synthesis.pipeline.sam_template))
        .is_ok_and(|t| t.contains("AWS::Serverless::Function"))
}

/// The workflow's job ids, in file order.
fn job_ids(workflow: &str) -> Vec<String> {
    let parsed: Value = serde_yaml::from_str(workflow).expect("workflow YAML");
    parsed["jobs"]
        .as_object()
        .expect("jobs")
        .keys()
        .cloned()
        .collect()
}
