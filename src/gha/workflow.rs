//! The workflow file: name, triggers, top-level settings and jobs.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax>.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_yaml::Value;

use super::concurrency::Concurrency;
use super::defaults::Defaults;
use super::expr::Text;
use super::job::Job;
use super::permissions::{Permission, Permissions, Scope};
use super::render::{Map, ToYaml};
use super::trigger::Triggers;

/// A GitHub Actions workflow, rendered in the order `name, run-name, on, permissions,
/// concurrency, env, defaults, jobs`, leaving out what is empty:
///
/// ```yaml
/// name: Pipeline
/// on:
///   push:
///     branches: [main]
/// permissions:
///   contents: read
/// jobs:
///   test:
///     runs-on: ubuntu-24.04
///     steps:
///       - run: make test
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workflow {
    /// `name:`, shown in the Actions tab. Default: the file's path.
    pub name: Option<String>,
    /// `run-name:`, the name of each run.
    pub run_name: Option<Text>,
    /// `on:`; at least one event is required.
    pub on: Triggers,
    /// `permissions:` for every job that sets none. Default: the repository's setting.
    pub permissions: Option<Permissions>,
    /// `concurrency:` for the whole workflow.
    pub concurrency: Option<Concurrency>,
    /// `env:` for every job.
    pub env: IndexMap<String, Text>,
    /// `defaults:` for every `run:` step.
    pub defaults: Defaults,
    /// `jobs:`, by job id, in the order they are rendered.
    pub jobs: IndexMap<String, Job>,
}

impl Workflow {
    /// An empty workflow.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name:`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets `run-name:`.
    pub fn run_name(mut self, run_name: impl Into<Text>) -> Self {
        self.run_name = Some(run_name.into());
        self
    }

    /// Sets `on:`.
    pub fn on(mut self, triggers: Triggers) -> Self {
        self.on = triggers;
        self
    }

    /// Sets `permissions:`, replacing any scope set before.
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Grants `permission` on `scope` to every job that sets no permissions of its own.
    pub fn permission(mut self, scope: Scope, permission: Permission) -> Self {
        let permissions = self.permissions.take().unwrap_or_default();
        self.permissions = Some(permissions.set(scope, permission));
        self
    }

    /// Sets `concurrency:`.
    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = Some(concurrency);
        self
    }

    /// Adds `name: value` to `env:`, replacing an earlier value of `name`.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<Text>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Sets `defaults:`.
    pub fn defaults(mut self, defaults: Defaults) -> Self {
        self.defaults = defaults;
        self
    }

    /// Adds the job `id`. A job with the same id is replaced, keeping its position.
    pub fn job(mut self, id: impl Into<String>, job: Job) -> Self {
        self.jobs.insert(id.into(), job);
        self
    }

    /// The workflow as a YAML value with its keys in order, for the YAML emitter.
    pub fn to_yaml_value(&self) -> Value {
        Map::new()
            .opt("name", self.name.clone())
            .opt("run-name", self.run_name.as_ref().map(ToYaml::to_yaml))
            .put("on", self.on.to_yaml())
            .opt(
                "permissions",
                self.permissions.as_ref().map(ToYaml::to_yaml),
            )
            .opt(
                "concurrency",
                self.concurrency.as_ref().map(ToYaml::to_yaml),
            )
            .non_empty("env", self.env.to_yaml())
            .opt("defaults", self.defaults.to_yaml_opt())
            .put("jobs", self.jobs.to_yaml())
            .into()
    }

    /// Every `uses:` value in the workflow (`owner/repo@<sha>`) with the version it pins, in
    /// order of first use; the input of [`annotate`](super::annotate()).
    pub fn uses_versions(&self) -> IndexMap<String, String> {
        self.jobs
            .values()
            .flat_map(|job| &job.steps)
            .filter_map(|step| step.action())
            .map(|action| (action.uses(), action.version().to_owned()))
            .collect()
    }
}

/// Serializes as [`Workflow::to_yaml_value`].
impl Serialize for Workflow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_yaml_value().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::actions::{checkout, setup_sam, Pins};
    use crate::gha::step::Step;
    use crate::gha::testing::{assert_yaml, expr, script, text};
    use crate::gha::trigger::PushTrigger;

    #[test]
    fn workflow_renders_every_key_in_order() {
        let workflow = Workflow::new()
            .job(
                "test",
                Job::new()
                    .runs_on("ubuntu-24.04")
                    .step(Step::run(script("make test"))),
            )
            .defaults(Defaults::new().shell("bash"))
            .env("SAM_TEMPLATE", text("template.yaml"))
            .concurrency(Concurrency::new(expr("github.workflow")))
            .permission(Scope::Contents, Permission::Read)
            .on(Triggers::new().push(PushTrigger::new().branch("main")))
            .run_name(expr("format('Deploy {0}', github.ref_name)"))
            .name("Pipeline");
        assert_yaml(
            &workflow.to_yaml_value(),
            "
name: Pipeline
run-name: ${{ format('Deploy {0}', github.ref_name) }}
on:
  push:
    branches: [main]
permissions:
  contents: read
concurrency:
  group: ${{ github.workflow }}
  cancel-in-progress: false
env:
  SAM_TEMPLATE: template.yaml
defaults:
  run:
    shell: bash
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: make test
",
        );
    }

    #[test]
    fn empty_workflow_keeps_the_required_keys() {
        assert_yaml(&Workflow::new().to_yaml_value(), "on: {}\njobs: {}\n");
    }

    #[test]
    fn serialize_matches_to_yaml_value() {
        let workflow = Workflow::new().name("Pipeline");
        assert_eq!(
            serde_yaml::to_string(&workflow).expect("renders"),
            serde_yaml::to_string(&workflow.to_yaml_value()).expect("renders")
        );
    }

    #[test]
    fn uses_versions_lists_each_pinned_action_once_in_order() {
        let pins = Pins::default()
            .set(
                "aws-actions/setup-sam",
                "f84ec7d548307efafe33230528756de3c5841a17",
                "v2",
            )
            .expect("valid pin");
        let job = || {
            Job::new()
                .step(checkout(&pins))
                .step(setup_sam(&pins, None, true))
                .step(Step::run(script("sam build")))
        };
        let workflow = Workflow::new().job("a", job()).job("b", job());
        let versions = workflow.uses_versions();
        let expected: Vec<(String, String)> = [
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "aws-actions/setup-sam@f84ec7d548307efafe33230528756de3c5841a17",
        ]
        .into_iter()
        .zip(["v7.0.1", "v2"])
        .map(|(uses, version)| (uses.to_owned(), version.to_owned()))
        .collect();
        assert_eq!(versions.into_iter().collect::<Vec<_>>(), expected);
    }
}
