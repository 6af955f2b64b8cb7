//! Renders the pipeline model as a GitHub Actions workflow: test → build once → deploy stage by
//! stage, with feature-branch stacks on the first stage. Every job that assumes a role is one of
//! [`Pipeline::role_uses`]; the trust policies in the template admit exactly those.
//!
//! Security defaults: read-only `contents` at the top, `id-token: write` only on jobs that
//! assume a role, actions pinned to commit SHAs, no persisted checkout credentials, no `${{ }}`
//! inside scripts (values reach scripts through `env:`), and one concurrency group per stage.

use std::collections::HashMap;

use crate::config::model::ExtraStep;
use crate::diag::Diagnostic;
use crate::gha::{
    annotate, checkout, configure_aws_credentials, download_artifact, setup_sam, setup_toolchain,
    upload_artifact, AwsCredentials, Concurrency, Defaults, Environment, Expr, Job, Literal,
    Permission, Pins, PushTrigger, Scope, Script, Step, Text, Triggers, Workflow,
};
use crate::pipeline::cache;
use crate::pipeline::extend::{AddedJob, After, DeployPhase};
use crate::pipeline::names::feature_stack_prefix;
use crate::pipeline::scripts::{self, BUILD_DIR};
use crate::pipeline::{job_ids, Pipeline, RoleKind, RoleUse, StagePlan};

/// The build output travels between jobs as this artifact, from [`BUILD_DIR`].
const BUILD_ARTIFACT: &str = "sam-build";

/// An error in building the workflow: always a bug in sampipe, since the config was validated.
fn internal(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "internal-error",
        format!("cannot build the workflow: {what}"),
    )
    .help("this is a bug in sampipe; please report it with your config")
}

fn lit(text: impl Into<String>) -> Result<Literal, Diagnostic> {
    Literal::new(text).map_err(internal)
}

fn text(value: impl Into<String>) -> Result<Text, Diagnostic> {
    Ok(lit(value)?.into())
}

fn expr(body: &str) -> Result<Expr, Diagnostic> {
    Expr::new(body).map_err(internal)
}

fn script(source: impl Into<String>) -> Result<Script, Diagnostic> {
    Script::new(source).map_err(internal)
}

