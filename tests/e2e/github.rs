//! Runs a GitHub Actions workflow the way GitHub's hosted runners would, on this machine:
//! jobs in `needs` order with their `if:`, each in a fresh workspace; `run:` steps through the
//! step's shell with the workflow's, job's and step's `env:` (expressions expanded first, as
//! GitHub does), `working-directory`, `$GITHUB_OUTPUT`, `$GITHUB_ENV` and `$GITHUB_PATH`; step
//! and job outputs; and artifacts passed between jobs.
//!
//! Actions are emulated by what they do: `checkout` copies the repository, `setup-sam` puts
//! the real SAM CLI on `PATH`, `setup-python`/`setup-node`/`setup-java` put the requested
//! version on `PATH` (failing when this machine lacks it, where the real action would install
//! it), `upload-artifact`/`download-artifact` copy folders, and `configure-aws-credentials`
//! mints the OIDC token GitHub would give this job (its `sub` and claims follow GitHub's rules
//! for the event and the job's environment) and exchanges it with
//! `sts:AssumeRoleWithWebIdentity` against the local AWS, which checks it against the deployed
//! trust policy. An action it does not know fails the job.
//!
//! Secrets: `${{ secrets.NAME }}` expands to [`Repository::secrets`] (an unset secret to `''`),
//! and the job's log is redacted as GitHub redacts it: every secret value, each of its lines,
//! and its base64 form become `***`, as does every value a step registers with
//! `::add-mask::VALUE` (a line GitHub does not print). GitHub also masks a few other
//! encodings (base64 at other byte offsets, JSON- and URI-escaped forms): not emulated.
//! <https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions>
//! <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#masking-a-value-in-a-log>

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

use super::github_expr::{self, Status};
use super::{base64_standard_unpadded, copy_dir, mask_secrets, LocalAws, Token};

/// The event that starts a run.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A push to a branch.
    Push { branch: String },
    /// A branch deleted (GitHub runs `delete` workflows on the default branch).
    DeleteBranch {
        branch: String,
        default_branch: String,
    },
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Push { .. } => "push",
            Event::DeleteBranch { .. } => "delete",
        }
    }

    /// `github.ref`: the pushed branch, or for `delete` the default branch.
    fn git_ref(&self) -> String {
        match self {
            Event::Push { branch } => format!("refs/heads/{branch}"),
            Event::DeleteBranch { default_branch, .. } => format!("refs/heads/{default_branch}"),
        }
    }

    fn payload(&self) -> Value {
        match self {
            Event::Push { branch } => json!({"ref": format!("refs/heads/{branch}")}),
            Event::DeleteBranch { branch, .. } => json!({"ref": branch, "ref_type": "branch"}),
        }
    }
}

/// How one job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
    Skipped,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Skipped => "skipped",
        }
    }
}

pub(crate) struct JobReport {
    pub(crate) id: String,
    pub(crate) outcome: Outcome,
    pub(crate) log: String,
}

pub(crate) struct RunReport {
    pub(crate) jobs: Vec<JobReport>,
}

impl RunReport {
    pub(crate) fn outcome(&self, job: &str) -> Option<Outcome> {
        self.jobs.iter().find(|j| j.id == job).map(|j| j.outcome)
    }

    /// The run's jobs and their outcomes, one line each, then the logs of failed jobs.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        for job in &self.jobs {
            let _ = writeln!(out, "{:<20} {}", job.id, job.outcome.word());
        }
        for job in self.jobs.iter().filter(|j| j.outcome == Outcome::Failure) {
            let _ = writeln!(out, "--- log of {}\n{}", job.id, job.log);
        }
        out
    }

    pub(crate) fn log(&self, job: &str) -> &str {
        self.jobs
            .iter()
            .find(|j| j.id == job)
            .map_or("", |j| j.log.as_str())
    }
}

/// A repository on GitHub, as the runner presents it to jobs.
pub(crate) struct Repository {
    /// `owner/name`.
    pub(crate) full_name: String,
    /// The start of every job's `sub`: `repo:owner/name`, or with immutable ids
    /// `repo:owner@ID/name@ID`.
    pub(crate) subject_prefix: String,
    /// `repository_owner_id`, `repository_id`.
    pub(crate) ids: (u64, u64),
    /// Where the workflow lives, e.g. `.github/workflows/pipeline.yaml`.
    pub(crate) workflow_path: String,
    /// The files `actions/checkout` checks out.
    pub(crate) checkout: PathBuf,
    /// `secrets.NAME` values (repository secrets): in `${{ secrets.NAME }}`, and masked as
    /// `***` wherever they appear in a job's log.
    pub(crate) secrets: BTreeMap<String, String>,
    /// The default branch, whose cache entries every branch may restore.
    pub(crate) default_branch: String,
    /// Where `actions/cache` keeps its entries across runs: `<branch>/<key>/`.
    pub(crate) cache: PathBuf,
}

