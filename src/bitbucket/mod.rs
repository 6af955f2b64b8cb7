//! Typed builders for `bitbucket-pipelines.yml`: just what sampipe writes (branch pipelines,
//! custom pipelines with variables, and steps), each rendered with its keys in a fixed order
//! that reads top-down: what the step is, when and where it runs, what it may do, what it runs.
//!
//! [`PipelinesFile::validate`] checks the rules Bitbucket enforces but the published JSON
//! schema does not: a deployment environment at most once per pipeline, and no manual first
//! step (<https://support.atlassian.com/bitbucket-cloud/docs/pipeline-triggers/>).
//!
//! Reference: <https://support.atlassian.com/bitbucket-cloud/docs/step-options/>.

use std::collections::HashSet;

use serde_yaml::Value;

use crate::yaml::Map;

/// The step keys Bitbucket documents (`step-options`) that sampipe may write. A rendered step
/// uses no other key: the published schema accepts misspelled keys silently.
pub const STEP_KEYS: &[&str] = &[
    "name",
    "script",
    "after-script",
    "image",
    "services",
    "caches",
    "artifacts",
    "deployment",
    "trigger",
    "oidc",
    "max-time",
    "size",
    "condition",
    "clone",
    "runs-on",
];

/// How a step starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trigger {
    /// When the step before it succeeds (Bitbucket's default; not written).
    #[default]
    Automatic,
    /// When a person starts it in the Bitbucket UI.
    Manual,
}

/// One `- step:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub trigger: Trigger,
    /// `deployment:`: the deployment environment the step deploys to.
    pub deployment: Option<String>,
    /// `oidc: true`: Bitbucket sets `$BITBUCKET_STEP_OIDC_TOKEN` for the step.
    pub oidc: bool,
    /// `clone: {enabled: false}` when false: the step needs only the build artifacts.
    pub clone: bool,
    pub services: Vec<String>,
    /// Each entry is one command (a multi-line entry is one shell command too).
    pub script: Vec<String>,
    /// `artifacts:` globs the step passes on to later steps.
    pub artifacts: Vec<String>,
}

impl Step {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            clone: true,
            ..Self::default()
        }
    }

    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.script.push(command.into());
        self
    }

    pub fn commands<I: IntoIterator<Item = String>>(mut self, commands: I) -> Self {
        self.script.extend(commands);
        self
    }

    pub fn to_yaml(&self) -> Value {
        let strings =
            |items: &[String]| Value::Sequence(items.iter().cloned().map(Value::String).collect());
        let step = Map::new()
            .put("name", self.name.clone())
            .opt(
                "trigger",
                (self.trigger == Trigger::Manual).then_some("manual"),
            )
            .opt("deployment", self.deployment.clone())
            .opt("oidc", self.oidc.then_some(true))
            .opt(
                "clone",
                (!self.clone).then(|| Map::new().put("enabled", false)),
            )
            .non_empty("services", strings(&self.services))
            .put("script", strings(&self.script))
            .non_empty("artifacts", strings(&self.artifacts));
        Map::new().put("step", step).into()
    }
}

/// A custom pipeline's `variables:` entry, which Bitbucket asks for when a person runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub description: Option<String>,
}

/// `- stage:` around consecutive steps of a pipeline, all deploying to one environment
/// (<https://support.atlassian.com/bitbucket-cloud/docs/stage-options/>): Bitbucket allows an
/// environment once per pipeline, so a deploy and the steps that test it share it this way.
/// The steps themselves carry no `deployment:` and no trigger; the stage starts as its first
/// step would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentStage {
    pub name: String,
    pub deployment: String,
    /// The indexes of its steps in [`Pipeline::steps`].
    pub steps: std::ops::Range<usize>,
}

/// A list of steps run for one start condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Custom pipelines only.
    pub variables: Vec<Variable>,
    pub steps: Vec<Step>,
    /// Deployment stages over `steps`, in order, not overlapping.
    pub stages: Vec<DeploymentStage>,
}

impl Pipeline {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Adds `steps` as one deployment stage named `name`: the first step's `deployment:` and
    /// trigger become the stage's (the others' `deployment:` is dropped: they are in it).
    pub fn stage(mut self, name: impl Into<String>, mut steps: Vec<Step>) -> Self {
        let Some(first) = steps.first_mut() else {
            return self;
        };
        let deployment = first.deployment.take().unwrap_or_default();
        for step in &mut steps {
            step.deployment = None;
        }
        let start = self.steps.len();
        self.steps.extend(steps);
        self.stages.push(DeploymentStage {
            name: name.into(),
            deployment,
            steps: start..self.steps.len(),
        });
        self
    }

