//! The OIDC claims a generated job presents to AWS STS, following each CI system's documented
//! token semantics.
//!
//! **GitHub** (<https://docs.github.com/actions/reference/security/oidc>):
//! - `sub` is `repo:OWNER/REPO:environment:NAME` when the job references an environment, and
//!   `repo:OWNER/REPO:ref:refs/heads/BRANCH` for a branch otherwise; with immutable subject
//!   claims (default for repositories created or renamed after 2026-07-15) the repository part
//!   is `OWNER@OWNER_ID/REPO@REPO_ID`.
//! - `ref` is the git ref the run is for; a `delete` event runs on the default branch, so its
//!   jobs present the default branch's ref, not the deleted one.
//! - `job_workflow_ref` is `OWNER/REPO/PATH@REF` of the workflow file that defines the job.
//! - `aud` is what the job requested: `sts.amazonaws.com` for configure-aws-credentials.
//!
//! **GitLab** (<https://docs.gitlab.com/ci/secrets/id_token_authentication/>): `sub` is
//! `project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH` (`ref_type:tag` for tags); `aud` is
//! what `id_tokens:` asks for. The environment, `ref_protected` and the pipeline source are in
//! the token but STS does not expose them.
//!
//! **Bitbucket** (<https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/>):
//! `sub` is `{REPOSITORY_UUID}:{STEP_UUID}`, or `{REPOSITORY_UUID}:{ENVIRONMENT_UUID}:{STEP_UUID}`
//! for a step with `deployment:`, every UUID in braces; the step UUID is new on every run, so
//! trust matches `sub` with `StringLike` and a UUID-shaped pattern for it ([`STEP_UUID_PATTERN`]). `aud` is
//! `ari:cloud:bitbucket::workspace/WORKSPACE_UUID` (without braces). The branch is in
//! `branchName`, which STS does not expose.
//!
//! STS exposes only some claims as condition keys ([`Provider::sts_claims`]); the claims here
//! include the others too, so that `explain` shows them and the proof sees STS ignore them.

use indexmap::IndexMap;

use crate::pipeline::provider::Provider;
use crate::pipeline::{Pipeline, RoleUse};

/// A Bitbucket step UUID standing for "some run of the step" in sample claims.
pub const SAMPLE_STEP_UUID: &str = "{5d1f3a0e-7c2b-4e9d-8f6a-1b2c3d4e5f60}";

/// Any Bitbucket step UUID, as a `StringLike` pattern: exactly one braced UUID, so that the
/// subject of a step without an environment (`{REPO}:{STEP}`) never matches the longer one
/// of a step that deploys to an environment (`{REPO}:{ENV}:{STEP}`), as a `*` would.
pub const STEP_UUID_PATTERN: &str = "{????????-????-????-????-????????????}";

/// The claims of the jobs that use a role, as patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPatterns {
    /// The job runs on every branch matching the feature pattern: `sub` (and, on GitHub, `ref`
    /// and `job_workflow_ref`) hold that pattern, matched with `StringLike`.
    pub glob: bool,
    pub sub: String,
    /// GitHub: the `ref` claim. GitLab and Bitbucket: the branch's ref, not a condition key.
    pub git_ref: String,
    /// GitHub only: `job_workflow_ref`; empty elsewhere.
    pub job_workflow_ref: String,
}

/// GitLab's subject for a pipeline on `ref_type` `ref_name` of `project`.
pub fn gitlab_subject(project: &str, ref_type: &str, ref_name: &str) -> String {
    format!("project_path:{project}:ref_type:{ref_type}:ref:{ref_name}")
}

/// Bitbucket's subject for a step of `repository`, in `environment` when it deploys to one.
pub fn bitbucket_subject(repository: &str, environment: Option<&str>, step: &str) -> String {
    match environment {
        Some(environment) => format!("{repository}:{environment}:{step}"),
        None => format!("{repository}:{step}"),
    }
}

