//! Renders the pipeline model as a GitLab CI/CD configuration (`.gitlab-ci.yml`): test → build
//! once → deploy stage by stage, with feature-branch stacks on the first stage. Every job that
//! assumes a role is one of [`Pipeline::role_uses`], under the same id; the trust policies in
//! the template admit exactly those.
//!
//! How a job gets AWS credentials: GitLab puts an ID token (a JWT whose `aud` is the provider's
//! audience and whose `sub` names the project and branch) in the `AWS_ID_TOKEN` variable, only
//! for jobs with `id_tokens:`. The job writes it to a private file and sets `AWS_ROLE_ARN`,
//! `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_SESSION_NAME`; the AWS CLI and the SAM CLI
//! (botocore) then call `AssumeRoleWithWebIdentity` themselves and refresh the session as
//! needed. (`CI_JOB_JWT_V2`, which the SAM CLI's own GitLab template used, was removed in
//! GitLab 17.0.)
//!
//! Security defaults: `id_tokens` only on jobs that assume a role, each for its own stage's role;
//! values reach scripts through job `variables:` and are always quoted, and branch names only as
//! `$CI_COMMIT_REF_NAME`/`$CI_COMMIT_REF_SLUG`, never pasted into script text; static AWS
//! credentials from project variables are unset; each deploy job checks, before it deploys,
//! that it holds a session of exactly the role it expects (project and pipeline variables take
//! precedence over job variables in GitLab, so the expected identity is written into the
//! script itself: the equivalent of `allowed-account-ids`); one `resource_group` per stage.

use crate::diag::Diagnostic;
use crate::gitlab::{
    Artifacts, Cache, CiFile, Defaults, Environment, EnvironmentAction, IdToken, Job, Need, Rule,
    When,
};
use crate::pipeline::cache;
use crate::pipeline::extend::{AddedJob, After};
use crate::pipeline::names::feature_stack_prefix;
use crate::pipeline::provider::GITLAB_TOKEN_VARIABLE;
use crate::pipeline::scripts::{self, BUILD_DIR};
use crate::pipeline::{job_ids, Pipeline, RoleUse, StagePlan};

/// How long the build output is kept: as long as the GitHub workflow keeps its artifact, and
/// long enough for a manual production gate to be approved within a week of the build.
const ARTIFACTS_EXPIRE_IN: &str = "1 week";
/// A feature branch's stack is deleted after a week without a deployment (each push restarts
/// the clock; GitLab's own review-app example uses the same). A stack that nobody pushed to for
/// a week is most likely forgotten and still costs money; getting it back is one push or one
/// retried job. Deleting the branch deletes it at once.
const FEATURE_AUTO_STOP_IN: &str = "1 week";
/// One environment per feature branch: GitLab stops (runs `delete-feature` for) the
/// environments whose last deployment came from a deleted branch.
const FEATURE_ENVIRONMENT: &str = "review/$CI_COMMIT_REF_SLUG";
/// The GitLab stage of the feature jobs. The stop job must not be in a later stage than the
/// job that starts the environment, so both are here.
const FEATURE_STAGE: &str = "feature";
/// Where a job writes its ID token for the AWS CLI: outside the project directory (never an
/// artifact), one file per job, removed in `after_script`.
const TOKEN_FILE: &str = "/tmp/aws-web-identity-token-$CI_JOB_ID";
/// `id_tokens:` gets this comment in the rendered file.
const ID_TOKENS_WHY: &str =
    " # an OIDC token to assume this stage's AWS role; no other job gets one";

/// An error in building the CI file: always a bug in sampipe, since the config was validated.
fn internal(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "internal-error",
        format!("cannot build the GitLab CI file: {what}"),
    )
    .help("this is a bug in sampipe; please report it with your config")
}

/// A `rules:if` expression true for pipelines on exactly `branch`.
fn on_branch(branch: &str) -> String {
    format!("$CI_COMMIT_BRANCH == \"{branch}\"")
}

/// A `rules:if` expression true for pipelines on exactly the branches `glob` matches.
fn on_feature_branch(glob: &str) -> String {
    format!("$CI_COMMIT_BRANCH =~ /{}/", glob_regex(glob))
}

/// A feature-branch glob as an anchored GitLab (RE2) regex that matches exactly the branch
/// names IAM's `StringLike` matches with it: `*` (and so `**`) is any run of characters,
/// including `/`; everything else is literal. Regex metacharacters are escaped, and so is `/`,
/// which would otherwise end GitLab's `/.../` literal.
pub fn glob_regex(glob: &str) -> String {
    let mut regex = String::from("^");
    let mut previous_star = false;
    for c in glob.chars() {
        if c == '*' {
            if !previous_star {
                regex.push_str(".*");
            }
            previous_star = true;
            continue;
        }
        previous_star = false;
        if "\\.+*?()|[]{}^$/".contains(c) {
            regex.push('\\');
        }
        regex.push(c);
    }
    regex.push('$');
    regex
}