/// Builds the workflow.
pub fn workflow(p: &Pipeline) -> Result<Workflow, Diagnostic> {
    let pins = pins(p)?;
    let mut push = PushTrigger::new().branch(&p.branch);
    let mut triggers = Triggers::new();
    if let Some(glob) = &p.feature_branches {
        push = push.branch(glob);
        // `delete` takes no branch filter (it would be ignored); the job checks the branch.
        triggers = triggers.delete();
    }
    triggers = triggers.push(push).workflow_dispatch();

    let mut w = Workflow::new()
        .name(&p.workflow.name)
        .on(triggers)
        .permission(Scope::Contents, Permission::Read)
        // One run per ref at a time (push and dispatch carry `refs/heads/...`, delete the bare
        // branch name, so a deleted branch's clean-up never queues behind a deployment).
        .concurrency(
            Concurrency::new(Text::from(expr(
                "format('{0}-{1}', github.workflow, github.event.ref)",
            )?))
            .cancel_in_progress(false),
        )
        .defaults(Defaults::new().shell("bash"));
    for (name, value) in &p.extensions.env {
        w = w.env(name, text(value)?);
    }

    let on_branch = expr(&format!(
        "github.ref == 'refs/heads/{}' && github.event_name != 'delete'",
        p.branch
    ))?;
    let mut build_needs = None;
    if let Some(command) = &p.workflow.unit_test_command {
        let mut job = base_job(p, "Unit tests")
            .if_(expr("github.event_name != 'delete'")?)
            .permission(Scope::Contents, Permission::Read)
            .step(checkout(&pins));
        for step in toolchain_steps(p, &pins) {
            job = job.step(step);
        }
        let job = with_dependency_cache(p, &pins, job_ids::TEST, job)?
            .step(Step::run(script(command.clone())?).name("Run unit tests"));
        w = w.job(job_ids::TEST, job);
        build_needs = Some(job_ids::TEST);
    }

    let build_command = scripts::build_command(p);
    let mut build = base_job(p, "Build")
        .if_(expr("github.event_name != 'delete'")?)
        .permission(Scope::Contents, Permission::Read);
    if let Some(needs) = build_needs {
        build = build.needs(needs);
    }
    build = build.step(checkout(&pins));
    // In containers, `sam build` brings each runtime's tools itself.
    if !p.workflow.use_container {
        for step in toolchain_steps(p, &pins) {
            build = build.step(step);
        }
    }
    build = with_dependency_cache(p, &pins, job_ids::BUILD, build)?;
    build = build.step(setup_sam_step(p, &pins)?);
    for step in &p.extensions.before_build {
        build = build.step(added_step(step, false)?);
    }
    build = build.step(
        Step::run(script(build_command)?)
            .name("Build once for every stage")
            .env("SAM_TEMPLATE", text(&p.sam_template)?),
    );
    for step in &p.extensions.after_build {
        build = build.step(added_step(step, false)?);
    }
    if let Some(save) = scripts::save_images(p) {
        build = build.step(
            Step::run(script(save)?).name("Save the function images into the build artifact"),
        );
    }
    build = build.step(
        upload_artifact(&pins, text(BUILD_ARTIFACT)?, text(BUILD_DIR)?, Some(7))
            // `.aws-sam/build` is hidden, and so may be files in the functions' code.
            .with("include-hidden-files", true),
    );
    w = w.job(job_ids::BUILD, build);

    for use_ in p
        .role_uses
        .iter()
        .filter(|u| u.job_id == job_ids::DEPLOY_FEATURE)
    {
        w = w.job(&use_.job_id, deploy_feature(p, &pins, use_)?);
    }
    for use_ in p
        .role_uses
        .iter()
        .filter(|u| u.job_id == job_ids::DELETE_FEATURE)
    {
        w = w.job(&use_.job_id, delete_feature(p, &pins, use_)?);
    }

    // The first role use of each job id, looked up once per stage.
    let mut uses_by_job: HashMap<&str, &RoleUse> = HashMap::new();
    for use_ in &p.role_uses {
        uses_by_job.entry(&use_.job_id).or_insert(use_);
    }
    let mut previous = vec![job_ids::BUILD.to_owned()];
    for job in p.extensions.jobs_after(After::Build) {
        w = w.job(&job.id, added_job(p, &pins, job, &previous, &on_branch)?);
    }
    let after_build: Vec<String> = p
        .extensions
        .jobs_after(After::Build)
        .map(|j| j.id.clone())
        .collect();
    if !after_build.is_empty() {
        previous = after_build;
    }
    for (index, stage) in p.stages.iter().enumerate() {
        let id = job_ids::deploy(&stage.name);
        let use_ = *uses_by_job
            .get(id.as_str())
            .ok_or_else(|| internal(format!("no role use for `{id}`")))?;
        let mut job = base_job(p, &format!("Deploy to {}", stage.name)).if_(on_branch.clone());
        for need in &previous {
            job = job.needs(need);
        }
        let mut job = job
            .permission(Scope::IdToken, Permission::Write)
            .concurrency(
                Concurrency::new(text(format!("{}-deploy-{}", p.app, stage.name))?)
                    .cancel_in_progress(false),
            );
        if let Some(environment) = &use_.environment {
            job = job.environment(Environment::new(text(environment)?));
        }
        job = job
            .step(download_artifact(
                &pins,
                text(BUILD_ARTIFACT)?,
                text(BUILD_DIR)?,
            ))
            .step(setup_sam_step(p, &pins)?);
        if let Some(load) = load_images_step(p)? {
            job = job.step(load);
        }
        let job = deploy_steps(
            p,
            job,
            index,
            assume_role(&pins, stage, RoleKind::Pipeline, &id)?,
            sam_deploy(p, stage, DeployTarget::StageStack)?,
            Some(stage),
        )?;
        w = w.job(&id, job);
        previous = vec![id.clone()];

        let after: Vec<&AddedJob> = p.extensions.jobs_after(After::Stage(index)).collect();
        for added in &after {
            w = w.job(
                &added.id,
                added_job(p, &pins, added, &previous, &on_branch)?,
            );
        }
        if !after.is_empty() {
            previous = after.iter().map(|j| j.id.clone()).collect();
        }
    }

    let problems = w.validate();
    if let Some(problem) = problems.first() {
        return Err(internal(problem));
    }
    Ok(w)
}

