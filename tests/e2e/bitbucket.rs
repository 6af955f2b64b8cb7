//! Runs a `bitbucket-pipelines.yml` the way Bitbucket Pipelines would, on this machine: the
//! pipeline Bitbucket picks for the event (`branches:` by exact name, then by glob, then
//! `default`; or a `custom:` pipeline with its variables), its steps in order (`parallel:`
//! groups one after another), each in a fresh clone (`clone: enabled: false` gives an empty
//! folder) with the artifacts of earlier steps, its `script:` lines in order in one bash
//! shell that stops at the first failing line, `after-script:` with `BITBUCKET_EXIT_CODE`,
//! and the step's `deployment:` environment. A step with `trigger: manual` runs as if a person
//! started it. A failed step stops the pipeline; later steps do not run.
//!
//! Stages (<https://support.atlassian.com/bitbucket-cloud/docs/stage-options/>): a `- stage:`
//! item's steps run in order like any others; in a deployment stage (`deployment: ENV`) each
//! step is a deployment step for ENV (its `BITBUCKET_DEPLOYMENT_ENVIRONMENT*` variables and
//! OIDC `sub`/claims are a deployment step's), and a stage with `trigger: manual` waits for a
//! person before its first step. What Bitbucket refuses to run is refused here too (the run
//! panics, naming the rule; [`check`] says it without running): a `deployment:` on a step in
//! a stage (the stage sets it), a parallel group or a step `condition:` in a stage (the
//! schema's stage steps are plain steps without one), a deployment environment used more than
//! once in a pipeline, and a pipeline whose first step is manual
//! (<https://support.atlassian.com/bitbucket-cloud/docs/pipeline-triggers/>). Not emulated: a
//! stage's `condition:` (changesets), which the run rejects as such.
//!
//! Repository variables ([`Repository::variables`]) are in every step's environment (over
//! Bitbucket's default variables, under a custom pipeline's); a secured one's value is shown
//! as `$NAME` wherever it appears in a step's log, as Bitbucket masks it
//! (<https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/>; the
//! replacement shows in <https://bitbucket.org/site/master/issues/16131/secured-variables-indirectly-leak-in-logs>).
//!
//! There is no free local Bitbucket runner (Atlassian's runs steps in Docker), hence this
//! emulation. Steps run on the host, not in the `image:` container, with the real AWS CLI and
//! SAM CLI on `PATH`.
//!
//! `oidc: true` gives the step `BITBUCKET_STEP_OIDC_TOKEN`: an unsigned JWT with the claims
//! Bitbucket puts in (`iss` = the workspace's identity URL, `aud` =
//! `ari:cloud:bitbucket::workspace/<uuid>`, `sub` = `{REPO}:{ENV}:{STEP}` with a deployment
//! environment or `{REPO}:{STEP}` without, `repositoryUuid`, `workspaceUuid`,
//! `deploymentEnvironmentUuid`, `branchName`, `pipelineUuid`, `stepUuid`), which the local
//! AWS checks against the deployed OIDC provider and trust policy. Steps without it get none.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

use super::github::{JobReport, Outcome, RunReport};
use super::{copy_dir, mask_secrets, LocalAws, Token};
use crate::common::run;

/// What starts a pipeline.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A push to a branch: its `branches:` (or `default`) pipeline.
    Push { branch: String },
    /// A person runs `custom: <name>` on `branch` with these variables.
    Custom {
        name: String,
        branch: String,
        variables: BTreeMap<String, String>,
    },
}

/// A repository variable (Repository settings > Repository variables).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Variable {
    pub(crate) value: String,
    /// Secured: its value is masked as `$NAME` in step logs.
    pub(crate) secured: bool,
}

impl Variable {
    pub(crate) fn plain(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            secured: false,
        }
    }

    pub(crate) fn secured(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            secured: true,
        }
    }
}