/// `job` with the package managers' download folders ([`cache::folders`]) exported first and
/// in GitLab's cache, one entry per job and branch (`$CI_COMMIT_REF_SLUG`); GitLab also
/// keeps protected branches' entries apart from the others' by default, so the deployment
/// branch never reads what a feature branch saved.
fn with_dependency_cache(p: &Pipeline, job_id: &str, mut job: Job) -> Job {
    let folders = cache::folders(p);
    if folders.is_empty() {
        return job;
    }
    // The job starts in the checkout; `$PWD` is that folder on every executor, where
    // gitlab-ci-local's shell executor gives `$CI_PROJECT_DIR` as the Docker path.
    let exports: Vec<String> = folders
        .iter()
        .flat_map(cache::CacheFolder::variables)
        .map(|(name, value)| format!("{name}=\"{}\"", value.under("$PWD")))
        .collect();
    job = job.script_line(format!("export {}", exports.join(" ")));
    job.cache = Some(Cache {
        key: format!("sampipe-{job_id}-dependencies-$CI_COMMIT_REF_SLUG"),
        paths: folders.iter().map(|f| format!("{}/", f.path())).collect(),
    });
    job
}

/// `needs:` entry that waits for `job` and takes its artifacts (or not).
fn need(job: &str, artifacts: bool) -> Need {
    Need {
        job: job.to_owned(),
        artifacts,
    }
}

/// Builds the CI file.
pub fn ci_file(p: &Pipeline) -> Result<CiFile, Diagnostic> {
    let audience = p.provider.audience();
    let deploy_rule = Rule::if_(on_branch(&p.branch));
    let feature_rule = p.feature_branches.as_deref().map(on_feature_branch);

    // Branch pipelines only, started by a push or by hand ("Run pipeline"): no merge request
    // pipelines (they would duplicate the branch pipeline and carry the same branch token),
    // no tags, schedules, triggers or API calls.
    let mut workflow_rules = vec![
        Rule::if_("$CI_PIPELINE_SOURCE != \"push\" && $CI_PIPELINE_SOURCE != \"web\"")
            .when(When::Never),
        deploy_rule.clone(),
    ];
    workflow_rules.extend(feature_rule.clone().map(Rule::if_));

    let mut file = CiFile {
        workflow_rules,
        variables: p
            .extensions
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        default: Defaults {
            image: Some(p.ci_image()?),
            // A newer pipeline on the same branch cancels this one's tests and build; deploy
            // jobs opt out, so once a deployment starts the pipeline is never cancelled.
            interruptible: Some(true),
            timeout: Some(format!("{}m", p.workflow.timeout_minutes)),
        },
        ..CiFile::default()
    };

    let mut build_needs = Vec::new();
    if let Some(command) = &p.workflow.unit_test_command {
        file.stages.push(job_ids::TEST.into());
        file.jobs.push((
            job_ids::TEST.into(),
            with_dependency_cache(p, job_ids::TEST, Job::new(job_ids::TEST))
                .script_line(command.clone()),
        ));
        build_needs.push(need(job_ids::TEST, false));
    }

    let build_command = scripts::build_command(p);
    file.stages.push(job_ids::BUILD.into());
    let mut build = with_dependency_cache(p, job_ids::BUILD, Job::new(job_ids::BUILD))
        .variable("SAM_TEMPLATE", &p.sam_template);
    for step in &p.extensions.before_build {
        build = build.script_line(scripts::added_step(p, step, true));
    }
    build = build.script_line(build_command);
    for step in &p.extensions.after_build {
        build = build.script_line(scripts::added_step(p, step, true));
    }
    if p.workflow.use_container || p.sam_app.has_image_functions() {
        build = with_docker(build);
    }
    if let Some(save) = scripts::save_images(p) {
        build = build.script_line(save);
    }
    build.needs = Some(build_needs);
    build.artifacts = Some(Artifacts {
        paths: vec![format!("{BUILD_DIR}/")],
        expire_in: ARTIFACTS_EXPIRE_IN.into(),
    });
    file.jobs.push((job_ids::BUILD.into(), build));

    if let Some(rule) = &feature_rule {
        file.stages.push(FEATURE_STAGE.into());
        for use_ in &p.role_uses {
            let job = match use_.job_id.as_str() {
                job_ids::DEPLOY_FEATURE => deploy_feature(p, use_, rule, &audience)?,
                job_ids::DELETE_FEATURE => delete_feature(p, use_, rule, &audience)?,
                _ => continue,
            };
            file.jobs.push((use_.job_id.clone(), job));
        }
    }

    let mut previous: Vec<String> = Vec::new();
    for added in p.extensions.jobs_after(After::Build) {
        let job = added_job(
            p,
            added,
            &[job_ids::BUILD.to_owned()],
            &deploy_rule,
            &audience,
        )?;
        file.stages.push(added.id.clone());
        file.jobs.push((added.id.clone(), job));
        previous.push(added.id.clone());
    }
    for (index, stage) in p.stages.iter().enumerate() {
        let id = job_ids::deploy(&stage.name);
        let use_ = p
            .role_uses
            .iter()
            .find(|u| u.job_id == id)
            .ok_or_else(|| internal(format!("no role use for `{id}`")))?;
        if use_.stage != index {
            return Err(internal(format!("`{id}` assumes another stage's role")));
        }
        let mut rule = deploy_rule.clone();
        if stage.manual_approval {
            // `when: manual` inside the rule makes a blocking gate: later stages wait for it.
            rule = rule.when(When::Manual).allow_failure(false);
        }
        let mut job =
            with_deploy_variables(assuming_job(&id, stage, use_, &audience)?, stage, use_);
        job.needs = Some(
            std::iter::once(need(job_ids::BUILD, true))
                .chain(previous.iter().map(|job| need(job, false)))
                .collect(),
        );
        job.rules = vec![rule];
        job.environment = use_.environment.clone().map(Environment::new);
        // Deployments to one stage never overlap, across pipelines too.
        job.resource_group = Some(stage.name.clone());
        let mut job =
            with_parameter_overrides(job.variable("STACK_NAME", &stage.stack_name), stage);
        if let Some(load) = scripts::load_images(p) {
            job = with_docker(job).script_line(load);
        }
        let job = job.script_line(scripts::sam_deploy(
            stage,
            &scripts::DeployWords::from_env(
                p,
                "\"$STACK_NAME\"",
                "AWS_REGION",
                &stage.roles(use_.role),
            ),
            true,
        ));
        let job = with_deploy_steps(p, index, job, 0);
        file.stages.push(id.clone());
        file.jobs.push((id.clone(), job));
        previous = vec![id.clone()];

        let after: Vec<&AddedJob> = p.extensions.jobs_after(After::Stage(index)).collect();
        for added in &after {
            let job = added_job(p, added, &previous, &deploy_rule, &audience)?;
            file.stages.push(added.id.clone());
            file.jobs.push((added.id.clone(), job));
        }
        if !after.is_empty() {
            previous = after.iter().map(|j| j.id.clone()).collect();
        }
    }

    let problems = file.validate();
    if let Some(problem) = problems.first() {
        return Err(internal(problem));
    }
    Ok(file)
}