fn pins(p: &Pipeline) -> Result<Pins, Diagnostic> {
    let mut pins = Pins::default();
    for (repo, pin) in &p.workflow.actions {
        pins = pins.set(repo, &pin.sha, &pin.version).map_err(|error| {
            Diagnostic::error("invalid-pin", error.to_string())
                .at(crate::diag::ConfigPath::root().key("workflow").key("actions").key(repo))
                .help("only the actions the workflow uses can be pinned: actions/checkout, aws-actions/configure-aws-credentials, aws-actions/setup-sam, actions/upload-artifact, actions/download-artifact, actions/setup-python, actions/setup-node, actions/setup-java, actions/setup-go, actions/setup-dotnet, ruby/setup-ruby, actions/cache")
        })?;
    }
    Ok(pins)
}

fn base_job(p: &Pipeline, name: &str) -> Job {
    Job::new()
        .name(name)
        .runs_on(&p.workflow.runs_on)
        .timeout_minutes(p.workflow.timeout_minutes)
}

fn setup_sam_step(p: &Pipeline, pins: &Pins) -> Result<Step, Diagnostic> {
    let version = p.workflow.sam_cli_version.clone().map(lit).transpose()?;
    Ok(setup_sam(pins, version, true).into())
}

/// Assumes `stage`'s role of `kind`, and no other, in the stage's own region.
fn assume_role(
    pins: &Pins,
    stage: &StagePlan,
    kind: RoleKind,
    session: &str,
) -> Result<Step, Diagnostic> {
    let step = configure_aws_credentials(
        pins,
        AwsCredentials {
            role_to_assume: text(stage.roles(kind).role_arn)?,
            aws_region: text(&stage.region)?,
            role_session_name: text(session)?,
            allowed_account_ids: vec![lit(&stage.account)?],
            role_duration_seconds: Some(3600),
            // The trust policy grants sts:AssumeRoleWithWebIdentity only, not sts:TagSession.
            role_skip_session_tagging: Some(true),
            audience: None,
        },
    );
    Ok(Step::from(step.name(match kind {
        RoleKind::Pipeline => format!("Assume the {} pipeline execution role", stage.name),
        RoleKind::Feature => format!("Assume the {} feature-branch role", stage.name),
    })))
}

enum DeployTarget {
    StageStack,
    FeatureStack,
}

/// Shell that computes a feature branch's stack name from `$BRANCH` (sanitized, capped).
fn feature_stack_script(p: &Pipeline) -> String {
    format!(
        "{}\nstack=\"{}${{slug}}\"\n",
        scripts::feature_slug(&p.app, p.feature_branches.as_deref(), "BRANCH"),
        feature_stack_prefix(&p.app)
    )
}

fn sam_deploy(p: &Pipeline, stage: &StagePlan, target: DeployTarget) -> Result<Step, Diagnostic> {
    let kind = match target {
        DeployTarget::StageStack => RoleKind::Pipeline,
        DeployTarget::FeatureStack => RoleKind::Feature,
    };
    let mut source = String::new();
    // A feature stack's name is in the job's environment ([`name_feature_stack`]).
    let stack = "\"$STACK_NAME\"";
    let roles = stage.roles(kind);
    // Feature stacks get the first stage's parameters too: they stand in for it.
    source.push_str(&scripts::sam_deploy(
        stage,
        &scripts::DeployWords::from_env(p, stack, "REGION", &roles),
        true,
    ));
    let name = match target {
        DeployTarget::StageStack => format!("Deploy {} to {}", stage.stack_name, stage.name),
        DeployTarget::FeatureStack => {
            format!("Deploy the feature branch's stack to {}", stage.name)
        }
    };
    let mut step = Step::run(script(source)?).name(name);
    if matches!(target, DeployTarget::StageStack) {
        step = step.env("STACK_NAME", text(&stage.stack_name)?);
    }
    step = step
        .env("ARTIFACTS_BUCKET", text(&stage.artifacts_bucket)?)
        .env("REGION", text(&stage.region)?)
        .env("CLOUDFORMATION_EXECUTION_ROLE", text(roles.cfn_role_arn)?);
    if let Some(boundary) = roles.boundary_arn {
        step = step.env(scripts::BOUNDARY_VARIABLE, text(boundary)?);
    }
    if let Some(repository) = &stage.image_repository {
        step = step.env("IMAGE_REPOSITORY", text(&repository.uri)?);
    }
    if let Some(json) = scripts::parameter_overrides_json(stage) {
        step = step.env(scripts::PARAMETER_OVERRIDES_VARIABLE, text(json)?);
    }
    Ok(step.into())
}

