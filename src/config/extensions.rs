//! Checks of the user's own steps, jobs, environment variables and secrets
//! (`workflow.env`, `workflow.steps`, `workflow.jobs`): names that cannot take over what the
//! generated jobs rely on, values that reach the shell only as data, and a place in the
//! pipeline that exists.

use std::collections::HashSet;

use super::model::{Config, ExtraJob, ExtraStep};
use crate::diag::{ConfigPath, Diagnostic};

/// Prefixes of variables the CI systems, the AWS CLI and the generated jobs own: an `AWS_`
/// variable decides which credentials, account, region and endpoint the AWS CLI uses.
const RESERVED_PREFIXES: &[&str] = &[
    "AWS_",
    "GITHUB_",
    "RUNNER_",
    "ACTIONS_",
    "CI_",
    "GITLAB_",
    "BITBUCKET_",
    "DOCKER_",
    "STACK_OUTPUT_",
];

/// Variables the generated scripts set or read, and the shell's own.
const RESERVED_NAMES: &[&str] = &[
    "CI",
    "PATH",
    "HOME",
    "SHELL",
    "STACK_NAME",
    "ARTIFACTS_BUCKET",
    "REGION",
    "CLOUDFORMATION_EXECUTION_ROLE",
    "IMAGE_REPOSITORY",
    "PARAMETER_OVERRIDES",
    "PERMISSIONS_BOUNDARY",
    "SAM_TEMPLATE",
    "BRANCH",
    "FEATURE_STACK_PREFIX",
    "FEATURE_BRANCH",
    "GIT_STRATEGY",
];

/// Where a step runs, for the rules that differ between build and deploy steps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Build,
    BeforeDeploy,
    AfterDeploy,
}

pub(super) fn check(out: &mut Vec<Diagnostic>, config: &Config) {
    let workflow = ConfigPath::root().key("workflow");
    check_env(out, &config.workflow.env, &workflow.key("env"));
    let steps = &config.workflow.steps;
    let at = workflow.key("steps");
    for (key, list, place) in [
        ("before_build", &steps.before_build, Place::Build),
        ("after_build", &steps.after_build, Place::Build),
        ("before_deploy", &steps.before_deploy, Place::BeforeDeploy),
        ("after_deploy", &steps.after_deploy, Place::AfterDeploy),
    ] {
        for (index, step) in list.iter().enumerate() {
            check_step(out, config, step, place, &at.key(key).index(index));
        }
        check_role_order(out, list, place, &at.key(key));
    }
    let mut ids = HashSet::new();
    for (index, job) in config.workflow.jobs.iter().enumerate() {
        let path = workflow.key("jobs").index(index);
        check_job(out, config, job, &path);
        if !ids.insert(job.id.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-job",
                    format!("job id `{}` is used twice", job.id),
                )
                .at(path.key("id"))
                .help("give each job its own id"),
            );
        }
    }
}

/// Why `name` cannot be a variable of the user's, if it cannot.
pub(crate) fn variable_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Some(
            "is not a variable name: letters, digits and `_`, not starting with a digit".into(),
        );
    }
    let upper = name.to_ascii_uppercase();
    if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| upper.starts_with(*p)) {
        return Some(format!(
            "starts with `{prefix}`, which the CI system, the AWS CLI or the generated jobs own"
        ));
    }
    if RESERVED_NAMES.contains(&upper.as_str()) {
        return Some("is a variable the generated jobs or the shell rely on".into());
    }
    None
}

fn check_env(
    out: &mut Vec<Diagnostic>,
    env: &indexmap::IndexMap<String, String>,
    path: &ConfigPath,
) {
    for (name, value) in env {
        if let Some(problem) = variable_name_problem(name) {
            out.push(
                Diagnostic::error("reserved-variable", format!("variable `{name}` {problem}"))
                    .at_key(path.key(name))
                    .help("choose another name, e.g. with your app's prefix"),
            );
        }
        if value.contains("${{") {
            out.push(
                Diagnostic::error(
                    "expression-in-value",
                    format!("the value of `{name}` contains a GitHub expression"),
                )
                .at(path.key(name))
                .label("values are taken literally")
                .help("write the value itself; for a secret, list its name under `secrets`"),
            );
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            out.push(
                Diagnostic::error(
                    "control-character",
                    format!("the value of `{name}` contains a control character"),
                )
                .at(path.key(name))
                .help("remove it"),
            );
        }
    }
}

fn check_secrets(
    out: &mut Vec<Diagnostic>,
    secrets: &[String],
    env: &indexmap::IndexMap<String, String>,
    path: &ConfigPath,
) {
    let mut seen = HashSet::new();
    for (index, secret) in secrets.iter().enumerate() {
        let at = path.key("secrets").index(index);
        if let Some(problem) = variable_name_problem(secret) {
            out.push(
                Diagnostic::error(
                    "invalid-secret-name",
                    format!("secret `{secret}` {problem}"),
                )
                .at(at.clone())
                .help("name the secret as it is stored in the CI system, e.g. `NPM_TOKEN`"),
            );
        } else if env.keys().any(|name| name == secret) {
            out.push(
                Diagnostic::error(
                    "secret-in-env",
                    format!("`{secret}` is both a secret and a variable in `env`"),
                )
                .at(at.clone())
                .help("keep one of the two"),
            );
        }
        if !seen.insert(secret.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-secret",
                    format!("secret `{secret}` is listed twice"),
                )
                .at(at)
                .help("list each secret once"),
            );
        }
    }
}

