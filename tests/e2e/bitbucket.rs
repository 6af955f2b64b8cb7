//! Runs a `bitbucket-pipelines.yml` the way Bitbucket Pipelines would, on this machine: the
//! pipeline Bitbucket picks for the event (`branches:` by exact name, then by glob, then
//! `default`; or a `custom:` pipeline with its variables), its steps in order (`parallel:`
//! groups one after another), each in a fresh clone (`clone: enabled: false` gives an empty
//! folder) with the artifacts of earlier steps, its `script:` lines in order in one bash
//! shell that stops at the first failing line, `after-script:` with `BITBUCKET_EXIT_CODE`,
//! and the step's `deployment:` environment. A step with `trigger: manual` runs as if a person
//! started it. A failed step stops the pipeline; later steps do not run.
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
use super::{copy_dir, LocalAws, Token};
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

/// A Bitbucket Cloud repository as the runner presents it to steps.
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
        let mut pipeline_variables = BTreeMap::new();
        let mut steps = Vec::new();
        for item in &items {
            if let Some(declared) = item.get("variables") {
                for var in declared.as_sequence().into_iter().flatten() {
                    let name = var["name"].as_str().expect("variable name").to_owned();
                    let value = variables
                        .get(&name)
                        .cloned()
                        .or_else(|| var["default"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    pipeline_variables.insert(name, value);
                }
            } else if let Some(step) = item.get("step") {
                steps.push(step_of(step));
            } else if let Some(group) = item.get("parallel") {
                let group = group.get("steps").unwrap_or(group);
                for entry in group.as_sequence().expect("parallel steps") {
                    steps.push(step_of(&entry["step"]));
                }
            } else if let Some(stage) = item.get("stage") {
                for entry in stage["steps"].as_sequence().expect("stage steps") {
                    let mut step = step_of(&entry["step"]);
                    if let (Some(map), Some(deployment)) =
                        (step.spec.as_mapping_mut(), stage.get("deployment"))
                    {
                        map.insert("deployment".into(), deployment.clone());
                    }
                    steps.push(step);
                }
            } else {
                panic!("pipeline item not emulated: {item:?}");
            }
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

    fn run_step(
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
