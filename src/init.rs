//! `sampipe init`: a starter `sampipe.yaml`, filled with what can be read offline from the
//! repository (`.git/config` and `.git/HEAD`), and clearly marked placeholders for the rest.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Marks a value `init` could not infer; `synth` rejects the config until it is replaced.
pub const PLACEHOLDER_PREFIX: &str = "<FILL-IN:";

fn placeholder(what: &str) -> String {
    format!("{PLACEHOLDER_PREFIX} {what}>")
}

/// The hosting service a git remote points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    GitHub,
    GitLab { url: String },
    Bitbucket,
    Other { host: String },
}

/// A parsed remote URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub host: Host,
    /// `owner/name` (GitHub, Bitbucket) or `group/subgroup/project` (GitLab).
    pub path: String,
}

/// Parses HTTPS (`https://github.com/o/r.git`), scp-like SSH (`git@github.com:o/r.git`) and
/// `ssh://git@host[:port]/o/r.git` remote URLs.
pub fn parse_remote(url: &str) -> Option<Remote> {
    let url = url.trim();
    let (host, path) = if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        rest.split_once('/')?
    } else if let Some(rest) = url.strip_prefix("ssh://") {
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next().unwrap_or(host), path)
    } else {
        let (user_host, path) = url.split_once(':')?;
        (
            user_host.split_once('@').map_or(user_host, |(_, h)| h),
            path,
        )
    };
    let path = path
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .trim_matches('/');
    if path.split('/').count() < 2 || path.split('/').any(str::is_empty) {
        return None;
    }
    let host = match host {
        "github.com" | "www.github.com" => Host::GitHub,
        "bitbucket.org" => Host::Bitbucket,
        h if h == "gitlab.com" || h.starts_with("gitlab.") => Host::GitLab {
            url: format!("https://{h}"),
        },
        other => Host::Other {
            host: other.to_owned(),
        },
    };
    Some(Remote {
        host,
        path: path.to_owned(),
    })
}

/// What `init` learned from the repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detected {
    pub remote: Option<Remote>,
    pub branch: Option<String>,
}

/// Finds the `.git` directory at or above `start`.
fn git_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(".git"))
        .find(|git| git.is_dir())
}

/// Reads the `origin` remote (or the first remote) and the current branch, without running git.
pub fn detect(start: &Path) -> Detected {
    let Some(git) = git_dir(start) else {
        return Detected::default();
    };
    let config = std::fs::read_to_string(git.join("config")).unwrap_or_default();
    let mut remotes: Vec<(String, String)> = Vec::new();
    let mut section: Option<String> = None;
    for line in config.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header
                .strip_prefix("remote \"")
                .and_then(|r| r.strip_suffix('"'))
                .map(str::to_owned);
        } else if let (Some(name), Some((key, value))) = (&section, line.split_once('=')) {
            if key.trim() == "url" {
                remotes.push((name.clone(), value.trim().to_owned()));
            }
        }
    }
    let url = remotes
        .iter()
        .find(|(name, _)| name == "origin")
        .or_else(|| remotes.first())
        .map(|(_, url)| url.as_str());
    let head = std::fs::read_to_string(git.join("HEAD")).unwrap_or_default();
    Detected {
        remote: url.and_then(parse_remote),
        branch: head
            .trim()
            .strip_prefix("ref: refs/heads/")
            .map(str::to_owned),
    }
}

/// A stage given on the command line as `name=account/region`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageSpec {
    pub name: String,
    pub account: String,
    pub region: String,
}

impl std::str::FromStr for StageSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, rest) = text
            .split_once('=')
            .ok_or("expected `name=account/region`, e.g. `dev=111111111111/us-east-1`")?;
        let (account, region) = rest
            .split_once('/')
            .ok_or("expected `name=account/region`, e.g. `dev=111111111111/us-east-1`")?;
        if name.is_empty() || account.is_empty() || region.is_empty() {
            return Err("expected `name=account/region`, e.g. `dev=111111111111/us-east-1`".into());
        }
        Ok(Self {
            name: name.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        })
    }
}

