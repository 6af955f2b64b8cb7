//! Runs a `.gitlab-ci.yml` the way GitLab would, on this machine, with a real local runner:
//! `gitlab-ci-local` (installed by `.ci/install-tools`), which evaluates `workflow:rules`,
//! job `rules:`/`when:`, `needs:`, stages, `variables:` and the predefined `CI_*` variables
//! from a git checkout, runs `before_script`/`script`/`after_script` and passes artifacts.
//!
//! What this module adds, because gitlab-ci-local cannot:
//! - **ID tokens.** gitlab-ci-local knows `id_tokens:` only from the schema; it mints nothing.
//!   So every job with `id_tokens:` gets each token as a job variable (the CI file handed to
//!   gitlab-ci-local is the generated one with only those variables added), holding the JWT
//!   GitLab would issue to that job: `iss` = the instance URL, `aud` as requested, `sub` =
//!   `project_path:<project>:ref_type:branch:ref:<branch>`, and GitLab's other claims
//!   (`project_path`, `ref`, `ref_protected`, `environment`, `pipeline_source`, ...). Jobs
//!   without `id_tokens:` get no token, as on GitLab.
//! - **Containers.** GitLab runs each job in its `image:`; there is no container engine here,
//!   so every job runs with gitlab-ci-local's shell executor on this machine
//!   (`--force-shell-executor`, `--shell-isolation` for a fresh build folder per job), with
//!   the real AWS CLI and SAM CLI on `PATH` and everything AWS pointed at the local AWS.
//! - **Branch deletion.** GitLab runs the environment's `on_stop` job of the deleted branch's
//!   last pipeline; [`Event::DeleteBranch`] runs exactly those stop jobs, for that branch.
//! - **Manual jobs.** A push runs the manual jobs a person would start (deploy gates), but not
//!   environment stop jobs, which GitLab starts itself when the branch goes.
//! - **Project CI/CD variables.** [`Project::variables`] reach every job's environment through
//!   gitlab-ci-local's project variables file (`--variables-file`), which, as on GitLab, wins
//!   over the CI file's `variables:`; a protected variable only on a protected branch. A
//!   masked variable's value shows as `[MASKED]` in the job logs (gitlab-ci-local masks
//!   nothing), and must meet GitLab's masking rules or GitLab would not save it.
//!   <https://docs.gitlab.com/ci/variables/#for-a-project>,
//!   <https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable>
//!
//! Known gaps of gitlab-ci-local 4.73.0 that the generated file does not hit: with
//! `--shell-isolation` a job that has an `after_script` exports no artifacts (the build job
//! has none); `CI_JOB_ID` differs from the token's `job_id` claim, since tokens are minted
//! before the run (and expire an hour after it starts, not at the job's timeout).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

use super::github::{JobReport, Outcome, RunReport};
use super::{copy_dir, mask_secrets, LocalAws, Token};
use crate::common::{printed, run, tool};

/// gitlab-ci-local's project variables file, in the run's scratch folder.
const VARIABLES_FILE: &str = "project-variables.yml";

/// Top-level keys of `.gitlab-ci.yml` that are not jobs.
const GLOBAL_KEYWORDS: &[&str] = &[
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
    "spec",
];

/// What starts the jobs.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A push to a branch: its pipeline.
    Push { branch: String },
    /// The branch was deleted: GitLab stops its environments, running their `on_stop` jobs
    /// from the branch's last pipeline.
    DeleteBranch { branch: String },
}

impl Event {
    fn branch(&self) -> &str {
        match self {
            Event::Push { branch } | Event::DeleteBranch { branch } => branch,
        }
    }
}

/// A project CI/CD variable (Settings > CI/CD > Variables).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Variable {
    pub(crate) value: String,
    /// Shown as `[MASKED]` in job logs.
    pub(crate) masked: bool,
    /// Only jobs on protected branches get it.
    pub(crate) protected: bool,
}

impl Variable {
    /// A visible variable for every branch.
    pub(crate) fn plain(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            ..Self::default()
        }
    }

    /// A masked variable for every branch.
    pub(crate) fn masked(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            masked: true,
            protected: false,
        }
    }
}

