//! Renders the pipeline model as `bitbucket-pipelines.yml`: test → build once → deploy stage by
//! stage on the deployment branch, feature-branch stacks on the first stage, and a custom
//! pipeline a person runs to delete a feature branch's stack (Bitbucket has no trigger on
//! branch deletion). Every step that assumes a role is one of [`Pipeline::role_uses`]; the
//! trust policies in the template admit exactly those.
//!
//! Security defaults, as in the GitHub workflow: `oidc: true` only on steps that assume a
//! role, each of which assumes only its own stage's role and checks it landed in the stage's
//! account; those steps do not clone the repository (they need only the build artifacts);
//! values reach scripts single-quoted, and branch names only through `$BITBUCKET_BRANCH` or
//! the custom pipeline's variable, sanitized before they name a stack. No pipeline runs for
//! pull requests or tags, so nothing but a push to a configured branch deploys.

use std::collections::{HashMap, HashSet};

use crate::bitbucket::{Pipeline as StepList, PipelinesFile, Step, Trigger};
use crate::diag::Diagnostic;
use crate::pipeline::extend::{AddedJob, After};
use crate::pipeline::names::feature_stack_prefix;
use crate::pipeline::scripts::{self, BUILD_DIR};
use crate::pipeline::{job_ids, Pipeline, RoleUse, StagePlan};

/// The custom pipeline that deletes a feature branch's stack, and the variable naming it.
const DELETE_PIPELINE: &str = "delete-feature";
const FEATURE_BRANCH_VARIABLE: &str = "FEATURE_BRANCH";

/// An error in building the file: always a bug in sampipe, since the config was validated.
fn internal(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "internal-error",
        format!("cannot build bitbucket-pipelines.yml: {what}"),
    )
    .help("this is a bug in sampipe; please report it with your config")
}

/// `value` as one single-quoted shell word.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A feature-branch pattern (where `*` matches any run of characters, as IAM's `StringLike`
/// does) as a Bitbucket branch glob: there `*` stops at `/` and `**` does not, so each run of
/// `*` becomes `**`.
pub fn branch_glob(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            while chars.peek() == Some(&'*') {
                chars.next();
            }
            glob.push_str("**");
        } else {
            glob.push(c);
        }
    }
    glob
}

/// The same pattern as a POSIX `case` pattern: literal parts quoted, `*` matching anything
/// (in `case`, `*` matches `/` too).
fn case_pattern(pattern: &str) -> String {
    let mut out = String::new();
    for (index, part) in pattern.split('*').enumerate() {
        if index > 0 && !out.ends_with('*') {
            out.push('*');
        }
        if !part.is_empty() {
            out.push_str(&sh_quote(part));
        }
    }
    out
}