/// A deploy job with the user's steps of stage `stage` around its deploy
/// ([`scripts::with_deploy_steps`]).
fn with_deploy_steps(p: &Pipeline, stage: usize, mut job: Job, naming: usize) -> Job {
    job.script = scripts::with_deploy_steps(
        p,
        stage,
        std::mem::take(&mut job.script),
        naming,
        "\"$STACK_NAME\"",
        "\"$AWS_REGION\"",
    );
    job
}

/// One of the user's jobs (or the integration tests), in its own GitLab stage, after
/// `previous`, on the deployment branch; with `role`, it assumes the stage's role as the
/// deploy job does (in the stage's environment, verifying rather than deploying) and reads
/// the stack's outputs first.
fn added_job(
    p: &Pipeline,
    added: &AddedJob,
    previous: &[String],
    rule: &Rule,
    audience: &str,
) -> Result<Job, Diagnostic> {
    let mut job = match added.role_stage() {
        Some(index) => {
            let stage = p
                .stages
                .get(index)
                .ok_or_else(|| internal("no such stage"))?;
            let use_ = p
                .role_uses
                .iter()
                .find(|u| u.job_id == added.id)
                .ok_or_else(|| internal(format!("no role use for `{}`", added.id)))?;
            let mut job = assuming_job(&added.id, stage, use_, audience)?
                .variable("STACK_NAME", &stage.stack_name);
            job.environment = use_.environment.clone().map(|name| Environment {
                action: Some(EnvironmentAction::Verify),
                ..Environment::new(name)
            });
            job.script.extend(scripts::read_stack_outputs(
                p,
                "\"$STACK_NAME\"",
                "\"$AWS_REGION\"",
                scripts::OutputsSink::Shell,
            ));
            job
        }
        None => Job::new(&added.id),
    };
    job.needs = Some(previous.iter().map(|j| need(j, false)).collect());
    job.rules = vec![rule.clone()];
    // Without the role, the job drops whatever credentials project variables hold.
    Ok(job.script_line(scripts::added_job(p, added)))
}

