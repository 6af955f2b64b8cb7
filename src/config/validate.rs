//! Checks on a parsed config that serde cannot express: name rules, formats, AWS and GitHub
//! limits, and how fields relate. Every problem is collected, so one run reports them all.
//! Each check is one function with one concern; [`validate`] runs them in document order.

use std::collections::HashMap;

use super::model::{AccountId, Config, Stage};
use super::region::{self, Region};
use crate::diag::{did_you_mean, ConfigPath, Diagnostic};
use crate::pipeline::names;

pub use super::region::region_partition;

/// Stages in one template: a CloudFormation mapping holds at most 200 entries.
pub const MAX_STAGES: usize = 200;

/// Lists every problem in `config`.
pub fn validate(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let root = ConfigPath::root();
    check_version(&mut out, config.version);
    check_name(&mut out, &config.app, root.key("app"), "app");
    check_app_prefix(&mut out, &config.app);
    check_source(&mut out, config);
    check_branch(&mut out, &config.branch, root.key("branch"));
    if let Some(glob) = &config.feature_branches {
        check_feature_glob(&mut out, glob, &config.branch, root.key("feature_branches"));
    }
    check_relative_path(&mut out, &config.sam_template, root.key("sam_template"));
    if config.source.github.is_some() {
        check_relative_path(&mut out, &config.workflow_path, root.key("workflow_path"));
        check_workflow_path(&mut out, &config.workflow_path);
    }
    check_stage_list(&mut out, &config.stages);
    check_feature_stage_name(&mut out, config);
    for (index, stage) in config.stages.iter().enumerate() {
        check_stage(&mut out, stage, &root.key("stages").index(index));
    }
    check_name_lengths(&mut out, config);
    check_stack_collisions(&mut out, config);
    check_workflow_settings(&mut out, config);
    super::extensions::check(&mut out, config);
    check_execution_role(&mut out, config);
    out
}

fn check_version(out: &mut Vec<Diagnostic>, version: u32) {
    if version != 1 {
        out.push(
            Diagnostic::error(
                "unsupported-version",
                format!("config version `{version}` is not supported"),
            )
            .at(ConfigPath::root().key("version"))
            .help("this sampipe reads `version: 1`"),
        );
    }
}

/// App and stage names: `[a-z][a-z0-9-]*` without a trailing or doubled `-`. They become part
/// of IAM role, S3 bucket, ECR repository and stack names, of the template's `Stages` mapping
/// keys (`[A-Za-z0-9.-]`) and of workflow job ids, and this is what all of those accept.
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn check_name(out: &mut Vec<Diagnostic>, name: &str, path: ConfigPath, what: &str) {
    if is_name(name) {
        return;
    }
    let problem = name_problem(name);
    let message = if name.is_empty() {
        format!("{what} name is empty")
    } else {
        format!("{what} name `{name}` is not allowed: {problem}")
    };
    out.push(
        Diagnostic::error("invalid-name", message)
            .at(path)
            .label("expected `[a-z][a-z0-9-]*`")
            .help(format!(
                "{what} names become part of IAM, S3 and CloudFormation names: use lowercase letters, digits and single `-`, starting with a letter, e.g. `{}`",
                suggest_name(name)
            )),
    );
}

/// Why `name` is not a name (it is known not to be one).
fn name_problem(name: &str) -> &'static str {
    if name.is_empty() {
        "it is empty"
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        "it has uppercase letters"
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        "it must start with a lowercase letter"
    } else if name.ends_with('-') || name.contains("--") {
        "`-` must separate words: not at the end, and not twice in a row"
    } else {
        "only lowercase letters, digits and `-` are allowed"
    }
}

pub(crate) fn suggest_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
        .trim_end_matches('-');
    if s.is_empty() {
        "sam-app".into()
    } else {
        s.to_owned()
    }
}

/// S3 reserves some bucket-name prefixes, and every bucket sampipe names starts with the app.
fn check_app_prefix(out: &mut Vec<Diagnostic>, app: &str) {
    if let Some(prefix) = RESERVED_BUCKET_PREFIXES
        .iter()
        .find(|p| app.starts_with(*p) || format!("{app}-").starts_with(*p))
    {
        out.push(
            Diagnostic::error(
                "reserved-bucket-prefix",
                format!("app name `{app}` starts with `{prefix}`, which S3 reserves"),
            )
            .at(ConfigPath::root().key("app"))
            .label("bucket names start with the app name")
            .help(format!(
                "choose an app name that does not start with `{prefix}`"
            )),
        );
    }
}

const RESERVED_BUCKET_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES: [&str; 5] =
    ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Exactly one provider, each by its own rules, and no setting that only another provider
