//! Checks GitHub would otherwise only report when the workflow runs, plus sampipe's
//! least-privilege rules, all reported at once by [`Workflow::validate`].

use std::collections::HashSet;

use indexmap::IndexMap;
use thiserror::Error;

use super::actions::{CHECKOUT, CONFIGURE_AWS_CREDENTIALS};
use super::expr::Text;
use super::job::Job;
use super::permissions::{Permission, Permissions, Scope};
use super::step::StepKind;
use super::trigger::Triggers;
use super::workflow::Workflow;

/// A problem in a [`Workflow`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// `on:` names no event.
    #[error("the workflow has no trigger; add at least one event to `on:`")]
    NoTrigger,
    /// `jobs:` is empty.
    #[error("the workflow has no jobs")]
    NoJobs,
    /// Both `branches` and `branches-ignore` are set on one event.
    #[error("the `{event}` trigger sets both `branches` and `branches-ignore`; keep one")]
    BranchesAndBranchesIgnore {
        /// The event, e.g. `push`.
        event: &'static str,
    },
    /// A job id does not match `^[A-Za-z_][A-Za-z0-9_-]*$`.
    #[error(
        "job id `{job}` is invalid; use letters, digits, `-` and `_`, \
         starting with a letter or `_`"
    )]
    InvalidJobId {
        /// The job id.
        job: String,
    },
    /// `needs:` names a job the workflow does not have.
    #[error("job `{job}` needs `{need}`, which is not a job of this workflow")]
    UnknownNeed {
        /// The job with the `needs:`.
        job: String,
        /// The missing job.
        need: String,
    },
    /// Jobs need each other in a cycle, so none of them can start.
    #[error("`needs` forms a cycle: {}", cycle_path(.cycle))]
    NeedsCycle {
        /// The jobs of the cycle, each needing the next and the last needing the first.
        cycle: Vec<String>,
    },
    /// A job has no `runs-on:`.
    #[error("job `{job}` has no `runs-on`")]
    MissingRunsOn {
        /// The job.
        job: String,
    },
    /// A job has no steps.
    #[error("job `{job}` has no steps")]
    NoSteps {
        /// The job.
        job: String,
    },
    /// A step id does not match `^[A-Za-z_][A-Za-z0-9_-]*$`.
    #[error(
        "step id `{step}` in job `{job}` is invalid; use letters, digits, `-` and `_`, \
         starting with a letter or `_`"
    )]
    InvalidStepId {
        /// The job.
        job: String,
        /// The step id.
        step: String,
    },
    /// Two steps of a job have the same id.
    #[error("step id `{step}` is used more than once in job `{job}`")]
    DuplicateStepId {
        /// The job.
        job: String,
        /// The step id.
        step: String,
    },
    /// An `env:` name a shell cannot read as `$NAME`.
    #[error(
        "`env` name `{name}` at `{at}` is invalid; use letters, digits and `_`, \
         not starting with a digit"
    )]
    InvalidEnvName {
        /// Where the `env:` is, e.g. `jobs.build.steps[2].env`.
        at: String,
        /// The name.
        name: String,
    },
    /// `id-token: write` at the top of the workflow reaches every job.
    #[error(
        "the workflow grants `id-token: write` to every job; \
         grant it in `permissions` of the jobs that assume a role"
    )]
    WorkflowIdToken,
    /// A job assumes an AWS role through OIDC without `id-token: write`.
    #[error(
        "job `{job}` assumes a role with `{CONFIGURE_AWS_CREDENTIALS}` \
         but its permissions do not grant `id-token: write`"
    )]
    MissingIdToken {
        /// The job.
        job: String,
    },
    /// A job checks out the repository with a token that cannot read it.
    #[error("job `{job}` runs `{CHECKOUT}` but its permissions do not grant `contents: read`")]
    CheckoutWithoutContents {
        /// The job.
        job: String,
    },
}