/// The file's typed model.
pub fn pipelines_file(p: &Pipeline) -> Result<PipelinesFile, Diagnostic> {
    let first = p.stages.first().ok_or_else(|| internal("no stages"))?;
    let uses_by_job: HashMap<&str, &RoleUse> = p
        .role_uses
        .iter()
        .rev()
        .map(|u| (u.job_id.as_str(), u))
        .collect();
    let use_of = |id: &str| {
        uses_by_job
            .get(id)
            .copied()
            .ok_or_else(|| internal(format!("no role use for `{id}`")))
    };
    let mut emitted: Vec<&str> = Vec::new();

    let mut main = StepList::new();
    if let Some(step) = test_step(p) {
        main = main.step(step);
    }
    main = main.step(build_step(p));
    for added in p.extensions.jobs_after(After::Build) {
        main = main.step(added_step(p, added, None)?);
    }
    for (index, stage) in p.stages.iter().enumerate() {
        let id = job_ids::deploy(&stage.name);
        let use_ = use_of(&id)?;
        emitted.push(&use_.job_id);
        let deploy = deploy_step(p, stage_of(p, use_)?, use_, DeployTarget::Stage)?;
        let mut steps = vec![deploy];
        for added in p.extensions.jobs_after(After::Stage(index)) {
            let use_ = match added.role {
                true => Some(use_of(&added.id)?),
                false => None,
            };
            emitted.extend(use_.map(|u| u.job_id.as_str()));
            steps.push(added_step(p, added, use_)?);
        }
        // An environment is deployed to once per pipeline: the steps with the stage's role
        // after its deploy join the deploy's deployment stage, so that their tokens carry
        // the environment the role trusts.
        let share_environment = steps[0].deployment.is_some()
            && p.extensions.jobs_after(After::Stage(index)).any(|j| j.role);
        if share_environment {
            main = main.stage(format!("Deploy to {}", stage.name), steps);
        } else {
            for step in steps {
                main = main.step(step);
            }
        }
    }

    let mut file = PipelinesFile::new(&p.ci_image()?);
    file.max_time = Some(p.workflow.timeout_minutes);
    file = file.branch(&p.branch, main);

    if let Some(pattern) = &p.feature_branches {
        let use_ = use_of(job_ids::DEPLOY_FEATURE)?;
        emitted.push(&use_.job_id);
        let mut feature = StepList::new();
        if let Some(step) = test_step(p) {
            feature = feature.step(step);
        }
        feature = feature.step(build_step(p)).step(deploy_step(
            p,
            stage_of(p, use_)?,
            use_,
            DeployTarget::Feature,
        )?);
        file = file.branch(branch_glob(pattern), feature);

        let use_ = use_of(job_ids::DELETE_FEATURE)?;
        emitted.push(&use_.job_id);
        let delete = StepList::new()
            .variable(
                FEATURE_BRANCH_VARIABLE,
                Some(format!(
                    "The deleted feature branch (matching {pattern}) whose stack to delete from {}",
                    first.name
                )),
            )
            .step(delete_step(p, stage_of(p, use_)?, use_, pattern)?);
        file = file.custom(DELETE_PIPELINE, delete);
    }

    // Bitbucket has no file-wide variables: every step exports the config's `env` first.
    if !p.extensions.env.is_empty() {
        let exports: Vec<String> = p
            .extensions
            .env
            .iter()
            .map(|(name, value)| scripts::export_literal(name, value))
            .collect();
        for (_, pipeline) in file.branches.iter_mut().chain(file.custom.iter_mut()) {
            for step in &mut pipeline.steps {
                step.script.splice(0..0, exports.iter().cloned());
            }
        }
    }
    // Exactly the model's role uses, each once: the trust proof is about these.
    let expected: HashSet<&str> = p.role_uses.iter().map(|u| u.job_id.as_str()).collect();
    let written: HashSet<&str> = emitted.iter().copied().collect();
    if expected != written || emitted.len() != p.role_uses.len() {
        return Err(internal(format!(
            "the steps that assume a role ({emitted:?}) are not the model's role uses ({:?})",
            p.role_uses.iter().map(|u| &u.job_id).collect::<Vec<_>>()
        )));
    }
    let problems = file.validate();
    if let Some(problem) = problems.first() {
        return Err(internal(problem));
    }
    Ok(file)
}

/// One of the user's jobs (or the integration tests) as a step, in a clone of the repository;
/// with `use_`, it assumes the stage's role as the deploy step does and reads the stack's
/// outputs first; without, it drops whatever credentials repository variables hold.
fn added_step(p: &Pipeline, added: &AddedJob, use_: Option<&RoleUse>) -> Result<Step, Diagnostic> {
    let name = format!("{} ({})", added.name, added.id);
    let mut step = match use_ {
        Some(use_) => {
            let stage = stage_of(p, use_)?;
            let mut step = role_step(name, stage, use_);
            step.clone = true;
            step = step
                .commands(assume_role(stage, use_))
                .command(format!("export STACK_NAME={}", sh_quote(&stage.stack_name)));
            let read = scripts::read_stack_outputs(
                p,
                "\"$STACK_NAME\"",
                "\"$AWS_REGION\"",
                scripts::OutputsSink::Shell,
            );
            match read {
                Some(read) => step.command(read.strip_suffix('\n').unwrap_or(&read).to_owned()),
                None => step,
            }
        }
        None => Step::new(name),
    };
    step = step.command(scripts::added_job(p, added));
    Ok(step)
}

fn stage_of<'a>(p: &'a Pipeline, use_: &RoleUse) -> Result<&'a StagePlan, Diagnostic> {
    p.stages
        .get(use_.stage)
        .ok_or_else(|| internal(format!("`{}` names no stage", use_.job_id)))
}

fn test_step(p: &Pipeline) -> Option<Step> {
    let command = p.workflow.unit_test_command.as_ref()?;
    Some(Step::new(format!("Unit tests ({})", job_ids::TEST)).command(command.clone()))
}