/// reads (it would be silently ignored).
fn check_source(out: &mut Vec<Diagnostic>, config: &Config) {
    let source = &config.source;
    let path = ConfigPath::root().key("source");
    let given: Vec<&str> = [
        ("github", source.github.is_some()),
        ("gitlab", source.gitlab.is_some()),
        ("bitbucket", source.bitbucket.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    match given.as_slice() {
        [] => out.push(
            Diagnostic::error("no-source", "`source` names no CI provider")
                .at_key(path.clone())
                .help("add one of `github: {repository: OWNER/NAME}`, `gitlab: {project: GROUP/PROJECT}` or `bitbucket: {workspace: ..., workspace_uuid: ..., repository_uuid: ...}`"),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for other in rest {
                out.push(
                    Diagnostic::error("several-sources", format!("`source` names both `{first}` and `{other}`"))
                        .at_key(path.key(other))
                        .help("one config describes one repository and its CI system; write one config per provider"),
                );
            }
        }
    }
    if source.github.is_some() {
        check_repository(out, config);
        for (index, stage) in config.stages.iter().enumerate() {
            if stage.manual_approval {
                out.push(
                    Diagnostic::error("unsupported-setting", "`manual_approval` is for GitLab and Bitbucket")
                        .at(ConfigPath::root().key("stages").index(index).key("manual_approval"))
                        .help("on GitHub, give the stage an `environment` and add required reviewers to that environment"),
                );
            }
        }
        if config.workflow.image.is_some() {
            out.push(
                Diagnostic::error(
                    "unsupported-setting",
                    "`workflow.image` is for GitLab and Bitbucket",
                )
                .at(ConfigPath::root().key("workflow").key("image"))
                .help("GitHub jobs run on `workflow.runs_on`; remove `image`"),
            );
        }
    } else {
        let defaults = super::model::WorkflowSettings::default();
        let github_only = [
            (
                "workflow_path",
                config.workflow_path != super::model::Config::DEFAULT_WORKFLOW_PATH,
                ConfigPath::root().key("workflow_path"),
            ),
            (
                "workflow.runs_on",
                config.workflow.runs_on != defaults.runs_on,
                ConfigPath::root().key("workflow").key("runs_on"),
            ),
            (
                "workflow.actions",
                !config.workflow.actions.is_empty(),
                ConfigPath::root().key("workflow").key("actions"),
            ),
            (
                "workflow.sam_cli_version",
                config.workflow.sam_cli_version.is_some(),
                ConfigPath::root().key("workflow").key("sam_cli_version"),
            ),
        ];
        for (key, set, at) in github_only {
            if set {
                out.push(
                    Diagnostic::error("unsupported-setting", format!("`{key}` is for GitHub"))
                        .at(at)
                        .help("remove it; GitLab and Bitbucket jobs run in `workflow.image`, from the file at the repository's root"),
                );
            }
        }
    }
    if let Some(gitlab) = &source.gitlab {
        check_gitlab(out, gitlab, &path.key("gitlab"));
    }
    if let Some(bitbucket) = &source.bitbucket {
        check_bitbucket(out, bitbucket, &path.key("bitbucket"));
        if config.workflow.cache {
            // https://support.atlassian.com/bitbucket-cloud/docs/cache-dependencies/: a cache
            // belongs to the repository, whichever branch saved it.
            out.push(
                Diagnostic::error(
                    "unsafe-cache",
                    "Bitbucket shares a cache between all branches of the repository: a feature branch's build could save packages that the deployment branch's build then ships",
                )
                .at(ConfigPath::root().key("workflow").key("cache"))
                .help("remove `cache` (or set it to `false`); builds on Bitbucket download their dependencies every time"),
            );
        }
    }
    if config.workflow.cache && config.workflow.use_container {
        out.push(
            Diagnostic::error(
                "useless-cache",
                "`sam build --use-container` downloads the dependencies inside its build containers, where the cache does not reach",
            )
            .at(ConfigPath::root().key("workflow").key("cache"))
            .help("remove `cache`, or `use_container` to build with the runner's toolchains"),
        );
    }
    check_stage_environments(out, config);
}

/// GitLab project paths: `/`-separated segments of letters, digits, `_`, `.` and `-`, not
/// starting with `-` (GitLab's path rules); at least a namespace and a project.
fn gitlab_project_problem(project: &str) -> Option<String> {
    if project.contains("://") || project.starts_with("git@") {
        return Some("it is an address, not the project's path".into());
    }
    let segments: Vec<&str> = project.split('/').collect();
    if segments.len() < 2 {
        return Some("it needs a group and a project, `group/project`".into());
    }
    for segment in &segments {
        if segment.is_empty() {
            return Some("it has an empty segment (`//`, or a `/` at an end)".into());
        }
        if !segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            || segment.starts_with('-')
        {
            return Some(format!(
                "`{segment}` may only have letters, digits, `_`, `.` and `-`, and not start with `-`"
            ));
        }
    }
    if project.ends_with(".git") || project.ends_with(".atom") {
        return Some("it ends with `.git` or `.atom`".into());
    }
    None
}

/// What is wrong with a GitLab instance URL: it becomes the IAM OIDC provider URL, which must
/// equal the tokens' `iss` (`https://host[/path]`, no trailing slash, query or port-less
/// surprises).
pub(crate) fn gitlab_url_problem(url: &str) -> Option<String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Some("it must start with `https://` (IAM accepts only HTTPS issuers)".into());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty()
        || !host.contains('.')
        || !host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | ':'))
    {
        return Some(format!("`{host}` is not a lowercase host name"));
    }
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
        || path.contains("//")
    {
        return Some("the path may only have letters, digits, `/`, `_`, `.` and `-`".into());
    }
    if url.len() > 255 {
        return Some("IAM allows at most 255 characters".into());
    }
    None
}

fn check_gitlab(out: &mut Vec<Diagnostic>, gitlab: &super::model::GitLabSource, path: &ConfigPath) {
    if let Some(problem) = gitlab_project_problem(&gitlab.project) {
        let hint = gitlab
            .project
            .trim_start_matches("https://")
            .trim_start_matches("git@")
            .split_once(['/', ':'])
            .filter(|(host, _)| host.contains('.'))
            .map(|(_, rest)| {
                rest.trim_end_matches('/')
                    .trim_end_matches(".git")
                    .to_owned()
            })
            .filter(|p| gitlab_project_problem(p).is_none());
        out.push(
            Diagnostic::error(
                "invalid-project",
                format!(
                    "`{}` is not a GitLab project path: {problem}",
                    gitlab.project
                ),
            )
            .at(path.key("project"))
            .help(match hint {
                Some(fixed) => format!("write `project: {fixed}`"),
                None => "write the project's full path, e.g. `octo-group/backend/sam-app`".into(),
            }),
        );
    }
    if let Some(problem) = gitlab_url_problem(&gitlab.url) {
        out.push(
            Diagnostic::error(
                "invalid-url",
                format!("`{}` is not a GitLab instance URL: {problem}", gitlab.url),
            )
            .at(path.key("url"))
            .help("write the address of the instance, e.g. `https://gitlab.example.com`"),
        );
    }
    if let Some(audience) = &gitlab.audience {
        if audience.is_empty()
            || audience.len() > 255
            || audience
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '*' | '?' | '$'))
        {
            out.push(
                Diagnostic::error("invalid-audience", format!("audience `{audience}` is not allowed"))
                    .at(path.key("audience"))
                    .help("use 1 to 255 characters without spaces, `*`, `?` or `$`, e.g. `https://gitlab.com`; or remove it to use the instance URL"),
            );
        }
    }
}