pub(crate) struct Runner<'a> {
    pub(crate) aws: &'a LocalAws,
    pub(crate) repository: &'a Repository,
    /// Folder for job workspaces and artifacts of this run.
    pub(crate) scratch: PathBuf,
}

struct JobState {
    workspace: PathBuf,
    temp: PathBuf,
    env: BTreeMap<String, String>,
    path: Vec<PathBuf>,
    steps: Map<String, Value>,
    log: String,
    failed: bool,
    /// What the log must not show: the secrets' forms and `::add-mask::` values.
    masks: Vec<String>,
    /// `actions/cache` entries to save when the job succeeds (its post step).
    cache_saves: Vec<CacheSave>,
}

/// What an `actions/cache` step saves at the end of a successful job, unless it restored
/// `key` exactly.
struct CacheSave {
    branch: String,
    key: String,
    paths: Vec<String>,
}

impl Runner<'_> {
    /// Runs `workflow` (its YAML text) for `event`.
    pub(crate) fn run(&self, workflow: &str, event: &Event) -> RunReport {
        let workflow: Value = serde_yaml::from_str(workflow).expect("workflow is YAML");
        let jobs = workflow["jobs"].as_object().expect("jobs").clone();
        let order = topological(&jobs);
        let artifacts = self.scratch.join("artifacts");
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");
        let mut needs_context = Map::new();
        let mut reports: Vec<JobReport> = Vec::new();
        for id in order {
            let job = &jobs[&id];
            let needs: Vec<String> = match &job["needs"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            let needed: Vec<Outcome> = needs
                .iter()
                .map(|n| {
                    reports
                        .iter()
                        .find(|r| &r.id == n)
                        .map_or(Outcome::Skipped, |r| r.outcome)
                })
                .collect();
            let mut contexts = self.contexts(&workflow, event);
            let needs_here: Map<String, Value> = needs
                .iter()
                .filter_map(|n| needs_context.get(n).map(|v: &Value| (n.clone(), v.clone())))
                .collect();
            contexts["needs"] = Value::Object(needs_here);
            let condition = job_condition(job);
            let any_failed = needed.contains(&Outcome::Failure);
            let all_succeeded = needed.iter().all(|o| *o == Outcome::Success);
            let run_it = match &condition {
                Some(body)
                    if ["always()", "failure()", "cancelled()"]
                        .iter()
                        .any(|f| body.contains(f)) =>
                {
                    github_expr::condition(body, &contexts, Status { failed: any_failed })
                        .unwrap_or_else(|e| panic!("job {id}: if: {e}"))
                }
                Some(body) => {
                    all_succeeded
                        && github_expr::condition(body, &contexts, Status::default())
                            .unwrap_or_else(|e| panic!("job {id}: if: {e}"))
                }
                None => all_succeeded,
            };
            if !run_it {
                reports.push(JobReport {
                    id: id.clone(),
                    outcome: Outcome::Skipped,
                    log: String::new(),
                });
                needs_context.insert(id.clone(), json!({"result": "skipped", "outputs": {}}));
                continue;
            }
            let (outcome, log, outputs) =
                self.run_job(&id, job, &workflow, contexts, event, &artifacts);
            needs_context.insert(
                id.clone(),
                json!({"result": outcome.word(), "outputs": outputs}),
            );
            reports.push(JobReport { id, outcome, log });
        }
        RunReport { jobs: reports }
    }

    fn contexts(&self, workflow: &Value, event: &Event) -> Value {
        let git_ref = event.git_ref();
        let ref_name = git_ref.trim_start_matches("refs/heads/").to_owned();
        json!({
            "github": {
                "event_name": event.name(),
                "ref": git_ref,
                "ref_name": ref_name,
                "ref_type": "branch",
                "repository": self.repository.full_name,
                "repository_owner": self.repository.full_name.split('/').next().unwrap_or_default(),
                "workflow": workflow["name"].as_str().unwrap_or(&self.repository.workflow_path),
                "workspace": "",
                "actor": "octocat",
                "run_id": "1",
                "run_number": "1",
                "sha": "0123456789abcdef0123456789abcdef01234567",
                "event": event.payload(),
            },
            "secrets": self.repository.secrets,
            "vars": {},
            "inputs": {},
            "env": {},
        })
    }

    fn run_job(
        &self,
        id: &str,
        job: &Value,
        workflow: &Value,
        mut contexts: Value,
        event: &Event,
        artifacts: &Path,
    ) -> (Outcome, String, Value) {
        let root = self.scratch.join("jobs").join(id);
        let _ = std::fs::remove_dir_all(&root);
        let workspace = root.join("workspace");
        let temp = root.join("temp");
        let home = root.join("home");
        for dir in [&workspace, &temp, &home] {
            std::fs::create_dir_all(dir).expect("job dirs");
        }
        contexts["github"]["workspace"] = json!(workspace.display().to_string());
        let mut state = JobState {
            workspace: workspace.clone(),
            temp,
            env: BTreeMap::new(),
            path: Vec::new(),
            steps: Map::new(),
            log: String::new(),
            failed: false,
            masks: secret_masks(&self.repository.secrets),
            cache_saves: Vec::new(),
        };
        // A hosted runner has the AWS CLI installed; the SAM CLI and runtimes come from steps.
        state.path.push(self.aws.aws_only_bin());
        for (key, value) in env_map(&workflow["env"])
            .into_iter()
            .chain(env_map(&job["env"]))
        {
            let value = github_expr::interpolate(&value, &contexts, Status::default())
                .unwrap_or_else(|e| panic!("job {id}: env {key}: {e}"));
            state.env.insert(key, value);
        }
        let shell_default = job["defaults"]["run"]["shell"]
            .as_str()
            .or_else(|| workflow["defaults"]["run"]["shell"].as_str())
            .unwrap_or("bash")
            .to_owned();
        let token_allowed = job_may_request_token(job, workflow);
        let environment = match &job["environment"] {
            Value::String(name) => Some(name.clone()),
            Value::Object(map) => map.get("name").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let steps = job["steps"].as_array().cloned().unwrap_or_default();
        for (index, step) in steps.iter().enumerate() {
            contexts["steps"] = Value::Object(state.steps.clone());
            contexts["env"] = json!(state.env);
            let name = step["name"]
                .as_str()
                .or_else(|| step["uses"].as_str())
                .or_else(|| step["run"].as_str())
                .unwrap_or("step")
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            let run_it = match step.get("if") {
                Some(Value::String(body)) => github_expr::condition(
                    body,
                    &contexts,
                    Status {
                        failed: state.failed,
                    },
                )
                .unwrap_or_else(|e| panic!("job {id} step {index}: if: {e}")),
                Some(Value::Bool(b)) => *b && !state.failed,
                _ => !state.failed,
            };
            if !run_it {
                let _ = writeln!(state.log, "## {name}: skipped");
                continue;
            }
            let _ = writeln!(state.log, "## {name}");
            let mut step_env = state.env.clone();
            for (key, value) in env_map(&step["env"]) {
                let value = github_expr::interpolate(&value, &contexts, Status::default())
                    .unwrap_or_else(|e| panic!("job {id} step {name}: env {key}: {e}"));
                step_env.insert(key, value);
            }
            let result = if let Some(uses) = step["uses"].as_str() {
                let with: BTreeMap<String, String> = env_map(&step["with"])
                    .into_iter()
                    .map(|(k, v)| {
                        let v = github_expr::interpolate(&v, &contexts, Status::default())
                            .unwrap_or_else(|e| panic!("job {id} step {name}: with {k}: {e}"));
                        (k, v)
                    })
                    .collect();
                self.action(
                    uses,
                    &with,
                    &mut state,
                    id,
                    token_allowed,
                    environment.as_deref(),
                    event,
                    &contexts,
                    artifacts,
                )
            } else if let Some(script) = step["run"].as_str() {
                let shell = step["shell"].as_str().unwrap_or(&shell_default).to_owned();
                let directory = step["working-directory"]
                    .as_str()
                    .or_else(|| job["defaults"]["run"]["working-directory"].as_str())
                    .or_else(|| workflow["defaults"]["run"]["working-directory"].as_str())
                    .map_or_else(|| state.workspace.clone(), |d| state.workspace.join(d));
                self.run_script(
                    script, &shell, &directory, &step_env, &mut state, &contexts, index,
                )
            } else {
                Err("a step needs `uses` or `run`".to_owned())
            };
            match result {
                Ok(outputs) => {
                    if let Some(step_id) = step["id"].as_str() {
                        state.steps.insert(
                            step_id.to_owned(),
                            json!({"outputs": outputs, "outcome": "success", "conclusion": "success"}),
                        );
                    }
                }
                Err(error) => {
                    let _ = writeln!(state.log, "!! step failed: {error}");
                    state.failed = true;
                    if let Some(step_id) = step["id"].as_str() {
                        state.steps.insert(
                            step_id.to_owned(),
                            json!({"outputs": {}, "outcome": "failure"}),
                        );
                    }
                }
            }
        }
        if !state.failed {
            for save in std::mem::take(&mut state.cache_saves) {
                let line = self.save_cache(&save, &state.workspace);
                let _ = writeln!(state.log, "## Post cache\n{line}");
            }
        }
        contexts["steps"] = Value::Object(state.steps.clone());
        let mut outputs = Map::new();
        for (key, value) in env_map(&job["outputs"]) {
            if let Ok(v) = github_expr::interpolate(&value, &contexts, Status::default()) {
                outputs.insert(key, Value::String(v));
            }
        }
        let outcome = if state.failed {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let masks: Vec<(String, String)> = state
            .masks
            .iter()
            .map(|m| (m.clone(), "***".to_owned()))
            .collect();
        (
            outcome,
            mask_secrets(&state.log, &masks),
            Value::Object(outputs),
        )
    }

    /// The entry to restore: `key` in the first scope that has it, else the newest entry
    /// whose key starts with a restore key, scope by scope: `(scope, entry key)`.
    fn find_cache(
        &self,
        scopes: &[String],
        key: &str,
        restore_keys: &[String],
    ) -> Option<(String, String)> {
        let store = &self.repository.cache;
        for scope in scopes {
            if store.join(scope).join(key).is_dir() {
                return Some((scope.clone(), key.to_owned()));
            }
        }
        for prefix in restore_keys {
            for scope in scopes {
                let newest = std::fs::read_dir(store.join(scope))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(prefix.as_str()))
                    .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
                if let Some(entry) = newest {
                    return Some((
                        scope.clone(),
                        entry.file_name().to_string_lossy().into_owned(),
                    ));
                }
            }
        }
        None
    }

    /// Saves `save`'s paths (relative to `workspace`) as its entry; what the post step says.
    fn save_cache(&self, save: &CacheSave, workspace: &Path) -> String {
        let existing: Vec<&String> = save
            .paths
            .iter()
            .filter(|p| workspace.join(p).exists())
            .collect();
        if existing.is_empty() {
            return "Warning: Path Validation Error: Path(s) specified in the action for caching do(es) not exist, hence no cache is being saved.".to_owned();
        }
        let entry = self.repository.cache.join(&save.branch).join(&save.key);
        if entry.exists() {
            return format!(
                "Failed to save: Unable to reserve cache with key {}, another job may be creating this cache.",
                save.key
            );
        }
        for path in existing {
            copy_dir(&workspace.join(path), &entry.join(path));
        }
        format!("Cache saved with key: {}", save.key)
    }

    /// The process environment of a step: what a hosted runner sets, then the job's state.
    fn process_env(
        &self,
        state: &JobState,
        step_env: &BTreeMap<String, String>,
        contexts: &Value,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let system_path = std::env::var("PATH").unwrap_or_default();
        let path: Vec<String> = state
            .path
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .chain(std::iter::once(system_path))
            .collect();
        env.insert("PATH".to_owned(), path.join(":"));
        env.insert(
            "HOME".to_owned(),
            state
                .workspace
                .parent()
                .expect("job root")
                .join("home")
                .display()
                .to_string(),
        );
        env.insert("LANG".to_owned(), "C.UTF-8".to_owned());
        // pyenv's shims (where this machine's Python comes from) find their versions through
        // PYENV_ROOT, which defaults to a folder under the HOME a job does not share.
        if let Some(root) = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))
            .filter(|r| r.is_dir())
        {
            env.insert("PYENV_ROOT".to_owned(), root.display().to_string());
        }
        env.insert("CI".to_owned(), "true".to_owned());
        env.insert("GITHUB_ACTIONS".to_owned(), "true".to_owned());
        env.insert("RUNNER_TEMP".to_owned(), state.temp.display().to_string());
        env.insert(
            "GITHUB_WORKSPACE".to_owned(),
            state.workspace.display().to_string(),
        );
        let github = &contexts["github"];
        for (key, name) in [
            ("GITHUB_REF", "ref"),
            ("GITHUB_REF_NAME", "ref_name"),
            ("GITHUB_REF_TYPE", "ref_type"),
            ("GITHUB_EVENT_NAME", "event_name"),
            ("GITHUB_REPOSITORY", "repository"),
            ("GITHUB_REPOSITORY_OWNER", "repository_owner"),
            ("GITHUB_SHA", "sha"),
            ("GITHUB_WORKFLOW", "workflow"),
            ("GITHUB_ACTOR", "actor"),
            ("GITHUB_RUN_ID", "run_id"),
        ] {
            env.insert(key.to_owned(), github_expr::to_text(&github[name]));
        }
        // Everything AWS goes to the local AWS; no profile or credentials file of this machine.
        env.insert("AWS_ENDPOINT_URL".to_owned(), self.aws.endpoint.clone());
        env.insert("AWS_CONFIG_FILE".to_owned(), "/dev/null".to_owned());
        env.insert(
            "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
            "/dev/null".to_owned(),
        );
        env.insert("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned());
        env.insert("AWS_MAX_ATTEMPTS".to_owned(), "2".to_owned());
        env.insert("SAM_CLI_TELEMETRY".to_owned(), "0".to_owned());
        env.insert("SAM_CLI_POLL_DELAY".to_owned(), "1".to_owned());
        env.extend(step_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    #[allow(clippy::too_many_arguments)]
    fn run_script(
        &self,
        script: &str,
        shell: &str,
        directory: &Path,
        step_env: &BTreeMap<String, String>,
        state: &mut JobState,
        contexts: &Value,
        index: usize,
    ) -> Result<Map<String, Value>, String> {
        assert!(
            !script.contains("${{"),
            "an expression inside a run: script (script injection): {script}"
        );
        let file = state.temp.join(format!("step-{index}.sh"));
        std::fs::write(&file, script).expect("write script");
        let output_file = state.temp.join(format!("output-{index}"));
        let env_file = state.temp.join(format!("env-{index}"));
        let path_file = state.temp.join(format!("path-{index}"));
        for f in [&output_file, &env_file, &path_file] {
            std::fs::write(f, "").expect("command files");
        }
        let mut command = match shell {
            "bash" => {
                let mut c = Command::new("bash");
                c.args(["--noprofile", "--norc", "-eo", "pipefail"])
                    .arg(&file);
                c
            }
            "sh" => {
                let mut c = Command::new("sh");
                c.arg("-e").arg(&file);
                c
            }
            other => return Err(format!("shell `{other}` is not emulated")),
        };
        let mut env = self.process_env(state, step_env, contexts);
        env.insert(
            "GITHUB_OUTPUT".to_owned(),
            output_file.display().to_string(),
        );
        env.insert("GITHUB_ENV".to_owned(), env_file.display().to_string());
        env.insert("GITHUB_PATH".to_owned(), path_file.display().to_string());
        if !directory.is_dir() {
            return Err(format!(
                "working-directory {} does not exist",
                directory.display()
            ));
        }
        let output = command
            .current_dir(directory)
            .env_clear()
            .envs(&env)
            .output()
            .map_err(|e| format!("cannot start {shell}: {e}"))?;
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            for line in text.split_inclusive('\n') {
                // `::add-mask::VALUE` registers a mask and is not printed.
                match line
                    .trim_end_matches(['\r', '\n'])
                    .strip_prefix("::add-mask::")
                {
                    Some(value) => state.masks.extend(mask_forms(value)),
                    None => state.log.push_str(line),
                }
            }
        }
        for (key, value) in command_file(&std::fs::read_to_string(&env_file).unwrap_or_default()) {
            state.env.insert(key, value);
        }
        for line in std::fs::read_to_string(&path_file)
            .unwrap_or_default()
            .lines()
        {
            if !line.trim().is_empty() {
                state.path.push(PathBuf::from(line.trim()));
            }
        }
        if !output.status.success() {
            return Err(format!("exit {:?}", output.status.code()));
        }
        Ok(
            command_file(&std::fs::read_to_string(&output_file).unwrap_or_default())
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &self,
        uses: &str,
        with: &BTreeMap<String, String>,
        state: &mut JobState,
        job: &str,
        token_allowed: bool,
        environment: Option<&str>,
        event: &Event,
        contexts: &Value,
        artifacts: &Path,
    ) -> Result<Map<String, Value>, String> {
        let (repo, version) = uses
            .split_once('@')
            .ok_or_else(|| format!("`{uses}` has no @ref"))?;
        if !(version.len() == 40 && version.chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(format!("`{uses}` is not pinned to a commit SHA"));
        }
        let input = |name: &str| with.get(name).cloned().unwrap_or_default();
        match repo {
            "actions/checkout" => {
                let target = state.workspace.join(input("path"));
                copy_dir(&self.repository.checkout, &target);
                let _ = writeln!(
                    state.log,
                    "checked out {} into {}",
                    self.repository.full_name,
                    target.display()
                );
            }
            "aws-actions/setup-sam" => {
                state.path.push(self.aws.sam_bin());
                let _ = writeln!(state.log, "SAM CLI from {}", self.aws.sam_bin().display());
            }
            "actions/setup-python" => {
                let version = input("python-version");
                let bin = runtime_shim(
                    &state.temp,
                    "python",
                    &version,
                    &[
                        ("python", &format!("python{version}")),
                        ("python3", &format!("python{version}")),
                    ],
                )?;
                state.path.push(bin);
            }
            "actions/setup-node" => {
                let version = input("node-version");
                let found = command_stdout("node", &["--version"])?;
                let major = found
                    .trim()
                    .trim_start_matches('v')
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if major != version.split('.').next().unwrap_or_default() {
                    return Err(format!(
                        "setup-node {version}: this machine has node {found}"
                    ));
                }
            }
            "actions/setup-java" => {
                let version = input("java-version");
                let found = command_stdout("java", &["-version"])?;
                if !found.contains(&format!("\"{version}")) {
                    return Err(format!("setup-java {version}: this machine has {found}"));
                }
            }
            // GitHub's cache: a run restores entries of its own branch, then of the default
            // branch (an exact `key`, else the newest whose key starts with a `restore-keys`
            // line), and saves into its own branch's scope; an entry is never overwritten.
            // <https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching#restrictions-for-accessing-a-cache>
            "actions/cache" => {
                let branch = contexts["github"]["ref_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let key = input("key");
                let paths: Vec<String> = input("path").lines().map(str::to_owned).collect();
                let mut scopes = vec![branch.clone()];
                if self.repository.default_branch != branch {
                    scopes.push(self.repository.default_branch.clone());
                }
                let restore_keys: Vec<String> = input("restore-keys")
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
                let found = self.find_cache(&scopes, &key, &restore_keys);
                match &found {
                    Some((scope, entry)) => {
                        copy_dir(
                            &self.repository.cache.join(scope).join(entry),
                            &state.workspace,
                        );
                        let _ = writeln!(
                            state.log,
                            "Cache restored from key: {entry} (saved on {scope})"
                        );
                    }
                    None => {
                        let _ = writeln!(state.log, "Cache not found for input keys: {key}");
                    }
                }
                if found.as_ref().map(|(_, entry)| entry) != Some(&key) {
                    state.cache_saves.push(CacheSave { branch, key, paths });
                }
            }
            "actions/upload-artifact" => {
                let name = input("name");
                let source = state.workspace.join(input("path"));
                if !source.exists() {
                    if input("if-no-files-found") == "error" {
                        return Err(format!("upload-artifact: no files at {}", source.display()));
                    }
                } else {
                    copy_dir(&source, &artifacts.join(&name));
                }
            }
            "actions/download-artifact" => {
                let name = input("name");
                let source = artifacts.join(&name);
                if !source.is_dir() {
                    return Err(format!("download-artifact: no artifact `{name}`"));
                }
                copy_dir(&source, &state.workspace.join(input("path")));
            }
            "aws-actions/configure-aws-credentials" => {
                if !token_allowed {
                    return Err("configure-aws-credentials: the job lacks `id-token: write`, so GitHub gives it no OIDC token".to_owned());
                }
                let role = input("role-to-assume");
                let region = input("aws-region");
                let audience = with
                    .get("audience")
                    .cloned()
                    .unwrap_or_else(|| "sts.amazonaws.com".to_owned());
                let claims = self.claims(job, environment, event, contexts, &audience);
                let session = with
                    .get("role-session-name")
                    .cloned()
                    .unwrap_or_else(|| "GitHubActions".to_owned());
                let credentials = self
                    .aws
                    .assume_role_with_web_identity(&role, &session, &Token::unsigned(&claims))
                    .map_err(|e| format!("configure-aws-credentials: {e}"))?;
                let account = credentials
                    .arn
                    .split(':')
                    .nth(4)
                    .unwrap_or_default()
                    .to_owned();
                let allowed = input("allowed-account-ids");
                if !allowed.is_empty() && !allowed.split(',').any(|a| a.trim() == account) {
                    return Err(format!("configure-aws-credentials: account {account} is not in allowed-account-ids {allowed}"));
                }
                let _ = writeln!(state.log, "assumed {} as {}", role, credentials.arn);
                state
                    .env
                    .insert("AWS_ACCESS_KEY_ID".to_owned(), credentials.access_key_id);
                state.env.insert(
                    "AWS_SECRET_ACCESS_KEY".to_owned(),
                    credentials.secret_access_key,
                );
                state
                    .env
                    .insert("AWS_SESSION_TOKEN".to_owned(), credentials.session_token);
                state.env.insert("AWS_REGION".to_owned(), region.clone());
                state.env.insert("AWS_DEFAULT_REGION".to_owned(), region);
                return Ok(Map::from_iter([(
                    "aws-account-id".to_owned(),
                    Value::String(account),
                )]));
            }
            other => return Err(format!("action `{other}` is not emulated")),
        }
        Ok(Map::new())
    }

    /// The claims of the OIDC token GitHub issues to this job.
    /// <https://docs.github.com/en/actions/reference/security/oidc#oidc-token-claims>
    fn claims(
        &self,
        _job: &str,
        environment: Option<&str>,
        event: &Event,
        contexts: &Value,
        audience: &str,
    ) -> Value {
        let repository = &self.repository.full_name;
        let git_ref = event.git_ref();
        let prefix = &self.repository.subject_prefix;
        let sub = match environment {
            Some(env) => format!("{prefix}:environment:{env}"),
            None => format!("{prefix}:ref:{git_ref}"),
        };
        let mut claims = json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": audience,
            "sub": sub,
            "ref": git_ref,
            "ref_type": "branch",
            "repository": repository,
            "repository_owner": repository.split('/').next().unwrap_or_default(),
            "repository_id": self.repository.ids.1.to_string(),
            "repository_owner_id": self.repository.ids.0.to_string(),
            "actor": "octocat",
            "actor_id": "583231",
            "event_name": event.name(),
            "workflow": contexts["github"]["workflow"],
            "workflow_ref": format!("{repository}/{}@{git_ref}", self.repository.workflow_path),
            "job_workflow_ref": format!("{repository}/{}@{git_ref}", self.repository.workflow_path),
            "runner_environment": "github-hosted",
        });
        if let Some(env) = environment {
            claims["environment"] = json!(env);
        }
        claims
    }
}

/// What GitHub masks of the repository's secrets.
fn secret_masks(secrets: &BTreeMap<String, String>) -> Vec<String> {
    secrets.values().flat_map(|v| mask_forms(v)).collect()
}

/// The forms of a secret the runner masks: the whole (trimmed) value, each of its lines
/// (trimmed: a process prints them one by one), and its base64 encoding.
fn mask_forms(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    let mut forms = vec![value.to_owned(), base64_standard_unpadded(value.as_bytes())];
    forms.extend(
        value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned),
    );
    forms.sort();
    forms.dedup();
    forms
}