/// What `use_`'s job presents.
pub fn patterns(pipeline: &Pipeline, use_: &RoleUse) -> ClaimPatterns {
    let git_ref = use_.runs_on_ref.git_ref();
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(&git_ref);
    let glob = use_.runs_on_ref.is_glob();
    match &pipeline.provider {
        Provider::GitHub(repo) => {
            let sub = match &use_.environment {
                Some(environment) => format!("{}:environment:{environment}", repo.subject_prefix()),
                None => format!("{}:ref:{git_ref}", repo.subject_prefix()),
            };
            ClaimPatterns {
                glob,
                sub,
                job_workflow_ref: format!(
                    "{}/{}@{git_ref}",
                    repo.full_name(),
                    pipeline.workflow_path
                ),
                git_ref,
            }
        }
        Provider::GitLab(project) => ClaimPatterns {
            glob,
            sub: gitlab_subject(&project.path, "branch", branch),
            job_workflow_ref: String::new(),
            git_ref,
        },
        // The branch is not in the subject: every job of a stage presents the same pattern,
        // with a pattern for the step UUID (so the template matches it with `StringLike`).
        Provider::Bitbucket(repo) => ClaimPatterns {
            glob: false,
            sub: bitbucket_subject(
                &repo.repository_uuid,
                use_.environment_uuid.as_deref(),
                STEP_UUID_PATTERN,
            ),
            job_workflow_ref: String::new(),
            git_ref,
        },
    }
}

/// A concrete set of claims, as one token would carry them (claim name → value).
pub type Claims = IndexMap<String, String>;

/// The concrete claims of one run of `use_`'s job. Glob refs are instantiated with a sample
/// branch name that matches them (`*` → `x`).
pub fn sample_claims(pipeline: &Pipeline, use_: &RoleUse) -> Claims {
    let p = patterns(pipeline, use_);
    let concrete = |s: &str| s.replace('*', "x");
    let mut claims = Claims::new();
    claims.insert("aud".into(), pipeline.provider.audience());
    match &pipeline.provider {
        Provider::GitHub(repo) => {
            claims.insert("sub".into(), concrete(&p.sub));
            claims.insert("ref".into(), concrete(&p.git_ref));
            claims.insert("job_workflow_ref".into(), concrete(&p.job_workflow_ref));
            claims.insert("repository".into(), repo.full_name());
            if let Some((owner_id, repo_id)) = repo.ids {
                claims.insert("repository_id".into(), repo_id.to_string());
                claims.insert("repository_owner_id".into(), owner_id.to_string());
            }
            if let Some(environment) = &use_.environment {
                claims.insert("environment".into(), environment.clone());
            }
        }
        Provider::GitLab(project) => {
            let git_ref = concrete(&p.git_ref);
            let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(&git_ref);
            claims.insert("sub".into(), concrete(&p.sub));
            claims.insert("project_path".into(), project.path.clone());
            claims.insert("ref_type".into(), "branch".into());
            claims.insert("ref".into(), branch.to_owned());
            claims.insert("ref_protected".into(), (!p.glob).to_string());
            claims.insert("pipeline_source".into(), "push".into());
            if let Some(environment) = &use_.environment {
                claims.insert("environment".into(), environment.clone());
            }
        }
        Provider::Bitbucket(repo) => {
            let git_ref = concrete(&p.git_ref);
            let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(&git_ref);
            claims.insert(
                "sub".into(),
                p.sub.replace(STEP_UUID_PATTERN, SAMPLE_STEP_UUID),
            );
            claims.insert("repositoryUuid".into(), repo.repository_uuid.clone());
            claims.insert("workspaceUuid".into(), repo.workspace_uuid.clone());
            claims.insert("branchName".into(), branch.to_owned());
            claims.insert("stepUuid".into(), SAMPLE_STEP_UUID.into());
            if let Some(uuid) = &use_.environment_uuid {
                claims.insert("deploymentEnvironmentUuid".into(), uuid.clone());
            }
        }
    }
    claims
}

/// `claims` as presented by a run on `branch` instead (the environment kept).
pub fn with_branch(pipeline: &Pipeline, claims: &Claims, branch: &str) -> Claims {
    let mut claims = claims.clone();
    let git_ref = format!("refs/heads/{branch}");
    match &pipeline.provider {
        Provider::GitHub(repo) => {
            claims.insert("ref".into(), git_ref.clone());
            claims.insert(
                "job_workflow_ref".into(),
                format!("{}/{}@{git_ref}", repo.full_name(), pipeline.workflow_path),
            );
            if !claims.contains_key("environment") {
                claims.insert(
                    "sub".into(),
                    format!("{}:ref:{git_ref}", repo.subject_prefix()),
                );
            }
        }
        Provider::GitLab(project) => {
            claims.insert(
                "sub".into(),
                gitlab_subject(&project.path, "branch", branch),
            );
            claims.insert("ref".into(), branch.to_owned());
        }
        Provider::Bitbucket(_) => {
            claims.insert("branchName".into(), branch.to_owned());
        }
    }
    claims
}