fn cycle_path(cycle: &[String]) -> String {
    cycle
        .iter()
        .chain(cycle.first())
        .map(|job| format!("`{job}`"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

impl Workflow {
    /// Every problem found, in document order; empty when the workflow is valid.
    ///
    /// Besides GitHub's own rules (a trigger, jobs with valid ids, a runner and steps, `needs`
    /// naming existing jobs without a cycle, unique step ids) it enforces least privilege:
    /// `id-token: write` only in job-level permissions, and present in every job that assumes
    /// an AWS role; `contents: read` in every job that checks out the repository.
    pub fn validate(&self) -> Vec<WorkflowError> {
        let mut errors = Vec::new();
        if self.on.is_empty() {
            errors.push(WorkflowError::NoTrigger);
        }
        check_triggers(&self.on, &mut errors);
        if self.jobs.is_empty() {
            errors.push(WorkflowError::NoJobs);
        }
        if self
            .permissions
            .as_ref()
            .is_some_and(|permissions| permissions.get(Scope::IdToken) == Permission::Write)
        {
            errors.push(WorkflowError::WorkflowIdToken);
        }
        check_env("env", &self.env, &mut errors);
        for (id, job) in &self.jobs {
            self.check_job(id, job, &mut errors);
        }
        errors.extend(self.needs_cycles());
        errors
    }

    fn check_job(&self, id: &str, job: &Job, errors: &mut Vec<WorkflowError>) {
        let job_name = || id.to_owned();
        if !is_id(id) {
            errors.push(WorkflowError::InvalidJobId { job: job_name() });
        }
        for need in &job.needs {
            if !self.jobs.contains_key(need) {
                errors.push(WorkflowError::UnknownNeed {
                    job: job_name(),
                    need: need.clone(),
                });
            }
        }
        if job.runs_on.is_none() {
            errors.push(WorkflowError::MissingRunsOn { job: job_name() });
        }
        if job.steps.is_empty() {
            errors.push(WorkflowError::NoSteps { job: job_name() });
        }
        check_env(&format!("jobs.{id}.env"), &job.env, errors);
        let mut step_ids = HashSet::new();
        for (index, step) in job.steps.iter().enumerate() {
            if let Some(step_id) = &step.id {
                if !is_id(step_id) {
                    errors.push(WorkflowError::InvalidStepId {
                        job: job_name(),
                        step: step_id.clone(),
                    });
                }
                if !step_ids.insert(step_id) {
                    errors.push(WorkflowError::DuplicateStepId {
                        job: job_name(),
                        step: step_id.clone(),
                    });
                }
            }
            check_env(&format!("jobs.{id}.steps[{index}].env"), &step.env, errors);
        }
        let permissions = job.permissions.as_ref().or(self.permissions.as_ref());
        let granted = |scope| permissions.map(|permissions: &Permissions| permissions.get(scope));
        if assumes_role_with_oidc(job) && granted(Scope::IdToken) != Some(Permission::Write) {
            errors.push(WorkflowError::MissingIdToken { job: job_name() });
        }
        if uses(job, CHECKOUT) && granted(Scope::Contents) == Some(Permission::None) {
            errors.push(WorkflowError::CheckoutWithoutContents { job: job_name() });
        }
    }

    /// One error per cycle, found by a depth-first search in document order.
    fn needs_cycles(&self) -> Vec<WorkflowError> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            OnPath,
            Done,
        }
        fn visit(
            workflow: &Workflow,
            index: usize,
            states: &mut [State],
            path: &mut Vec<usize>,
            cycles: &mut Vec<WorkflowError>,
        ) {
            states[index] = State::OnPath;
            path.push(index);
            let needs = workflow
                .jobs
                .get_index(index)
                .map_or(&[][..], |(_, job)| &job.needs[..]);
            for need in needs {
                let Some(next) = workflow.jobs.get_index_of(need) else {
                    continue;
                };
                match states[next] {
                    State::New => visit(workflow, next, states, path, cycles),
                    State::OnPath => {
                        let start = path.iter().position(|&i| i == next).unwrap_or(0);
                        let cycle = path[start..]
                            .iter()
                            .filter_map(|&i| workflow.jobs.get_index(i))
                            .map(|(id, _)| id.clone())
                            .collect();
                        cycles.push(WorkflowError::NeedsCycle { cycle });
                    }
                    State::Done => {}
                }
            }
            path.pop();
            states[index] = State::Done;
        }

        let mut states = vec![State::New; self.jobs.len()];
        let mut cycles = Vec::new();
        for index in 0..self.jobs.len() {
            if states[index] == State::New {
                visit(self, index, &mut states, &mut Vec::new(), &mut cycles);
            }
        }
        cycles
    }
}

fn check_triggers(on: &Triggers, errors: &mut Vec<WorkflowError>) {
    let push = on
        .push
        .as_ref()
        .map(|push| ("push", &push.branches, &push.branches_ignore));
    let pull_request = on
        .pull_request
        .as_ref()
        .map(|pr| ("pull_request", &pr.branches, &pr.branches_ignore));
    for (event, branches, ignored) in push.into_iter().chain(pull_request) {
        if !branches.is_empty() && !ignored.is_empty() {
            errors.push(WorkflowError::BranchesAndBranchesIgnore { event });
        }
    }
}

fn check_env(at: &str, env: &IndexMap<String, Text>, errors: &mut Vec<WorkflowError>) {
    for name in env.keys() {
        if !is_name(name, &['_']) {
            errors.push(WorkflowError::InvalidEnvName {
                at: at.to_owned(),
                name: name.clone(),
            });
        }
    }
}

/// `^[A-Za-z_][A-Za-z0-9_-]*$`, GitHub's rule for job and step ids.
fn is_id(id: &str) -> bool {
    is_name(id, &['_', '-'])
}

/// A letter or `_`, then letters, digits and `also`.
fn is_name(name: &str, also: &[char]) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || also.contains(&c))
}