/// GitLab's rule for a value it can mask (`Ci::Maskable::REGEX`): at least 8 characters, all
/// from the Base64 alphabet or `@ : . ~ - _`.
fn maskable(value: &str) -> bool {
    value.chars().count() >= 8
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=/@:.~-".contains(c))
}

/// A GitLab project as the runner presents it to jobs.
#[derive(Default)]
pub(crate) struct Project {
    /// `group/subgroup/project`.
    pub(crate) path: String,
    /// The instance URL (`https://gitlab.com`): the tokens' issuer, the git remote's host.
    pub(crate) server_url: String,
    /// The default branch; protected, as GitLab protects it by default.
    pub(crate) default_branch: String,
    /// The files of the repository.
    pub(crate) checkout: PathBuf,
    /// Project CI/CD variables: name → value and flags. Empty: none.
    pub(crate) variables: BTreeMap<String, Variable>,
    /// Where the jobs' `cache:` entries persist from one pipeline to the next (GitLab keeps
    /// them with the runner); none: every pipeline starts without a cache.
    pub(crate) cache: Option<PathBuf>,
}

pub(crate) struct Runner<'a> {
    pub(crate) aws: &'a LocalAws,
    pub(crate) project: &'a Project,
    /// Folder for this run's checkout, runner state and logs.
    pub(crate) scratch: PathBuf,
}

