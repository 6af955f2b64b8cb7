//! The user's own steps and jobs, resolved for the renderers: where each added job runs, which
//! deploy jobs run each added step, and the stack outputs a job with a stage's role is given.
//! Every CI system renders these the same way, in the words of its own file.

use indexmap::IndexMap;

use crate::config::model::{Config, ExtraStep};
use crate::diag::{ConfigPath, Diagnostic};
use crate::pipeline::job_ids;

/// The prefix of the variables that carry the application stack's outputs.
pub const OUTPUT_PREFIX: &str = "STACK_OUTPUT_";

/// Where an added job runs in the deployment branch's pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// After the build, before the first stage's deploy.
    Build,
    /// After the deploy of the stage with this index, before the next stage's.
    Stage(usize),
}

/// A job of the user's (or the integration tests), resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedJob {
    pub id: String,
    pub name: String,
    pub after: After,
    pub run: String,
    pub env: IndexMap<String, String>,
    pub secrets: Vec<String>,
    /// Assumes the stage's pipeline role and is given the stack's outputs.
    pub role: bool,
}

impl AddedJob {
    /// The stage whose role the job assumes, if it assumes one.
    pub fn role_stage(&self) -> Option<usize> {
        match (self.role, self.after) {
            (true, After::Stage(index)) => Some(index),
            _ => None,
        }
    }
}

/// One of the application stack's outputs and the variable that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackOutput {
    /// The output's key in the SAM template, e.g. `HelloWorldApi`.
    pub key: String,
    /// `STACK_OUTPUT_HELLOWORLDAPI`.
    pub variable: String,
}

/// Before or after `sam deploy` in a deploy job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployPhase {
    Before,
    After,
}

/// The user's extensions of one pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extensions {
    /// Every job's environment.
    pub env: IndexMap<String, String>,
    pub before_build: Vec<ExtraStep>,
    pub after_build: Vec<ExtraStep>,
    before_deploy: Vec<ExtraStep>,
    after_deploy: Vec<ExtraStep>,
    /// In pipeline order within each place: the integration tests first after the first stage.
    pub jobs: Vec<AddedJob>,
    /// The outputs of the SAM template, for the jobs and steps with a stage's role.
    pub outputs: Vec<StackOutput>,
    stage_names: Vec<String>,
}

impl Extensions {
    /// Resolves a validated config's extensions; `outputs` are the SAM template's output keys.
    pub fn new(config: &Config, outputs: &[String]) -> Result<Self, Vec<Diagnostic>> {
        let workflow = &config.workflow;
        let stage_index = |name: &str| config.stages.iter().position(|s| s.name == name);
        let mut jobs = Vec::new();
        if let (Some(command), false) =
            (&workflow.integration_test_command, config.stages.is_empty())
        {
            jobs.push(AddedJob {
                id: job_ids::INTEGRATION_TEST.into(),
                name: format!("Integration tests on {}", config.stages[0].name),
                after: After::Stage(0),
                run: command.clone(),
                env: IndexMap::new(),
                secrets: Vec::new(),
                role: true,
            });
        }
        for job in &workflow.jobs {
            let after = match stage_index(&job.after) {
                Some(index) => After::Stage(index),
                None => After::Build,
            };
            jobs.push(AddedJob {
                id: job.id.clone(),
                name: job.name.clone().unwrap_or_else(|| job.id.clone()),
                after,
                run: job.run.clone(),
                env: job.env.clone(),
                secrets: job.secrets.clone(),
                role: job.role,
            });
        }
        Ok(Self {
            env: workflow.env.clone(),
            before_build: workflow.steps.before_build.clone(),
            after_build: workflow.steps.after_build.clone(),
            before_deploy: workflow.steps.before_deploy.clone(),
            after_deploy: workflow.steps.after_deploy.clone(),
            jobs,
            outputs: stack_outputs(outputs)?,
            stage_names: config.stages.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// The added steps of the deploy jobs of stage `stage` (feature-branch deploys run the
    /// first stage's), in order.
    pub fn deploy_steps(
        &self,
        stage: usize,
        phase: DeployPhase,
    ) -> impl Iterator<Item = &ExtraStep> {
        let name = self.stage_names.get(stage).cloned().unwrap_or_default();
        let list = match phase {
            DeployPhase::Before => &self.before_deploy,
            DeployPhase::After => &self.after_deploy,
        };
        list.iter().filter(move |step| {
            step.stages
                .as_ref()
                .is_none_or(|stages| stages.contains(&name))
        })
    }

    /// The added jobs at `after`, in order.
    pub fn jobs_after(&self, after: After) -> impl Iterator<Item = &AddedJob> {
        self.jobs.iter().filter(move |job| job.after == after)
    }

    /// Whether an after-deploy step of `stage` keeps the role, so the job reads the outputs.
    pub fn deploy_steps_read_outputs(&self, stage: usize) -> bool {
        self.deploy_steps(stage, DeployPhase::After).any(|s| s.role)
    }
}

/// The variable of each output, refusing two outputs that would share one.
fn stack_outputs(keys: &[String]) -> Result<Vec<StackOutput>, Vec<Diagnostic>> {
    let mut outputs: Vec<StackOutput> = Vec::new();
    let mut problems = Vec::new();
    for key in keys {
        let variable = format!("{OUTPUT_PREFIX}{}", key.to_ascii_uppercase());
        if let Some(other) = outputs.iter().find(|o| o.variable == variable) {
            problems.push(
                Diagnostic::error(
                    "output-variable-collision",
                    format!(
                        "the outputs `{}` and `{key}` would both be given to jobs as `{variable}`",
                        other.key
                    ),
                )
                .at(ConfigPath::root().key("sam_template"))
                .help("rename one of the two outputs in the SAM template"),
            );
            continue;
        }
        outputs.push(StackOutput {
            key: key.clone(),
            variable,
        });
    }
    if problems.is_empty() {
        Ok(outputs)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::stack_outputs;

    #[test]
    fn outputs_become_upper_case_variables_and_collisions_are_refused() {
        let outputs = stack_outputs(&["HelloWorldApi".into(), "Arn".into()]).unwrap();
        let variables: Vec<&str> = outputs.iter().map(|o| o.variable.as_str()).collect();
        assert_eq!(
            variables,
            ["STACK_OUTPUT_HELLOWORLDAPI", "STACK_OUTPUT_ARN"]
        );
        let problems = stack_outputs(&["Api".into(), "API".into()]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("`Api` and `API`"),
            "{}",
            problems[0].message
        );
    }
}
