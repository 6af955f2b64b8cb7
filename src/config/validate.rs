//! Checks on a parsed config that serde cannot express: name rules, formats, and how fields
//! relate. Every problem is collected, so one run reports them all.

use std::collections::HashMap;

use super::model::{AccountId, Config, Stage};
use crate::diag::{ConfigPath, Diagnostic};

pub use super::region::region_partition;

/// Lists every problem in `config`, in document order.
pub fn validate(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let root = ConfigPath::root();

    if config.version != 1 {
        out.push(
            Diagnostic::error(
                "unsupported-version",
                format!("config version `{}` is not supported", config.version),
            )
            .at(root.key("version"))
            .help("this sampipe reads `version: 1`"),
        );
    }
    check_name(&mut out, &config.app, root.key("app"), "app");
    check_repository(&mut out, config);
    check_branch(&mut out, &config.branch, root.key("branch"));
    if let Some(glob) = &config.feature_branches {
        check_feature_glob(&mut out, glob, &config.branch, root.key("feature_branches"));
    }
    check_relative_path(&mut out, &config.sam_template, root.key("sam_template"));
    check_relative_path(&mut out, &config.workflow_path, root.key("workflow_path"));
    if !config.workflow_path.starts_with(".github/workflows/")
        || !(config.workflow_path.ends_with(".yaml") || config.workflow_path.ends_with(".yml"))
        || config.workflow_path.matches('/').count() != 2
    {
        out.push(
            Diagnostic::error("invalid-workflow-path", format!("workflow path `{}` is not a GitHub workflow file", config.workflow_path))
                .at(root.key("workflow_path"))
                .help("GitHub only runs workflows stored directly in `.github/workflows/`, e.g. `.github/workflows/pipeline.yaml`"),
        );
    }

    if config.stages.is_empty() {
        out.push(
            Diagnostic::error("no-stages", "the config has no stages")
                .at(root.key("stages"))
                .help("add at least one stage with `name`, `account` and `region`"),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, stage) in config.stages.iter().enumerate() {
        let path = root.key("stages").index(index);
        check_stage(&mut out, stage, &path);
        if let Some(first) = seen.insert(stage.name.as_str(), index) {
            out.push(
                Diagnostic::error(
                    "duplicate-stage",
                    format!("stage name `{}` is used twice", stage.name),
                )
                .at(path.key("name"))
                .label(format!("also the name of stages[{first}]"))
                .help("stage names must be unique; rename one of them"),
            );
        }
    }
    check_workflow_settings(&mut out, config);
    for (i, arn) in config
        .cloudformation_execution_role
        .managed_policy_arns
        .iter()
        .enumerate()
    {
        check_policy_arn(
            &mut out,
            arn,
            root.key("cloudformation_execution_role")
                .key("managed_policy_arns")
                .index(i),
        );
    }
    if let Some(arn) = &config.cloudformation_execution_role.permissions_boundary {
        check_policy_arn(
            &mut out,
            arn,
            root.key("cloudformation_execution_role")
                .key("permissions_boundary"),
        );
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn check_name(out: &mut Vec<Diagnostic>, name: &str, path: ConfigPath, what: &str) {
    if !is_name(name) {
        out.push(
            Diagnostic::error("invalid-name", format!("{what} name `{name}` is not allowed"))
                .at(path)
                .label("expected `[a-z][a-z0-9-]*`")
                .help(format!(
                    "{what} names become part of IAM, S3 and CloudFormation names: use lowercase letters, digits and single `-`, starting with a letter, e.g. `{}`",
                    suggest_name(name)
                )),
        );
    }
}

fn suggest_name(name: &str) -> String {
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
        .trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if s.is_empty() {
        "sam-app".into()
    } else {
        s.to_owned()
    }
}

fn check_repository(out: &mut Vec<Diagnostic>, config: &Config) {
    let github = &config.source.github;
    let path = ConfigPath::root().key("source").key("github");
    let valid = github
        .repository
        .split_once('/')
        .is_some_and(|(owner, name)| {
            // GitHub: owners are alphanumeric with single inner hyphens, 39 characters at most;
            // repository names are [A-Za-z0-9._-], 100 at most, and not `.` or `..`.
            let owner_ok = (1..=39).contains(&owner.len())
                && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !owner.starts_with('-')
                && !owner.ends_with('-')
                && !owner.contains("--");
            let name_ok = (1..=100).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                && name != "."
                && name != "..";
            owner_ok && name_ok
        });
    if !valid {
        out.push(
            Diagnostic::error(
                "invalid-repository",
                format!("`{}` is not a GitHub repository name", github.repository),
            )
            .at(path.key("repository"))
            .help("write it as `owner/name`, e.g. `octo-org/sam-app`"),
        );
    }
    for (key, id) in [
        ("owner_id", github.owner_id),
        ("repository_id", github.repository_id),
    ] {
        if id == Some(0) {
            out.push(
                Diagnostic::error("invalid-id", format!("`{key}` must be a positive number"))
                    .at(path.key(key))
                    .help("copy it from `gh api repos/OWNER/NAME --jq '.owner.id, .id'`"),
            );
        }
    }
    if github.owner_id.is_some() != github.repository_id.is_some() {
        let (given, missing) = if github.owner_id.is_some() {
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

/// Branch names: `git check-ref-format --branch` rules, and only characters that cannot reach
/// a shell or a GitHub expression.
pub(crate) fn branch_problem(branch: &str) -> Option<&'static str> {
    if branch.is_empty() {
        return Some("it is empty");
    }
    if !branch
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
    {
        return Some("only letters, digits, `.`, `_`, `/` and `-` are allowed");
    }
    if branch.starts_with(['-', '/', '.']) || branch.ends_with(['/', '.']) {
        return Some("it must not start with `-`, `/` or `.`, nor end with `/` or `.`");
    }
    if branch.contains("..") || branch.contains("//") || branch.contains("/.") {
        return Some("git rejects `..`, `//` and components starting with `.`");
    }
    if branch.ends_with(".lock") || branch.contains(".lock/") {
        return Some("git rejects components ending in `.lock`");
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
            .help("use the repository's default branch, e.g. `main`"),
        );
    }
}

fn check_feature_glob(out: &mut Vec<Diagnostic>, glob: &str, branch: &str, path: ConfigPath) {
    let literal = glob.replace('*', "x");
    if !glob.contains('*') {
        out.push(
            Diagnostic::error(
                "invalid-feature-glob",
                format!("feature branch pattern `{glob}` has no `*`"),
            )
            .at(path)
            .help("write a prefix pattern such as `feature*` or `feature/**`"),
        );
    } else if let Some(problem) = branch_problem(&literal) {
        out.push(
            Diagnostic::error(
                "invalid-feature-glob",
                format!("feature branch pattern `{glob}` is not allowed: {problem}"),
            )
            .at(path)
            .label("`*` is the only wildcard sampipe accepts")
            .help("write a prefix pattern such as `feature*` or `feature/**`"),
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

fn check_stage(out: &mut Vec<Diagnostic>, stage: &Stage, path: &ConfigPath) {
    check_name(out, &stage.name, path.key("name"), "stage");
    match &stage.account {
        AccountId::Quoted(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => {}
        AccountId::Quoted(id) => out.push(
            Diagnostic::error(
                "invalid-account",
                format!("account `{id}` is not a 12-digit AWS account id"),
            )
            .at(path.key("account"))
            .help("copy it from `aws sts get-caller-identity --query Account`"),
        ),
        AccountId::Unquoted(n) => out.push(
            Diagnostic::error(
                "unquoted-account",
                format!("account `{n}` must be a quoted string"),
            )
            .at(path.key("account"))
            .label("YAML reads this as a number and drops leading zeros")
            .help(format!("write it in quotes: `account: \"{n:012}\"`")),
        ),
    }
    if region_partition(&stage.region).is_none() {
        out.push(
            Diagnostic::error(
                "invalid-region",
                format!("`{}` is not an AWS region", stage.region),
            )
            .at(path.key("region"))
            .help("use a region code such as `us-east-1`, `eu-west-3` or `cn-north-1`"),
        );
    }
    if let Some(stack) = &stage.stack_name {
        if !is_stack_name(stack) {
            out.push(
                Diagnostic::error("invalid-stack-name", format!("stack name `{stack}` is not allowed"))
                    .at(path.key("stack_name"))
                    .help("CloudFormation stack names match `[A-Za-z][-A-Za-z0-9]*` and have at most 128 characters"),
            );
        }
    }
    if let Some(env) = &stage.environment {
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
                .at(path.key("environment"))
                .help("use letters, digits, `.`, `_`, `-` and inner spaces, e.g. `production`"),
            );
        }
    }
    for (i, entry) in stage.parameter_overrides.iter().enumerate() {
        let ok = entry.split_once('=').is_some_and(|(k, v)| {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric())
                && !v.contains("${{")
                && !v
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '\'' | '"' | '\\' | '`' | '$'))
        });
        if !ok {
            out.push(
                Diagnostic::error("invalid-parameter-override", format!("parameter override `{entry}` is not `Key=Value`"))
                    .at(path.key("parameter_overrides").index(i))
                    .help("write `Name=value`: an alphanumeric parameter name, and a value without quotes, `$`, backslashes or backticks"),
            );
        }
    }
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
        if !is_role_arn(arn) {
            out.push(
                Diagnostic::error(
                    "invalid-role-arn",
                    format!("`{arn}` is not an IAM role ARN"),
                )
                .at(epath.key("cloudformation_execution_role"))
                .help("write `arn:aws:iam::111111111111:role/NAME`"),
            );
        }
    }
    if let Some(uri) = &existing.image_repository {
        if !is_image_repository_uri(uri) {
            out.push(
                Diagnostic::error(
                    "invalid-image-repository",
                    format!("`{uri}` is not an ECR repository URI"),
                )
                .at(epath.key("image_repository"))
                .help("write `111111111111.dkr.ecr.us-east-1.amazonaws.com/NAME`"),
            );
        }
        if stage.image_repository {
            out.push(
                Diagnostic::error("conflicting-image-repository", format!("stage `{}` both creates and reuses an image repository", stage.name))
                    .at_key(path.key("image_repository"))
                    .help("remove `image_repository: true` to reuse the existing one, or remove `existing.image_repository` to create one"),
            );
        }
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
                .help("write an exact release such as `1.150.0`"),
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
            d.help = Some(match crate::diag::did_you_mean(capability, CAPABILITIES) {
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

fn check_policy_arn(out: &mut Vec<Diagnostic>, arn: &str, path: ConfigPath) {
    let ok = (arn.starts_with("arn:aws:iam::")
        || arn.starts_with("arn:${AWS::Partition}:iam::")
        || arn.starts_with("arn:aws-cn:iam::")
        || arn.starts_with("arn:aws-us-gov:iam::"))
        && arn.contains(":policy/")
        && !arn.contains(char::is_whitespace);
    if !ok {
        out.push(
            Diagnostic::error("invalid-policy-arn", format!("`{arn}` is not an IAM managed policy ARN"))
                .at(path)
                .help("write `arn:${AWS::Partition}:iam::aws:policy/NAME` or `arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/NAME`"),
        );
    }
}

pub(crate) fn is_stack_name(name: &str) -> bool {
    name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
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
    None
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace))
}

fn is_image_repository_uri(uri: &str) -> bool {
    uri.split_once('/').is_some_and(|(host, name)| {
        let host_parts: Vec<&str> = host.split('.').collect();
        host_parts.len() >= 6
            && host_parts[0].len() == 12
            && host_parts[0].bytes().all(|b| b.is_ascii_digit())
            && host_parts[1] == "dkr"
            && host_parts[2] == "ecr"
            && !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b'-' | b'/')
            })
    })
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
        assert_eq!(branch_problem("main"), None);
        assert_eq!(branch_problem("release/1.2"), None);
        assert!(branch_problem("a..b").is_some());
        assert!(branch_problem("x.lock").is_some());
        assert!(branch_problem("-x").is_some());
        assert!(branch_problem("a b").is_some());
        assert!(branch_problem("$(id)").is_some());
    }

    #[test]
    fn bucket_rules() {
        assert_eq!(bucket_name_problem("sam-app-dev-artifacts"), None);
        assert!(bucket_name_problem("ab").is_some());
        assert!(bucket_name_problem("Upper").is_some());
        assert!(bucket_name_problem("a..b").is_some());
        assert!(bucket_name_problem("192.168.1.1").is_some());
    }
}