fn check_text(
    out: &mut Vec<Diagnostic>,
    value: &str,
    what: &str,
    path: ConfigPath,
    one_line: bool,
) {
    if value.trim().is_empty() {
        out.push(
            Diagnostic::error("empty-command", format!("`{what}` is empty"))
                .at(path)
                .help("give it a value, or remove the step"),
        );
    } else if value.contains("${{") {
        out.push(
            Diagnostic::error(
                "expression-in-script",
                format!("`{what}` contains a GitHub expression"),
            )
            .at(path)
            .label("`${{ }}` would be expanded into the shell script before it runs")
            .help("pass the value through `env` (or `secrets`) and read it as `$NAME`"),
        );
    } else if value
        .chars()
        .any(|c| c.is_control() && (one_line || (c != '\n' && c != '\t')))
    {
        out.push(
            Diagnostic::error(
                "control-character",
                format!("`{what}` contains a control character"),
            )
            .at(path)
            .help(if one_line {
                "write it on one line"
            } else {
                "remove it"
            }),
        );
    }
}

fn check_step(
    out: &mut Vec<Diagnostic>,
    config: &Config,
    step: &ExtraStep,
    place: Place,
    path: &ConfigPath,
) {
    check_text(out, &step.name, "name", path.key("name"), true);
    check_text(out, &step.run, "run", path.key("run"), false);
    check_env(out, &step.env, &path.key("env"));
    check_secrets(out, &step.secrets, &step.env, path);
    if place == Place::Build {
        if step.role {
            out.push(
                Diagnostic::error("role-in-build", "a build step cannot have a stage's role")
                    .at(path.key("role"))
                    .help("the build job never gets AWS credentials; move the step to `before_deploy` or `after_deploy`"),
            );
        }
        if step.stages.is_some() {
            out.push(
                Diagnostic::error("stages-in-build", "the build runs once for every stage")
                    .at(path.key("stages"))
                    .help("remove `stages`, or move the step to `before_deploy` or `after_deploy`"),
            );
        }
    }
    for (index, name) in step.stages.iter().flatten().enumerate() {
        if !config.stages.iter().any(|s| &s.name == name) {
            out.push(
                Diagnostic::error("unknown-stage", format!("there is no stage `{name}`"))
                    .at(path.key("stages").index(index))
                    .help(stage_names_help(config)),
            );
        }
    }
}

/// Credentials are obtained once and dropped once in a deploy job: before the deploy, the
/// steps without the role come first; after it, the steps with the role come first.
fn check_role_order(
    out: &mut Vec<Diagnostic>,
    steps: &[ExtraStep],
    place: Place,
    path: &ConfigPath,
) {
    let first_role_last = match place {
        Place::Build => return,
        Place::BeforeDeploy => false,
        Place::AfterDeploy => true,
    };
    let mut seen_other = false;
    for (index, step) in steps.iter().enumerate() {
        let late = step.role != first_role_last;
        if late {
            seen_other = true;
        } else if seen_other {
            let (this, other) = if step.role {
                ("with", "without")
            } else {
                ("without", "with")
            };
            out.push(
                Diagnostic::error(
                    "role-step-order",
                    format!("step `{}` runs {this} the stage's role after a step {other} it", step.name),
                )
                .at(path.index(index))
                .help(match place {
                    Place::AfterDeploy => "after the deploy, put the steps with `role: true` first: the credentials are dropped once, before the first step without it",
                    _ => "before the deploy, put the steps with `role: true` last: the credentials are obtained once, before the first step with it",
                }),
            );
            return;
        }
    }
}

fn check_job(out: &mut Vec<Diagnostic>, config: &Config, job: &ExtraJob, path: &ConfigPath) {
    let generated = [
        "test",
        "build",
        "integration-test",
        "deploy-feature",
        "delete-feature",
    ];
    let is_deploy_id = config
        .stages
        .iter()
        .any(|s| job.id == format!("deploy-{}", s.name));
    if !super::validate::is_name(&job.id) {
        out.push(
            Diagnostic::error(
                "invalid-job-id",
                format!("job id `{}` is not allowed", job.id),
            )
            .at(path.key("id"))
            .help(
                "use lowercase letters, digits and `-`, starting with a letter, e.g. `smoke-test`",
            ),
        );
    } else if generated.contains(&job.id.as_str()) || is_deploy_id {
        out.push(
            Diagnostic::error(
                "generated-job-id",
                format!("`{}` is the id of a generated job", job.id),
            )
            .at(path.key("id"))
            .help(if job.id == "integration-test" {
                "use `workflow.integration_test_command` for the integration tests, or another id"
                    .to_owned()
            } else {
                "choose another id".to_owned()
            }),
        );
    }
    if let Some(name) = &job.name {
        check_text(out, name, "name", path.key("name"), true);
    }
    check_text(out, &job.run, "run", path.key("run"), false);
    check_env(out, &job.env, &path.key("env"));
    check_secrets(out, &job.secrets, &job.env, path);
    let after_stage = config.stages.iter().any(|s| s.name == job.after);
    if job.after != "build" && !after_stage {
        out.push(
            Diagnostic::error(
                "unknown-stage",
                format!("`after: {}` names no stage", job.after),
            )
            .at(path.key("after"))
            .help(format!("write `build`, or {}", stage_names_help(config))),
        );
    } else if job.role && !after_stage {
        out.push(
            Diagnostic::error("role-after-build", "a job after the build has no stage whose role it could assume")
                .at(path.key("role"))
                .help("place the job after a stage (`after: <stage>`) to give it that stage's role, or remove `role`"),
        );
    }
}

fn stage_names_help(config: &Config) -> String {
    let names: Vec<String> = config
        .stages
        .iter()
        .map(|s| format!("`{}`", s.name))
        .collect();
    format!("name one of the stages: {}", names.join(", "))
}