/// Whether GitHub gives this job an OIDC token: `id-token: write` on the job, or at the top
/// when the job sets no permissions of its own.
fn job_may_request_token(job: &Value, workflow: &Value) -> bool {
    let grants = |permissions: &Value| match permissions {
        Value::String(s) => s == "write-all",
        Value::Object(map) => map.get("id-token").and_then(Value::as_str) == Some("write"),
        _ => false,
    };
    if job.get("permissions").is_some() {
        grants(&job["permissions"])
    } else {
        grants(&workflow["permissions"])
    }
}

fn job_condition(job: &Value) -> Option<String> {
    match job.get("if") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// A mapping's entries as strings (numbers and booleans as GitHub turns them into text).
fn env_map(value: &Value) -> Vec<(String, String)> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), github_expr::to_text(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Jobs in an order where every job comes after its `needs`, file order otherwise.
fn topological(jobs: &Map<String, Value>) -> Vec<String> {
    let mut done: Vec<String> = Vec::new();
    while done.len() < jobs.len() {
        let before = done.len();
        for (id, job) in jobs {
            if done.contains(id) {
                continue;
            }
            let needs: Vec<&str> = match &job["needs"] {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if needs.iter().all(|n| done.iter().any(|d| d == n)) {
                done.push(id.clone());
            }
        }
        assert!(
            done.len() > before,
            "the jobs' needs form a cycle or name a missing job"
        );
    }
    done
}

/// Parses `$GITHUB_OUTPUT`/`$GITHUB_ENV`: `name=value` lines and `name<<DELIMITER` blocks.
fn command_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for inner in lines.by_ref() {
                if inner == delimiter {
                    break;
                }
                value.push(inner);
            }
            out.push((name.to_owned(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_owned(), value.to_owned()));
        }
    }
    out
}