fn uses(job: &Job, repo: &str) -> bool {
    job.steps
        .iter()
        .any(|step| step.action().is_some_and(|action| action.repo() == repo))
}

/// A `configure-aws-credentials` step with `role-to-assume` and no access key asks GitHub for
/// an OIDC token.
fn assumes_role_with_oidc(job: &Job) -> bool {
    job.steps.iter().any(|step| match &step.kind {
        StepKind::Uses(uses) => {
            uses.action.repo() == CONFIGURE_AWS_CREDENTIALS
                && uses.with.contains_key("role-to-assume")
                && !uses.with.contains_key("aws-access-key-id")
        }
        StepKind::Run(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::actions::{checkout, configure_aws_credentials, AwsCredentials, Pins};
    use crate::gha::step::Step;
    use crate::gha::testing::{lit, script, text};
    use crate::gha::trigger::PushTrigger;

    fn job() -> Job {
        Job::new()
            .runs_on("ubuntu-24.04")
            .step(Step::run(script("make test")))
    }

    fn on_push() -> Triggers {
        Triggers::new().push(PushTrigger::new().branch("main"))
    }

    fn assume_role() -> Step<crate::gha::step::Uses> {
        configure_aws_credentials(
            &Pins::default(),
            AwsCredentials {
                role_to_assume: text("arn:aws:iam::111111111111:role/deploy"),
                aws_region: text("us-east-2"),
                role_session_name: text("deploy"),
                allowed_account_ids: vec![lit("111111111111")],
                role_duration_seconds: None,
                role_skip_session_tagging: None,
                audience: None,
            },
        )
    }

    #[test]
    fn least_privilege_deploy_workflow_is_valid() {
        let deploy = Job::new()
            .runs_on("ubuntu-24.04")
            .needs("test")
            .permission(Scope::Contents, Permission::Read)
            .permission(Scope::IdToken, Permission::Write)
            .step(checkout(&Pins::default()))
            .step(assume_role().id("aws"));
        let workflow = Workflow::new()
            .on(on_push())
            .permission(Scope::Contents, Permission::Read)
            .job("test", job().step(checkout(&Pins::default())))
            .job("deploy", deploy);
        assert_eq!(workflow.validate(), []);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let workflow = Workflow::new()
            .on(Triggers::new().push(PushTrigger::new().branch("main").branch_ignore("wip")))
            .permission(Scope::IdToken, Permission::Write)
            .env("SAM-TEMPLATE", text("template.yaml"))
            .job("1st", job())
            .job(
                "no-runner",
                Job::new().needs("ghost").step(Step::run(script("true"))),
            )
            .job("empty", Job::new().runs_on("ubuntu-24.04"))
            .job(
                "steps",
                job()
                    .step(Step::run(script("a")).id("x"))
                    .step(Step::run(script("b")).id("x").env("2X", text("")))
                    .step(Step::run(script("c")).id("bad id")),
            )
            .job(
                "deploy",
                job()
                    .permission(Scope::Actions, Permission::Read)
                    .step(checkout(&Pins::default()))
                    .step(assume_role()),
            );
        let errors: Vec<String> = workflow
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "the `push` trigger sets both `branches` and `branches-ignore`; keep one",
                "the workflow grants `id-token: write` to every job; \
                 grant it in `permissions` of the jobs that assume a role",
                "`env` name `SAM-TEMPLATE` at `env` is invalid; \
                 use letters, digits and `_`, not starting with a digit",
                "job id `1st` is invalid; use letters, digits, `-` and `_`, \
                 starting with a letter or `_`",
                "job `no-runner` needs `ghost`, which is not a job of this workflow",
                "job `no-runner` has no `runs-on`",
                "job `empty` has no steps",
                "step id `x` is used more than once in job `steps`",
                "`env` name `2X` at `jobs.steps.steps[2].env` is invalid; \
                 use letters, digits and `_`, not starting with a digit",
                "step id `bad id` in job `steps` is invalid; use letters, digits, `-` and `_`, \
                 starting with a letter or `_`",
                "job `deploy` assumes a role with `aws-actions/configure-aws-credentials` \
                 but its permissions do not grant `id-token: write`",
                "job `deploy` runs `actions/checkout` but its permissions do not grant \
                 `contents: read`",
            ]
        );
    }

    #[test]
    fn empty_workflow_needs_a_trigger_and_jobs() {
        assert_eq!(
            Workflow::new().validate(),
            [WorkflowError::NoTrigger, WorkflowError::NoJobs]
        );
    }

    #[test]
    fn oidc_job_without_any_permissions_misses_id_token() {
        let workflow = Workflow::new()
            .on(on_push())
            .job("deploy", job().step(assume_role()));
        assert_eq!(
            workflow.validate(),
            [WorkflowError::MissingIdToken {
                job: "deploy".into()
            }]
        );
    }

    #[test]
    fn detects_each_needs_cycle_once() {
        let workflow = Workflow::new()
            .on(on_push())
            .job("a", job().needs("c"))
            .job("b", job().needs("a"))
            .job("c", job().needs("b"))
            .job("self", job().needs("self"))
            .job(
                "diamond-top",
                job().needs("diamond-left").needs("diamond-right"),
            )
            .job("diamond-left", job().needs("diamond-bottom"))
            .job("diamond-right", job().needs("diamond-bottom"))
            .job("diamond-bottom", job());
        let errors = workflow.validate();
        assert_eq!(
            errors,
            [
                WorkflowError::NeedsCycle {
                    cycle: vec!["a".into(), "c".into(), "b".into()]
                },
                WorkflowError::NeedsCycle {
                    cycle: vec!["self".into()]
                },
            ]
        );
        assert_eq!(
            errors[0].to_string(),
            "`needs` forms a cycle: `a` -> `c` -> `b` -> `a`"
        );
        assert_eq!(
            errors[1].to_string(),
            "`needs` forms a cycle: `self` -> `self`"
        );
    }
}