fn build_step(p: &Pipeline) -> Step {
    let command = scripts::build_command(p);
    let mut step = Step::new(format!("Build once for every stage ({})", job_ids::BUILD));
    if p.workflow.use_container || p.sam_app.has_image_functions() {
        step.services.push("docker".into());
    }
    step.artifacts.push(format!("{BUILD_DIR}/**"));
    let mut step = step.command(format!("export SAM_TEMPLATE={}", sh_quote(&p.sam_template)));
    for added in &p.extensions.before_build {
        step = step.command(scripts::added_step(p, added, true));
    }
    step = step.command(command);
    for added in &p.extensions.after_build {
        step = step.command(scripts::added_step(p, added, true));
    }
    match scripts::save_images(p) {
        Some(save) => step.command(save),
        None => step,
    }
}

/// Commands that let the AWS CLI and SAM CLI assume `stage`'s pipeline execution role, and no
/// other, from the step's OIDC token, in the stage's region; then fail unless the role is in
/// the stage's account (as `allowed-account-ids` does on GitHub).
fn assume_role(stage: &StagePlan, use_: &RoleUse) -> Vec<String> {
    let region = sh_quote(&stage.region);
    let session = &use_.job_id;
    vec![
        // Assigned, then exported: `export X=$(...)` would hide the command's failure (SC2155).
        "AWS_WEB_IDENTITY_TOKEN_FILE=\"$(pwd)/web-identity-token\"; export AWS_WEB_IDENTITY_TOKEN_FILE; printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"".into(),
        format!("export AWS_ROLE_ARN={}", sh_quote(stage.roles(use_.role).role_arn)),
        format!("export AWS_ROLE_SESSION_NAME={}", sh_quote(session)),
        format!("export AWS_REGION={region} AWS_DEFAULT_REGION={region}"),
        "account=$(aws sts get-caller-identity --query Account --output text)".into(),
        format!(
            "if [ \"$account\" != {account} ]; then echo \"Assumed a role in account $account, not {} ({}); stopping.\"; exit 1; fi",
            stage.account,
            stage.name,
            account = sh_quote(&stage.account),
        ),
    ]
}

/// Commands that set `$STACK_NAME` to a feature branch's stack: the prefix and the branch in
/// `$variable`, sanitized to letters, digits and `-`, capped to fit a stack name.
fn feature_stack(p: &Pipeline, variable: &str) -> Vec<String> {
    let prefix = feature_stack_prefix(&p.app);
    vec![
        scripts::feature_slug(&p.app, p.feature_branches.as_deref(), variable),
        "if [ -z \"$slug\" ]; then echo \"No branch name to name a stack after.\"; exit 1; fi"
            .into(),
        format!("export STACK_NAME={}\"$slug\"", sh_quote(&prefix)),
    ]
}

enum DeployTarget {
    Stage,
    Feature,
}

fn deploy_step(
    p: &Pipeline,
    stage: &StagePlan,
    use_: &RoleUse,
    target: DeployTarget,
) -> Result<Step, Diagnostic> {
    let name = match target {
        DeployTarget::Stage => format!(
            "Deploy {} to {} ({})",
            stage.stack_name, stage.name, use_.job_id
        ),
        DeployTarget::Feature => format!(
            "Deploy the feature branch's stack to {} ({})",
            stage.name, use_.job_id
        ),
    };
    let mut step = role_step(name, stage, use_);
    step = match target {
        DeployTarget::Stage => {
            step.command(format!("export STACK_NAME={}", sh_quote(&stage.stack_name)))
        }
        DeployTarget::Feature => step.commands(feature_stack(p, "BITBUCKET_BRANCH")),
    };
    let naming = step.script.len();
    step = step.commands(assume_role(stage, use_));
    if let Some(load) = scripts::load_images(p) {
        // Bitbucket's Docker service brings the Docker CLI into the step.
        step.services.push("docker".into());
        step = step.command(load);
    }

    if let Some(json) = scripts::parameter_overrides_json(stage) {
        step = step.command(format!(
            "export {}={}",
            scripts::PARAMETER_OVERRIDES_VARIABLE,
            sh_quote(&json)
        ));
    }
    let capabilities: Vec<String> = p
        .workflow
        .capabilities
        .iter()
        .map(|c| sh_quote(c))
        .collect();
    let roles = stage.roles(use_.role);
    let words = scripts::DeployWords {
        stack: "\"$STACK_NAME\"".into(),
        bucket: sh_quote(&stage.artifacts_bucket),
        region: sh_quote(&stage.region),
        role: sh_quote(roles.cfn_role_arn),
        image_repository: stage
            .image_repository
            .as_ref()
            .map(|r| sh_quote(&r.uri))
            .unwrap_or_default(),
        capabilities: capabilities.join(" "),
        boundary: roles.boundary_arn.map(sh_quote),
    };
    // Feature stacks get the first stage's parameters too: they stand in for it.
    let deploy = scripts::sam_deploy(stage, &words, true);
    let deploy = deploy.strip_suffix('\n').unwrap_or(&deploy).to_owned();
    let mut step = step.command(deploy);
    let index = p
        .stages
        .iter()
        .position(|s| s.name == stage.name)
        .unwrap_or(0);
    step.script = scripts::with_deploy_steps(
        p,
        index,
        std::mem::take(&mut step.script),
        naming,
        "\"$STACK_NAME\"",
        &sh_quote(&stage.region),
    );
    Ok(step)
}

