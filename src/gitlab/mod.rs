//! Typed builders for a GitLab CI/CD configuration (`.gitlab-ci.yml`): just the keywords
//! sampipe writes, each turned into a `serde_yaml::Value` with its keys in a fixed order that
//! reads top-down (when a job runs, where it deploys, then what it runs).
//!
//! Reference: <https://docs.gitlab.com/ci/yaml/>.

use std::collections::HashSet;

use serde_yaml::Value;

use crate::yaml::Map;

/// A whole `.gitlab-ci.yml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiFile {
    /// `workflow:rules`: which pipelines are created at all.
    pub workflow_rules: Vec<Rule>,
    pub stages: Vec<String>,
    /// Top-level `variables:`, every job's; taken literally (a value with `$` is written with
    /// `expand: false`).
    pub variables: Vec<(String, String)>,
    pub default: Defaults,
    /// Jobs, in file order. Ids are unique ([`CiFile::validate`]).
    pub jobs: Vec<(String, Job)>,
}

/// `default:`: keywords every job inherits unless it sets its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    pub image: Option<String>,
    pub interruptible: Option<bool>,
    /// A duration such as `30m`.
    pub timeout: Option<String>,
}

/// One job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Job {
    pub stage: String,
    /// `needs:`; `None` leaves the stage order in charge, `Some(vec![])` starts at once.
    pub needs: Option<Vec<Need>>,
    pub rules: Vec<Rule>,
    pub environment: Option<Environment>,
    pub resource_group: Option<String>,
    pub interruptible: Option<bool>,
    /// `services:` (images started next to the job, e.g. Docker-in-Docker).
    pub services: Vec<String>,
    /// Job variables, in order. GitLab expands `$VAR` references in their values.
    pub variables: Vec<(String, String)>,
    pub id_tokens: Vec<IdToken>,
    pub script: Vec<String>,
    pub after_script: Vec<String>,
    pub artifacts: Option<Artifacts>,
    pub cache: Option<Cache>,
}

/// A job this job waits for, and whether its artifacts are downloaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub job: String,
    pub artifacts: bool,
}

/// `when:` of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    OnSuccess,
    Manual,
    Never,
}

impl When {
    fn as_str(self) -> &'static str {
        match self {
            Self::OnSuccess => "on_success",
            Self::Manual => "manual",
            Self::Never => "never",
        }
    }
}

/// One entry of `rules:` (a job's or `workflow:`'s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The `if:` expression, e.g. `$CI_COMMIT_BRANCH == "main"`.
    pub if_: String,
    pub when: Option<When>,
    pub allow_failure: Option<bool>,
}

impl Rule {
    pub fn if_(expression: impl Into<String>) -> Self {
        Self {
            if_: expression.into(),
            when: None,
            allow_failure: None,
        }
    }

    pub fn when(mut self, when: When) -> Self {
        self.when = Some(when);
        self
    }

    pub fn allow_failure(mut self, allow: bool) -> Self {
        self.allow_failure = Some(allow);
        self
    }

    pub fn to_yaml(&self) -> Value {
        Map::new()
            .put("if", self.if_.as_str())
            .opt("when", self.when.map(When::as_str))
            .opt("allow_failure", self.allow_failure)
            .into()
    }
}

/// `environment:action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvironmentAction {
    Stop,
    /// The job checks the environment's deployment without deploying (no new deployment).
    Verify,
}

/// `environment:` of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub action: Option<EnvironmentAction>,
    /// The job that stops this environment.
    pub on_stop: Option<String>,
    /// e.g. `1 week`.
    pub auto_stop_in: Option<String>,
}

impl Environment {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            action: None,
            on_stop: None,
            auto_stop_in: None,
        }
    }

    pub fn to_yaml(&self) -> Value {
        Map::new()
            .put("name", self.name.as_str())
            .opt(
                "action",
                self.action.map(|a| match a {
                    EnvironmentAction::Stop => "stop",
                    EnvironmentAction::Verify => "verify",
                }),
            )
            .opt("on_stop", self.on_stop.as_deref())
            .opt("auto_stop_in", self.auto_stop_in.as_deref())
            .into()
    }
}

/// An entry of `id_tokens:`: GitLab puts a JWT with this `aud` in the variable `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdToken {
    pub name: String,
    pub aud: String,
}

/// `artifacts:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    pub paths: Vec<String>,
    /// e.g. `1 week`.
    pub expire_in: String,
}

impl Artifacts {
    pub fn to_yaml(&self) -> Value {
        Map::new()
            .put("paths", strings(&self.paths))
            .put("expire_in", self.expire_in.as_str())
            .into()
    }
}

/// `cache:`: `paths` restored from the entry `key` before the script and saved into it
/// after a successful one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    pub key: String,
    pub paths: Vec<String>,
}

impl Cache {
    pub fn to_yaml(&self) -> Value {
        Map::new()
            .put("key", self.key.as_str())
            .put("paths", strings(&self.paths))
            .into()
    }
}

fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn rules(items: &[Rule]) -> Value {
    Value::Sequence(items.iter().map(Rule::to_yaml).collect())
}

fn pairs(items: &[(String, String)]) -> Value {
    items
        .iter()
        .fold(Map::new(), |map, (k, v)| map.put(k, v.as_str()))
        .into()
}