fn command_stdout(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("this machine has no `{program}`: {e}"))?;
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A folder with `links` (name → program found on PATH) for a setup action's version.
fn runtime_shim(
    temp: &Path,
    kind: &str,
    version: &str,
    links: &[(&str, &str)],
) -> Result<PathBuf, String> {
    let dir = temp.join(format!("{kind}-{version}"));
    std::fs::create_dir_all(&dir).expect("shim dir");
    for (name, program) in links {
        let found = which(program)
            .and_then(|p| real_executable(&p))
            .ok_or_else(|| {
                format!("setup-{kind} {version}: this machine has no `{program}`; the real action would install it, this emulation cannot")
            })?;
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(found, link).expect("shim link");
    }
    Ok(dir)
}

/// The interpreter behind `path`, which may be a version manager's shim script.
fn real_executable(path: &Path) -> Option<PathBuf> {
    let output = Command::new(path)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !found.is_empty()).then(|| PathBuf::from(found))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_reach_env_and_are_masked_in_the_log() {
        let Some(aws) = LocalAws::start() else { return };
        let scratch = tempfile::tempdir().expect("scratch");
        let checkout = scratch.path().join("checkout");
        std::fs::create_dir_all(&checkout).expect("checkout dir");
        let repository = Repository {
            full_name: "octo-org/app".to_owned(),
            subject_prefix: "repo:octo-org/app".to_owned(),
            ids: (1, 2),
            workflow_path: ".github/workflows/pipeline.yaml".to_owned(),
            checkout,
            default_branch: "main".to_owned(),
            cache: scratch.path().join("cache"),
            secrets: BTreeMap::from([
                ("API_TOKEN".to_owned(), "s3cr3t-v4lue-42".to_owned()),
                (
                    "CERT".to_owned(),
                    "first-line-aa\nsecond-line-bb".to_owned(),
                ),
            ]),
        };
        let runner = Runner {
            aws: &aws,
            repository: &repository,
            scratch: scratch.path().join("run"),
        };
        let workflow = r#"
on: push
jobs:
  smoke:
    runs-on: ubuntu-latest
    env:
      TOKEN: ${{ secrets.API_TOKEN }}
    steps:
      - run: |
          test "$TOKEN" = s3cr3t-v4lue-42
          echo "token=$TOKEN"
          printf '%s' "$TOKEN" | base64
          echo "$CERT"
          echo "unset=[$UNSET]"
        env:
          CERT: ${{ secrets.CERT }}
          UNSET: ${{ secrets.NOT_SET }}
      - run: |
          echo "::add-mask::runtime-value-7"
          echo "later runtime-value-7"
"#;
        let report = runner.run(
            workflow,
            &Event::Push {
                branch: "main".to_owned(),
            },
        );
        assert_eq!(
            report.outcome("smoke"),
            Some(Outcome::Success),
            "{}",
            report.summary()
        );
        let log = report.log("smoke");
        assert!(log.contains("token=***"), "the secret is masked:\n{log}");
        assert!(!log.contains("s3cr3t"), "no trace of the secret:\n{log}");
        assert!(
            !log.contains(&base64_standard_unpadded(b"s3cr3t-v4lue-42")),
            "nor of its base64 form:\n{log}"
        );
        assert!(
            !log.contains("first-line-aa") && !log.contains("second-line-bb"),
            "each line of a multi-line secret is masked:\n{log}"
        );
        assert!(log.contains("unset=[]"), "an unset secret is '':\n{log}");
        assert!(
            log.contains("later ***") && !log.lines().any(|l| l.starts_with("::add-mask::")),
            "add-mask masks a value and is not printed:\n{log}"
        );
    }

    #[test]
    fn mask_forms_cover_lines_and_base64() {
        assert!(mask_forms("  ").is_empty());
        let forms = mask_forms("ab\ncd\n");
        for form in ["ab\ncd", "ab", "cd", &base64_standard_unpadded(b"ab\ncd")] {
            assert!(forms.iter().any(|f| f == form), "{form:?} in {forms:?}");
        }
    }

    #[test]
    fn command_files_parse_both_forms() {
        assert_eq!(
            command_file("a=1\nb<<EOF\nx\ny\nEOF\nc=3=4\n"),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x\ny".to_owned()),
                ("c".to_owned(), "3=4".to_owned())
            ]
        );
    }
}