/// A step that assumes `stage`'s role for `use_`: an OIDC token, the environment the model
/// says, a person's start when the stage asks for one, and no clone.
fn role_step(name: String, stage: &StagePlan, use_: &RoleUse) -> Step {
    let mut step = Step::new(name);
    step.oidc = true;
    step.clone = false;
    step.deployment = use_.environment.clone();
    if stage.manual_approval {
        step.trigger = Trigger::Manual;
    }
    step
}

fn delete_step(
    p: &Pipeline,
    stage: &StagePlan,
    use_: &RoleUse,
    pattern: &str,
) -> Result<Step, Diagnostic> {
    let mut step = role_step(
        format!(
            "Delete a feature branch's stack from {} ({})",
            stage.name, use_.job_id
        ),
        stage,
        use_,
    );
    // A custom pipeline is started by a person already, and its first step cannot be manual.
    step.trigger = Trigger::Automatic;
    let variable = FEATURE_BRANCH_VARIABLE;
    let on_branch = match &use_.runs_on_ref {
        crate::pipeline::RefPattern::Branch(branch) => branch,
        crate::pipeline::RefPattern::BranchGlob(_) => {
            return Err(internal("`delete-feature` runs on a branch pattern"))
        }
    };
    step = step
        .command(format!(
            "if [ \"$BITBUCKET_BRANCH\" != {branch} ]; then echo \"Run {DELETE_PIPELINE} on {on_branch}, not on $BITBUCKET_BRANCH.\"; exit 1; fi",
            branch = sh_quote(on_branch),
        ))
        .command(format!(
            "case \"${variable}\" in {}) ;; *) echo \"{variable} must name a branch matching {pattern}; got '${variable}'.\"; exit 1 ;; esac",
            case_pattern(pattern)
        ))
        .commands(feature_stack(p, variable))
        .commands(assume_role(stage, use_))
        .command(format!(
            "sam delete --stack-name \"$STACK_NAME\" --region {} --no-prompts",
            sh_quote(&stage.region)
        ));
    Ok(step)
}

/// The file as committed: a header saying it is generated, and why each step asks for a token.
pub fn render(p: &Pipeline) -> Result<String, Diagnostic> {
    let file = pipelines_file(p)?;
    let style = crate::yaml::Style {
        spaced_sections: vec!["pipelines".into()],
        ..crate::yaml::Style::default()
    };
    let body = crate::yaml::to_string(&file.to_yaml(), &style);
    let stages: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    let flow = format!("Deploys {} through {}.", p.app, stages.join(" -> "));
    let mut header: Vec<String> = scripts::generated_header().into();
    header.extend([
        flow,
        "Each deploy step assumes only its own stage's role through Bitbucket OIDC; the roles' trust".to_owned(),
        "policies admit exactly these steps (`sampipe explain` prints the trust map). Step names end".to_owned(),
        "with the job id that `explain` uses.".to_owned(),
    ]);
    if p.feature_branches.is_some() {
        header.push(
            "Bitbucket has no trigger on branch deletion: after deleting a feature branch, run the"
                .to_owned(),
        );
        header.push(format!(
            "custom pipeline `{DELETE_PIPELINE}` on {} with the branch's name as {FEATURE_BRANCH_VARIABLE}.",
            p.branch
        ));
    }
    let mut out = String::with_capacity(body.len() + 1024);
    for line in &header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&explain_oidc(&body));
    Ok(out)
}