fn first_stage(p: &Pipeline) -> Result<&StagePlan, Diagnostic> {
    p.stages.first().ok_or_else(|| internal("no stages"))
}

fn deploy_feature(p: &Pipeline, pins: &Pins, use_: &RoleUse) -> Result<Job, Diagnostic> {
    let stage = first_stage(p)?;
    let mut job = base_job(p, &format!("Deploy the feature branch to {}", stage.name))
        .if_(expr(&format!(
            "github.event_name == 'push' && github.ref != 'refs/heads/{}'",
            p.branch
        ))?)
        .needs(job_ids::BUILD)
        .permission(Scope::IdToken, Permission::Write)
        .concurrency(
            Concurrency::new(Text::from(expr(&format!(
                "format('{}-feature-{{0}}', github.ref_name)",
                p.app
            ))?))
            .cancel_in_progress(false),
        )
        .step(download_artifact(
            pins,
            text(BUILD_ARTIFACT)?,
            text(BUILD_DIR)?,
        ))
        .step(setup_sam_step(p, pins)?);
    if let Some(load) = load_images_step(p)? {
        job = job.step(load);
    }
    job = job.step(name_feature_stack(p)?);
    deploy_steps(
        p,
        job,
        0,
        assume_role(pins, stage, use_.role, &use_.job_id)?,
        sam_deploy(p, stage, DeployTarget::FeatureStack)?,
        None,
    )
}

/// Puts the feature branch's stack name in the job's environment as `STACK_NAME`, for the
/// deploy and the steps around it. The name is letters, digits and `-` only
/// ([`feature_stack_script`]), so it cannot add lines to `$GITHUB_ENV`.
fn name_feature_stack(p: &Pipeline) -> Result<Step, Diagnostic> {
    let source = format!(
        "{}echo \"STACK_NAME=$stack\" >> \"$GITHUB_ENV\"\n",
        feature_stack_script(p)
    );
    Ok(Step::run(script(source)?)
        .name("Name the feature branch's stack")
        .env("BRANCH", expr("github.ref_name")?)
        .into())
}

/// A deploy job's steps from its credentials on, with the user's steps around them: before
/// the deploy, the steps without the role, the credentials, the steps with it; after it, the
/// steps with the role (given the stack's outputs), then those without (which drop the
/// credentials first). Every one of them sees `STACK_NAME` and `AWS_REGION`: a stage deploy's
/// (`stage_stack`) from the step's own `env:`, a feature deploy's from the job's environment.
fn deploy_steps(
    p: &Pipeline,
    mut job: Job,
    stage: usize,
    assume: Step,
    deploy: Step,
    stage_stack: Option<&StagePlan>,
) -> Result<Job, Diagnostic> {
    let plan = p
        .stages
        .get(stage)
        .ok_or_else(|| internal("no such stage"))?;
    let with_stack = |step: Step| -> Result<Step, Diagnostic> {
        let step = match stage_stack {
            Some(stage) => step.env("STACK_NAME", text(&stage.stack_name)?),
            None => step,
        };
        Ok(step.env("AWS_REGION", text(&plan.region)?))
    };
    let before: Vec<&ExtraStep> = p
        .extensions
        .deploy_steps(stage, DeployPhase::Before)
        .collect();
    for step in before.iter().filter(|s| !s.role) {
        job = job.step(with_stack(added_step(step, true)?)?);
    }
    job = job.step(assume);
    for step in before.iter().filter(|s| s.role) {
        job = job.step(with_stack(added_step(step, false)?)?);
    }
    job = job.step(deploy);
    if p.extensions.deploy_steps_read_outputs(stage) {
        if let Some(read) = scripts::read_stack_outputs(
            p,
            "\"$STACK_NAME\"",
            "\"$AWS_REGION\"",
            scripts::OutputsSink::GitHubEnv,
        ) {
            let read = Step::run(script(read)?).name("Give the next steps the stack's outputs");
            job = job.step(with_stack(read.into())?);
        }
    }
    for step in p.extensions.deploy_steps(stage, DeployPhase::After) {
        job = job.step(with_stack(added_step(step, !step.role)?)?);
    }
    Ok(job)
}