/// `job` with what `sam deploy` (or `sam delete`) of `stage` with `use_`'s roles reads: the
/// bucket, the CloudFormation execution role, the boundary and the image repository.
fn with_deploy_variables(mut job: Job, stage: &StagePlan, use_: &RoleUse) -> Job {
    let roles = stage.roles(use_.role);
    job = job
        .variable("ARTIFACTS_BUCKET", &stage.artifacts_bucket)
        .variable("CLOUDFORMATION_EXECUTION_ROLE", roles.cfn_role_arn);
    if let Some(boundary) = roles.boundary_arn {
        job = job.variable(scripts::BOUNDARY_VARIABLE, boundary);
    }
    if let Some(repository) = &stage.image_repository {
        job = job.variable("IMAGE_REPOSITORY", &repository.uri);
    }
    job
}

/// `job` with the stage's parameter overrides in `$PARAMETER_OVERRIDES`, for `sam deploy`.
fn with_parameter_overrides(job: Job, stage: &StagePlan) -> Job {
    match scripts::parameter_overrides_json(stage) {
        Some(json) => job.variable(scripts::PARAMETER_OVERRIDES_VARIABLE, json),
        None => job,
    }
}

/// `job` with a Docker daemon: the Docker-in-Docker service and the variables that reach it.
fn with_docker(mut job: Job) -> Job {
    job.services.push(scripts::GITLAB_DIND_SERVICE.into());
    for (name, value) in scripts::GITLAB_DIND_VARIABLES {
        job = job.variable(name, *value);
    }
    job
}