    /// The environment step `index` deploys to: its own, or its stage's.
    pub fn deployment_of(&self, index: usize) -> Option<&str> {
        self.stages
            .iter()
            .find(|s| s.steps.contains(&index))
            .map(|s| s.deployment.as_str())
            .or_else(|| self.steps.get(index)?.deployment.as_deref())
    }

    pub fn variable(mut self, name: impl Into<String>, description: Option<String>) -> Self {
        self.variables.push(Variable {
            name: name.into(),
            description,
        });
        self
    }

    pub fn to_yaml(&self) -> Value {
        let mut items = Vec::with_capacity(self.steps.len() + 1);
        if !self.variables.is_empty() {
            let variables = self
                .variables
                .iter()
                .map(|v| {
                    Map::new()
                        .put("name", v.name.clone())
                        .opt("description", v.description.clone())
                        .into()
                })
                .collect();
            items.push(
                Map::new()
                    .put("variables", Value::Sequence(variables))
                    .into(),
            );
        }
        let mut index = 0;
        while index < self.steps.len() {
            let Some(stage) = self.stages.iter().find(|s| s.steps.start == index) else {
                items.push(self.steps[index].to_yaml());
                index += 1;
                continue;
            };
            let steps = &self.steps[stage.steps.clone()];
            let manual = steps.first().is_some_and(|s| s.trigger == Trigger::Manual);
            let inner = steps
                .iter()
                .map(|step| {
                    Step {
                        trigger: Trigger::Automatic,
                        ..step.clone()
                    }
                    .to_yaml()
                })
                .collect();
            items.push(
                Map::new()
                    .put(
                        "stage",
                        Map::new()
                            .put("name", stage.name.clone())
                            .put("deployment", stage.deployment.clone())
                            .opt("trigger", manual.then_some("manual"))
                            .put("steps", Value::Sequence(inner)),
                    )
                    .into(),
            );
            index = stage.steps.end.max(index + 1);
        }
        Value::Sequence(items)
    }

    /// What Bitbucket would reject in this pipeline.
    fn problems(&self, label: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.steps.is_empty() {
            out.push(format!("pipeline `{label}` has no steps"));
        }
        if !self.variables.is_empty() && label.starts_with("branches") {
            out.push(format!(
                "pipeline `{label}` has variables; only custom pipelines may"
            ));
        }
        if let Some(first) = self.steps.first() {
            if first.trigger == Trigger::Manual {
                out.push(format!(
                    "pipeline `{label}` starts with a manual step (`{}`)",
                    first.name
                ));
            }
        }
        let mut environments = HashSet::new();
        let mut expected_start = 0;
        for stage in &self.stages {
            if stage.steps.start < expected_start
                || stage.steps.is_empty()
                || stage.steps.end > self.steps.len()
            {
                out.push(format!(
                    "pipeline `{label}` has a stage `{}` over no steps of its own",
                    stage.name
                ));
            }
            expected_start = stage.steps.end;
            for step in &self.steps
                [stage.steps.start.min(self.steps.len())..stage.steps.end.min(self.steps.len())]
            {
                if step.deployment.is_some() {
                    out.push(format!(
                        "step `{}` has a `deployment` inside stage `{}`",
                        step.name, stage.name
                    ));
                }
            }
            if !environments.insert(stage.deployment.as_str()) {
                out.push(format!(
                    "pipeline `{label}` deploys to environment `{}` more than once",
                    stage.deployment
                ));
            }
        }
        for step in &self.steps {
            if let Some(environment) = &step.deployment {
                if !environments.insert(environment.as_str()) {
                    out.push(format!(
                        "pipeline `{label}` deploys to environment `{environment}` more than once"
                    ));
                }
            }
            if step.script.is_empty() {
                out.push(format!("step `{}` has no script", step.name));
            }
        }
        out
    }
}

/// The whole `bitbucket-pipelines.yml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelinesFile {
    pub image: String,
    /// `options: max-time:` in minutes, for every step.
    pub max_time: Option<u32>,
    /// `pipelines: branches:`, in the order written: pattern → pipeline.
    pub branches: Vec<(String, Pipeline)>,
    /// `pipelines: custom:`: name → pipeline.
    pub custom: Vec<(String, Pipeline)>,
}