/// Says why a step asks for an OIDC token, next to `oidc: true`.
fn explain_oidc(rendered: &str) -> String {
    const WHY: &str = " # request an OIDC token to assume this stage's AWS role";
    let mut out = String::with_capacity(rendered.len() + 512);
    for line in rendered.split_inclusive('\n') {
        let content = line.strip_suffix('\n').unwrap_or(line);
        out.push_str(content);
        if content.trim_start() == "oidc: true" {
            out.push_str(WHY);
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_yaml::Value;

    use super::{branch_glob, case_pattern, render, sh_quote};
    use crate::bitbucket::STEP_KEYS;
    use crate::pipeline::{Pipeline, Provider};

    const ENVIRONMENTS: &str = include_str!("../../fixtures/bitbucket-environments.yaml");
    const PLAIN: &str = include_str!("../../fixtures/bitbucket.yaml");
    const EXTENSIONS: &str = include_str!("../../fixtures/bitbucket-extensions.yaml");

    /// The environments fixture with a manual first stage, containers, parameter overrides
    /// and a pattern that starts with `*`.
    fn variant() -> String {
        ENVIRONMENTS
            .replace("feature_branches: \"feature/*\"", "feature_branches: \"*-wip\"")
            .replace(
                "    image_repository: true\n",
                "    image_repository: true\n    manual_approval: true\n    parameter_overrides: [\"Mode=blue green\"]\n",
            )
            .replace(
                "workflow:\n",
                "workflow:\n  use_container: true\n  capabilities: [CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND]\n",
            )
    }

    fn pipeline(text: &str) -> Pipeline {
        let loaded = crate::config::load_str("sampipe.yaml", text)
            .unwrap_or_else(|e| panic!("config does not load: {e:?}\n{text}"));
        Pipeline::new(&loaded.config).expect("pipeline")
    }

    fn all() -> Vec<(Pipeline, String, Value)> {
        [
            ENVIRONMENTS.to_owned(),
            PLAIN.to_owned(),
            variant(),
            EXTENSIONS.to_owned(),
        ]
        .iter()
        .map(|text| {
            let p = pipeline(text);
            assert!(matches!(p.provider, Provider::Bitbucket(_)));
            let rendered = render(&p).expect("render");
            let value: Value = serde_yaml::from_str(&rendered).expect("valid YAML");
            (p, rendered, value)
        })
        .collect()
    }

    /// Every pipeline as (label, steps), each step its mapping.
    fn pipelines(value: &Value) -> Vec<(String, Vec<&serde_yaml::Mapping>)> {
        let mut out = Vec::new();
        let Some(Value::Mapping(pipelines)) = value.get("pipelines") else {
            panic!("no pipelines")
        };
        for (kind, section) in pipelines {
            let Value::Mapping(section) = section else {
                panic!("not a mapping")
            };
            for (key, items) in section {
                let mut steps = Vec::new();
                for item in items.as_sequence().expect("a list") {
                    if let Some(step) = item.get("step") {
                        steps.push(step.as_mapping().expect("a step mapping"));
                    }
                    // A deployment stage's steps, each as it behaves: deploying to the
                    // stage's environment, the first started as the stage is. (Leaked: a
                    // test's few bytes, so that every step is a borrowed mapping alike.)
                    if let Some(stage) = item.get("stage") {
                        let inner = stage["steps"].as_sequence().expect("stage steps");
                        for (index, step) in inner.iter().enumerate() {
                            let mut step = step["step"].as_mapping().expect("a step").clone();
                            assert!(step.get("deployment").is_none(), "deployment in a stage");
                            assert!(step.get("trigger").is_none(), "trigger in a stage");
                            step.insert("deployment".into(), stage["deployment"].clone());
                            if let (0, Some(trigger)) = (index, stage.get("trigger")) {
                                step.insert("trigger".into(), trigger.clone());
                            }
                            steps.push(&*Box::leak(Box::new(step)));
                        }
                    }
                }
                out.push((
                    format!("{}.{}", kind.as_str().unwrap(), key.as_str().unwrap()),
                    steps,
                ));
            }
        }
        out
    }

    fn text<'a>(step: &'a serde_yaml::Mapping, key: &str) -> Option<&'a str> {
        step.get(key).and_then(Value::as_str)
    }

    fn script(step: &serde_yaml::Mapping) -> Vec<&str> {
        step.get("script")
            .and_then(Value::as_sequence)
            .expect("script")
            .iter()
            .map(|c| c.as_str().expect("a command"))
            .collect()
    }

    /// The job id a step name ends with: `Deploy ... (deploy-test)`.
    fn job_id(step: &serde_yaml::Mapping) -> &str {
        let name = text(step, "name").expect("name");
        name.rsplit_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .expect("name ends with the job id")
    }

    #[test]
    fn only_role_steps_ask_for_a_token_and_each_role_use_is_one_step() {
        for (p, _, value) in all() {
            let mut seen = Vec::new();
            for (label, steps) in pipelines(&value) {
                for step in steps {
                    let id = job_id(step);
                    let is_role_use = p.role_uses.iter().any(|u| u.job_id == id);
                    let oidc = step.get("oidc");
                    assert_eq!(
                        oidc == Some(&Value::Bool(true)),
                        is_role_use,
                        "{label}: step `{id}` oidc {oidc:?}"
                    );
                    assert!(oidc.is_none() || oidc == Some(&Value::Bool(true)));
                    let uses_token = script(step)
                        .iter()
                        .any(|c| c.contains("\"$BITBUCKET_STEP_OIDC_TOKEN\""));
                    assert_eq!(uses_token, is_role_use, "{label}: `{id}`");
                    if is_role_use {
                        seen.push(id.to_owned());
                    }
                }
            }
            let mut expected: Vec<String> = p.role_uses.iter().map(|u| u.job_id.clone()).collect();
            expected.sort();
            seen.sort();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn each_role_step_assumes_its_own_stage_role_in_its_account_and_environment() {
        for (p, _, value) in all() {
            for (label, steps) in pipelines(&value) {
                for step in steps {
                    let id = job_id(step);
                    let Some(use_) = p.role_uses.iter().find(|u| u.job_id == id) else {
                        continue;
                    };
                    let stage = &p.stages[use_.stage];
                    let roles = stage.roles(use_.role);
                    let commands = script(step);
                    let arns: Vec<&str> = commands
                        .iter()
                        .filter_map(|c| c.strip_prefix("export AWS_ROLE_ARN="))
                        .collect();
                    assert_eq!(arns, vec![sh_quote(roles.role_arn)], "{label}: {id}");
                    let all_text = commands.join("\n");
                    for (other, other_stage) in p.stages.iter().enumerate() {
                        if other != use_.stage {
                            assert!(
                                !all_text.contains(&other_stage.pipeline_role_arn),
                                "{label}: `{id}` names stage {other}'s role"
                            );
                            assert!(!all_text.contains(&other_stage.cfn_role_arn));
                        }
                    }
                    assert!(all_text
                        .contains(&format!("if [ \"$account\" != '{}' ]; then", stage.account)));
                    assert!(all_text.contains(&format!(
                        "export AWS_REGION='{0}' AWS_DEFAULT_REGION='{0}'",
                        stage.region
                    )));
                    assert!(all_text.contains(&format!("export AWS_ROLE_SESSION_NAME='{id}'")));
                    assert_eq!(
                        text(step, "deployment"),
                        use_.environment.as_deref(),
                        "{label}: {id}"
                    );
                    // Deploy steps work from the artifacts only; the jobs of the user's (and
                    // the integration tests) run the repository's own commands.
                    let added = p.extensions.jobs.iter().any(|j| j.id == id);
                    assert_eq!(
                        step.get("clone").and_then(|c| c.get("enabled")),
                        (!added).then_some(&Value::Bool(false)),
                        "{label}: {id}"
                    );
                    if added {
                        continue;
                    }
                    // The deploy's (or delete's) own last command: the user's steps after it
                    // (a comment line, then a subshell), the outputs read for them and the
                    // token's removal come after.
                    let last = commands
                        .iter()
                        .rev()
                        .find(|c| {
                            !c.starts_with("# ")
                                && !c.starts_with("outputs_json=")
                                && !c.starts_with("rm -f ")
                        })
                        .expect("a command");
                    if id == "delete-feature" {
                        assert!(last.starts_with("sam delete --stack-name \"$STACK_NAME\""));
                        assert!(last.contains(&format!("--region '{}'", stage.region)));
                        assert!(last.contains("--no-prompts"));
                    } else {
                        assert!(
                            ["sam deploy", "parameters=", "packaged="]
                                .iter()
                                .any(|start| last.starts_with(start)),
                            "{label}: {id}: {last}"
                        );
                        // Each role's own boundary on the roles it deploys, and no other.
                        match roles.boundary_arn {
                            Some(boundary) => {
                                assert!(last.contains(&format!(
                                    "python3 - {} \"$packaged\" <<'PY'\n",
                                    sh_quote(boundary)
                                )));
                                assert!(last.contains("--template-file \"$packaged\""));
                            }
                            None => assert!(!last.contains("PermissionsBoundary")),
                        }
                        let boundaries = p.stages.iter().flat_map(|s| {
                            s.boundary
                                .iter()
                                .chain(s.feature.as_ref().map(|f| &f.boundary))
                        });
                        for other in
                            boundaries.filter(|b| Some(b.arn.as_str()) != roles.boundary_arn)
                        {
                            assert!(!all_text.contains(&other.arn), "{label}: {id}");
                        }
                        assert!(last.contains(&format!("--role-arn '{}'", roles.cfn_role_arn)));
                        assert!(last.contains(&format!("--s3-bucket '{}'", stage.artifacts_bucket)));
                        assert!(last.contains(&format!("--region '{}'", stage.region)));
                        assert!(last.contains("--no-fail-on-empty-changeset"));
                        assert!(last.contains("--no-confirm-changeset"));
                        assert_eq!(
                            last.contains("--image-repository"),
                            stage.image_repository.is_some()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bitbucket_rules_hold_in_every_pipeline() {
        for (p, _, value) in all() {
            for (label, steps) in pipelines(&value) {
                assert!(!steps.is_empty(), "{label}");
                assert_ne!(text(steps[0], "trigger"), Some("manual"), "{label}");
                let (kind, key) = label.split_once('.').expect("kind.key");
                let mut environments = HashSet::new();
                for item in value["pipelines"][kind][key].as_sequence().expect("a list") {
                    let entry = item.get("step").or_else(|| item.get("stage"));
                    if let Some(environment) = entry.and_then(|e| e.get("deployment")) {
                        let environment = environment.as_str().expect("a name");
                        assert!(
                            environments.insert(environment),
                            "{label}: {environment} twice"
                        );
                    }
                }
                for step in &steps {
                    for key in step.keys() {
                        let key = key.as_str().expect("a string key");
                        assert!(
                            STEP_KEYS.contains(&key),
                            "{label}: undocumented key `{key}`"
                        );
                    }
                    if let Some(trigger) = step.get("trigger") {
                        assert_eq!(trigger.as_str(), Some("manual"));
                    }
                }
            }
            // Manual exactly where the stage asks for it, on the deployment branch.
            let main = format!("branches.{}", p.branch);
            let (_, steps) = pipelines(&value)
                .into_iter()
                .find(|(label, _)| *label == main)
                .expect("the deployment branch's pipeline");
            for stage in &p.stages {
                let step = steps
                    .iter()
                    .find(|s| job_id(s) == format!("deploy-{}", stage.name))
                    .expect("a deploy step per stage");
                assert_eq!(
                    text(step, "trigger") == Some("manual"),
                    stage.manual_approval,
                    "{}",
                    stage.name
                );
            }
        }
    }

    #[test]
    fn pipelines_are_the_deployment_branch_then_features_and_never_prs_or_tags() {
        for (p, rendered, value) in all() {
            let labels: Vec<String> = pipelines(&value).into_iter().map(|(l, _)| l).collect();
            let mut expected = vec![format!("branches.{}", p.branch)];
            if let Some(glob) = &p.feature_branches {
                expected.push(format!("branches.{}", branch_glob(glob)));
                expected.push("custom.delete-feature".into());
            }
            assert_eq!(labels, expected);
            let top: Vec<&str> = value
                .as_mapping()
                .unwrap()
                .keys()
                .map(|k| k.as_str().unwrap())
                .collect();
            assert_eq!(top, ["image", "options", "pipelines"]);
            assert_eq!(
                value["options"]["max-time"].as_u64(),
                Some(u64::from(p.workflow.timeout_minutes))
            );
            assert!(rendered.starts_with("# Generated by sampipe; do not edit by hand."));
            assert_eq!(render(&p).unwrap(), rendered, "deterministic");
            // Stage order on the deployment branch, integration tests after the first.
            let main = &pipelines(&value)[0].1;
            let ids: Vec<&str> = main.iter().map(|s| job_id(s)).collect();
            let mut want = vec![];
            if p.workflow.unit_test_command.is_some() {
                want.push("test".to_owned());
            }
            want.push("build".into());
            want.extend(
                p.workflow
                    .jobs
                    .iter()
                    .filter(|j| j.after == "build")
                    .map(|j| j.id.clone()),
            );
            for (index, stage) in p.stages.iter().enumerate() {
                want.push(format!("deploy-{}", stage.name));
                if index == 0 && p.workflow.integration_test_command.is_some() {
                    want.push("integration-test".into());
                }
                want.extend(
                    p.workflow
                        .jobs
                        .iter()
                        .filter(|j| j.after == stage.name)
                        .map(|j| j.id.clone()),
                );
            }
            assert_eq!(ids, want);
        }
    }

    #[test]
    fn the_build_runs_once_per_pipeline_and_passes_its_output_on() {
        for (p, _, value) in all() {
            for (label, steps) in pipelines(&value) {
                let builds: Vec<_> = steps.iter().filter(|s| job_id(s) == "build").collect();
                if label.starts_with("custom.") {
                    assert!(builds.is_empty());
                    continue;
                }
                assert_eq!(builds.len(), 1, "{label}");
                let build = builds[0];
                let commands = script(build);
                assert_eq!(
                    commands.last().unwrap().ends_with("--use-container"),
                    p.workflow.use_container
                );
                assert_eq!(build.contains_key("services"), p.workflow.use_container);
                assert_eq!(build["artifacts"][0].as_str(), Some(".aws-sam/build/**"));
            }
        }
    }

    #[test]
    fn image_defaults_to_the_pinned_sam_image() {
        let p = pipeline(PLAIN);
        let value: Value = serde_yaml::from_str(&render(&p).unwrap()).unwrap();
        assert_eq!(
            value["image"].as_str(),
            Some(crate::pipeline::scripts::default_image().as_str())
        );
        let custom = PLAIN.to_owned() + "workflow:\n  image: example.com/sam:1.2.3\n";
        let value: Value = serde_yaml::from_str(&render(&pipeline(&custom)).unwrap()).unwrap();
        assert_eq!(value["image"].as_str(), Some("example.com/sam:1.2.3"));
    }

    #[test]
    fn scripts_are_valid_posix_shell() {
        let Ok(status) = std::process::Command::new("sh")
            .arg("-c")
            .arg("true")
            .status()
        else {
            return; // no shell to ask
        };
        assert!(status.success());
        for (_, _, value) in all() {
            for (label, steps) in pipelines(&value) {
                for step in steps {
                    let source = script(step).join("\n");
                    let output = std::process::Command::new("sh")
                        .arg("-n")
                        .arg("-c")
                        .arg(&source)
                        .output()
                        .expect("sh runs");
                    assert!(
                        output.status.success(),
                        "{label}: {}\n{source}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
        }
    }

    #[test]
    fn the_delete_pipeline_accepts_only_feature_branches_and_names_their_stack() {
        let run = |pattern: &str, branch: &str| -> Option<String> {
            let script = format!(
                "FEATURE_BRANCH='{branch}'\ncase \"$FEATURE_BRANCH\" in {}) ;; *) exit 1 ;; esac\n{}\nprintf '%s' \"$slug\"",
                case_pattern(pattern),
                crate::pipeline::scripts::feature_slug("app", Some(pattern), super::FEATURE_BRANCH_VARIABLE)
            );
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .ok()?;
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
        };
        if std::process::Command::new("sh")
            .arg("-c")
            .arg("true")
            .status()
            .is_err()
        {
            return;
        }
        // The stack is named without the pattern's literal prefix.
        assert_eq!(run("feature/*", "feature/a/b").as_deref(), Some("a-b"));
        assert_eq!(run("feature/*", "main"), None);
        assert_eq!(run("feature/*", "feature"), None);
        assert_eq!(run("*-wip", "x/y-wip").as_deref(), Some("x-y-wip"));
        assert_eq!(run("*-wip", "x-wipe"), None);
        assert_eq!(run("a.*", "abc"), None, "`.` is literal");
        assert_eq!(run("a.*", "a.b").as_deref(), Some("b"));
    }

    #[test]
    fn feature_patterns_become_bitbucket_globs_that_cross_slashes() {
        assert_eq!(branch_glob("feature/*"), "feature/**");
        assert_eq!(branch_glob("feature*"), "feature**");
        assert_eq!(branch_glob("feature/**"), "feature/**");
        assert_eq!(branch_glob("*-wip"), "**-wip");
        assert_eq!(branch_glob("a*b*c"), "a**b**c");
        assert_eq!(case_pattern("feature/*"), "'feature/'*");
        assert_eq!(case_pattern("*-wip"), "*'-wip'");
        assert_eq!(case_pattern("a**b"), "'a'*'b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn branch_keys_starting_with_a_star_are_quoted() {
        let p = pipeline(&variant());
        let rendered = render(&p).unwrap();
        assert!(rendered.contains("\n    '**-wip':\n"), "{rendered}");
    }
}