/// One of the user's steps. `drop_credentials`: it runs in a job that has (or can get) the
/// stage's credentials, and must not: its script starts by unsetting them and what would
/// mint an OIDC token.
fn added_step(step: &ExtraStep, drop_credentials: bool) -> Result<Step, Diagnostic> {
    let mut source = String::new();
    if drop_credentials {
        source.push_str("# sampipe: this step runs without the stage's AWS credentials.\n");
        source.push_str(&scripts::drop_credentials());
    }
    source.push_str(&step.run);
    user_run(&step.name, source, &step.env, &step.secrets)
}

/// A `run:` step of the user's `source` with their variables (literal) and secrets (each
/// `secrets.NAME` through `env:`, never in the script).
fn user_run(
    name: &str,
    source: String,
    env: &indexmap::IndexMap<String, String>,
    secrets: &[String],
) -> Result<Step, Diagnostic> {
    let mut out = Step::run(script(source)?).name(name);
    for (variable, value) in env {
        out = out.env(variable, text(value)?);
    }
    for secret in secrets {
        out = out.env(secret, expr(&format!("secrets.{secret}"))?);
    }
    Ok(out.into())
}

/// One of the user's jobs (or the integration tests) on the deployment branch, after
/// `previous`: a checkout, the app's toolchains, with `role` the stage's role and the stack's
/// outputs, then the job's commands.
fn added_job(
    p: &Pipeline,
    pins: &Pins,
    added: &AddedJob,
    previous: &[String],
    on_branch: &Expr,
) -> Result<Job, Diagnostic> {
    let mut job = base_job(p, &added.name).if_(on_branch.clone());
    for need in previous {
        job = job.needs(need);
    }
    job = job.permission(Scope::Contents, Permission::Read);
    let stage = match added.role_stage() {
        Some(index) => Some(
            p.stages
                .get(index)
                .ok_or_else(|| internal("no such stage"))?,
        ),
        None => None,
    };
    if let Some(stage) = stage {
        job = job.permission(Scope::IdToken, Permission::Write);
        // The deploy job's environment: the same OIDC subject, so the trust admits no one new.
        if let Some(environment) = &stage.environment {
            job = job.environment(Environment::new(text(environment)?));
        }
    }
    job = job.step(checkout(pins));
    for step in toolchain_steps(p, pins) {
        job = job.step(step);
    }
    if let Some(stage) = stage {
        job = job.step(assume_role(pins, stage, RoleKind::Pipeline, &added.id)?);
        if let Some(read) = scripts::read_stack_outputs(
            p,
            "\"$STACK_NAME\"",
            "\"$REGION\"",
            scripts::OutputsSink::GitHubEnv,
        ) {
            job = job.step(
                Step::run(script(read)?)
                    .name(format!("Read the outputs of {}", stage.stack_name))
                    .env("STACK_NAME", text(&stage.stack_name)?)
                    .env("REGION", text(&stage.region)?),
            );
        }
    }
    let name = if added.id == job_ids::INTEGRATION_TEST {
        "Run integration tests".to_owned()
    } else {
        format!("Run {}", added.id)
    };
    // As on GitLab and Bitbucket, a job with a stage's role knows its stack and region.
    let mut env = indexmap::IndexMap::new();
    if let Some(stage) = stage {
        env.insert("STACK_NAME".to_owned(), stage.stack_name.clone());
        env.insert("AWS_REGION".to_owned(), stage.region.clone());
    }
    env.extend(added.env.clone());
    Ok(job.step(user_run(&name, added.run.clone(), &env, &added.secrets)?))
}