/// A Bitbucket Cloud repository as the runner presents it to steps.
#[derive(Default)]
pub(crate) struct Repository {
    pub(crate) workspace: String,
    /// With braces.
    pub(crate) workspace_uuid: String,
    pub(crate) repository_uuid: String,
    pub(crate) slug: String,
    /// Deployment environments: name → UUID (with braces).
    pub(crate) environments: BTreeMap<String, String>,
    /// The files of the repository.
    pub(crate) checkout: PathBuf,
    /// Repository variables: name → value and whether it is secured. Empty: none.
    pub(crate) variables: BTreeMap<String, Variable>,
}

pub(crate) struct Runner<'a> {
    pub(crate) aws: &'a LocalAws,
    pub(crate) repository: &'a Repository,
    /// Folder for this run's clones and artifacts.
    pub(crate) scratch: PathBuf,
}

/// One step to run, with what it inherits from its group.
struct Step {
    id: String,
    spec: Yaml,
}

impl Runner<'_> {
    /// Runs the pipeline of `pipelines_file` (the YAML text) that `event` starts.
    pub(crate) fn run(&self, pipelines_file: &str, event: &Event) -> RunReport {
        let file: Yaml = serde_yaml::from_str(pipelines_file).expect("bitbucket-pipelines.yml");
        let (branch, items, variables) = match event {
            Event::Push { branch } => (
                branch.clone(),
                branch_pipeline(&file["pipelines"], branch),
                BTreeMap::new(),
            ),
            Event::Custom {
                name,
                branch,
                variables,
            } => {
                let items = file["pipelines"]["custom"][name.as_str()]
                    .as_sequence()
                    .cloned()
                    .unwrap_or_else(|| panic!("no custom pipeline `{name}`"));
                (branch.clone(), Some(items), variables.clone())
            }
        };
        let Some(items) = items else {
            return RunReport { jobs: Vec::new() };
        };
        let plan = plan(&items)
            .unwrap_or_else(|e| panic!("Bitbucket rejects this bitbucket-pipelines.yml: {e}"));
        let steps = plan.steps;
        let mut pipeline_variables = BTreeMap::new();
        for (name, default) in plan.declared {
            let value = variables.get(&name).cloned().unwrap_or(default);
            pipeline_variables.insert(name, value);
        }
        for name in variables.keys() {
            assert!(
                pipeline_variables.contains_key(name),
                "the pipeline declares no variable {name}"
            );
        }

        let artifacts = self.scratch.join("artifacts");
        let _ = std::fs::remove_dir_all(&self.scratch);
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");
        let pipeline_uuid = uuid("pipeline", &self.scratch.display().to_string());
        let mut reports = Vec::new();
        let mut failed = false;
        for (index, step) in steps.iter().enumerate() {
            if failed {
                reports.push(JobReport {
                    id: step.id.clone(),
                    outcome: Outcome::Skipped,
                    log: String::new(),
                });
                continue;
            }
            let (outcome, log) = self.run_step(
                index,
                step,
                &branch,
                &pipeline_uuid,
                &pipeline_variables,
                &artifacts,
            );
            failed = outcome == Outcome::Failure;
            reports.push(JobReport {
                id: step.id.clone(),
                outcome,
                log,
            });
        }
        RunReport { jobs: reports }
    }

    /// Runs one step; its log masked as Bitbucket masks secured variables.
    fn run_step(
        &self,
        index: usize,
        step: &Step,
        branch: &str,
        pipeline_uuid: &str,
        variables: &BTreeMap<String, String>,
        artifacts: &Path,
    ) -> (Outcome, String) {
        let (outcome, log) =
            self.run_step_unmasked(index, step, branch, pipeline_uuid, variables, artifacts);
        let masks: Vec<(String, String)> = self
            .repository
            .variables
            .iter()
            .filter(|(_, v)| v.secured)
            .map(|(name, v)| (v.value.clone(), format!("${name}")))
            .collect();
        (outcome, mask_secrets(&log, &masks))
    }

    fn run_step_unmasked(
        &self,
        index: usize,
        step: &Step,
        branch: &str,
        pipeline_uuid: &str,
        variables: &BTreeMap<String, String>,
        artifacts: &Path,
    ) -> (Outcome, String) {
        let spec = &step.spec;
        let mut log = String::new();
        let root = self.scratch.join(format!("step-{index}"));
        let clone = root.join("build");
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("step home");
        if spec["clone"]["enabled"].as_bool() == Some(false) {
            std::fs::create_dir_all(&clone).expect("clone dir");
        } else {
            copy_dir(&self.repository.checkout, &clone);
        }
        if spec["trigger"].as_str() == Some("manual") {
            let _ = writeln!(log, "(started by hand)");
        }
        // Every earlier step's artifacts are downloaded, unless the step says not to.
        if spec["artifacts"]["download"].as_bool() != Some(false) {
            copy_dir(artifacts, &clone);
        }
        let step_uuid = uuid("step", &format!("{pipeline_uuid}{index}"));
        let deployment = spec["deployment"].as_str().map(str::to_owned);
        let environment_uuid = match &deployment {
            Some(name) => match self.repository.environments.get(name) {
                Some(uuid) => Some(uuid.clone()),
                None => {
                    let _ = writeln!(log, "!! deployment environment `{name}` does not exist");
                    return (Outcome::Failure, log);
                }
            },
            None => None,
        };
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let path = format!(
            "{}:{}:{}",
            self.aws.aws_only_bin().display(),
            self.aws.sam_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let repo = &self.repository;
        for (key, value) in [
            ("PATH", path),
            ("HOME", home.display().to_string()),
            ("LANG", "C.UTF-8".to_owned()),
            ("CI", "true".to_owned()),
            ("BITBUCKET_BRANCH", branch.to_owned()),
            (
                "BITBUCKET_COMMIT",
                "0123456789abcdef0123456789abcdef01234567".to_owned(),
            ),
            ("BITBUCKET_BUILD_NUMBER", "7".to_owned()),
            ("BITBUCKET_CLONE_DIR", clone.display().to_string()),
            ("BITBUCKET_WORKSPACE", repo.workspace.clone()),
            ("BITBUCKET_REPO_OWNER", repo.workspace.clone()),
            ("BITBUCKET_REPO_SLUG", repo.slug.clone()),
            ("BITBUCKET_REPO_UUID", repo.repository_uuid.clone()),
            ("BITBUCKET_REPO_OWNER_UUID", repo.workspace_uuid.clone()),
            (
                "BITBUCKET_REPO_FULL_NAME",
                format!("{}/{}", repo.workspace, repo.slug),
            ),
            (
                "BITBUCKET_GIT_HTTP_ORIGIN",
                format!("http://bitbucket.org/{}/{}", repo.workspace, repo.slug),
            ),
            ("BITBUCKET_PIPELINE_UUID", pipeline_uuid.to_owned()),
            ("BITBUCKET_STEP_UUID", step_uuid.clone()),
            (
                "BITBUCKET_STEP_TRIGGERER_UUID",
                "{00000000-0000-4000-8000-00000000c0de}".to_owned(),
            ),
            ("BITBUCKET_PROJECT_KEY", "OCTO".to_owned()),
            // Everything AWS goes to the local AWS; no profile or credentials of this machine.
            ("AWS_ENDPOINT_URL", self.aws.endpoint.clone()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_MAX_ATTEMPTS", "2".to_owned()),
            ("SAM_CLI_TELEMETRY", "0".to_owned()),
            ("SAM_CLI_POLL_DELAY", "1".to_owned()),
        ] {
            env.insert(key.to_owned(), value);
        }
        if let (Some(name), Some(uuid)) = (&deployment, &environment_uuid) {
            env.insert("BITBUCKET_DEPLOYMENT_ENVIRONMENT".to_owned(), name.clone());
            env.insert(
                "BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID".to_owned(),
                uuid.clone(),
            );
        }
        // Repository variables override the default ones; a custom pipeline's override both.
        env.extend(
            repo.variables
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone())),
        );
        env.extend(variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        if spec["oidc"].as_bool() == Some(true) {
            let claims = self.claims(
                branch,
                pipeline_uuid,
                &step_uuid,
                environment_uuid.as_deref(),
            );
            env.insert(
                "BITBUCKET_STEP_OIDC_TOKEN".to_owned(),
                Token::unsigned(&claims).0,
            );
        }

        let lines = script_lines(&spec["script"]);
        let status = self.shell(&root, "script", &lines, &clone, &env, &mut log);
        let after = script_lines(&spec["after-script"]);
        if !after.is_empty() {
            let mut env = env.clone();
            env.insert("BITBUCKET_EXIT_CODE".to_owned(), status.to_string());
            let _ = writeln!(log, "## after-script");
            self.shell(&root, "after-script", &after, &clone, &env, &mut log);
        }
        if status != 0 {
            let _ = writeln!(log, "!! step failed: exit {status}");
            return (Outcome::Failure, log);
        }
        // Artifacts: the files matching the step's globs, kept for every later step.
        let patterns = match &spec["artifacts"] {
            Yaml::Sequence(items) => items.clone(),
            Yaml::Mapping(_) => spec["artifacts"]["paths"]
                .as_sequence()
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for pattern in patterns.iter().filter_map(Yaml::as_str) {
            let output = run(Command::new("bash")
                .args([
                    "-c",
                    "shopt -s globstar nullglob dotglob; for f in $1; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done",
                    "collect",
                    pattern,
                ])
                .current_dir(&clone));
            for file in String::from_utf8_lossy(&output.stdout).lines() {
                let target = self.scratch.join("artifacts").join(file);
                std::fs::create_dir_all(target.parent().expect("artifact dir")).expect("mkdir");
                std::fs::copy(clone.join(file), &target).expect("copy artifact");
            }
        }
        (Outcome::Success, log)
    }

    /// Runs `lines` in one bash, each line in turn, stopping at the first that fails (as
    /// Bitbucket does); returns the exit status.
    fn shell(
        &self,
        root: &Path,
        name: &str,
        lines: &[String],
        directory: &Path,
        env: &BTreeMap<String, String>,
        log: &mut String,
    ) -> i32 {
        let mut script = String::from("set -e\n");
        for line in lines {
            // Echo each command as Bitbucket's log does, then run it.
            let _ = writeln!(script, "printf '+ %s\\n' {}", shell_quote(line));
            script.push_str(line);
            script.push('\n');
        }
        let file = root.join(format!("{name}.sh"));
        std::fs::write(&file, script).expect("write script");
        let output = run(Command::new("bash")
            .args(["--noprofile", "--norc"])
            .arg(&file)
            .current_dir(directory)
            .env_clear()
            .envs(env));
        log.push_str(&String::from_utf8_lossy(&output.stdout));
        log.push_str(&String::from_utf8_lossy(&output.stderr));
        output.status.code().unwrap_or(-1)
    }

    /// The claims of the OIDC token Bitbucket issues to a step.
    /// <https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/>
    fn claims(
        &self,
        branch: &str,
        pipeline_uuid: &str,
        step_uuid: &str,
        environment_uuid: Option<&str>,
    ) -> Value {
        let repo = &self.repository;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let sub = match environment_uuid {
            Some(env) => format!("{}:{env}:{step_uuid}", repo.repository_uuid),
            None => format!("{}:{step_uuid}", repo.repository_uuid),
        };
        let mut claims = json!({
            "iss": format!("https://api.bitbucket.org/2.0/workspaces/{}/pipelines-config/identity/oidc", repo.workspace),
            "aud": format!("ari:cloud:bitbucket::workspace/{}", repo.workspace_uuid.trim_matches(['{', '}'])),
            "sub": sub,
            "repositoryUuid": repo.repository_uuid,
            "workspaceUuid": repo.workspace_uuid,
            "branchName": branch,
            "pipelineUuid": pipeline_uuid,
            "stepUuid": step_uuid,
            "iat": now,
            "exp": now + 3600,
        });
        if let Some(env) = environment_uuid {
            claims["deploymentEnvironmentUuid"] = json!(env);
        }
        claims
    }
}

/// A pipeline as Bitbucket would run it: the variables a custom pipeline declares (name →
/// default) and its steps in order.
struct Plan {
    declared: Vec<(String, String)>,
    steps: Vec<Step>,
}

/// Why Bitbucket would refuse to run the pipeline `event` starts in `pipelines_file`, if it
/// would; `Ok` with the step ids it would run otherwise.
pub(crate) fn check(pipelines_file: &str, event: &Event) -> Result<Vec<String>, String> {
    let file: Yaml = serde_yaml::from_str(pipelines_file).map_err(|e| e.to_string())?;
    let items = match event {
        Event::Push { branch } => branch_pipeline(&file["pipelines"], branch),
        Event::Custom { name, .. } => file["pipelines"]["custom"][name.as_str()]
            .as_sequence()
            .cloned(),
    };
    let Some(items) = items else {
        return Ok(Vec::new());
    };
    Ok(plan(&items)?.steps.into_iter().map(|s| s.id).collect())
}

/// The pipeline's items as steps, or what Bitbucket rejects in them.
fn plan(items: &[Yaml]) -> Result<Plan, String> {
    let mut declared = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    // Each deployment environment the pipeline uses, with who uses it.
    let mut environments: Vec<(String, String)> = Vec::new();
    let mut use_environment = |environment: &Yaml, user: String| -> Result<(), String> {
        let Some(environment) = environment.as_str() else {
            return Ok(());
        };
        if let Some((_, first)) = environments.iter().find(|(e, _)| e == environment) {
            return Err(format!(
                "the deployment environment `{environment}` is used more than once in the \
                 pipeline ({first}, then {user}); each environment may be used once"
            ));
        }
        environments.push((environment.to_owned(), user));
        Ok(())
    };
    for item in items {
        if let Some(variables) = item.get("variables") {
            for var in variables.as_sequence().into_iter().flatten() {
                let name = var["name"].as_str().ok_or("a variable without a name")?;
                let default = var["default"].as_str().unwrap_or_default();
                declared.push((name.to_owned(), default.to_owned()));
            }
        } else if let Some(step) = item.get("step") {
            let step = step_of(step);
            use_environment(&step.spec["deployment"], format!("step `{}`", step.id))?;
            steps.push(step);
        } else if let Some(group) = item.get("parallel") {
            let group = group.get("steps").unwrap_or(group);
            for entry in group
                .as_sequence()
                .ok_or("a parallel group without steps")?
            {
                let step = step_of(&entry["step"]);
                use_environment(&step.spec["deployment"], format!("step `{}`", step.id))?;
                steps.push(step);
            }
        } else if let Some(stage) = item.get("stage") {
            steps.extend(stage_steps(stage, &mut use_environment)?);
        } else {
            panic!("pipeline item not emulated: {item:?}");
        }
    }
    if let Some(first) = steps.first() {
        if first.spec["trigger"].as_str() == Some("manual") {
            return Err(format!(
                "the first step (`{}`) is manual; a pipeline cannot start with a manual step",
                first.id
            ));
        }
    }
    Ok(Plan { declared, steps })
}

/// The steps of a `- stage:` item: each a deployment step for the stage's environment, the
/// first one manual when the stage is.
fn stage_steps(
    stage: &Yaml,
    use_environment: &mut impl FnMut(&Yaml, String) -> Result<(), String>,
) -> Result<Vec<Step>, String> {
    let name = stage["name"].as_str().unwrap_or("stage").to_owned();
    assert!(
        stage.get("condition").is_none(),
        "stage `{name}`: a stage's `condition:` (changesets) is not emulated"
    );
    let entries = stage["steps"]
        .as_sequence()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("stage `{name}` has no steps (it needs at least one)"))?;
    let deployment = stage.get("deployment").cloned();
    if let Some(environment) = &deployment {
        use_environment(environment, format!("stage `{name}`"))?;
    }
    let mut steps = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let Some(spec) = entry.get("step") else {
            return Err(format!(
                "stage `{name}` holds something other than a step ({:?}); a stage's steps \
                 are plain steps, no parallel groups",
                entry
                    .as_mapping()
                    .and_then(|m| m.keys().next())
                    .and_then(Yaml::as_str)
                    .unwrap_or("?")
            ));
        };
        let mut step = step_of(spec);
        if step.spec.get("deployment").is_some() {
            return Err(format!(
                "step `{}` in stage `{name}` has a `deployment:`; a step in a stage cannot \
                 (the stage's `deployment:` applies to all its steps)",
                step.id
            ));
        }
        if step.spec.get("condition").is_some() {
            return Err(format!(
                "step `{}` in stage `{name}` has a `condition:`; a step in a stage cannot",
                step.id
            ));
        }
        let map = step.spec.as_mapping_mut().expect("a step is a mapping");
        if let Some(environment) = &deployment {
            map.insert("deployment".into(), environment.clone());
        }
        if index == 0 && stage["trigger"].as_str() == Some("manual") {
            map.insert("trigger".into(), "manual".into());
        }
        steps.push(step);
    }
    Ok(steps)
}