impl PipelinesFile {
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            ..Self::default()
        }
    }

    pub fn branch(mut self, pattern: impl Into<String>, pipeline: Pipeline) -> Self {
        self.branches.push((pattern.into(), pipeline));
        self
    }

    pub fn custom(mut self, name: impl Into<String>, pipeline: Pipeline) -> Self {
        self.custom.push((name.into(), pipeline));
        self
    }

    /// Every pipeline with a label (`branches.main`, `custom.delete-feature`).
    pub fn pipelines(&self) -> impl Iterator<Item = (String, &Pipeline)> {
        let branches = self
            .branches
            .iter()
            .map(|(k, p)| (format!("branches.{k}"), p));
        let custom = self.custom.iter().map(|(k, p)| (format!("custom.{k}"), p));
        branches.chain(custom)
    }

    pub fn to_yaml(&self) -> Value {
        let section = |entries: &[(String, Pipeline)]| -> Value {
            entries
                .iter()
                .fold(Map::new(), |map, (key, p)| map.put(key, p.to_yaml()))
                .into()
        };
        let mut pipelines = Map::new();
        if !self.branches.is_empty() {
            pipelines = pipelines.put("branches", section(&self.branches));
        }
        if !self.custom.is_empty() {
            pipelines = pipelines.put("custom", section(&self.custom));
        }
        Map::new()
            .put("image", self.image.clone())
            .opt(
                "options",
                self.max_time
                    .map(|minutes| Map::new().put("max-time", u64::from(minutes))),
            )
            .put("pipelines", pipelines)
            .into()
    }

    /// What Bitbucket would reject: duplicate pipeline keys, a manual first step, an
    /// environment deployed to twice in one pipeline, an empty pipeline or script.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, entries) in [("branches", &self.branches), ("custom", &self.custom)] {
            let mut seen = HashSet::new();
            for (key, _) in entries {
                if !seen.insert(key.as_str()) {
                    out.push(format!("`{kind}` has `{key}` twice"));
                }
            }
        }
        if self.branches.is_empty() && self.custom.is_empty() {
            out.push("no pipelines".into());
        }
        for (label, pipeline) in self.pipelines() {
            out.extend(pipeline.problems(&label));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> Step {
        Step::new(name).command("true")
    }

    #[test]
    fn step_keys_are_in_reading_order_and_documented() {
        let mut s = step("Deploy");
        s.trigger = Trigger::Manual;
        s.deployment = Some("Production".into());
        s.oidc = true;
        s.clone = false;
        s.services = vec!["docker".into()];
        s.artifacts = vec!["out/**".into()];
        let yaml = crate::yaml::to_string(&s.to_yaml(), &Default::default());
        assert_eq!(
            yaml,
            "step:\n  name: Deploy\n  trigger: manual\n  deployment: Production\n  oidc: true\n  clone:\n    enabled: false\n  services:\n    - docker\n  script:\n    - 'true'\n  artifacts:\n    - out/**\n"
        );
        let Value::Mapping(outer) = s.to_yaml() else {
            panic!("not a mapping")
        };
        let Some(Value::Mapping(inner)) = outer.get("step") else {
            panic!("no step")
        };
        for key in inner.keys() {
            let key = key.as_str().unwrap_or_default();
            assert!(STEP_KEYS.contains(&key), "undocumented step key `{key}`");
        }
    }

    #[test]
    fn defaults_are_not_written() {
        let yaml = crate::yaml::to_string(&step("Build").to_yaml(), &Default::default());
        assert_eq!(yaml, "step:\n  name: Build\n  script:\n    - 'true'\n");
    }

    #[test]
    fn validate_finds_what_bitbucket_rejects() {
        let mut manual = step("Deploy");
        manual.trigger = Trigger::Manual;
        let mut prod = step("Prod");
        prod.deployment = Some("Production".into());
        let file = PipelinesFile::new("img")
            .branch("main", Pipeline::new().step(manual.clone()))
            .branch(
                "main",
                Pipeline::new()
                    .step(step("Build"))
                    .step(prod.clone())
                    .step(prod),
            )
            .custom("x", Pipeline::new());
        let problems = file.validate();
        assert!(problems.iter().any(|p| p.contains("`main` twice")));
        assert!(problems
            .iter()
            .any(|p| p.contains("starts with a manual step")));
        assert!(problems.iter().any(|p| p.contains("more than once")));
        assert!(problems.iter().any(|p| p.contains("has no steps")));

        let ok = PipelinesFile::new("img")
            .branch("main", Pipeline::new().step(step("Build")).step(manual))
            .custom("x", Pipeline::new().variable("V", None).step(step("Run")));
        assert_eq!(ok.validate(), Vec::<String>::new());
    }

    #[test]
    fn custom_pipelines_list_variables_first() {
        let file = PipelinesFile::new("img").custom(
            "delete",
            Pipeline::new()
                .variable("NAME", Some("what".into()))
                .step(step("Run")),
        );
        let yaml = crate::yaml::to_string(&file.to_yaml(), &Default::default());
        assert_eq!(
            yaml,
            "image: img\n\npipelines:\n  custom:\n    delete:\n      - variables:\n          - name: NAME\n            description: what\n      - step:\n          name: Run\n          script:\n            - 'true'\n"
        );
    }
}