/// A job in its own GitLab stage `stage_name` that assumes `stage`'s pipeline execution role,
/// and no other: an ID token for the provider's audience, the variables the AWS CLI reads to
/// assume the role, and a first script that checks the identity it got.
fn assuming_job(
    stage_name: &str,
    stage: &StagePlan,
    use_: &RoleUse,
    audience: &str,
) -> Result<Job, Diagnostic> {
    // A role session name is at most 64 characters of `[\w+=,.@-]`; `$CI_JOB_ID` is digits.
    let mut session = use_.job_id.clone();
    session.truncate(40);
    let roles = stage.roles(use_.role);
    let expected = format!(
        "arn:{}:sts::{}:assumed-role/{}/",
        stage.partition, stage.account, roles.role_name
    );
    // Pasted into single quotes below: it must be only ARN characters.
    if !expected
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/-_.+=,@".contains(c))
    {
        return Err(internal(format!("unexpected characters in `{expected}`")));
    }
    let verify = format!(
        "caller=$(aws sts get-caller-identity --query Arn --output text)\n\
         case \"$caller\" in\n  \
         '{expected}'*) echo \"Assumed $caller\" ;;\n  \
         *) echo \"expected a session of the {} role in account {}, got $caller\" >&2; exit 1 ;;\n\
         esac\n",
        roles.role_name, stage.account
    );
    let mut job = Job::new(stage_name)
        .variable("AWS_ROLE_ARN", roles.role_arn)
        .variable("AWS_ROLE_SESSION_NAME", format!("{session}-$CI_JOB_ID"))
        .variable("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE)
        .variable("AWS_REGION", &stage.region)
        .variable("AWS_DEFAULT_REGION", &stage.region);
    job.interruptible = Some(false);
    job.id_tokens = vec![IdToken {
        name: GITLAB_TOKEN_VARIABLE.into(),
        aud: audience.to_owned(),
    }];
    job.after_script = vec!["rm -f \"$AWS_WEB_IDENTITY_TOKEN_FILE\"".into()];
    Ok(job
        // Static keys from project variables would win over the web identity.
        .script_line("unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE")
        .script_line(format!(
            "(umask 077 && printf '%s' \"${GITLAB_TOKEN_VARIABLE}\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\")"
        ))
        .script_line(verify))
}

/// Shell that sets `$stack` to the feature branch's stack name: the prefix, then the branch
/// name with every run of other characters than letters and digits as one `-`, capped so the
/// whole fits CloudFormation's limit. The same as the GitHub workflow's, so that a project
/// moving between them keeps its stacks.
fn feature_stack_script(p: &Pipeline) -> String {
    format!(
        "{}\nstack=\"${{FEATURE_STACK_PREFIX}}${{slug}}\"\n",
        scripts::feature_slug(&p.app, p.feature_branches.as_deref(), "CI_COMMIT_REF_NAME")
    )
}

fn deploy_feature(
    p: &Pipeline,
    use_: &RoleUse,
    rule: &str,
    audience: &str,
) -> Result<Job, Diagnostic> {
    let stage = p
        .stages
        .get(use_.stage)
        .ok_or_else(|| internal("`deploy-feature` names no stage"))?;
    let mut job = with_deploy_variables(
        assuming_job(FEATURE_STAGE, stage, use_, audience)?,
        stage,
        use_,
    );
    job.needs = Some(vec![need(job_ids::BUILD, true)]);
    job.rules = vec![Rule::if_(rule)];
    job.environment = Some(Environment {
        on_stop: Some(job_ids::DELETE_FEATURE.into()),
        auto_stop_in: Some(FEATURE_AUTO_STOP_IN.into()),
        ..Environment::new(FEATURE_ENVIRONMENT)
    });
    // The deploy and the stop job of one environment must share a resource group.
    job.resource_group = Some(FEATURE_ENVIRONMENT.into());
    // Feature stacks get the first stage's parameters too: they stand in for it.
    let deploy = scripts::sam_deploy(
        stage,
        &scripts::DeployWords::from_env(
            p,
            "\"$STACK_NAME\"",
            "AWS_REGION",
            &stage.roles(use_.role),
        ),
        true,
    );
    let mut job = with_parameter_overrides(
        job.variable("FEATURE_STACK_PREFIX", feature_stack_prefix(&p.app)),
        stage,
    );
    // The stack's name first, for the deploy and the steps around it.
    job.script.insert(
        0,
        format!("{}export STACK_NAME=\"$stack\"", feature_stack_script(p)),
    );
    if let Some(load) = scripts::load_images(p) {
        job = with_docker(job).script_line(load);
    }
    Ok(with_deploy_steps(p, 0, job.script_line(deploy), 1))
}

/// The stop job of a feature branch's environment. GitLab runs it when the branch is deleted
/// (or the environment is stopped or expires), in the branch's last pipeline, so its token
/// names the feature branch; the branch's code is gone by then, so nothing is checked out.
fn delete_feature(
    p: &Pipeline,
    use_: &RoleUse,
    rule: &str,
    audience: &str,
) -> Result<Job, Diagnostic> {
    let stage = p
        .stages
        .get(use_.stage)
        .ok_or_else(|| internal("`delete-feature` names no stage"))?;
    let mut job = with_deploy_variables(
        assuming_job(FEATURE_STAGE, stage, use_, audience)?,
        stage,
        use_,
    );
    // Playable at any time (and by GitLab when the branch goes), even if the build failed.
    job.needs = Some(Vec::new());
    // The same rule as `deploy-feature` (GitLab requires it), but run only on demand; a stop
    // job that never runs must not hold the pipeline.
    job.rules = vec![Rule::if_(rule).when(When::Manual).allow_failure(true)];
    job.environment = Some(Environment {
        action: Some(EnvironmentAction::Stop),
        ..Environment::new(FEATURE_ENVIRONMENT)
    });
    job.resource_group = Some(FEATURE_ENVIRONMENT.into());
    let mut delete = feature_stack_script(p);
    delete.push_str("sam delete --stack-name \"$stack\" --region \"$AWS_REGION\" --no-prompts\n");
    Ok(job
        .variable("GIT_STRATEGY", "none")
        .variable("FEATURE_STACK_PREFIX", feature_stack_prefix(&p.app))
        .script_line(delete))
}

/// The CI file as committed: a header saying it is generated, and why jobs get ID tokens.
pub fn render(p: &Pipeline) -> Result<String, Diagnostic> {
    let file = ci_file(p)?;
    let body = crate::yaml::to_string(&file.to_yaml(), &crate::yaml::Style::default());
    let stages: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    let flow = format!("Deploys {} through {}.", p.app, stages.join(" -> "));
    let [generated, check] = scripts::generated_header();
    let header = [
        generated.as_str(),
        check.as_str(),
        flow.as_str(),
        "Each deploy job assumes only its own stage's role with a GitLab ID token; the roles'",
        "trust policies admit exactly these jobs (`sampipe explain` prints the trust map).",
        "Project and pipeline variables override job variables: each deploy job checks the",
        "identity it assumed before it deploys.",
    ];
    let mut out = String::with_capacity(body.len() + 1024);
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    for line in body.lines() {
        out.push_str(line);
        // Job keys are indented by two spaces; script lines are deeper.
        if line == "  id_tokens:" {
            out.push_str(ID_TOKENS_WHY);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;
    use crate::config::validate::glob_matches;

    const FIXTURES: &[(&str, &str)] = &[
        ("gitlab.yaml", include_str!("../../fixtures/gitlab.yaml")),
        (
            "gitlab-self-hosted.yaml",
            include_str!("../../fixtures/gitlab-self-hosted.yaml"),
        ),
        (
            "gitlab-extensions.yaml",
            include_str!("../../fixtures/gitlab-extensions.yaml"),
        ),
    ];

    fn pipeline(name: &str, text: &str) -> Pipeline {
        let loaded = crate::config::load_str(name, text).expect("fixture is valid");
        Pipeline::new(&loaded.config).expect("fixture resolves")
    }

    fn fixtures() -> Vec<(Pipeline, CiFile)> {
        FIXTURES
            .iter()
            .map(|(name, text)| {
                let p = pipeline(name, text);
                let file = ci_file(&p).expect("renders");
                (p, file)
            })
            .collect()
    }

    #[test]
    fn only_the_jobs_that_assume_a_role_get_an_id_token() {
        for (p, file) in fixtures() {
            let with_tokens: BTreeSet<&str> = file
                .jobs
                .iter()
                .filter(|(_, job)| !job.id_tokens.is_empty())
                .map(|(id, _)| id.as_str())
                .collect();
            let role_jobs: BTreeSet<&str> = p.role_uses.iter().map(|u| u.job_id.as_str()).collect();
            assert_eq!(with_tokens, role_jobs, "{}", p.app);
            for (id, job) in &file.jobs {
                let assumes = job.variable_value("AWS_ROLE_ARN").is_some()
                    || job.variable_value("AWS_WEB_IDENTITY_TOKEN_FILE").is_some();
                assert_eq!(assumes, !job.id_tokens.is_empty(), "{id}");
                for token in &job.id_tokens {
                    assert_eq!(token.name, GITLAB_TOKEN_VARIABLE);
                    assert_eq!(token.aud, p.provider.audience(), "{id}");
                }
            }
        }
    }

    #[test]
    fn each_role_job_assumes_its_own_stages_role_and_checks_it() {
        for (p, file) in fixtures() {
            for use_ in &p.role_uses {
                let stage = &p.stages[use_.stage];
                let roles = stage.roles(use_.role);
                let job = file.job(&use_.job_id).expect("every role use is a job");
                assert_eq!(
                    job.variable_value("AWS_ROLE_ARN"),
                    Some(roles.role_arn),
                    "{}",
                    use_.job_id
                );
                assert_eq!(
                    job.variable_value("AWS_REGION"),
                    Some(stage.region.as_str())
                );
                // The jobs of the user's (and the integration tests) only test what was
                // deployed: nothing of `sam deploy`'s.
                let deploys = !p.extensions.jobs.iter().any(|j| j.id == use_.job_id);
                if !deploys {
                    assert_eq!(job.variable_value("ARTIFACTS_BUCKET"), None);
                    assert_eq!(job.variable_value("CLOUDFORMATION_EXECUTION_ROLE"), None);
                    assert!(!job.script.join("\n").contains("sam deploy"));
                    continue;
                }
                assert_eq!(
                    job.variable_value("ARTIFACTS_BUCKET"),
                    Some(stage.artifacts_bucket.as_str())
                );
                assert_eq!(
                    job.variable_value("CLOUDFORMATION_EXECUTION_ROLE"),
                    Some(roles.cfn_role_arn)
                );
                // The deploy bounds the roles it creates with this role's boundary.
                assert_eq!(
                    job.variable_value(scripts::BOUNDARY_VARIABLE),
                    roles.boundary_arn
                );
                if use_.job_id != job_ids::DELETE_FEATURE {
                    let script = job.script.join("\n");
                    assert!(
                        script
                            .contains("python3 - \"$PERMISSIONS_BOUNDARY\" \"$packaged\" <<'PY'\n")
                            && script.contains("--template-file \"$packaged\""),
                        "{}: {script}",
                        use_.job_id
                    );
                }
                // The identity check names this stage's role in this stage's account, and no
                // other stage's role appears anywhere in the job.
                let expected = format!(
                    "'arn:{}:sts::{}:assumed-role/{}/'*)",
                    stage.partition, stage.account, roles.role_name
                );
                let yaml = serde_yaml::to_string(&job.to_yaml()).expect("serializes");
                assert!(yaml.contains(&expected), "{}: {yaml}", use_.job_id);
                for (other, other_stage) in p.stages.iter().enumerate() {
                    if other != use_.stage {
                        assert!(
                            !yaml.contains(&other_stage.pipeline_role_name),
                            "{}",
                            use_.job_id
                        );
                    }
                }
                // The token is written before the identity check, the check before the deploy.
                let at = |needle: &str| job.script.iter().position(|l| l.contains(needle));
                assert!(at("AWS_WEB_IDENTITY_TOKEN_FILE") < at("get-caller-identity"));
                assert!(at("get-caller-identity") < at("sam "));
            }
        }
    }

    #[test]
    fn deploy_jobs_run_on_the_branch_gated_chained_and_serialized() {
        for (p, file) in fixtures() {
            let branch_rule = format!("$CI_COMMIT_BRANCH == \"{}\"", p.branch);
            let mut previous: Option<String> = None;
            for (index, stage) in p.stages.iter().enumerate() {
                let id = job_ids::deploy(&stage.name);
                let job = file.job(&id).expect("a deploy job per stage");
                assert_eq!(job.rules.len(), 1);
                assert_eq!(job.rules[0].if_, branch_rule);
                let manual = job.rules[0].when == Some(When::Manual);
                assert_eq!(manual, stage.manual_approval, "{id}");
                if manual {
                    assert_eq!(job.rules[0].allow_failure, Some(false), "{id} must block");
                }
                assert_eq!(
                    job.environment.as_ref().map(|e| e.name.as_str()),
                    stage.environment.as_deref()
                );
                assert_eq!(job.resource_group.as_deref(), Some(stage.name.as_str()));
                assert_eq!(job.interruptible, Some(false));
                let needs = job.needs.as_ref().expect("needs");
                assert!(
                    needs.contains(&need(job_ids::BUILD, true)),
                    "{id} needs the build"
                );
                if let Some(previous) = &previous {
                    assert!(
                        needs.contains(&need(previous, false)),
                        "{id} after {previous}"
                    );
                }
                let integration = file.job(job_ids::INTEGRATION_TEST);
                previous = Some(match integration {
                    Some(test) if index == 0 => {
                        assert_eq!(test.needs, Some(vec![need(&id, false)]));
                        assert_eq!(test.rules, job.rules);
                        job_ids::INTEGRATION_TEST.to_owned()
                    }
                    _ => id,
                });
            }
        }
    }

    #[test]
    fn feature_jobs_share_rules_environment_and_resource_group() {
        let (p, file) = fixtures().remove(0);
        let glob = p
            .feature_branches
            .as_deref()
            .expect("fixture has feature branches");
        let deploy = file.job(job_ids::DEPLOY_FEATURE).expect("deploy-feature");
        let delete = file.job(job_ids::DELETE_FEATURE).expect("delete-feature");
        assert_eq!(deploy.rules[0].if_, on_feature_branch(glob));
        assert_eq!(
            delete.rules[0].if_, deploy.rules[0].if_,
            "GitLab requires the same rules"
        );
        assert_eq!(delete.rules[0].when, Some(When::Manual));
        assert_eq!(delete.rules[0].allow_failure, Some(true));
        let env = deploy.environment.as_ref().expect("environment");
        assert_eq!(env.on_stop.as_deref(), Some(job_ids::DELETE_FEATURE));
        let stop = delete.environment.as_ref().expect("environment");
        assert_eq!(stop.name, env.name);
        assert_eq!(stop.action, Some(EnvironmentAction::Stop));
        assert_eq!(deploy.resource_group, delete.resource_group);
        assert_eq!(deploy.stage, delete.stage);
        assert_eq!(delete.variable_value("GIT_STRATEGY"), Some("none"));
        // Feature stacks land in the first stage, with its feature role, never in a stage's
        // own stack.
        assert_eq!(
            deploy.variable_value("AWS_ROLE_ARN"),
            p.stages[0].feature.as_ref().map(|f| f.role.arn.as_str())
        );
        assert!(deploy.variable_value("STACK_NAME").is_none());
        // No stage job and no workflow rule run for the feature pattern on the main branch.
        assert!(!glob_matches(glob, &p.branch));
        assert!(file
            .workflow_rules
            .iter()
            .any(|r| r.if_ == on_feature_branch(glob)));
    }

    #[test]
    fn jobs_without_a_role_have_no_aws_settings() {
        for (_, file) in fixtures() {
            for id in [job_ids::TEST, job_ids::BUILD] {
                if let Some(job) = file.job(id) {
                    assert!(job.id_tokens.is_empty(), "{id}");
                    assert!(
                        job.variables.iter().all(|(k, _)| !k.starts_with("AWS_")),
                        "{id}"
                    );
                }
            }
        }
    }

    /// Every `$NAME` a script reads is a job variable, the ID token, a predefined `CI_`
    /// variable or a shell variable the script sets; branch names never appear as text.
    #[test]
    fn scripts_read_only_defined_variables() {
        const SHELL_LOCALS: &[&str] = &[
            "slug",
            "stack",
            "caller",
            "name",
            "parameters",
            "packaged",
            "outputs_json",
            "outputs_env",
        ];
        for (p, file) in fixtures() {
            for (id, job) in &file.jobs {
                let mut defined: HashSet<&str> =
                    job.variables.iter().map(|(k, _)| k.as_str()).collect();
                // What the script exports for its later lines.
                for line in &job.script {
                    for part in line.split("export ").skip(1) {
                        defined.extend(part.split('=').next().filter(|n| !n.contains(' ')));
                    }
                }
                // The user's own steps (a comment line naming the step, then a subshell)
                // read what the user chose.
                let ours = job.script.iter().filter(|l| !l.starts_with("# "));
                for line in ours.chain(&job.after_script) {
                    assert!(!line.contains(&p.branch), "{id}: {line}");
                    let mut rest = line.as_str();
                    while let Some(at) = rest.find('$') {
                        rest = &rest[at + 1..];
                        let name: String = rest
                            .trim_start_matches('{')
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if name.is_empty() {
                            continue; // `$(`
                        }
                        assert!(
                            defined.contains(name.as_str())
                                || name == GITLAB_TOKEN_VARIABLE
                                || name.starts_with("CI_")
                                || SHELL_LOCALS.contains(&name.as_str()),
                            "{id} reads undefined ${name}"
                        );
                    }
                }
            }
        }
    }

    /// A matcher for exactly the regexes [`glob_regex`] may produce (`^`, `$`, literals,
    /// `\`-escaped punctuation, `.*`); it panics on anything else, so the tests below also
    /// check that nothing else is produced.
    fn regex_matches(regex: &str, text: &str) -> bool {
        enum Token {
            Lit(char),
            Any,
        }
        let body = regex
            .strip_prefix('^')
            .and_then(|r| r.strip_suffix('$'))
            .expect("anchored");
        let mut tokens = Vec::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let escaped = chars.next().expect("escape has a character");
                    assert!(escaped.is_ascii_punctuation(), "\\{escaped}");
                    tokens.push(Token::Lit(escaped));
                }
                '.' => {
                    assert_eq!(chars.next(), Some('*'), "only `.*` is produced");
                    tokens.push(Token::Any);
                }
                c if "+*?()|[]{}^$/".contains(c) => panic!("unescaped `{c}` in {regex}"),
                c => tokens.push(Token::Lit(c)),
            }
        }
        fn go(tokens: &[Token], text: &[char]) -> bool {
            match tokens.split_first() {
                None => text.is_empty(),
                Some((Token::Lit(c), rest)) => text.first() == Some(c) && go(rest, &text[1..]),
                Some((Token::Any, rest)) => (0..=text.len()).any(|i| go(rest, &text[i..])),
            }
        }
        let text: Vec<char> = text.chars().collect();
        go(&tokens, &text)
    }

    #[test]
    fn feature_regex_matches_exactly_what_the_glob_matches_in_iam() {
        assert_eq!(glob_regex("feature*"), "^feature.*$");
        assert_eq!(glob_regex("feature/**"), "^feature\\/.*$");
        assert_eq!(glob_regex("v1.*-fix"), "^v1\\..*-fix$");
        let globs = [
            "feature*",
            "feature/**",
            "feature/*",
            "*-fix",
            "a*b*c",
            "v1.*",
            "team/*/wip",
        ];
        let branches = [
            "feature",
            "featurex",
            "feature/x/y",
            "feature/",
            "my-feature",
            "main",
            "Feature",
            "a-fix",
            "-fix",
            "fix",
            "aXbYc",
            "aXcYb",
            "abc",
            "v1.2",
            "v1x2",
            "v1.",
            "team/a/wip",
            "team/a/b/wip",
            "team//wip",
            "team/wip",
            "x/feature/y",
        ];
        for glob in globs {
            let regex = glob_regex(glob);
            for branch in branches {
                assert_eq!(
                    regex_matches(&regex, branch),
                    glob_matches(glob, branch),
                    "{glob} ({regex}) on {branch}"
                );
            }
        }
    }

    #[test]
    fn rendering_is_deterministic_yaml_with_a_header() {
        for (name, text) in FIXTURES {
            let p = pipeline(name, text);
            let rendered = render(&p).expect("renders");
            assert_eq!(rendered, render(&p).expect("renders"));
            assert!(rendered.starts_with("# Generated by sampipe; do not edit by hand."));
            let parsed: serde_yaml::Value = serde_yaml::from_str(&rendered).expect("YAML");
            assert_eq!(parsed, ci_file(&p).expect("renders").to_yaml(), "{name}");
            let token_lines = rendered.lines().filter(|l| l.starts_with("  id_tokens:"));
            assert!(token_lines.clone().count() == p.role_uses.len());
            assert!(token_lines.into_iter().all(|l| l.ends_with(ID_TOKENS_WHY)));
        }
    }

    #[test]
    fn default_image_and_timeout_follow_the_config() {
        let (p, file) = fixtures().remove(0);
        assert_eq!(
            file.default.image.as_deref(),
            Some(scripts::default_image().as_str())
        );
        assert_eq!(
            file.default.timeout,
            Some(format!("{}m", p.workflow.timeout_minutes))
        );
        let (p, file) = fixtures().remove(1);
        assert_eq!(file.default.image, p.workflow.image);
        let build = file.job(job_ids::BUILD).expect("build");
        assert!(!build.script[0].contains("--use-container"));
        assert_eq!(
            build.artifacts.as_ref().map(|a| a.paths.clone()),
            Some(vec![".aws-sam/build/".to_owned()])
        );
    }
}