/// A Bitbucket UUID as Bitbucket shows it: lowercase, in braces.
pub(crate) fn is_bitbucket_uuid(uuid: &str) -> bool {
    let Some(inner) = uuid.strip_prefix('{').and_then(|u| u.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && inner
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn check_uuid(out: &mut Vec<Diagnostic>, uuid: &str, path: ConfigPath, what: &str) {
    if is_bitbucket_uuid(uuid) {
        return;
    }
    let fixed = format!("{{{}}}", uuid.trim_matches(['{', '}']).to_ascii_lowercase());
    let help = if is_bitbucket_uuid(&fixed) {
        format!("write it as Bitbucket shows it, lowercase in braces and quotes: `\"{fixed}\"`")
    } else {
        format!("copy the {what} from Repository settings → OpenID Connect, e.g. `\"{{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}}\"`")
    };
    out.push(
        Diagnostic::error("invalid-uuid", format!("`{uuid}` is not a Bitbucket UUID"))
            .at(path)
            .help(help),
    );
}

fn check_bitbucket(
    out: &mut Vec<Diagnostic>,
    bitbucket: &super::model::BitbucketSource,
    path: &ConfigPath,
) {
    let workspace = &bitbucket.workspace;
    if workspace.is_empty()
        || workspace.len() > 62
        || !workspace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
    {
        out.push(
            Diagnostic::error("invalid-workspace", format!("`{workspace}` is not a Bitbucket workspace ID"))
                .at(path.key("workspace"))
                .help("write the workspace ID from `bitbucket.org/<workspace>/<repository>`: lowercase letters, digits, `-` and `_`"),
        );
    }
    check_uuid(
        out,
        &bitbucket.workspace_uuid,
        path.key("workspace_uuid"),
        "workspace UUID",
    );
    check_uuid(
        out,
        &bitbucket.repository_uuid,
        path.key("repository_uuid"),
        "repository UUID",
    );
}

/// `environment_uuid` is Bitbucket's and needs the environment's name; Bitbucket runs a
/// deployment environment at most once per pipeline, so stages cannot share one there.
fn check_stage_environments(out: &mut Vec<Diagnostic>, config: &Config) {
    let bitbucket = config.source.bitbucket.is_some();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, stage) in config.stages.iter().enumerate() {
        let path = ConfigPath::root().key("stages").index(index);
        if let Some(uuid) = &stage.environment_uuid {
            if !bitbucket {
                out.push(
                    Diagnostic::error("unsupported-setting", "`environment_uuid` is for Bitbucket")
                        .at(path.key("environment_uuid"))
                        .help("remove it; GitHub and GitLab environments are named by `environment` alone"),
                );
            } else {
                check_uuid(
                    out,
                    uuid,
                    path.key("environment_uuid"),
                    "deployment environment's UUID",
                );
                if stage.environment.is_none() {
                    out.push(
                        Diagnostic::error("environment-uuid-without-environment", "`environment_uuid` is set but `environment` is not")
                            .at_key(path.key("environment_uuid"))
                            .help("add `environment:` with the deployment environment's name, e.g. `environment: Production`"),
                    );
                }
            }
        }
        if let (true, Some(environment)) = (bitbucket, &stage.environment) {
            if let Some(first) = seen.insert(environment.as_str(), index) {
                seen.insert(environment.as_str(), first);
                out.push(
                    Diagnostic::error("duplicate-environment", format!("deployment environment `{environment}` is used by two stages"))
                        .at(path.key("environment"))
                        .label(format!("also the environment of stages[{first}]"))
                        .help("Bitbucket deploys to an environment at most once per pipeline; give each stage its own"),
                );
            }
        }
    }
}

/// GitHub's rules for `owner/name`, with a hint for the usual ways of writing something else.
fn check_repository(out: &mut Vec<Diagnostic>, config: &Config) {
    let Some(github) = &config.source.github else {
        return;
    };
    let path = ConfigPath::root().key("source").key("github");
    let repository = github.repository.as_str();
    if let Some(problem) = repository_problem(repository) {
        let shown = if repository.is_empty() {
            "the repository is empty".to_owned()
        } else {
            format!("`{repository}` is not a GitHub repository: {problem}")
        };
        out.push(
            Diagnostic::error("invalid-repository", shown)
                .at(path.key("repository"))
                .help(match repository_hint(repository) {
                    Some(fixed) => format!("write `repository: {fixed}`"),
                    None => "write it as `owner/name`, e.g. `octo-org/sam-app`".to_owned(),
                }),
        );
    }
    check_ids(out, github.owner_id, github.repository_id, &path);
}

/// Why `repository` is not `owner/name`. GitHub owners are letters, digits and single inner
/// hyphens, at most 39 characters; repository names are `[A-Za-z0-9._-]`, at most 100
/// characters, and not `.` or `..`.
fn repository_problem(repository: &str) -> Option<String> {
    let Some((owner, name)) = repository.split_once('/') else {
        return Some("it has no `/` between owner and name".into());
    };
    if name.contains('/') {
        return Some("it has more than one `/`".into());
    }
    if owner.is_empty() || owner.len() > 39 {
        return Some(format!(
            "the owner must have 1 to 39 characters, not {}",
            owner.len()
        ));
    }
    if !owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        || owner.starts_with('-')
        || owner.ends_with('-')
        || owner.contains("--")
    {
        return Some(format!(
            "the owner `{owner}` may only have letters, digits and single inner `-`"
        ));
    }
    if name.is_empty() || name.len() > 100 {
        return Some(format!(
            "the name must have 1 to 100 characters, not {}",
            name.len()
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some(format!(
            "the name `{name}` may only have letters, digits, `.`, `_` and `-`"
        ));
    }
    if name == "." || name == ".." {
        return Some(format!("`{name}` is not a repository name"));
    }
    if name.ends_with(".git") {
        return Some("the name ends with `.git`".into());
    }
    None
}

/// `owner/name` recovered from a URL or a clone address, when that is what was written.
fn repository_hint(repository: &str) -> Option<String> {
    let trimmed = repository
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("git@")
        .trim_start_matches("www.")
        .trim_start_matches("github.com")
        .trim_start_matches([':', '/'])
        .trim_end_matches('/')
        .trim_end_matches(".git");
    (trimmed != repository && repository_problem(trimmed).is_none()).then(|| trimmed.to_owned())
}

fn check_ids(
    out: &mut Vec<Diagnostic>,
    owner_id: Option<u64>,
    repository_id: Option<u64>,
    path: &ConfigPath,
) {
    for (key, id) in [("owner_id", owner_id), ("repository_id", repository_id)] {
        if id == Some(0) {
            out.push(
                Diagnostic::error("invalid-id", format!("`{key}` must be a positive number"))
                    .at(path.key(key))
                    .help("copy it from `gh api repos/OWNER/NAME --jq '.owner.id, .id'`"),
            );
        }
    }
    if owner_id.is_some() != repository_id.is_some() {
        let (given, missing) = if owner_id.is_some() {
            ("owner_id", "repository_id")
        } else {
            ("repository_id", "owner_id")
        };
        out.push(
            Diagnostic::error("incomplete-immutable-ids", format!("`{given}` is set but `{missing}` is not"))
                .at_key(path.key(given))
                .help(format!(
                    "GitHub's immutable subject names both ids; add `{missing}` (from `gh api repos/OWNER/NAME --jq '.owner.id, .id'`) or remove `{given}`"
                )),
        );
    }
}

/// Why `branch` is not a branch name sampipe accepts: the rules of
/// `git check-ref-format --branch`, and only characters that can reach neither a shell nor a
/// GitHub expression nor an IAM wildcard.
pub(crate) fn branch_problem(branch: &str) -> Option<String> {
    const GIT_FORBIDS: &[char] = &['~', '^', ':', '?', '*', '[', '\\'];
    if branch.is_empty() {
        return Some("it is empty".into());
    }
    if branch.len() > 255 {
        return Some(format!(
            "it has {} characters; at most 255 are allowed",
            branch.len()
        ));
    }
    // What could be code somewhere is named first: it is the most important thing to fix.
    if let Some(c) = branch.chars().find(|c| SHELL_OR_EXPRESSION.contains(c)) {
        return Some(format!(
            "sampipe does not allow `{c}`, so that a branch name never reaches a shell or a GitHub expression as code"
        ));
    }
    if let Some(c) = branch.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(match c {
            ' ' => "git does not allow spaces".into(),
            _ => format!("git does not allow the character U+{:04X}", u32::from(c)),
        });
    }
    if let Some(c) = branch.chars().find(|c| GIT_FORBIDS.contains(c)) {
        return Some(format!("git does not allow `{c}`"));
    }
    if branch.contains("@{") || branch == "@" {
        return Some("git does not allow `@{` or a lone `@`".into());
    }
    if let Some(c) = branch
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-')))
    {
        return Some(format!(
            "sampipe allows only ASCII letters, digits, `.`, `_`, `/` and `-`, not `{c}`"
        ));
    }
    if branch == "HEAD" {
        return Some("`HEAD` names the current commit, not a branch".into());
    }
    if branch.starts_with('-') {
        return Some("it must not start with `-`".into());
    }
    if branch.starts_with('/') || branch.ends_with('/') || branch.contains("//") {
        return Some("`/` separates components: not at either end, and not twice in a row".into());
    }
    if branch.ends_with('.') {
        return Some("it must not end with `.`".into());
    }
    if branch.contains("..") {
        return Some("git does not allow `..`".into());
    }
    if branch.split('/').any(|c| c.starts_with('.')) {
        return Some("no component may start with `.`".into());
    }
    if branch.split('/').any(|c| c.ends_with(".lock")) {
        return Some("no component may end with `.lock`".into());
    }
    None
}

fn check_branch(out: &mut Vec<Diagnostic>, branch: &str, path: ConfigPath) {
    if let Some(problem) = branch_problem(branch) {
        out.push(
            Diagnostic::error(
                "invalid-branch",
                format!("branch `{branch}` is not allowed: {problem}"),
            )
            .at(path)
            .help("give the repository's default branch, e.g. `main`"),
        );
    }
}

/// Characters that mean something to a shell or in a GitHub expression.
const SHELL_OR_EXPRESSION: &[char] = &[
    '$', '`', '\'', '"', ';', '&', '|', '(', ')', '<', '>', '{', '}', '!', '#', '%',
];

/// `feature_branches`: a pattern whose only wildcard is `*` (or `**`), whose fixed parts are
/// valid in a branch name, and which does not match the deployment branch.
fn check_feature_glob(out: &mut Vec<Diagnostic>, glob: &str, branch: &str, path: ConfigPath) {
    let help = "write a prefix pattern such as `feature*` or `feature/**`";
    let problem = if let Some(c) = glob
        .chars()
        .find(|c| matches!(c, '?' | '[' | ']' | '!' | '+'))
    {
        Some(format!(
            "feature branch pattern `{glob}` uses `{c}`; sampipe supports only `*` and `**`"
        ))
    } else if !glob.contains('*') {
        Some(format!("feature branch pattern `{glob}` has no `*`"))
    } else if glob.contains("***") {
        Some(format!(
            "feature branch pattern `{glob}` has `***`; use `*` or `**`"
        ))
    } else {
        branch_problem(&glob.replace('*', "x"))
            .map(|problem| format!("feature branch pattern `{glob}` is not allowed: {problem}"))
    };
    if let Some(message) = problem {
        out.push(
            Diagnostic::error("invalid-feature-glob", message)
                .at(path)
                .help(help),
        );
    } else if glob_matches(glob, branch) {
        out.push(
            Diagnostic::error("feature-glob-matches-branch", format!("feature branch pattern `{glob}` also matches the deployment branch `{branch}`"))
                .at(path)
                .help("pushes to the deployment branch would also deploy a feature stack; use a narrower pattern such as `feature*`"),
        );
    }
}

/// `*` matches any run of characters (including `/`, as in IAM's StringLike).
pub(crate) fn glob_matches(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

fn check_relative_path(out: &mut Vec<Diagnostic>, value: &str, path: ConfigPath) {
    let bad = value.is_empty()
        || value.starts_with('/')
        || value.split('/').any(|part| part == "..")
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if bad {
        out.push(
            Diagnostic::error("invalid-path", format!("`{value}` is not a relative path inside the repository"))
                .at(path)
                .help("use a path relative to the repository root made of letters, digits, `.`, `_`, `-` and `/`"),
        );
    }
}

fn check_workflow_path(out: &mut Vec<Diagnostic>, workflow_path: &str) {
    if !workflow_path.starts_with(".github/workflows/")
        || !(workflow_path.ends_with(".yaml") || workflow_path.ends_with(".yml"))
        || workflow_path.matches('/').count() != 2
    {
        out.push(
            Diagnostic::error("invalid-workflow-path", format!("workflow path `{workflow_path}` is not a GitHub workflow file"))
                .at(ConfigPath::root().key("workflow_path"))
                .help("GitHub only runs workflows stored directly in `.github/workflows/`, e.g. `.github/workflows/pipeline.yaml`"),
        );
    }
}

/// The list as a whole: not empty, not too long, and no name used twice. Two stages may share
/// a GitHub environment: that is one set of approvers for both.
fn check_stage_list(out: &mut Vec<Diagnostic>, stages: &[Stage]) {
    let path = ConfigPath::root().key("stages");
    if stages.is_empty() {
        out.push(
            Diagnostic::error("no-stages", "the config has no stages")
                .at_key(path.clone())
                .help("add at least one stage with `name`, `account` and `region`"),
        );
    }
    if stages.len() > MAX_STAGES {
        out.push(
            Diagnostic::error(
                "too-many-stages",
                format!(
                    "the config has {} stages; at most {MAX_STAGES} fit in one template",
                    stages.len()
                ),
            )
            .at_key(path.clone())
            .help("split the stages over several sampipe configs"),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, stage) in stages.iter().enumerate() {
        if let Some(first) = seen.insert(stage.name.as_str(), index) {
            // Keep pointing later duplicates at the first use.
            seen.insert(stage.name.as_str(), first);
            out.push(
                Diagnostic::error(
                    "duplicate-stage",
                    format!("stage name `{}` is used twice", stage.name),
                )
                .at(path.index(index).key("name"))
                .label(format!("also the name of stages[{first}]"))
                .help("stage names must be unique; rename one of them"),
            );
        }
    }
}

/// With feature branches, the jobs `deploy-feature` and `delete-feature` exist; a stage named
/// `feature` would give its deploy job the same id.
fn check_feature_stage_name(out: &mut Vec<Diagnostic>, config: &Config) {
    if config.feature_branches.is_none() {
        return;
    }
    for (index, stage) in config.stages.iter().enumerate() {
        if stage.name == "feature" {
            out.push(
                Diagnostic::error("reserved-stage-name", "stage name `feature` is taken by the feature-branch jobs")
                    .at(ConfigPath::root().key("stages").index(index).key("name"))
                    .label("its deploy job would be `deploy-feature`, the job that deploys feature branches")
                    .help("rename the stage, e.g. `features` or `preview`"),
            );
        }
    }
}

fn check_stage(out: &mut Vec<Diagnostic>, stage: &Stage, path: &ConfigPath) {
    check_name(out, &stage.name, path.key("name"), "stage");
    check_account(out, &stage.account, path.key("account"));
    check_region(out, &stage.region, path.key("region"));
    if let Some(stack) = &stage.stack_name {
        check_stack_name(out, stack, path.key("stack_name"));
    }
    if let Some(environment) = &stage.environment {
        check_environment(out, environment, path.key("environment"));
    }
    for (i, entry) in stage.parameter_overrides.iter().enumerate() {
        check_parameter_override(out, entry, path.key("parameter_overrides").index(i));
    }
    check_existing(out, stage, path);
}

/// The checks of a stage's name, account and region, with the config validator's rules and
/// messages, for a stage given outside a config (`sampipe init --stage`). The diagnostics
/// are not located; warnings (an unlisted region) are among them.
pub(crate) fn stage_problems(name: &str, account: &str, region: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_name(&mut out, name, ConfigPath::root(), "stage");
    check_account(
        &mut out,
        &AccountId::Quoted(account.to_owned()),
        ConfigPath::root(),
    );
    check_region(&mut out, region, ConfigPath::root());
    out
}

fn account_id(account: &AccountId) -> Option<&str> {
    match account {
        AccountId::Quoted(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => {
            Some(id)
        }
        _ => None,
    }
}

fn check_account(out: &mut Vec<Diagnostic>, account: &AccountId, path: ConfigPath) {
    match account {
        AccountId::Quoted(_) if account_id(account).is_some() => {}
        AccountId::Quoted(id) => {
            let digits = id.chars().filter(char::is_ascii_digit).count();
            let problem = if id.is_empty() {
                "it is empty".to_owned()
            } else if digits == id.chars().count() {
                format!("it has {digits} digits, not 12")
            } else {
                "it must be 12 digits and nothing else".to_owned()
            };
            out.push(
                Diagnostic::error(
                    "invalid-account",
                    format!("account `{id}` is not an AWS account id: {problem}"),
                )
                .at(path)
                .help("copy it from `aws sts get-caller-identity --query Account --output text`"),
            );
        }
        AccountId::Unquoted(n) => out.push(
            Diagnostic::error(
                "unquoted-account",
                format!("account `{n}` must be a quoted string"),
            )
            .at(path)
            .label("YAML reads this as a number, and a number loses its leading zeros")
            .help(format!("write it in quotes: `account: \"{n:012}\"`")),
        ),
    }
}

fn check_region(out: &mut Vec<Diagnostic>, region: &str, path: ConfigPath) {
    let suggestion = region::closest(region);
    match region::classify(region) {
        Region::Known { .. } => {}
        Region::Unlisted { partition } => {
            let mut d = Diagnostic::warning(
                "unknown-region",
                format!("`{region}` is not a region sampipe knows"),
            )
            .at(path)
            .label(format!(
                "taken to be in partition `{partition}` from its name"
            ));
            d.help = Some(match suggestion {
                Some(close) => format!(
                    "did you mean `{close}`? if `{region}` is a new region, ignore this warning"
                ),
                None => format!("if `{region}` is a new region, ignore this warning"),
            });
            out.push(d);
        }
        Region::Invalid => {
            let mut d =
                Diagnostic::error("invalid-region", format!("`{region}` is not an AWS region"))
                    .at(path);
            let zone = region.trim_end_matches(|c: char| c.is_ascii_lowercase());
            if zone != region && region::classify(zone) != Region::Invalid {
                d.label = Some("this is an availability zone".into());
            }
            d.help = Some(match suggestion {
                Some(close) => format!("did you mean `{close}`?"),
                None => "use a region code such as `us-east-1`, `eu-west-3` or `cn-north-1`".into(),
            });
            out.push(d);
        }
    }
}

pub(crate) fn is_stack_name(name: &str) -> bool {
    name.len() <= names::STACK_NAME_MAX
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_stack_name(out: &mut Vec<Diagnostic>, stack: &str, path: ConfigPath) {
    if !is_stack_name(stack) {
        out.push(
            Diagnostic::error("invalid-stack-name", format!("stack name `{stack}` is not allowed"))
                .at(path)
                .help("CloudFormation stack names match `[A-Za-z][-A-Za-z0-9]*` and have at most 128 characters"),
        );
    }
}

/// GitHub environment names: at most 255 characters. sampipe also keeps them to characters
/// that are neither IAM wildcards (`*`, `?`) nor expression syntax, since the name is part of
/// the OIDC subject the trust policy matches.
fn check_environment(out: &mut Vec<Diagnostic>, env: &str, path: ConfigPath) {
    let ok = !env.is_empty()
        && env.len() <= 255
        && env.trim() == env
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '));
    if !ok {
        out.push(
            Diagnostic::error(
                "invalid-environment",
                format!("environment name `{env}` is not allowed"),
            )
            .at(path)
            .help("use letters, digits, `.`, `_`, `-` and inner spaces, e.g. `production`"),
        );
    }
}

fn check_parameter_override(out: &mut Vec<Diagnostic>, entry: &str, path: ConfigPath) {
    // Any value: it reaches `sam deploy` byte for byte through a JSON file
    // (`pipeline::scripts::parameter_overrides_json`). The name is a CloudFormation
    // parameter's logical id, which is alphanumeric.
    let ok = entry
        .split_once('=')
        .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()));
    if !ok {
        out.push(
            Diagnostic::error("invalid-parameter-override", format!("parameter override `{entry}` is not `Key=Value`"))
                .at(path)
                .help("write `Name=value`: the template parameter's name (letters and digits), `=`, then any value"),
        );
    }
}

/// The partition and account of a stage, when both are valid.
fn stage_home(stage: &Stage) -> Option<(&'static str, &str)> {
    Some((
        region_partition(&stage.region)?,
        account_id(&stage.account)?,
    ))
}

fn check_existing(out: &mut Vec<Diagnostic>, stage: &Stage, path: &ConfigPath) {
    let existing = &stage.existing;
    let epath = path.key("existing");
    if let Some(bucket) = &existing.artifacts_bucket {
        if let Some(problem) = bucket_name_problem(bucket) {
            out.push(
                Diagnostic::error(
                    "invalid-bucket-name",
                    format!("bucket name `{bucket}` is not valid: {problem}"),
                )
                .at(epath.key("artifacts_bucket"))
                .help("give the bucket's name, not its ARN or URL"),
            );
        }
    }
    if let Some(arn) = &existing.cloudformation_execution_role {
        check_existing_role(out, arn, stage, epath.key("cloudformation_execution_role"));
    }
    if let Some(uri) = &existing.image_repository {
        check_existing_image_repository(out, uri, stage, epath.key("image_repository"));
        if stage.image_repository {
            out.push(
                Diagnostic::error("conflicting-image-repository", format!("stage `{}` both creates and reuses an image repository", stage.name))
                    .at_key(path.key("image_repository"))
                    .help("remove `image_repository: true` to reuse the existing one, or remove `existing.image_repository` to create one"),
            );
        }
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, split into partition, account and name.
fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, "iam", "", account, resource] = parts.as_slice() else {
        return None;
    };
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let iam_chars = |s: &str| {
        s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
        })
    };
    let ok = *arn_ == "arn"
        && partition.starts_with("aws")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=64).contains(&name.len())
        && path_and_name
            .split('/')
            .all(|p| !p.is_empty() && iam_chars(p));
    ok.then_some((partition, account, name))
}

fn check_existing_role(out: &mut Vec<Diagnostic>, arn: &str, stage: &Stage, path: ConfigPath) {
    let Some((partition, account, _)) = parse_role_arn(arn) else {
        out.push(
            Diagnostic::error(
                "invalid-role-arn",
                format!("`{arn}` is not an IAM role ARN"),
            )
            .at(path)
            .help("write `arn:aws:iam::111111111111:role/NAME`"),
        );
        return;
    };
    let Some((stage_partition, stage_account)) = stage_home(stage) else {
        return;
    };
    if account != stage_account {
        out.push(
            Diagnostic::error(
                "role-in-other-account",
                format!("role `{arn}` is in account `{account}`, but stage `{}` deploys to account `{stage_account}`", stage.name),
            )
            .at(path)
            .help("CloudFormation only assumes an execution role of the stack's own account: give a role in the stage's account"),
        );
    } else if partition != stage_partition {
        out.push(
            Diagnostic::error(
                "role-in-other-partition",
                format!("role `{arn}` is in partition `{partition}`, but stage `{}` is in `{stage_partition}` (region `{}`)", stage.name, stage.region),
            )
            .at(path)
            .help(format!("write the ARN as `arn:{stage_partition}:iam::{stage_account}:role/...`")),
        );
    }
}

/// ECR repository names: lowercase words joined by `.`, `_`, `-` or `/`, 2 to 256 characters.
fn is_repository_name(name: &str) -> bool {
    (2..=names::REPOSITORY_NAME_MAX).contains(&name.len())
        && name.split('/').all(|component| {
            !component.is_empty()
                && component.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

fn check_existing_image_repository(
    out: &mut Vec<Diagnostic>,
    uri: &str,
    stage: &Stage,
    path: ConfigPath,
) {
    let parsed = uri.split_once('/').and_then(|(host, name)| {
        let labels: Vec<&str> = host.splitn(5, '.').collect();
        match labels.as_slice() {
            [account, "dkr", "ecr", region, suffix]
                if account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && is_repository_name(name) =>
            {
                Some((*account, *region, *suffix))
            }
            _ => None,
        }
    });
    let Some((account, region, suffix)) = parsed else {
        out.push(
            Diagnostic::error("invalid-image-repository", format!("`{uri}` is not an ECR repository URI"))
                .at(path)
                .help("write `111111111111.dkr.ecr.us-east-1.amazonaws.com/NAME`, with a lowercase repository name"),
        );
        return;
    };
    let Some((partition, stage_account)) = stage_home(stage) else {
        return;
    };
    let expected = format!(
        "{stage_account}.dkr.ecr.{}.{}",
        stage.region,
        region::dns_suffix(partition)
    );
    if (account, region, suffix)
        != (
            stage_account,
            stage.region.as_str(),
            region::dns_suffix(partition),
        )
    {
        out.push(
            Diagnostic::error(
                "image-repository-elsewhere",
                format!(
                    "image repository `{uri}` is not in stage `{}`'s account and region",
                    stage.name
                ),
            )
            .at(path)
            .label(format!("expected a repository under `{expected}/`"))
            .help("sam deploy pushes images to a repository in the stage's own account and region"),
        );
    }
}

/// S3 general-purpose bucket naming rules.
pub(crate) fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("it must have 3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Some("only lowercase letters, digits, `.` and `-` are allowed");
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return Some("it must start and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("it must not contain `..`");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("it must not look like an IP address");
    }
    if RESERVED_BUCKET_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Some("S3 reserves its prefix");
    }
    if RESERVED_BUCKET_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return Some("S3 reserves its suffix");
    }
    None
}

/// Physical names derived from app, stage, account and region, against AWS limits. Stages
/// whose account or region is invalid are skipped: that is reported already, and a name
/// built from it would be misleading.
fn check_name_lengths(out: &mut Vec<Diagnostic>, config: &Config) {
    let stages: Vec<(usize, names::StageInput<'_>)> = config
        .stages
        .iter()
        .enumerate()
        .filter_map(|(index, stage)| {
            let (_, account) = stage_home(stage)?;
            let existing = &stage.existing;
            let creates = names::Creates {
                buckets: existing.artifacts_bucket.is_none(),
                cfn_role: existing.cloudformation_execution_role.is_none(),
                image_repository: stage.image_repository && existing.image_repository.is_none(),
            };
            Some((
                index,
                names::StageInput {
                    name: &stage.name,
                    account,
                    region: &stage.region,
                    creates,
                },
            ))
        })
        .collect();
    out.extend(names::check_lengths(&config.app, &stages));
}

/// Two stages that deploy the same stack in the same account and region would overwrite each
/// other, and a stage stack named like a feature stack would be deleted with a branch.
fn check_stack_collisions(out: &mut Vec<Diagnostic>, config: &Config) {
    let mut seen: HashMap<(String, &str, &str), (usize, &'static str)> = HashMap::new();
    for (index, stage) in config.stages.iter().enumerate() {
        let Some((_, account)) = stage_home(stage) else {
            continue;
        };
        let derived = names::StageNames::new(&config.app, &stage.name, account, &stage.region);
        let application = stage.stack_name.clone().unwrap_or(derived.stack);
        for (stack, what) in [
            (application, "application stack"),
            (derived.resources_stack, "pipeline resources stack"),
        ] {
            let key = (stack.clone(), account, stage.region.as_str());
            match seen.get(&key) {
                Some(&(first, first_what)) => {
                    let first_name = &config.stages[first].name;
                    out.push(
                        Diagnostic::error(
                            "duplicate-stack",
                            format!("stages `{first_name}` and `{}` both deploy the stack `{stack}` in account `{account}`, region `{}`", stage.name, stage.region),
                        )
                        .at(stack_path(stage, index))
                        .label(if what == first_what {
                            format!("also the {what} of `{first_name}`")
                        } else {
                            format!("also the name of the {first_what} of `{first_name}`")
                        })
                        .help("give one of them another `stack_name`"),
                    );
                }
                None => {
                    seen.insert(key, (index, what));
                }
            }
        }
    }
    let (Some(_), Some(first)) = (&config.feature_branches, config.stages.first()) else {
        return;
    };
    let prefix = names::feature_stack_prefix(&config.app);
    for (index, stage) in config.stages.iter().enumerate() {
        let same_place = stage_home(stage).is_some()
            && stage_home(stage) == stage_home(first)
            && stage.region == first.region;
        let stack = stage
            .stack_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", config.app, stage.name));
        if same_place && stack.starts_with(&prefix) {
            out.push(
                Diagnostic::error(
                    "stack-named-like-feature",
                    format!("stack `{stack}` of stage `{}` is named like a feature branch's stack", stage.name),
                )
                .at(stack_path(stage, index))
                .label(format!("feature stacks are `{prefix}<branch>` in the first stage's account and region"))
                .help("deleting a feature branch deletes its stack; rename this stack (or the stage) so that it does not start with the feature prefix"),
            );
        }
    }
}

/// Where a stage's stack name comes from: `stack_name`, or else the stage's `name`.
fn stack_path(stage: &Stage, index: usize) -> ConfigPath {
    let path = ConfigPath::root().key("stages").index(index);
    if stage.stack_name.is_some() {
        path.key("stack_name")
    } else {
        path.key("name")
    }
}

fn check_workflow_settings(out: &mut Vec<Diagnostic>, config: &Config) {
    let settings = &config.workflow;
    let path = ConfigPath::root().key("workflow");
    let safe_label = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if !safe_label(&settings.runs_on) {
        out.push(
            Diagnostic::error(
                "invalid-runner",
                format!("runner label `{}` is not allowed", settings.runs_on),
            )
            .at(path.key("runs_on"))
            .help("use a runner label such as `ubuntu-24.04`"),
        );
    }
    if settings.name.is_empty()
        || settings.name.contains("${{")
        || settings.name.chars().any(char::is_control)
    {
        out.push(
            Diagnostic::error(
                "invalid-workflow-name",
                "the workflow name must be plain text",
            )
            .at(path.key("name"))
            .help("use a short name such as `Pipeline`"),
        );
    }
    for key in ["unit_test_command", "integration_test_command"] {
        let value = if key == "unit_test_command" {
            &settings.unit_test_command
        } else {
            &settings.integration_test_command
        };
        if let Some(command) = value {
            if command.contains("${{") {
                out.push(
                    Diagnostic::error("expression-in-script", format!("`{key}` contains a GitHub expression"))
                        .at(path.key(key))
                        .label("`${{ }}` would be expanded into the shell script before it runs")
                        .help("read the value from an environment variable instead, e.g. `$GITHUB_REF_NAME`"),
                );
            } else if command.trim().is_empty() {
                out.push(
                    Diagnostic::error("empty-command", format!("`{key}` is empty"))
                        .at(path.key(key))
                        .help("give the command to run, or remove the key"),
                );
            }
        }
    }
    if let Some(version) = &settings.sam_cli_version {
        let parts: Vec<&str> = version.split('.').collect();
        if parts.len() != 3
            || !parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            out.push(
                Diagnostic::error(
                    "invalid-sam-version",
                    format!("SAM CLI version `{version}` is not `MAJOR.MINOR.PATCH`"),
                )
                .at(path.key("sam_cli_version"))
                .help("write an exact release such as `1.170.0`"),
            );
        }
    }
    if !(1..=360).contains(&settings.timeout_minutes) {
        out.push(
            Diagnostic::error(
                "invalid-timeout",
                format!(
                    "timeout of `{}` minutes is out of range",
                    settings.timeout_minutes
                ),
            )
            .at(path.key("timeout_minutes"))
            .help("GitHub allows 1 to 360 minutes per job"),
        );
    }
    for (i, capability) in settings.capabilities.iter().enumerate() {
        if !CAPABILITIES.contains(&capability.as_str()) {
            let mut d = Diagnostic::error(
                "invalid-capability",
                format!("`{capability}` is not a CloudFormation capability"),
            )
            .at(path.key("capabilities").index(i));
            d.help = Some(match did_you_mean(capability, CAPABILITIES) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("use {}", CAPABILITIES.map(|c| format!("`{c}`")).join(", ")),
            });
            out.push(d);
        }
    }
    for (repo, pin) in &settings.actions {
        let pin_path = path.key("actions").key(repo);
        if pin.sha.len() != 40
            || !pin
                .sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            out.push(
                Diagnostic::error("invalid-pin", format!("pin for `{repo}` is not a full commit SHA"))
                    .at(pin_path.key("sha"))
                    .help("pin actions to the 40-character lowercase commit SHA of a release (tags can be moved)"),
            );
        }
        if pin.version.is_empty()
            || !pin
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        {
            out.push(
                Diagnostic::error(
                    "invalid-pin",
                    format!(
                        "version of the pin for `{repo}` must be a release name such as `v7.0.1`"
                    ),
                )
                .at(pin_path.key("version"))
                .help("the version is written as a comment next to the SHA for reviewers"),
            );
        }
    }
}

const CAPABILITIES: [&str; 3] = [
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
];

fn check_execution_role(out: &mut Vec<Diagnostic>, config: &Config) {
    let path = ConfigPath::root().key("cloudformation_execution_role");
    let role = &config.cloudformation_execution_role;
    for (i, arn) in role.managed_policy_arns.iter().enumerate() {
        check_policy_arn(out, arn, config, path.key("managed_policy_arns").index(i));
    }
    if let Some(arn) = &role.permissions_boundary {
        check_policy_arn(out, arn, config, path.key("permissions_boundary"));
    }
}

/// A managed policy ARN for the role every stage creates from the one template: its partition
/// and account must hold for every stage, so literal ones must match them all.
fn check_policy_arn(out: &mut Vec<Diagnostic>, arn: &str, config: &Config, path: ConfigPath) {
    // The two substitutions the template's `!Sub` makes; their `::` is not a separator.
    const PARTITION: &str = "${AWS::Partition}";
    const ACCOUNT: &str = "${AWS::AccountId}";
    let normalized = arn
        .replace(PARTITION, "{partition}")
        .replace(ACCOUNT, "{account}");
    let parts: Vec<&str> = normalized.splitn(6, ':').collect();
    let parsed = match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => resource
            .strip_prefix("policy/")
            .filter(|name| {
                !name.is_empty()
                    && name.split('/').all(|p| {
                        !p.is_empty()
                            && p.chars().all(|c| {
                                c.is_ascii_alphanumeric()
                                    || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
                            })
                    })
            })
            .map(|_| (*partition, *account)),
        _ => None,
    };
    let valid = parsed.filter(|(partition, account)| {
        (*partition == "{partition}" || region::is_partition(partition))
            && (*account == "aws"
                || *account == "{account}"
                || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
    });
    let Some((partition, account)) = valid else {
        out.push(
            Diagnostic::error("invalid-policy-arn", format!("`{arn}` is not an IAM managed policy ARN"))
                .at(path)
                .help("write `arn:${AWS::Partition}:iam::aws:policy/NAME` or `arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/NAME`"),
        );
        return;
    };
    for stage in &config.stages {
        let Some((stage_partition, stage_account)) = stage_home(stage) else {
            continue;
        };
        if partition != "{partition}" && partition != stage_partition {
            out.push(
                Diagnostic::error("policy-in-other-partition", format!("policy `{arn}` is in partition `{partition}`, but stage `{}` is in `{stage_partition}`", stage.name))
                    .at(path)
                    .help("write `arn:${AWS::Partition}:iam::...` so the ARN fits every stage"),
            );
            return;
        }
        if account.len() == 12 && account != stage_account {
            out.push(
                Diagnostic::error("policy-in-other-account", format!("policy `{arn}` is in account `{account}`, but stage `{}` deploys to account `{stage_account}`", stage.name))
                    .at(path)
                    .help("a role can only use AWS managed policies and its own account's: write `${AWS::AccountId}` instead of the account"),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics_match_iam_string_like() {
        assert!(glob_matches("feature*", "feature"));
        assert!(glob_matches("feature*", "feature/x/y"));
        assert!(glob_matches("*-fix", "a-fix"));
        assert!(glob_matches("a*b*c", "aXbYc"));
        assert!(!glob_matches("a*b*c", "aXcYb"));
        assert!(!glob_matches("feature*", "main"));
        assert!(glob_matches("*", "main"));
    }

    #[test]
    fn branch_rules_follow_git_check_ref_format() {
        for ok in ["main", "release/1.2", "no", "on", "2024", "v1.0-rc_1"] {
            assert_eq!(branch_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "x.lock",
            "a/x.lock/b",
            "-x",
            "a b",
            "$(id)",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            "a@{1}",
            "@",
            "HEAD",
            "/a",
            "a/",
            "a//b",
            "a.",
            "a/.b",
            ".a",
            "${{ github.token }}",
            "a'b",
            "a;b",
            "a`b",
            "ünï",
        ] {
            assert!(branch_problem(bad).is_some(), "{bad:?}");
        }
        assert!(branch_problem(&"a".repeat(256)).is_some());
    }

    #[test]
    fn bucket_rules() {
        assert_eq!(bucket_name_problem("sam-app-dev-artifacts"), None);
        for bad in [
            "ab",
            "Upper",
            "a..b",
            "192.168.1.1",
            "sthree-x",
            "xn--abc",
            "x-s3alias",
            "b--x-s3",
        ] {
            assert!(bucket_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn repositories() {
        assert_eq!(repository_problem("octo-org/sam-app"), None);
        assert_eq!(repository_problem("a/b.c_d-e"), None);
        for bad in [
            "octo", "o/r/x", "-o/r", "o--o/r", "o_o/r", "o/", "o/..", "o/r.git", "o/r s",
        ] {
            assert!(repository_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(
            repository_hint("https://github.com/octo-org/sam-app.git").as_deref(),
            Some("octo-org/sam-app")
        );
        assert_eq!(
            repository_hint("git@github.com:octo-org/sam-app.git").as_deref(),
            Some("octo-org/sam-app")
        );
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/path/deployer"),
            Some(("aws", "111111111111", "deployer"))
        );
        for bad in [
            "arn:aws:iam::111111111111:role/",
            "arn:aws:iam::11111111111:role/x",
            "arn:aws:iam::111111111111:user/x",
            "arn:aws:iam::111111111111:role/${{ x }}",
            "arn:aws:iam::111111111111:role/a b",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn policy_arns() {
        let config: Config = serde_yaml::from_str(
            "version: 1\napp: a\nsource: {github: {repository: o/r}}\nstages: [{name: dev, account: '111111111111', region: cn-north-1}]\n",
        )
        .expect("config");
        let check = |arn: &str| {
            let mut out = Vec::new();
            check_policy_arn(&mut out, arn, &config, ConfigPath::root());
            out.first().map(|d| d.code)
        };
        assert_eq!(
            check("arn:${AWS::Partition}:iam::aws:policy/AWSLambda_FullAccess"),
            None
        );
        assert_eq!(
            check("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/a/b"),
            None
        );
        assert_eq!(check("arn:aws-cn:iam::111111111111:policy/x"), None);
        assert_eq!(
            check("arn:aws:iam::aws:policy/x"),
            Some("policy-in-other-partition")
        );
        assert_eq!(
            check("arn:aws-cn:iam::222222222222:policy/x"),
            Some("policy-in-other-account")
        );
        assert_eq!(
            check("arn:aws:iam::aws:policy/${{ x }}"),
            Some("invalid-policy-arn")
        );
        assert_eq!(
            check("arn:${AWS::Region}:iam::aws:policy/x"),
            Some("invalid-policy-arn")
        );
    }

    #[test]
    fn names_and_suggestions() {
        assert!(is_name("sam-app2"));
        for bad in ["", "Sam", "1app", "app-", "a--b", "a_b"] {
            assert!(!is_name(bad), "{bad}");
        }
        assert_eq!(suggest_name("My_App"), "my-app");
        assert_eq!(suggest_name("2-fast"), "fast");
        assert!(is_repository_name("team/app.v2"));
        assert!(!is_repository_name("Team/app"));
        assert!(!is_repository_name("a//b"));
    }
}