/// `job` with the package managers' download folders ([`cache::folders`]) in its environment
/// and restored from GitHub's cache: the job's entry of these dependency files, else the
/// job's newest on the runner's OS. GitHub scopes entries to a branch (a run reads its own
/// and the default branch's), so the deployment branch never reads what a feature branch
/// saved.
fn with_dependency_cache(
    p: &Pipeline,
    pins: &Pins,
    job_id: &str,
    mut job: Job,
) -> Result<Job, Diagnostic> {
    let folders = cache::folders(p);
    if folders.is_empty() {
        return Ok(job);
    }
    for (name, value) in folders.iter().flat_map(cache::CacheFolder::variables) {
        let value = match value {
            cache::VariableValue::InCheckout { prefix, path } => Text::from(expr(&format!(
                "format('{prefix}{{0}}/{path}', github.workspace)"
            ))?),
            cache::VariableValue::Constant(value) => text(value)?,
        };
        job = job.env(name, value);
    }
    let paths: Vec<String> = folders.iter().map(cache::CacheFolder::path).collect();
    let files: Vec<String> = cache::key_files(&folders)
        .iter()
        .map(|f| format!("'{f}'"))
        .collect();
    // One entry per job: a job that downloads more than the other still saves what it got.
    let prefix = format!("sampipe-{job_id}-dependencies-{{0}}-");
    Ok(job.step(
        crate::gha::cache(
            pins,
            lit(paths.join("\n"))?,
            Text::from(expr(&format!(
                "format('{prefix}{{1}}', runner.os, hashFiles({}))",
                files.join(", ")
            ))?),
            Text::from(expr(&format!("format('{prefix}', runner.os)"))?),
        )
        .name("Restore the dependency downloads (saved again when the job succeeds)"),
    ))
}

/// Loads the images the build job saved, for `sam deploy` to push (image functions only).
fn load_images_step(p: &Pipeline) -> Result<Option<Step>, Diagnostic> {
    scripts::load_images(p)
        .map(|load| {
            Ok(Step::run(script(load)?)
                .name("Load the function images the build saved")
                .into())
        })
        .transpose()
}

/// Installs each toolchain the SAM template's functions and layers build with.
fn toolchain_steps(p: &Pipeline, pins: &Pins) -> Vec<Step> {
    p.sam_app
        .toolchains()
        .iter()
        .map(|toolchain| {
            Step::from(
                setup_toolchain(pins, toolchain).name(format!("Set up {}", toolchain.describe())),
            )
        })
        .collect()
}

/// GitHub's branch-filter glob as an anchored POSIX regex: `**` matches anything, `*` anything
/// but `/`. The delete event cannot filter branches, so the job checks the name itself.
fn glob_regex(glob: &str) -> String {
    let mut regex = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                regex.push_str(".*");
            }
            '*' => regex.push_str("[^/]*"),
            '.' => regex.push_str("\\."),
            other => regex.push(other),
        }
    }
    regex.push('$');
    regex
}

fn delete_feature(p: &Pipeline, pins: &Pins, use_: &RoleUse) -> Result<Job, Diagnostic> {
    let stage = first_stage(p)?;
    let glob = p.feature_branches.as_deref().unwrap_or_default();
    let is_feature = expr("steps.branch.outputs.feature == 'true'")?;
    let check = format!(
        "if [[ \"$BRANCH\" =~ {} ]]; then\n  echo \"feature=true\" >> \"$GITHUB_OUTPUT\"\nelse\n  echo \"feature=false\" >> \"$GITHUB_OUTPUT\"\n  echo \"Branch $BRANCH does not match {glob}; nothing to delete.\"\nfi\n",
        glob_regex(glob)
    );
    let delete = format!(
        "{}sam delete --stack-name \"$stack\" --region \"$REGION\" --no-prompts\n",
        feature_stack_script(p)
    );
    Ok(base_job(
        p,
        &format!("Delete the feature branch's stack from {}", stage.name),
    )
    .if_(expr(
        "github.event_name == 'delete' && github.event.ref_type == 'branch'",
    )?)
    .permission(Scope::IdToken, Permission::Write)
    .concurrency(
        Concurrency::new(Text::from(expr(&format!(
            "format('{}-feature-{{0}}', github.event.ref)",
            p.app
        ))?))
        .cancel_in_progress(false),
    )
    .step(
        Step::run(script(check)?)
            .name("Check that the deleted branch is a feature branch")
            .id("branch")
            .env("BRANCH", expr("github.event.ref")?),
    )
    .step(setup_sam_step(p, pins)?.if_(is_feature.clone()))
    .step(assume_role(pins, stage, use_.role, &use_.job_id)?.if_(is_feature.clone()))
    .step(
        Step::run(script(delete)?)
            .name("Delete the feature branch's stack")
            .if_(is_feature)
            .env("BRANCH", expr("github.event.ref")?)
            .env("REGION", text(&stage.region)?),
    ))
}