/// The steps of the `branches:` pipeline for `branch`: an exact name first, then the first
/// glob that matches, then `default`.
fn branch_pipeline(pipelines: &Yaml, branch: &str) -> Option<Vec<Yaml>> {
    let branches = pipelines["branches"].as_mapping();
    let exact = branches.and_then(|b| b.get(branch));
    let glob = || {
        branches.and_then(|b| {
            b.iter()
                .find(|(pattern, _)| pattern.as_str().is_some_and(|p| glob_matches(p, branch)))
                .map(|(_, steps)| steps)
        })
    };
    exact
        .or_else(glob)
        .or_else(|| pipelines.get("default"))
        .and_then(Yaml::as_sequence)
        .cloned()
}

/// Bitbucket's branch globs: `**` matches anything, `*` anything but `/`, `?` one character
/// but `/`, `{a,b}` either.
fn glob_matches(pattern: &str, text: &str) -> bool {
    if let Some(open) = pattern.find('{') {
        if let Some(close) = pattern[open..].find('}') {
            let (head, rest) = (&pattern[..open], &pattern[open + 1..open + close]);
            let tail = &pattern[open + close + 1..];
            return rest
                .split(',')
                .any(|alt| glob_matches(&format!("{head}{alt}{tail}"), text));
        }
    }
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            [b'*', rest @ ..] => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(rest, &t[i..])),
            [b'?', rest @ ..] => !t.is_empty() && t[0] != b'/' && go(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A step, named by the job id its name ends with (`... (deploy-dev)`), else by its name.
fn step_of(spec: &Yaml) -> Step {
    let name = spec["name"].as_str().unwrap_or("step");
    let id = name
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(name)
        .to_owned();
    Step {
        id,
        spec: spec.clone(),
    }
}

fn script_lines(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|line| match line {
            Yaml::String(s) => s.clone(),
            Yaml::Bool(b) => b.to_string(),
            Yaml::Number(n) => n.to_string(),
            other => panic!("script line not emulated (pipes need their own syntax): {other:?}"),
        })
        .collect()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A UUID in braces, stable for `seed` within `kind`, as Bitbucket writes them.
fn uuid(kind: &str, seed: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.bytes().chain(seed.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let hex = format!(
        "{hash:016x}{:016x}",
        hash.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15
    );
    format!(
        "{{{}-{}-4{}-8{}-{}}}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(branch: &str) -> Event {
        Event::Push {
            branch: branch.to_owned(),
        }
    }

    /// A `default:` pipeline of a build step, then `items` (YAML list items, indented 4).
    fn pipeline(items: &str) -> String {
        format!("pipelines:\n  default:\n    - step:\n        name: Build (build)\n        script: [echo build]\n{items}")
    }

    #[test]
    fn stages_run_their_steps_in_order() {
        let file = pipeline(
            "    - stage:\n        name: Deploy dev\n        deployment: dev\n        steps:\n          - step: {name: Deploy (deploy-dev), script: [echo d]}\n          - step: {name: Smoke (smoke-dev), script: [echo s]}\n    - step: {name: After (after), script: [echo a]}\n",
        );
        assert_eq!(
            check(&file, &push("main")),
            Ok(vec![
                "build".to_owned(),
                "deploy-dev".to_owned(),
                "smoke-dev".to_owned(),
                "after".to_owned()
            ])
        );
    }

    #[test]
    fn bitbucket_rules_for_stages_are_enforced() {
        let rejected = |items: &str, why: &str| {
            let error = check(&pipeline(items), &push("main")).expect_err(why);
            assert!(error.contains(why), "{why}: {error}");
        };
        rejected(
            "    - stage:\n        deployment: dev\n        steps:\n          - step: {name: X, deployment: dev, script: [x]}\n",
            "has a `deployment:`",
        );
        rejected(
            "    - stage:\n        steps:\n          - step: {name: X, deployment: dev, script: [x]}\n",
            "has a `deployment:`",
        );
        rejected(
            "    - stage:\n        name: S\n        deployment: dev\n        steps:\n          - step: {name: X, script: [x]}\n    - step: {name: Y, deployment: dev, script: [y]}\n",
            "used more than once",
        );
        rejected(
            "    - stage:\n        name: A\n        deployment: dev\n        steps: [{step: {name: X, script: [x]}}]\n    - stage:\n        name: B\n        deployment: dev\n        steps: [{step: {name: Y, script: [y]}}]\n",
            "used more than once",
        );
        rejected(
            "    - step: {name: X, deployment: dev, script: [x]}\n    - step: {name: Y, deployment: dev, script: [y]}\n",
            "used more than once",
        );
        rejected(
            "    - stage:\n        name: S\n        steps:\n          - parallel: [{step: {name: X, script: [x]}}]\n",
            "no parallel groups",
        );
        rejected(
            "    - stage:\n        name: S\n        steps: []\n",
            "has no steps",
        );
        let manual_first = "pipelines:\n  default:\n    - stage:\n        trigger: manual\n        steps: [{step: {name: X, script: [x]}}]\n";
        let error = check(manual_first, &push("main")).expect_err("a manual first stage");
        assert!(error.contains("manual"), "{error}");
    }

    #[test]
    fn deployment_stages_give_deployment_tokens_variables_and_masks() {
        let Some(aws) = LocalAws::start() else { return };
        let scratch = tempfile::tempdir().expect("scratch");
        let checkout = scratch.path().join("checkout");
        std::fs::create_dir_all(&checkout).expect("checkout dir");
        let repository = Repository {
            workspace: "octo-ws".to_owned(),
            workspace_uuid: "{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}".to_owned(),
            repository_uuid: "{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}".to_owned(),
            slug: "app".to_owned(),
            environments: BTreeMap::from([(
                "staging".to_owned(),
                "{0e0e0e0e-0000-4000-8000-000000000001}".to_owned(),
            )]),
            checkout,
            variables: BTreeMap::from([
                ("API_TOKEN".to_owned(), Variable::secured("s3cr3t-v4lue-42")),
                ("GREETING".to_owned(), Variable::plain("hello")),
            ]),
        };
        // Prints the claims of the step's OIDC token.
        std::fs::write(
            repository.checkout.join("claims.py"),
            "import base64, os\nt = os.environ['BITBUCKET_STEP_OIDC_TOKEN'].split('.')[1]\nprint('CLAIMS', base64.urlsafe_b64decode(t + '=' * (-len(t) % 4)).decode())\n",
        )
        .expect("claims.py");
        let claims = "python3 claims.py";
        let file = format!(
            "pipelines:\n  default:\n    - step:\n        name: Build (build)\n        script:\n          - echo \"token=$API_TOKEN greeting=$GREETING\"\n    - stage:\n        name: Deploy staging\n        deployment: staging\n        trigger: manual\n        steps:\n          - step:\n              name: Deploy (deploy-staging)\n              oidc: true\n              script:\n                - echo \"env=$BITBUCKET_DEPLOYMENT_ENVIRONMENT\"\n                - {claims}\n          - step:\n              name: Smoke (smoke-staging)\n              oidc: true\n              script:\n                - {claims}\n"
        );
        let report = Runner {
            aws: &aws,
            repository: &repository,
            scratch: scratch.path().join("run"),
        }
        .run(&file, &push("main"));
        for job in ["build", "deploy-staging", "smoke-staging"] {
            assert_eq!(
                report.outcome(job),
                Some(Outcome::Success),
                "{}",
                report.summary()
            );
        }
        let build = report.log("build");
        assert!(
            build.contains("token=$API_TOKEN greeting=hello") && !build.contains("s3cr3t"),
            "a secured variable shows as $NAME, a plain one as itself:\n{build}"
        );
        let deploy = report.log("deploy-staging");
        assert!(
            deploy.contains("(started by hand)"),
            "the manual stage waits before its first step:\n{deploy}"
        );
        assert!(!report.log("smoke-staging").contains("(started by hand)"));
        assert!(deploy.contains("env=staging"), "{deploy}");
        let token_claims = |log: &str| -> Value {
            let line = log
                .lines()
                .find_map(|l| l.strip_prefix("CLAIMS "))
                .unwrap_or_else(|| panic!("no claims in:\n{log}"));
            serde_json::from_str(line).expect("claims JSON")
        };
        let mut steps = Vec::new();
        for job in ["deploy-staging", "smoke-staging"] {
            let claims = token_claims(report.log(job));
            let step = claims["stepUuid"].as_str().expect("stepUuid").to_owned();
            assert_eq!(
                claims["sub"],
                format!(
                    "{}:{}:{step}",
                    repository.repository_uuid, repository.environments["staging"]
                ),
                "{job}: a deployment step's subject"
            );
            assert_eq!(
                claims["deploymentEnvironmentUuid"],
                repository.environments["staging"]
            );
            steps.push(step);
        }
        assert_ne!(steps[0], steps[1], "each step has its own UUID");
    }

    #[test]
    fn branch_globs_follow_bitbucket() {
        assert!(glob_matches("feature*", "featurelogin"));
        assert!(!glob_matches("feature*", "feature/login"));
        assert!(glob_matches("feature**", "feature/login"));
        assert!(glob_matches("feature/*", "feature/login"));
        assert!(!glob_matches("feature/*", "main"));
        assert!(glob_matches("{main,release}", "release"));
        assert!(glob_matches("v?", "v1"));
    }

    #[test]
    fn exact_names_win_over_globs() {
        let pipelines: Yaml = serde_yaml::from_str(
            "branches:\n  '**': [{step: {name: any}}]\n  main: [{step: {name: main}}]\ndefault: [{step: {name: default}}]\n",
        )
        .unwrap();
        let name = |branch: &str| {
            branch_pipeline(&pipelines, branch).unwrap()[0]["step"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(name("main"), "main");
        assert_eq!(name("feature/x"), "any");
    }

    #[test]
    fn uuids_look_like_bitbucket_ones() {
        let id = uuid("step", "x");
        assert_eq!(id.len(), 38);
        assert!(id.starts_with('{') && id.ends_with('}'));
        assert_eq!(id, uuid("step", "x"));
        assert_ne!(id, uuid("step", "y"));
    }
}
