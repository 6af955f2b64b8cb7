//! The CI system a pipeline runs on, and the OIDC issuer its jobs' tokens come from. Everything
//! that differs between GitHub Actions, GitLab CI/CD and Bitbucket Pipelines about *trust* is
//! answered here: the issuer URL (and so the IAM OIDC provider and its condition-key prefix),
//! the audience, and which claims STS lets a trust policy test. What each job's token carries
//! is in [`crate::trust::claims`].

use crate::pipeline::names::{GITHUB_AUDIENCE, GITHUB_OIDC_HOST};

/// The repository and CI system of a pipeline; exactly one, from `source:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    GitHub(Repository),
    GitLab(GitLabProject),
    Bitbucket(BitbucketRepository),
}

/// The GitHub repository the workflow runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
    /// Both numeric ids, when configured: trust then uses GitHub's immutable subjects.
    pub ids: Option<(u64, u64)>,
}

impl Repository {
    /// `owner/name`, as in the `repository` claim and in `job_workflow_ref`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The repository part of an OIDC subject: `owner/name` or, with ids,
    /// `owner@OWNER_ID/name@REPO_ID` (GitHub's immutable subject claims, 2026).
    pub fn subject_prefix(&self) -> String {
        match self.ids {
            Some((owner_id, repo_id)) => {
                format!("repo:{}@{owner_id}/{}@{repo_id}", self.owner, self.name)
            }
            None => format!("repo:{}/{}", self.owner, self.name),
        }
    }
}

/// A GitLab project and the instance that issues its ID tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitLabProject {
    /// `group/subgroup/project`.
    pub path: String,
    /// The instance URL without a trailing slash: exactly the tokens' `iss`.
    pub url: String,
    /// The `aud` requested in `id_tokens:`.
    pub audience: String,
}

/// A Bitbucket Cloud repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitbucketRepository {
    pub workspace: String,
    /// With braces, as in the tokens.
    pub workspace_uuid: String,
    pub repository_uuid: String,
}

/// The GitLab ID token variable the jobs read (`id_tokens:` name).
pub const GITLAB_TOKEN_VARIABLE: &str = "AWS_ID_TOKEN";

/// Besides `aud` and `sub`, STS exposes exactly these GitHub claims as condition keys
/// (see PRODUCT.md). For GitLab and Bitbucket, as for any OIDC issuer without a dedicated
/// integration, it exposes `aud` and `sub` only
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif>).
const STS_GITHUB_CLAIMS: &[&str] = &[
    "aud",
    "sub",
    "actor",
    "actor_id",
    "job_workflow_ref",
    "repository",
    "repository_id",
    "workflow",
    "ref",
    "environment",
    "enterprise_id",
];
const STS_GENERIC_CLAIMS: &[&str] = &["aud", "sub"];

impl Provider {
    /// The CI system, for messages.
    pub fn ci_name(&self) -> &'static str {
        match self {
            Self::GitHub(_) => "GitHub Actions",
            Self::GitLab(_) => "GitLab CI/CD",
            Self::Bitbucket(_) => "Bitbucket Pipelines",
        }
    }

    /// The repository or project, for messages and the template's descriptions.
    pub fn display(&self) -> String {
        match self {
            Self::GitHub(repo) => repo.full_name(),
            Self::GitLab(project) => format!("{}/{}", project.url, project.path),
            Self::Bitbucket(repo) => format!(
                "Bitbucket workspace `{}`, repository {}",
                repo.workspace, repo.repository_uuid
            ),
        }
    }

    /// The issuer without `https://`: the IAM OIDC provider's name in its ARN, and the prefix
    /// of its condition keys.
    pub fn issuer_host(&self) -> String {
        match self {
            Self::GitHub(_) => GITHUB_OIDC_HOST.to_owned(),
            Self::GitLab(project) => project
                .url
                .strip_prefix("https://")
                .unwrap_or(&project.url)
                .to_owned(),
            // https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/
            Self::Bitbucket(repo) => format!(
                "api.bitbucket.org/2.0/workspaces/{}/pipelines-config/identity/oidc",
                repo.workspace
            ),
        }
    }

    /// The issuer URL: the IAM OIDC provider's `Url`.
    pub fn issuer_url(&self) -> String {
        format!("https://{}", self.issuer_host())
    }

    /// The `aud` every job's token carries: the IAM OIDC provider's client id.
    pub fn audience(&self) -> String {
        match self {
            Self::GitHub(_) => GITHUB_AUDIENCE.to_owned(),
            Self::GitLab(project) => project.audience.clone(),
            Self::Bitbucket(repo) => format!(
                "ari:cloud:bitbucket::workspace/{}",
                repo.workspace_uuid.trim_matches(['{', '}'])
            ),
        }
    }

    /// The condition key for `claim`: `<issuer host>:<claim>`.
    pub fn condition_key(&self, claim: &str) -> String {
        format!("{}:{claim}", self.issuer_host())
    }

    /// The claims STS exposes as condition keys for this issuer; a condition on any other
    /// claim never matches.
    pub fn sts_claims(&self) -> &'static [&'static str] {
        match self {
            Self::GitHub(_) => STS_GITHUB_CLAIMS,
            Self::GitLab(_) | Self::Bitbucket(_) => STS_GENERIC_CLAIMS,
        }
    }

    /// The name of the CI file `synth` writes next to `template.yaml`.
    pub fn file_name(&self) -> &'static str {
        match self {
            Self::GitHub(_) => "pipeline.yaml",
            Self::GitLab(_) => ".gitlab-ci.yml",
            Self::Bitbucket(_) => "bitbucket-pipelines.yml",
        }
    }

    pub fn github(&self) -> Option<&Repository> {
        match self {
            Self::GitHub(repo) => Some(repo),
            _ => None,
        }
    }
}
