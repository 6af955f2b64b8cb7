//! Jobs: a runner, the jobs it waits for, its token permissions, and its steps.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobs>.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::concurrency::Concurrency;
use super::defaults::Defaults;
use super::expr::{Expr, Text};
use super::permissions::{Permission, Permissions, Scope};
use super::render::{Map, ToYaml};
use super::step::Step;

/// A job, rendered in the order `name, if, needs, runs-on, environment, permissions,
/// concurrency, timeout-minutes, env, defaults, outputs, steps`:
///
/// ```yaml
/// deploy-dev:
///   needs: [build]
///   runs-on: ubuntu-24.04
///   environment: dev
///   permissions:
///     contents: read
///     id-token: write
///   concurrency:
///     group: deploy-dev
///     cancel-in-progress: false
///   steps:
///     - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
///       with:
///         persist-credentials: false
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    /// `name:`, shown in the UI. Default: the job id.
    pub name: Option<String>,
    /// `if:`, rendered as a bare expression.
    pub if_: Option<Expr>,
    /// `needs:`: ids of the jobs that must succeed first.
    pub needs: Vec<String>,
    /// `runs-on:`, a runner label such as `ubuntu-24.04`; required.
    pub runs_on: Option<String>,
    /// `environment:`; part of the job's OIDC subject (`…:environment:<name>`).
    pub environment: Option<Environment>,
    /// `permissions:`; when set, every scope it does not list is `none`. Default: the
    /// workflow's permissions.
    pub permissions: Option<Permissions>,
    /// `concurrency:`.
    pub concurrency: Option<Concurrency>,
    /// `timeout-minutes:`. Default: GitHub's 360.
    pub timeout_minutes: Option<u32>,
    /// `env:` for every step of the job.
    pub env: IndexMap<String, Text>,
    /// `defaults:` for the job's `run:` steps.
    pub defaults: Defaults,
    /// `outputs:`, read by dependent jobs as `needs.<id>.outputs.<name>`.
    pub outputs: IndexMap<String, Expr>,
    /// `steps:`.
    pub steps: Vec<Step>,
}

impl Job {
    /// A job with no runner and no steps yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name:`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets `if:`.
    pub fn if_(mut self, condition: Expr) -> Self {
        self.if_ = Some(condition);
        self
    }

    /// Adds `job` to `needs:` unless it is already there.
    pub fn needs(mut self, job: impl Into<String>) -> Self {
        let job = job.into();
        if !self.needs.contains(&job) {
            self.needs.push(job);
        }
        self
    }

    /// Sets `runs-on:`.
    pub fn runs_on(mut self, label: impl Into<String>) -> Self {
        self.runs_on = Some(label.into());
        self
    }

    /// Sets `environment:`.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Sets `permissions:`, replacing any scope set before.
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Grants `permission` on `scope`, making the job's permissions explicit.
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

    /// Sets `timeout-minutes:`.
    pub fn timeout_minutes(mut self, minutes: u32) -> Self {
        self.timeout_minutes = Some(minutes);
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

    /// Adds `name: value` to `outputs:`, replacing an earlier value of `name`.
    pub fn output(mut self, name: impl Into<String>, value: Expr) -> Self {
        self.outputs.insert(name.into(), value);
        self
    }

    /// Appends a step.
    pub fn step(mut self, step: impl Into<Step>) -> Self {
        self.steps.push(step.into());
        self
    }
}

impl ToYaml for Job {
    fn to_yaml(&self) -> Value {
        Map::new()
            .opt("name", self.name.clone())
            .opt("if", self.if_.as_ref().map(Expr::condition))
            .non_empty("needs", self.needs.to_yaml())
            .opt("runs-on", self.runs_on.clone())
            .opt(
                "environment",
                self.environment.as_ref().map(ToYaml::to_yaml),
            )
            .opt(
                "permissions",
                self.permissions.as_ref().map(ToYaml::to_yaml),
            )
            .opt(
                "concurrency",
                self.concurrency.as_ref().map(ToYaml::to_yaml),
            )
            .opt("timeout-minutes", self.timeout_minutes)
            .non_empty("env", self.env.to_yaml())
            .opt("defaults", self.defaults.to_yaml_opt())
            .non_empty("outputs", self.outputs.to_yaml())
            .non_empty("steps", self.steps.to_yaml())
            .into()
    }
}

/// A deployment environment: its protection rules (e.g. required reviewers) gate the job, and
/// its name becomes part of the job's OIDC subject. Renders as the plain name without a URL:
///
/// ```yaml
/// environment: production
/// # or
/// environment:
///   name: production
///   url: https://example.com
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// `name:`.
    pub name: Text,
    /// `url:`, shown on the deployment.
    pub url: Option<Text>,
}

impl Environment {
    /// The environment `name`, without a URL.
    pub fn new(name: impl Into<Text>) -> Self {
        Self {
            name: name.into(),
            url: None,
        }
    }

    /// Sets `url:`.
    pub fn url(mut self, url: impl Into<Text>) -> Self {
        self.url = Some(url.into());
        self
    }
}

impl ToYaml for Environment {
    fn to_yaml(&self) -> Value {
        match &self.url {
            None => self.name.to_yaml(),
            Some(url) => Map::new()
                .put("name", self.name.to_yaml())
                .put("url", url.to_yaml())
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::actions::{checkout, Pins};
    use crate::gha::testing::{assert_yaml, expr, lit, script, text};

    #[test]
    fn job_renders_every_key_in_order() {
        let job = Job::new()
            .step(checkout(&Pins::default()))
            .output("stack", expr("steps.deploy.outputs.stack"))
            .defaults(Defaults::new().shell("bash"))
            .env("STAGE", text("dev"))
            .timeout_minutes(30)
            .concurrency(Concurrency::new(text("deploy-dev")))
            .permission(Scope::IdToken, Permission::Write)
            .permission(Scope::Contents, Permission::Read)
            .environment(Environment::new(text("dev")))
            .runs_on("ubuntu-24.04")
            .needs("build")
            .needs("test")
            .needs("build")
            .if_(expr("github.ref == 'refs/heads/main'"))
            .name("Deploy dev");
        assert_yaml(
            &job.to_yaml(),
            "
name: Deploy dev
if: github.ref == 'refs/heads/main'
needs: [build, test]
runs-on: ubuntu-24.04
environment: dev
permissions:
  contents: read
  id-token: write
concurrency:
  group: deploy-dev
  cancel-in-progress: false
timeout-minutes: 30
env:
  STAGE: dev
defaults:
  run:
    shell: bash
outputs:
  stack: ${{ steps.deploy.outputs.stack }}
steps:
  - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
    with:
      persist-credentials: false
",
        );
    }

    #[test]
    fn minimal_job_omits_empty_keys() {
        let job = Job::new()
            .runs_on("ubuntu-24.04")
            .step(Step::run(script("make test")));
        assert_yaml(
            &job.to_yaml(),
            "runs-on: ubuntu-24.04\nsteps:\n  - run: make test\n",
        );
    }

    #[test]
    fn environment_with_url_renders_as_mapping() {
        let environment = Environment::new(lit("prod")).url(expr("steps.deploy.outputs.url"));
        assert_yaml(
            &environment.to_yaml(),
            "name: prod\nurl: ${{ steps.deploy.outputs.url }}\n",
        );
    }

    #[test]
    fn empty_job_permissions_render_as_empty_mapping() {
        let job = Job::new().permissions(Permissions::new());
        assert_yaml(&job.to_yaml(), "permissions: {}\n");
    }
}