/// The workflow as committed: a header saying it is generated, the version beside each pin.
pub fn render(p: &Pipeline, workflow: &Workflow) -> String {
    let style = crate::yaml::Style {
        spaced_sections: vec!["jobs".into()],
        ..crate::yaml::Style::default()
    };
    let body = crate::yaml::to_string(&workflow.to_yaml_value(), &style);
    let stages: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    let flow = format!("Deploys {} through {}.", p.app, stages.join(" -> "));
    let [generated, check] = scripts::generated_header();
    let header = [
        generated.as_str(),
        check.as_str(),
        flow.as_str(),
        "Each deploy job assumes only its own stage's role through GitHub OIDC; the roles' trust",
        "policies admit exactly these jobs (`sampipe explain` prints the trust map).",
    ];
    let annotated = annotate(&body, &header, &workflow.uses_versions());
    explain_permissions(&annotated)
}

/// Says why each job may request an OIDC token, next to the grant (zizmor's
/// `undocumented-permissions`): reviewers should see it was intended.
fn explain_permissions(rendered: &str) -> String {
    const GRANT: &str = "id-token: write";
    const WHY: &str = " # request an OIDC token to assume this stage's AWS role";
    // The definition is per line (`explain_permissions_per_line` in the tests), which also
    // turns `\r\n` into `\n` and ends the text with `\n`. The emitter writes neither `\r` nor
    // a text without a final `\n`; for such text, the comment is inserted after each grant
    // line and the rest is copied as it is, which is the same.
    if rendered.contains('\r') || !rendered.ends_with('\n') {
        return explain_permissions_per_line(rendered);
    }
    let mut out = String::with_capacity(rendered.len() + 1024);
    let mut copied = 0;
    for (at, _) in rendered.match_indices(GRANT) {
        let start = rendered[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = at + GRANT.len();
        if rendered[start..at].trim_start().is_empty() && rendered[end..].starts_with('\n') {
            out.push_str(&rendered[copied..end]);
            out.push_str(WHY);
            copied = end;
        }
    }
    out.push_str(&rendered[copied..]);
    out
}

fn explain_permissions_per_line(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 1024);
    for line in rendered.lines() {
        out.push_str(line);
        if line.trim_start() == "id-token: write" {
            out.push_str(" # request an OIDC token to assume this stage's AWS role");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{explain_permissions, explain_permissions_per_line, glob_regex};

    #[test]
    fn permission_comments_are_the_per_line_definition() {
        for rendered in [
            "",
            "a:\n  id-token: write\n",
            "id-token: write\n  id-token: write\nx: id-token: write\n  id-token: writes\n",
            "  id-token: write \n\tid-token: write\nid-token: write",
            "  id-token: write\r\n",
        ] {
            assert_eq!(
                explain_permissions(rendered),
                explain_permissions_per_line(rendered),
                "{rendered:?}"
            );
        }
    }

    #[test]
    fn github_globs_become_anchored_regexes() {
        assert_eq!(glob_regex("feature*"), "^feature[^/]*$");
        assert_eq!(glob_regex("feature/**"), "^feature/.*$");
        assert_eq!(glob_regex("v1.*"), "^v1\\.[^/]*$");
    }
}