impl Job {
    pub fn new(stage: impl Into<String>) -> Self {
        Self {
            stage: stage.into(),
            ..Self::default()
        }
    }

    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.variables.push((name.to_owned(), value.into()));
        self
    }

    pub fn script_line(mut self, line: impl Into<String>) -> Self {
        self.script.push(line.into());
        self
    }

    /// The value of job variable `name`, if set.
    pub fn variable_value(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn to_yaml(&self) -> Value {
        let needs = self.needs.as_ref().map(|needs| {
            Value::Sequence(
                needs
                    .iter()
                    .map(|n| {
                        Map::new()
                            .put("job", n.job.as_str())
                            .put("artifacts", n.artifacts)
                            .into()
                    })
                    .collect(),
            )
        });
        let id_tokens = self
            .id_tokens
            .iter()
            .fold(Map::new(), |map, t| {
                map.put(&t.name, Map::new().put("aud", t.aud.as_str()))
            })
            .into();
        Map::new()
            .put("stage", self.stage.as_str())
            .opt("needs", needs)
            .non_empty("rules", rules(&self.rules))
            .opt(
                "environment",
                self.environment.as_ref().map(Environment::to_yaml),
            )
            .opt("resource_group", self.resource_group.as_deref())
            .opt("interruptible", self.interruptible)
            .non_empty("services", strings(&self.services))
            .non_empty("variables", pairs(&self.variables))
            .non_empty("id_tokens", id_tokens)
            .put("script", strings(&self.script))
            .non_empty("after_script", strings(&self.after_script))
            .opt("artifacts", self.artifacts.as_ref().map(Artifacts::to_yaml))
            .opt("cache", self.cache.as_ref().map(Cache::to_yaml))
            .into()
    }
}

/// GitLab's reserved top-level keywords, which cannot name a job.
const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "pages",
];

impl CiFile {
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|(k, _)| k == id).map(|(_, j)| j)
    }

    /// What is inconsistent: duplicate or reserved job ids, a job in an undeclared stage, a
    /// `needs`/`on_stop` naming no job, a stop job in a later stage than the
    /// job that starts its environment (GitLab may then never run it).
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for (id, _) in &self.jobs {
            if !seen.insert(id.as_str()) {
                problems.push(format!("job `{id}` is defined twice"));
            }
            if RESERVED.contains(&id.as_str()) || id.starts_with('.') {
                problems.push(format!("`{id}` cannot name a job"));
            }
        }
        let stage_index = |stage: &str| self.stages.iter().position(|s| s == stage);
        for (id, job) in &self.jobs {
            if stage_index(&job.stage).is_none() {
                problems.push(format!(
                    "job `{id}` is in stage `{}`, which `stages` does not list",
                    job.stage
                ));
            }
            for other in job.needs.iter().flatten().map(|n| n.job.as_str()) {
                if !seen.contains(other) {
                    problems.push(format!(
                        "job `{id}` refers to job `{other}`, which is not defined"
                    ));
                }
            }
            if let Some(stop) = job.environment.as_ref().and_then(|e| e.on_stop.as_deref()) {
                match self.job(stop) {
                    None => problems.push(format!(
                        "job `{id}` is stopped by job `{stop}`, which is not defined"
                    )),
                    Some(stop_job) => {
                        if stage_index(&stop_job.stage) > stage_index(&job.stage) {
                            problems
                                .push(format!("stop job `{stop}` is in a later stage than `{id}`"));
                        }
                    }
                }
            }
        }
        problems
    }

    pub fn to_yaml(&self) -> Value {
        let default = Map::new()
            .opt("image", self.default.image.as_deref())
            .opt("interruptible", self.default.interruptible)
            .opt("timeout", self.default.timeout.as_deref());
        let mut map = Map::new();
        if !self.workflow_rules.is_empty() {
            map = map.put(
                "workflow",
                Map::new().put("rules", rules(&self.workflow_rules)),
            );
        }
        map = map.put("stages", strings(&self.stages));
        let variables = self
            .variables
            .iter()
            .fold(Map::new(), |map, (name, value)| {
                if value.contains('$') {
                    map.put(
                        name,
                        Map::new().put("value", value.as_str()).put("expand", false),
                    )
                } else {
                    map.put(name, value.as_str())
                }
            });
        if !variables.is_empty() {
            map = map.put("variables", variables);
        }
        if !default.is_empty() {
            map = map.put("default", default);
        }
        for (id, job) in &self.jobs {
            map = map.put(id, job.to_yaml());
        }
        map.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_come_in_reading_order() {
        let job = Job {
            stage: "deploy".into(),
            script: vec!["true".into()],
            variables: vec![("A".into(), "b".into())],
            id_tokens: vec![IdToken {
                name: "T".into(),
                aud: "https://gitlab.com".into(),
            }],
            rules: vec![Rule::if_("$CI_COMMIT_BRANCH == \"main\"").when(When::Manual)],
            needs: Some(vec![Need {
                job: "build".into(),
                artifacts: true,
            }]),
            ..Job::default()
        };
        let Value::Mapping(map) = job.to_yaml() else {
            panic!("not a mapping")
        };
        let keys: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
        assert_eq!(
            keys,
            [
                "stage",
                "needs",
                "rules",
                "variables",
                "id_tokens",
                "script"
            ]
        );
    }

    #[test]
    fn validate_finds_dangling_references_and_late_stop_jobs() {
        let mut deploy = Job::new("b");
        deploy.environment = Some(Environment {
            on_stop: Some("stop".into()),
            ..Environment::new("review/x")
        });
        deploy.needs = Some(vec![Need {
            job: "missing".into(),
            artifacts: false,
        }]);
        let file = CiFile {
            stages: vec!["a".into(), "b".into(), "c".into()],
            jobs: vec![
                ("deploy".into(), deploy),
                ("stop".into(), Job::new("c")),
                ("stop".into(), Job::new("z")),
            ],
            ..CiFile::default()
        };
        let problems = file.validate();
        assert!(
            problems.iter().any(|p| p.contains("defined twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("`missing`")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("later stage")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("stage `z`")),
            "{problems:?}"
        );
    }
}
