//! Each bundled app, end to end on GitLab CI/CD and on Bitbucket Pipelines: the app's
//! `sampipe.yaml` with its `source:` moved to a GitLab project (or a Bitbucket repository,
//! with a deployment environment UUID per stage environment) and the last stage's deploy job
//! started by a person (`manual_approval`); synth; deploy every stage's
//! pipeline resources with the commands `synth` printed; run the CI file for a push to the
//! deployment branch (every stage deployed, parameters byte-exact), again (no changes), for
//! a feature branch and for its deletion; and a tampered run whose job presents a subject the
//! role does not trust, which must fail at `AssumeRoleWithWebIdentity`.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use serde_yaml::Value as Yaml;

use super::github::{Outcome, RunReport};
use super::{additions, bitbucket, bundled_apps, copy_dir, gitlab, stacks, LocalAws};
use crate::common::{sampipe, tool};
use sampipe::pipeline::{Provider, RoleKind, StagePlan, Synthesis};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ci {
    GitLab,
    Bitbucket,
}

const WORKSPACE: &str = "octo-ws";
const WORKSPACE_UUID: &str = "{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}";
const REPOSITORY_UUID: &str = "{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}";
/// A deployment environment of the repository that no stage's role trusts.
const SANDBOX: (&str, &str) = ("sandbox", "{5a5d0b0c-0000-4000-8000-5a5d0b0c0001}");

/// One app, moved to `ci` and synthesized into a scratch copy of its repository.
struct App {
    name: String,
    ci: Ci,
    repo: tempfile::TempDir,
    runs: tempfile::TempDir,
    synthesis: Synthesis,
    printed: String,
}