/// A valid app name from the repository's name (the one validation suggests), kept short so
/// physical names stay within AWS limits.
fn app_name(repository: &str) -> String {
    let name = crate::config::validate::suggest_name(repository);
    name.chars()
        .take(20)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Quotes a value for YAML when it is not a safe plain scalar.
fn yaml_str(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
    if plain {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The `source:` entries for the remote's CI system (GitHub when unknown).
fn write_source(out: &mut String, remote: Option<&Remote>) {
    match remote {
        Some(Remote {
            host: Host::GitLab { url },
            path,
        }) => {
            let _ = writeln!(out, "  gitlab:");
            let _ = writeln!(out, "    project: {}", yaml_str(path));
            if url != "https://gitlab.com" {
                let _ = writeln!(out, "    url: {}", yaml_str(url));
            }
            let _ = writeln!(
                out,
                "    # audience: sts.amazonaws.com   # default: the instance URL"
            );
        }
        Some(Remote {
            host: Host::Bitbucket,
            path,
        }) => {
            let workspace = path.split('/').next().unwrap_or(path);
            let _ = writeln!(out, "  bitbucket:");
            let _ = writeln!(out, "    workspace: {}", yaml_str(workspace));
            let _ = writeln!(
                out,
                "    # Both UUIDs, with braces: Repository settings → OpenID Connect."
            );
            let _ = writeln!(
                out,
                "    workspace_uuid: {}",
                yaml_str(&placeholder(
                    "workspace UUID, e.g. {8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}"
                ))
            );
            let _ = writeln!(
                out,
                "    repository_uuid: {}",
                yaml_str(&placeholder("repository UUID"))
            );
        }
        other => {
            let (repository, note) = match other {
                Some(Remote {
                    host: Host::GitHub,
                    path,
                }) => (path.clone(), None),
                Some(Remote { host, path }) => (
                    placeholder("GitHub owner/name"),
                    Some(format!(
                        "# The git remote is {path} on {host:?}; sampipe generates GitHub Actions, GitLab CI and Bitbucket Pipelines."
                    )),
                ),
                None => (placeholder("GitHub owner/name"), None),
            };
            let _ = writeln!(out, "  github:");
            if let Some(note) = note {
                let _ = writeln!(out, "    {note}");
            }
            let _ = writeln!(out, "    repository: {}", yaml_str(&repository));
            let _ = writeln!(out, "    # Optional: both ids make trust use GitHub's immutable subjects (gh api repos/OWNER/NAME --jq '.owner.id, .id').");
            let _ = writeln!(out, "    # owner_id: 123456");
            let _ = writeln!(out, "    # repository_id: 456789");
        }
    }
}

/// The starter config.
pub fn render(detected: &Detected, stages: &[StageSpec]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# sampipe config: `sampipe synth` turns it into template.yaml and the CI file."
    );
    let _ = writeln!(out, "# Values marked {PLACEHOLDER_PREFIX} ...> could not be inferred: synth refuses them until filled in.");
    let _ = writeln!(
        out,
        "# Every key: `sampipe schema`, or the README's config reference."
    );
    let _ = writeln!(out, "version: 1");
    let app = detected
        .remote
        .as_ref()
        .and_then(|r| r.path.rsplit('/').next())
        .map_or_else(|| placeholder("app name, e.g. sam-app"), app_name);
    let _ = writeln!(
        out,
        "# Prefix of every physical name: lowercase letters, digits and `-`."
    );
    let _ = writeln!(out, "app: {}", yaml_str(&app));
    let _ = writeln!(out, "# The application's SAM template.");
    let _ = writeln!(out, "sam_template: template.yaml");
    let _ = writeln!(out, "source:");
    write_source(&mut out, detected.remote.as_ref());
    let _ = writeln!(
        out,
        "# The deployment branch (the repository's default branch)."
    );
    let _ = writeln!(
        out,
        "branch: {}",
        yaml_str(detected.branch.as_deref().unwrap_or("main"))
    );
    let _ = writeln!(
        out,
        "# Optional: pushes to matching branches deploy their own stack to the first stage."
    );
    let _ = writeln!(out, "# feature_branches: \"feature*\"");
    let _ = writeln!(
        out,
        "# Deployed in this order; each has its own role, bucket and trust."
    );
    let _ = writeln!(out, "stages:");
    let defaults = [StageSpec {
        name: "dev".into(),
        account: placeholder("12-digit account id"),
        region: placeholder("region, e.g. us-east-1"),
    }];
    let stages = if stages.is_empty() {
        &defaults[..]
    } else {
        stages
    };
    for stage in stages {
        let _ = writeln!(out, "  - name: {}", yaml_str(&stage.name));
        let _ = writeln!(out, "    account: \"{}\"", stage.account.replace('"', ""));
        let _ = writeln!(out, "    region: {}", yaml_str(&stage.region));
        let _ = writeln!(out, "    # environment: production   # the deploy job's environment (approvals, protection)");
    }
    let _ = writeln!(out, "workflow:");
    let _ = writeln!(
        out,
        "  # Commands the workflow runs; remove a line to drop its job."
    );
    let _ = writeln!(
        out,
        "  unit_test_command: {}",
        yaml_str(&placeholder("unit test command, e.g. make test"))
    );
    let _ = writeln!(out, "  # integration_test_command: make integration-test");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_https_and_ssh_remotes_of_the_three_hosts() {
        let github = |path: &str| {
            Some(Remote {
                host: Host::GitHub,
                path: path.into(),
            })
        };
        assert_eq!(
            parse_remote("https://github.com/octo-org/sam-app.git"),
            github("octo-org/sam-app")
        );
        assert_eq!(
            parse_remote("git@github.com:octo-org/sam-app.git"),
            github("octo-org/sam-app")
        );
        assert_eq!(
            parse_remote("ssh://git@github.com/octo-org/sam-app"),
            github("octo-org/sam-app")
        );
        assert_eq!(
            parse_remote("https://user@github.com/octo-org/sam-app/"),
            github("octo-org/sam-app")
        );
        assert_eq!(
            parse_remote("git@gitlab.com:group/sub/project.git"),
            Some(Remote {
                host: Host::GitLab {
                    url: "https://gitlab.com".into()
                },
                path: "group/sub/project".into()
            })
        );
        assert_eq!(
            parse_remote("https://bitbucket.org/team/repo.git"),
            Some(Remote {
                host: Host::Bitbucket,
                path: "team/repo".into()
            })
        );
        assert_eq!(parse_remote("not a url"), None);
        assert_eq!(parse_remote("https://github.com/only-owner"), None);
    }

    #[test]
    fn stage_specs_and_app_names() {
        let spec: StageSpec = "dev=111111111111/us-east-1".parse().unwrap();
        assert_eq!(spec.region, "us-east-1");
        assert!("dev".parse::<StageSpec>().is_err());
        assert_eq!(app_name("My_Service.API"), "my-service-api");
        assert_eq!(app_name("42"), "sam-app");
    }
}