impl Runner<'_> {
    /// Runs `ci_file` (the text of `.gitlab-ci.yml`) for `event`.
    pub(crate) fn run(&self, ci_file: &str, event: &Event) -> RunReport {
        let program = tool("gitlab-ci-local").expect("gitlab-ci-local is installed");
        let branch = event.branch();
        let mut ci: Yaml = serde_yaml::from_str(ci_file).expect(".gitlab-ci.yml is YAML");
        let job_names = jobs(&ci);
        let stop_jobs: Vec<String> = job_names
            .iter()
            .filter(|name| ci[name.as_str()]["environment"]["action"].as_str() == Some("stop"))
            .cloned()
            .collect();
        let action = |job: &str| {
            if stop_jobs.iter().any(|s| s == job) {
                "stop"
            } else {
                "start"
            }
        };
        for name in &job_names {
            self.mint_id_tokens(&mut ci, name, branch, action(name));
        }
        let repo = self.checkout(branch, &serde_yaml::to_string(&ci).expect("CI file"));
        self.write_variables_file(branch);
        let home = self.scratch.join("home");
        std::fs::create_dir_all(&home).expect("runner home");

        // The pipeline GitLab would create: jobs whose rules admit them, and how they start.
        let listing = run(self.command(&program, &repo, &home).arg("--list-json"));
        assert!(
            listing.status.success(),
            "gitlab-ci-local --list-json:\n{}",
            printed(&listing)
        );
        let stdout = String::from_utf8_lossy(&listing.stdout);
        let listed: Vec<Value> = serde_json::from_str(&stdout[stdout.find('[').unwrap_or(0)..])
            .unwrap_or_else(|e| panic!("--list-json: {e}\n{}", printed(&listing)));
        let in_pipeline: BTreeMap<String, String> = listed
            .iter()
            .filter_map(|j| {
                let when = j["when"].as_str().unwrap_or("on_success");
                let name = j["name"].as_str()?.to_owned();
                (when != "never").then(|| (name, when.to_owned()))
            })
            .collect();

        let mut command = self.command(&program, &repo, &home);
        command.args([
            "--force-shell-executor",
            "--shell-isolation",
            "--concurrency",
            "1",
        ]);
        let mut started_by_hand = Vec::new();
        match event {
            Event::Push { .. } => {
                for (job, when) in &in_pipeline {
                    if when == "manual" && !stop_jobs.contains(job) {
                        command.args(["--manual", job]);
                        started_by_hand.push(job.clone());
                    }
                }
            }
            Event::DeleteBranch { .. } => {
                // The stop jobs the branch's pipeline holds, named by an environment's on_stop.
                let wanted: Vec<&String> = stop_jobs
                    .iter()
                    .filter(|job| in_pipeline.contains_key(job.as_str()))
                    .filter(|job| {
                        job_names.iter().any(|other| {
                            in_pipeline.contains_key(other.as_str())
                                && ci[other.as_str()]["environment"]["on_stop"].as_str()
                                    == Some(job.as_str())
                        })
                    })
                    .collect();
                assert!(
                    !wanted.is_empty(),
                    "no environment of branch {branch} has an on_stop job in its pipeline"
                );
                command.args(wanted);
            }
        }
        // gitlab-ci-local keeps cache entries in its state folder, which is the run's own.
        let state_cache = repo.join(".gitlab-ci-local/cache");
        if let Some(store) = self.project.cache.as_ref().filter(|s| s.is_dir()) {
            copy_dir(store, &state_cache);
        }
        let output = run(&mut command);
        if let Some(store) = &self.project.cache {
            if state_cache.is_dir() {
                let _ = std::fs::remove_dir_all(store);
                copy_dir(&state_cache, store);
            }
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let masks = self.masks();
        let text = mask_secrets(&text, &masks);
        std::fs::write(self.scratch.join("gitlab-ci-local.log"), &text).expect("runner log");
        let finished = summary(&text);
        assert!(
            output.status.success() || !finished.is_empty(),
            "gitlab-ci-local ran no job:\n{}",
            printed(&output)
        );
        let logs = repo.join(".gitlab-ci-local/output");
        let jobs = job_names
            .iter()
            .map(|name| {
                let outcome = finished.get(name).copied().unwrap_or(Outcome::Skipped);
                let mut log = String::new();
                if started_by_hand.contains(name) {
                    let _ = writeln!(log, "(started by hand)");
                }
                log.push_str(&mask_secrets(
                    &std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default(),
                    &masks,
                ));
                JobReport {
                    id: name.clone(),
                    outcome,
                    log,
                }
            })
            .collect();
        RunReport { jobs }
    }

    /// `gitlab-ci-local` in `repo`, with the environment of a runner on this machine.
    fn command(&self, program: &Path, repo: &Path, home: &Path) -> Command {
        let mut command = Command::new(program);
        let path = format!(
            "{}:{}:{}",
            self.aws.aws_only_bin().display(),
            self.aws.sam_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .current_dir(repo)
            .env_clear()
            .env("PATH", path)
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .env("AWS_ENDPOINT_URL", &self.aws.endpoint)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "2")
            .env("SAM_CLI_TELEMETRY", "0")
            .env("SAM_CLI_POLL_DELAY", "1")
            .args(["--no-color", "--home"])
            .arg(home)
            // What gitlab-ci-local gets wrong of GitLab's predefined variables.
            .args(["--variable", "CI=true", "--variable", "GITLAB_CI=true"])
            .args([
                "--ignore-predefined-vars",
                "CI,GITLAB_CI,CI_COMMIT_REF_PROTECTED",
            ]);
        if self.protected(repo_branch(repo).as_str()) {
            command.args(["--variable", "CI_COMMIT_REF_PROTECTED=true"]);
        }
        // The project's CI/CD variables (see `write_variables_file`), relative to the repo.
        command.args(["--variables-file", &format!("../{VARIABLES_FILE}")]);
        command
    }

    /// The project's CI/CD variables the pipeline on `branch` gets, in gitlab-ci-local's
    /// project variables file beside the checkout (not in it: jobs must not see the file).
    /// Each is written `type: variable` for every environment (`'*'`): gitlab-ci-local would
    /// take a plain value starting with `/` or `~` for a file variable's path.
    fn write_variables_file(&self, branch: &str) {
        let mut file = serde_yaml::Mapping::new();
        for (name, variable) in &self.project.variables {
            assert!(
                !variable.masked || maskable(&variable.value),
                "GitLab cannot mask {name}: a masked value needs 8 or more characters, all \
                 from the Base64 alphabet or @:.~-_ (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable)"
            );
            if variable.protected && !self.protected(branch) {
                continue;
            }
            let mut values = serde_yaml::Mapping::new();
            values.insert("*".into(), variable.value.clone().into());
            let mut entry = serde_yaml::Mapping::new();
            entry.insert("type".into(), "variable".into());
            entry.insert("values".into(), Yaml::Mapping(values));
            file.insert(name.clone().into(), Yaml::Mapping(entry));
        }
        std::fs::write(
            self.scratch.join(VARIABLES_FILE),
            serde_yaml::to_string(&Yaml::Mapping(file)).expect("variables file"),
        )
        .expect("write the project variables file");
    }

    /// What GitLab masks in job logs: each masked variable's value, as `[MASKED]`.
    fn masks(&self) -> Vec<(String, String)> {
        self.project
            .variables
            .values()
            .filter(|v| v.masked)
            .map(|v| (v.value.clone(), "[MASKED]".to_owned()))
            .collect()
    }

    fn protected(&self, branch: &str) -> bool {
        branch == self.project.default_branch
    }

    /// A git repository of the project's files and `ci_file` on `branch`, with the project's
    /// remote, as gitlab-ci-local reads the project path, server and ref from git.
    fn checkout(&self, branch: &str, ci_file: &str) -> PathBuf {
        let repo = self.scratch.join("repo");
        let _ = std::fs::remove_dir_all(&repo);
        copy_dir(&self.project.checkout, &repo);
        std::fs::write(repo.join(".gitlab-ci.yml"), ci_file).expect("write .gitlab-ci.yml");
        let host = self
            .project
            .server_url
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let default = &self.project.default_branch;
        let script = format!(
            "set -e
git init -q -b '{branch}'
git config user.name 'Octo Cat'
git config user.email octocat@example.com
git remote add origin 'https://{host}/{path}.git'
git add -A
git commit -q -m 'Deploy'
git update-ref 'refs/remotes/origin/{default}' HEAD
git symbolic-ref refs/remotes/origin/HEAD 'refs/remotes/origin/{default}'",
            path = self.project.path
        );
        let output = run(Command::new("bash")
            .args(["-c", &script])
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1"));
        assert!(output.status.success(), "git: {}", printed(&output));
        repo
    }

    /// Puts the ID tokens GitLab would mint for `job` into its variables.
    fn mint_id_tokens(&self, ci: &mut Yaml, job: &str, branch: &str, action: &str) {
        let Some(tokens) = ci[job].get("id_tokens").and_then(Yaml::as_mapping).cloned() else {
            return;
        };
        let environment = match &ci[job]["environment"] {
            Yaml::String(name) => Some(name.clone()),
            Yaml::Mapping(_) => ci[job]["environment"]["name"].as_str().map(str::to_owned),
            _ => None,
        }
        .map(|name| expand_ref_variables(&name, branch));
        let mut minted = Vec::new();
        for (name, spec) in &tokens {
            let name = name.as_str().expect("id_tokens name").to_owned();
            let audience = match &spec["aud"] {
                Yaml::String(aud) => json!(aud),
                Yaml::Sequence(auds) => {
                    json!(auds.iter().filter_map(Yaml::as_str).collect::<Vec<_>>())
                }
                other => panic!("job {job}: id_tokens {name}: aud {other:?}"),
            };
            let claims = self.claims(branch, environment.as_deref(), action, audience);
            minted.push((name, Token::unsigned(&claims).0));
        }
        let job_map = ci
            .get_mut(job)
            .and_then(Yaml::as_mapping_mut)
            .expect("job mapping");
        let variables = job_map
            .entry(Yaml::String("variables".to_owned()))
            .or_insert_with(|| Yaml::Mapping(serde_yaml::Mapping::new()));
        let variables = variables.as_mapping_mut().expect("job variables mapping");
        for (name, token) in minted {
            variables.insert(Yaml::String(name), Yaml::String(token));
        }
    }

    /// The claims of a GitLab ID token for a job of a push pipeline on `branch`.
    /// <https://docs.gitlab.com/ci/secrets/id_token_authentication/#token-payload>
    fn claims(
        &self,
        branch: &str,
        environment: Option<&str>,
        action: &str,
        audience: Value,
    ) -> Value {
        let project = &self.project.path;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let namespace = project.rsplit_once('/').map_or("", |(n, _)| n);
        let host = self.project.server_url.trim_start_matches("https://");
        let protected = self.protected(branch).to_string();
        let mut claims = json!({
            "iss": self.project.server_url,
            "aud": audience,
            "sub": format!("project_path:{project}:ref_type:branch:ref:{branch}"),
            "namespace_id": "4242",
            "namespace_path": namespace,
            "project_id": "4711",
            "project_path": project,
            "user_id": "1",
            "user_login": "octocat",
            "user_email": "octocat@example.com",
            "user_access_level": "maintainer",
            "pipeline_id": "1002",
            "pipeline_source": "push",
            "job_id": "794239",
            "ref": branch,
            "ref_type": "branch",
            "ref_path": format!("refs/heads/{branch}"),
            "ref_protected": protected,
            "runner_id": 1,
            "runner_environment": "self-hosted",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "project_visibility": "private",
            "ci_config_ref_uri": format!("{host}/{project}//.gitlab-ci.yml@refs/heads/{branch}"),
            "ci_config_sha": "0123456789abcdef0123456789abcdef01234567",
            "jti": format!("{now:x}-{branch}"),
            "iat": now,
            "nbf": now,
            // GitLab: the job's timeout plus five minutes; the run may take longer than that
            // here because every token is minted when the pipeline starts.
            "exp": now + 3600,
        });
        if let Some(environment) = environment {
            claims["environment"] = json!(environment);
            claims["environment_protected"] = json!((environment == "production").to_string());
            claims["deployment_tier"] = json!(deployment_tier(environment));
            claims["environment_action"] = json!(action);
        }
        claims
    }
}

/// The branch `repo` has checked out.
fn repo_branch(repo: &Path) -> String {
    std::fs::read_to_string(repo.join(".git/HEAD"))
        .unwrap_or_default()
        .trim()
        .trim_start_matches("ref: refs/heads/")
        .to_owned()
}

/// The jobs of a CI file, in file order.
fn jobs(ci: &Yaml) -> Vec<String> {
    ci.as_mapping()
        .expect("CI file is a mapping")
        .iter()
        .filter_map(|(key, value)| {
            let key = key.as_str()?;
            (!GLOBAL_KEYWORDS.contains(&key) && !key.starts_with('.') && value.is_mapping())
                .then(|| key.to_owned())
        })
        .collect()
}

/// `$CI_COMMIT_REF_SLUG`, `$CI_COMMIT_REF_NAME` and `$CI_COMMIT_BRANCH` in an environment name.
fn expand_ref_variables(text: &str, branch: &str) -> String {
    let slug = ref_slug(branch);
    let mut out = text.to_owned();
    for (name, value) in [
        ("CI_COMMIT_REF_SLUG", slug.as_str()),
        ("CI_COMMIT_REF_NAME", branch),
        ("CI_COMMIT_BRANCH", branch),
    ] {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

/// GitLab's `CI_COMMIT_REF_SLUG`: lowercased, every character but `0-9a-z` replaced by `-`,
/// at most 63 bytes, no leading or trailing `-`.
fn ref_slug(branch: &str) -> String {
    let replaced: String = branch
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    replaced.trim_matches('-').to_owned()
}

/// The tier GitLab infers from an environment's name.
fn deployment_tier(environment: &str) -> &'static str {
    let name = environment.to_lowercase();
    if name.starts_with("prod") || name == "live" {
        "production"
    } else if name.starts_with("stag") || name.starts_with("model") || name.starts_with("pre") {
        "staging"
    } else if name.starts_with("test") || name.starts_with("qa") {
        "testing"
    } else if name.starts_with("dev") || name.starts_with("review") || name == "trunk" {
        "development"
    } else {
        "other"
    }
}

/// The outcome of each job gitlab-ci-local ran, from its closing summary
/// (` PASS  job`, ` FAIL  job`, ` WARN  job` for a failure that is allowed).
fn summary(text: &str) -> BTreeMap<String, Outcome> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (word, rest) = line.split_once(char::is_whitespace)?;
            let outcome = match word {
                "PASS" => Outcome::Success,
                "FAIL" | "WARN" => Outcome::Failure,
                _ => return None,
            };
            let name = rest.split_whitespace().next()?;
            Some((name.to_owned(), outcome))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_variables_reach_jobs_and_masked_ones_are_masked() {
        if tool("gitlab-ci-local").is_none() {
            return;
        }
        let Some(aws) = LocalAws::start() else { return };
        let scratch = tempfile::tempdir().expect("scratch");
        let checkout = scratch.path().join("checkout");
        std::fs::create_dir_all(&checkout).expect("checkout dir");
        std::fs::write(checkout.join("README"), "app\n").expect("a file");
        let project = Project {
            path: "octo-group/app".to_owned(),
            server_url: "https://gitlab.com".to_owned(),
            default_branch: "main".to_owned(),
            checkout,
            cache: None,
            variables: BTreeMap::from([
                ("API_TOKEN".to_owned(), Variable::masked("s3cr3t-v4lue-42")),
                ("GREETING".to_owned(), Variable::plain("from-project")),
                ("PATHLIKE".to_owned(), Variable::plain("/not/a/file")),
                (
                    "PROD_ONLY".to_owned(),
                    Variable {
                        value: "protected-value".to_owned(),
                        masked: false,
                        protected: true,
                    },
                ),
            ]),
        };
        let ci = r#"
stages: [test]
variables:
  GREETING: from-yaml
show:
  stage: test
  script:
    - test "$API_TOKEN" = s3cr3t-v4lue-42
    - echo "token=$API_TOKEN"
    - echo "greeting=$GREETING pathlike=$PATHLIKE"
    - echo "protected=[$PROD_ONLY]"
"#;
        let run = |branch: &str| {
            Runner {
                aws: &aws,
                project: &project,
                scratch: scratch.path().join(branch),
            }
            .run(
                ci,
                &Event::Push {
                    branch: branch.to_owned(),
                },
            )
        };
        let feature = run("feature");
        assert_eq!(
            feature.outcome("show"),
            Some(Outcome::Success),
            "{}",
            feature.summary()
        );
        let log = feature.log("show");
        assert!(log.contains("token=[MASKED]"), "masked:\n{log}");
        assert!(
            !log.contains("s3cr3t"),
            "no trace of the masked value:\n{log}"
        );
        assert!(
            log.contains("greeting=from-project pathlike=/not/a/file"),
            "a project variable wins over the CI file's, and a path-like value is a value:\n{log}"
        );
        assert!(
            log.contains("protected=[]"),
            "an unprotected branch gets no protected variable:\n{log}"
        );
        let main = run("main");
        assert!(
            main.log("show").contains("protected=[protected-value]"),
            "the protected default branch gets it:\n{}",
            main.log("show")
        );
    }

    #[test]
    fn masked_values_follow_gitlab_rules() {
        assert!(maskable("s3cr3t-v4lue-42"));
        assert!(maskable("AKIA/abc+def=@:.~_-"));
        assert!(!maskable("short"), "fewer than 8 characters");
        assert!(!maskable("has a space"), "whitespace");
        assert!(!maskable("dollar$sign1"), "a character GitLab cannot mask");
    }

    #[test]
    fn ref_slugs_follow_gitlab() {
        assert_eq!(ref_slug("main"), "main");
        assert_eq!(ref_slug("Feature/Login_2"), "feature-login-2");
        assert_eq!(ref_slug("-x-"), "x");
        assert_eq!(ref_slug(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn summaries_name_each_job() {
        let text = "build > done\n\n PASS  build\n FAIL  deploy-dev\n  > oops\n WARN  stop\npipeline finished in 1 s\n";
        let outcomes = summary(text);
        assert_eq!(outcomes.get("build"), Some(&Outcome::Success));
        assert_eq!(outcomes.get("deploy-dev"), Some(&Outcome::Failure));
        assert_eq!(outcomes.get("stop"), Some(&Outcome::Failure));
        assert_eq!(outcomes.len(), 3);
    }

    #[test]
    fn environment_names_expand_the_ref() {
        assert_eq!(
            expand_ref_variables("review/$CI_COMMIT_REF_SLUG", "feature/Login"),
            "review/feature-login"
        );
    }
}