impl App {
    fn synth(source: &Path, ci: Ci) -> Self {
        let name = source
            .file_name()
            .expect("app name")
            .to_string_lossy()
            .into_owned();
        let repo = tempfile::tempdir().expect("repo dir");
        copy_dir(source, repo.path());
        let config = repo.path().join("sampipe.yaml");
        let text = std::fs::read_to_string(&config).expect("sampipe.yaml");
        std::fs::write(&config, move_source(&text, &name, ci)).expect("write sampipe.yaml");
        let out = repo.path().join("pipeline");
        let (code, stdout, stderr) = sampipe(&[
            "synth",
            "-c",
            &config.display().to_string(),
            "-o",
            &out.display().to_string(),
        ]);
        assert_eq!(code, 0, "{name} ({ci:?}): synth failed:\n{stdout}{stderr}");
        let loaded = sampipe::config::load_file(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let synthesis = sampipe::pipeline::synthesize(&loaded.config)
            .unwrap_or_else(|d| panic!("{name}: {}", loaded.source.render(&d)));
        let app = Self {
            name,
            ci,
            repo,
            runs: tempfile::tempdir().expect("runs dir"),
            synthesis,
            printed: stdout,
        };
        app.install_ci_file();
        app
    }

    /// The CI file where the CI system reads it: synth writes it there; an older synth wrote
    /// it into the out dir and said to commit it there, so copy it then.
    fn install_ci_file(&self) {
        // GitLab and Bitbucket read it at the repository root.
        let file = self.synthesis.pipeline.provider.file_name();
        let running = self.repo.path().join(file);
        assert!(
            self.printed.contains(file),
            "{}: synth names {file}:\n{}",
            self.name,
            self.printed
        );
        if !running.is_file() {
            let generated = self.repo.path().join("pipeline").join(file);
            std::fs::copy(&generated, &running).expect("install CI file");
        }
    }

    fn ci_file(&self) -> String {
        let file = self.synthesis.pipeline.provider.file_name();
        std::fs::read_to_string(self.repo.path().join(file)).expect("CI file")
    }

    /// Deploys each stage's pipeline resources with the commands synth printed, in order,
    /// each with administrator credentials of its stage's account.
    fn deploy_pipeline_resources(&self, aws: &LocalAws) {
        let stages = &self.synthesis.pipeline.stages;
        let commands = stacks::printed_deploy_commands(&self.name, &self.printed, stages);
        stacks::deploy_pipeline_resources(aws, &self.name, &commands, stages, self.repo.path());
    }

    /// A push to `branch` with the CI file `ci_file`.
    fn push(&self, aws: &LocalAws, ci_file: &str, branch: &str, run: &str) -> RunReport {
        self.start(aws, ci_file, Start::Push(branch), run)
    }

    fn start(&self, aws: &LocalAws, ci_file: &str, start: Start<'_>, run: &str) -> RunReport {
        let scratch = self.runs.path().join(run);
        let began = Instant::now();
        let report = match self.ci {
            Ci::GitLab => {
                let project = self.gitlab_project();
                let event = match start {
                    Start::Push(branch) => gitlab::Event::Push {
                        branch: branch.to_owned(),
                    },
                    Start::DeleteBranch(branch) => gitlab::Event::DeleteBranch {
                        branch: branch.to_owned(),
                    },
                };
                gitlab::Runner {
                    aws,
                    project: &project,
                    scratch,
                }
                .run(ci_file, &event)
            }
            Ci::Bitbucket => {
                let repository = self.bitbucket_repository();
                let pipeline = &self.synthesis.pipeline;
                let event = match start {
                    Start::Push(branch) => bitbucket::Event::Push {
                        branch: branch.to_owned(),
                    },
                    // Bitbucket has no deletion trigger: a person runs the custom pipeline on
                    // the deployment branch with the deleted branch's name.
                    Start::DeleteBranch(branch) => bitbucket::Event::Custom {
                        name: "delete-feature".to_owned(),
                        branch: pipeline.branch.clone(),
                        variables: BTreeMap::from([(
                            "FEATURE_BRANCH".to_owned(),
                            branch.to_owned(),
                        )]),
                    },
                };
                bitbucket::Runner {
                    aws,
                    repository: &repository,
                    scratch,
                }
                .run(ci_file, &event)
            }
        };
        eprintln!(
            "{} on {:?}: {run} took {:.0?}",
            self.name,
            self.ci,
            began.elapsed()
        );
        report
    }

    fn gitlab_project(&self) -> gitlab::Project {
        let Provider::GitLab(project) = &self.synthesis.pipeline.provider else {
            panic!("{}: not a GitLab project", self.name)
        };
        gitlab::Project {
            path: project.path.clone(),
            server_url: project.url.clone(),
            default_branch: self.synthesis.pipeline.branch.clone(),
            checkout: self.repo.path().to_owned(),
            variables: BTreeMap::from([(
                additions::RELEASE_TOKEN.0.to_owned(),
                gitlab::Variable::masked(additions::RELEASE_TOKEN.1),
            )]),
            cache: Some(self.runs.path().join("gitlab-cache")),
        }
    }

    fn bitbucket_repository(&self) -> bitbucket::Repository {
        let Provider::Bitbucket(repo) = &self.synthesis.pipeline.provider else {
            panic!("{}: not a Bitbucket repository", self.name)
        };
        let mut environments: BTreeMap<String, String> = self
            .synthesis
            .pipeline
            .stages
            .iter()
            .filter_map(|s| Some((s.environment.clone()?, s.environment_uuid.clone()?)))
            .collect();
        environments.insert(SANDBOX.0.to_owned(), SANDBOX.1.to_owned());
        bitbucket::Repository {
            workspace: repo.workspace.clone(),
            workspace_uuid: repo.workspace_uuid.clone(),
            repository_uuid: repo.repository_uuid.clone(),
            slug: self.name.clone(),
            environments,
            checkout: self.repo.path().to_owned(),
            variables: BTreeMap::from([(
                additions::RELEASE_TOKEN.0.to_owned(),
                bitbucket::Variable::secured(additions::RELEASE_TOKEN.1),
            )]),
        }
    }
}

#[derive(Clone, Copy)]
enum Start<'a> {
    Push(&'a str),
    DeleteBranch(&'a str),
}

/// The app's config with `source:` on `ci` instead of GitHub; on Bitbucket each stage with an
/// environment gets a deployment environment UUID, so its role trusts only that environment.
fn move_source(config: &str, app: &str, ci: Ci) -> String {
    let mut doc: Yaml = serde_yaml::from_str(config).expect("sampipe.yaml is YAML");
    let source: Yaml = match ci {
        Ci::GitLab => serde_yaml::from_str(&format!("gitlab: {{project: octo-group/{app}}}")),
        Ci::Bitbucket => serde_yaml::from_str(&format!(
            "bitbucket: {{workspace: {WORKSPACE}, workspace_uuid: '{WORKSPACE_UUID}', repository_uuid: '{REPOSITORY_UUID}'}}"
        )),
    }
    .expect("source");
    doc["source"] = source;
    // A person starts the last stage's deploy job (GitLab `when: manual`, Bitbucket
    // `trigger: manual`), so the runners' manual starts are exercised on every app.
    if let Some(last) = doc["stages"].as_sequence_mut().and_then(|s| s.last_mut()) {
        last["manual_approval"] = Yaml::Bool(true);
    }
    if ci == Ci::Bitbucket {
        // Bitbucket shares a cache between all branches; synth refuses `cache` there.
        if let Some(workflow) = doc.get_mut("workflow").and_then(Yaml::as_mapping_mut) {
            workflow.remove("cache");
        }
        for (index, stage) in doc["stages"]
            .as_sequence_mut()
            .expect("stages")
            .iter_mut()
            .enumerate()
        {
            if stage.get("environment").is_some() {
                stage["environment_uuid"] =
                    Yaml::String(format!("{{0e0e0e0e-0000-4000-8000-{:012x}}}", index + 1));
            }
        }
    }
    serde_yaml::to_string(&doc).expect("config")
}

fn assert_outcomes(
    app: &App,
    what: &str,
    report: &RunReport,
    expected: &[(&str, Outcome)],
    aws: &LocalAws,
) {
    for (job, outcome) in expected {
        assert_eq!(
            report.outcome(job),
            Some(*outcome),
            "{} on {:?} ({what}): job `{job}`\n{}\n--- local AWS\n{}",
            app.name,
            app.ci,
            report.summary(),
            tail(&aws.server_log(), 60)
        );
    }
}

/// The local AWS's `decision` (`allow`/`deny`) records for `role`.
fn decisions(aws: &LocalAws, role: &str, decision: &str) -> Vec<Value> {
    aws.sts_decisions()
        .into_iter()
        .filter(|d| d["role"] == role && d["decision"] == decision)
        .collect()
}

/// Whether `sub` is what the CI system puts in a token of a job that deploys `stage` from the
/// deployment branch (or, on the first stage, from a feature branch).
fn is_deploy_subject(app: &App, stage: &StagePlan, sub: &str) -> bool {
    let pipeline = &app.synthesis.pipeline;
    match app.ci {
        Ci::GitLab => {
            let project = format!("project_path:octo-group/{}:ref_type:branch:ref:", app.name);
            sub.strip_prefix(&project).is_some_and(|branch| {
                branch == pipeline.branch
                    || pipeline
                        .feature_branches
                        .as_ref()
                        .is_some_and(|glob| branch.starts_with(glob.trim_end_matches('*')))
            })
        }
        Ci::Bitbucket => {
            let parts: Vec<&str> = sub.split(':').collect();
            match &stage.environment_uuid {
                Some(env) => parts.len() == 3 && parts[0] == REPOSITORY_UUID && parts[1] == env,
                None => parts.len() == 2 && parts[0] == REPOSITORY_UUID,
            }
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The whole story for one app on one CI system; returns what it proved.
fn exercise(aws: &LocalAws, source: &Path, ci: Ci) -> String {
    aws.reset();
    let app = App::synth(source, ci);
    let pipeline = &app.synthesis.pipeline;
    app.deploy_pipeline_resources(aws);
    let ci_file = app.ci_file();
    let deploy_jobs: Vec<String> = pipeline
        .stages
        .iter()
        .map(|s| format!("deploy-{}", s.name))
        .collect();
    let mut notes = Vec::new();

    // 1. A push to the deployment branch deploys every stage in order.
    let report = app.push(aws, &ci_file, &pipeline.branch, "push-1");
    let mut expected: Vec<(&str, Outcome)> = vec![("build", Outcome::Success)];
    if pipeline.workflow.unit_test_command.is_some() {
        expected.push(("test", Outcome::Success));
    }
    expected.extend(deploy_jobs.iter().map(|j| (j.as_str(), Outcome::Success)));
    if pipeline.workflow.integration_test_command.is_some() {
        expected.push(("integration-test", Outcome::Success));
    }
    if pipeline.feature_branches.is_some() && ci == Ci::GitLab {
        expected.push(("deploy-feature", Outcome::Skipped));
        expected.push(("delete-feature", Outcome::Skipped));
    }
    assert_outcomes(&app, "push", &report, &expected, aws);
    for job in &report.jobs {
        let feature = job.id == "deploy-feature" || job.id == "delete-feature";
        assert_eq!(
            job.outcome,
            if feature {
                Outcome::Skipped
            } else {
                Outcome::Success
            },
            "{} on {ci:?}: every job of the push runs, but the feature ones:\n{}",
            app.name,
            report.summary()
        );
    }
    let label = format!("{} on {ci:?}", app.name);
    stacks::assert_stages_deployed(aws, &pipeline.stages, &label);
    for stage in &pipeline.stages {
        let job = format!("deploy-{}", stage.name);
        notes.extend(stacks::assert_bounded(
            aws,
            &label,
            stage,
            RoleKind::Pipeline,
            &stage.stack_name,
            report.log(&job),
        ));
    }
    // Each deploy job's role was assumed with the subject the CI system gives that job.
    for stage in &pipeline.stages {
        let subjects: Vec<String> = decisions(aws, &stage.pipeline_role_arn, "allow")
            .iter()
            .filter_map(|d| d["claims"]["sub"].as_str().map(str::to_owned))
            .collect();
        assert!(
            !subjects.is_empty(),
            "{} on {ci:?}: the local AWS logged no allowed AssumeRoleWithWebIdentity for {}",
            app.name,
            stage.pipeline_role_arn
        );
        for sub in &subjects {
            assert!(
                is_deploy_subject(&app, stage, sub),
                "{} on {ci:?}: {} assumed with unexpected subject {sub}",
                app.name,
                stage.name
            );
        }
    }
    if app.name == additions::APP {
        let mask = match ci {
            Ci::GitLab => Some("[MASKED]"),
            // Bitbucket shows `$RELEASE_TOKEN`, which the echoed script also says.
            Ci::Bitbucket => None,
        };
        notes.extend(additions::assert_python_api_additions(
            &label,
            aws,
            &pipeline.stages,
            &report,
            mask,
        ));
    }
    let last = format!("deploy-{}", pipeline.stages.last().expect("a stage").name);
    assert!(
        report.log(&last).contains("(started by hand)"),
        "{} on {ci:?}: {last} waits for a person, who starts it:\n{}",
        app.name,
        report.log(&last)
    );
    notes.push(format!(
        "{} stages deployed, {last} started by hand",
        pipeline.stages.len()
    ));

    let first_build = report.log("build").to_owned();
    // 2. The same commit again: the build is reproducible, so no stage changes.
    let again = app.push(aws, &ci_file, &pipeline.branch, "push-2");
    assert_outcomes(&app, "second push", &again, &expected, aws);
    for job in &deploy_jobs {
        assert!(
            again.log(job).contains("No changes to deploy"),
            "{} on {ci:?}: the second run of {job} must change nothing:\n{}",
            app.name,
            again.log(job)
        );
    }
    notes.push("second run a no-op".to_owned());

    // 3. Feature branches: a push deploys the branch's stack to the first stage only;
    //    deleting the branch (GitLab: the environment's stop job; Bitbucket: the custom
    //    pipeline a person runs) deletes it.
    if let Some(glob) = &pipeline.feature_branches {
        let branch = format!("{}login", glob.trim_end_matches('*'));
        let first = &pipeline.stages[0];
        let report = app.push(aws, &ci_file, &branch, "feature-push");
        let mut expected = vec![
            ("build", Outcome::Success),
            ("deploy-feature", Outcome::Success),
        ];
        expected.extend(deploy_jobs.iter().map(|j| (j.as_str(), Outcome::Skipped)));
        if ci == Ci::GitLab {
            // The stop job is in the pipeline, manual, waiting for the branch to go.
            expected.push(("delete-feature", Outcome::Skipped));
        }
        let expected: Vec<(&str, Outcome)> = expected
            .into_iter()
            .filter(|(job, outcome)| {
                // Bitbucket's feature pipeline lists only its own steps.
                ci == Ci::GitLab || *outcome != Outcome::Skipped || report.outcome(job).is_some()
            })
            .collect();
        assert_outcomes(&app, "feature push", &report, &expected, aws);
        if pipeline.workflow.cache && app.name == additions::APP {
            notes.push(additions::assert_dependency_cache(
                &label,
                &first_build,
                again.log("build"),
                report.log("build"),
                false,
                &pipeline.branch,
            ));
        }
        if ci == Ci::Bitbucket {
            for job in &deploy_jobs {
                assert_eq!(
                    report.outcome(job),
                    None,
                    "{job} is not in the feature pipeline"
                );
            }
        }
        let live = stacks::list_stacks(aws, first);
        let feature_stack = live
            .iter()
            .find(|s| s.contains("feature") && s.ends_with(&branch))
            .unwrap_or_else(|| panic!("{}: no feature stack among {live:?}", app.name))
            .clone();
        notes.extend(stacks::assert_bounded(
            aws,
            &label,
            first,
            RoleKind::Feature,
            &feature_stack,
            report.log("deploy-feature"),
        ));
        let deleted = app.start(
            aws,
            &ci_file,
            Start::DeleteBranch(&branch),
            "feature-delete",
        );
        assert_outcomes(
            &app,
            "branch deleted",
            &deleted,
            &[("delete-feature", Outcome::Success)],
            aws,
        );
        if ci == Ci::GitLab {
            assert_outcomes(
                &app,
                "branch deleted",
                &deleted,
                &[
                    ("build", Outcome::Skipped),
                    ("deploy-feature", Outcome::Skipped),
                ],
                aws,
            );
        }
        assert!(
            stacks::stack(aws, first, &feature_stack).is_none(),
            "{} on {ci:?}: {feature_stack} must be gone after the branch is deleted",
            app.name
        );
        notes.push(format!("feature stack {feature_stack} created and deleted"));
    }

    // 4. The trust is real: a job presenting a subject its role does not trust is refused.
    let (tampered, job, what) = match ci {
        // GitLab's `sub` names the branch: the deployment pipeline's rules moved to another
        // branch, so its first deploy job asks the first stage's role as `ref:hotfix`.
        Ci::GitLab => (
            ci_file.replace(
                &format!("$CI_COMMIT_BRANCH == \"{}\"", pipeline.branch),
                "$CI_COMMIT_BRANCH == \"hotfix\"",
            ),
            deploy_jobs[0].clone(),
            "a deploy job on branch hotfix",
        ),
        // Bitbucket's `sub` names the deployment environment: the last stage's deploy step
        // moved to the sandbox environment.
        Ci::Bitbucket => {
            let last = pipeline.stages.last().expect("a stage");
            let environment = last
                .environment
                .as_deref()
                .expect("the last stage has an environment");
            (
                ci_file.replace(
                    &format!("deployment: {environment}\n"),
                    &format!("deployment: {}\n", SANDBOX.0),
                ),
                format!("deploy-{}", last.name),
                "the last deploy step in the sandbox environment",
            )
        }
    };
    assert_ne!(tampered, ci_file, "{}: the tampering applies", app.name);
    let branch = match ci {
        Ci::GitLab => "hotfix",
        Ci::Bitbucket => pipeline.branch.as_str(),
    };
    let report = app.push(aws, &tampered, branch, "tampered");
    assert_eq!(
        report.outcome(&job),
        Some(Outcome::Failure),
        "{} on {ci:?} ({what}): {}",
        app.name,
        report.summary()
    );
    assert!(
        report.log(&job).contains("AssumeRoleWithWebIdentity"),
        "{} on {ci:?}: {job} must fail at AssumeRoleWithWebIdentity:\n{}",
        app.name,
        report.log(&job)
    );
    let role = &pipeline
        .stages
        .iter()
        .find(|s| format!("deploy-{}", s.name) == job)
        .expect("stage of the job")
        .pipeline_role_arn;
    let refused: Vec<String> = decisions(aws, role, "deny")
        .iter()
        .filter_map(|d| d["claims"]["sub"].as_str().map(str::to_owned))
        .collect();
    let tampered_subject = match ci {
        Ci::GitLab => format!(
            "project_path:octo-group/{}:ref_type:branch:ref:hotfix",
            app.name
        ),
        Ci::Bitbucket => format!("{REPOSITORY_UUID}:{}:", SANDBOX.1),
    };
    assert!(
        refused.iter().any(|sub| sub.starts_with(&tampered_subject)),
        "{} on {ci:?}: the local AWS must have refused {role} to {tampered_subject}...; refused: {refused:?}",
        app.name
    );
    notes.push(format!("{what} refused by STS"));
    format!("{} on {ci:?}: {}", app.name, notes.join(", "))
}

fn bundled_apps_end_to_end(ci: Ci) {
    if ci == Ci::GitLab && tool("gitlab-ci-local").is_none() {
        return;
    }
    let Some(aws) = LocalAws::start() else { return };
    let apps = bundled_apps();
    assert!(!apps.is_empty(), "no bundled apps in fixtures/apps/");
    let mut proved = Vec::new();
    let mut failed = Vec::new();
    for source in apps {
        let name = source
            .file_name()
            .expect("app")
            .to_string_lossy()
            .into_owned();
        let images = std::fs::read_to_string(source.join("sampipe.yaml"))
            .unwrap_or_default()
            .contains("image_repository: true");
        if images && !stacks::docker_available() {
            // Image functions need a Docker daemon to build and push; this machine has none.
            super::skip_loudly(&format!(
                "{name} on {ci:?}: its image functions need a Docker daemon, and this machine has none"
            ));
            proved.push(format!("{name} on {ci:?}: skipped, needs a Docker daemon"));
            continue;
        }
        let began = Instant::now();
        match std::panic::catch_unwind(AssertUnwindSafe(|| exercise(&aws, &source, ci))) {
            Ok(note) => proved.push(format!("{note} ({:.0?})", began.elapsed())),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failed.push(format!("{name} on {ci:?}: {message}"));
            }
        }
    }
    println!("{}", proved.join("\n"));
    assert!(
        failed.is_empty(),
        "{} of the bundled apps failed on {ci:?}:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

#[test]
fn bundled_apps_deploy_end_to_end_on_gitlab() {
    bundled_apps_end_to_end(Ci::GitLab);
}

#[test]
fn bundled_apps_deploy_end_to_end_on_bitbucket() {
    bundled_apps_end_to_end(Ci::Bitbucket);
}
