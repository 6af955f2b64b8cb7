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
use crate::pipeline::names::{feature_stack_prefix, STACK_NAME_MAX};
use crate::pipeline::{job_ids, Pipeline, RoleUse, StagePlan};

/// The image steps run in unless `workflow.image` says otherwise: an AWS SAM build image
/// (Amazon Linux with the AWS CLI v2 and the SAM CLI), pinned to an exact release so that a
/// rebuild runs the same tools.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/sam/build-python3.12:1.142.1-20250701194731-x86_64";

/// The build output travels between steps as this artifact directory.
const BUILD_DIR: &str = "sam-build";

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
    for (index, stage) in p.stages.iter().enumerate() {
        let id = job_ids::deploy(&stage.name);
        let use_ = use_of(&id)?;
        emitted.push(&use_.job_id);
        main = main.step(deploy_step(
            p,
            stage_of(p, use_)?,
            use_,
            DeployTarget::Stage,
        )?);
        if index == 0 {
            if let Some(command) = &p.workflow.integration_test_command {
                main = main.step(
                    Step::new(format!(
                        "Integration tests on {} ({})",
                        stage.name,
                        job_ids::INTEGRATION_TEST
                    ))
                    .command(command.clone()),
                );
            }
        }
    }

    let mut file = PipelinesFile::new(p.workflow.image.as_deref().unwrap_or(DEFAULT_IMAGE));
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
    let mut command =
        format!("sam build --template-file \"$SAM_TEMPLATE\" --build-dir {BUILD_DIR}");
    let mut step = Step::new(format!("Build once for every stage ({})", job_ids::BUILD));
    if p.workflow.use_container {
        command.push_str(" --use-container");
        step.services.push("docker".into());
    }
    step.artifacts.push(format!("{BUILD_DIR}/**"));
    step.command(format!("export SAM_TEMPLATE={}", sh_quote(&p.sam_template)))
        .command(command)
}

/// Commands that let the AWS CLI and SAM CLI assume `stage`'s pipeline execution role, and no
/// other, from the step's OIDC token, in the stage's region; then fail unless the role is in
/// the stage's account (as `allowed-account-ids` does on GitHub).
fn assume_role(stage: &StagePlan, session: &str) -> Vec<String> {
    let region = sh_quote(&stage.region);
    vec![
        "export AWS_WEB_IDENTITY_TOKEN_FILE=$(pwd)/web-identity-token; printf '%s' \"$BITBUCKET_STEP_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"".into(),
        format!("export AWS_ROLE_ARN={}", sh_quote(&stage.pipeline_role_arn)),
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
    let room = STACK_NAME_MAX - prefix.len();
    vec![
        format!(
            "slug=$(printf '%s' \"${variable}\" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | cut -c1-{room})"
        ),
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
    step = step.commands(assume_role(stage, &use_.job_id));

    let mut deploy = format!(
        "sam deploy \\\n  --template-file {BUILD_DIR}/template.yaml \\\n  --stack-name \"$STACK_NAME\" \\\n  --s3-bucket {bucket} \\\n  --s3-prefix \"$STACK_NAME\" \\\n  --region {region} \\\n  --role-arn {role} \\\n",
        bucket = sh_quote(&stage.artifacts_bucket),
        region = sh_quote(&stage.region),
        role = sh_quote(&stage.cfn_role_arn),
    );
    if let Some(repository) = &stage.image_repository {
        deploy.push_str(&format!(
            "  --image-repository {} \\\n",
            sh_quote(&repository.uri)
        ));
    }
    if matches!(target, DeployTarget::Stage) && !stage.parameter_overrides.is_empty() {
        let overrides: Vec<String> = stage
            .parameter_overrides
            .iter()
            .map(|o| sh_quote(o))
            .collect();
        deploy.push_str(&format!(
            "  --parameter-overrides {} \\\n",
            overrides.join(" ")
        ));
    }
    let capabilities: Vec<String> = p
        .workflow
        .capabilities
        .iter()
        .map(|c| sh_quote(c))
        .collect();
    deploy.push_str(&format!(
        "  --capabilities {} \\\n  --no-confirm-changeset \\\n  --no-fail-on-empty-changeset",
        capabilities.join(" ")
    ));
    Ok(step.command(deploy))
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
        .commands(assume_role(stage, &use_.job_id))
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
    let mut header = vec![
        "Generated by sampipe; do not edit by hand. Change sampipe.yaml and run `sampipe synth`".to_owned(),
        "(CI runs `sampipe check` to catch drift).".to_owned(),
        flow,
        "Each deploy step assumes only its own stage's role through Bitbucket OIDC; the roles' trust".to_owned(),
        "policies admit exactly these steps (`sampipe explain` prints the trust map). Step names end".to_owned(),
        "with the job id that `explain` uses.".to_owned(),
    ];
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
