//! The OIDC claims a generated job presents to AWS STS, following GitHub's documented token
//! semantics (<https://docs.github.com/actions/reference/security/oidc>):
//!
//! - `sub` is `repo:OWNER/REPO:environment:NAME` when the job references an environment, and
//!   `repo:OWNER/REPO:ref:refs/heads/BRANCH` for a branch otherwise; with immutable subject
//!   claims (default for repositories created or renamed after 2026-07-15) the repository part
//!   is `OWNER@OWNER_ID/REPO@REPO_ID`.
//! - `ref` is the git ref the run is for; a `delete` event runs on the default branch, so its
//!   jobs present the default branch's ref, not the deleted one.
//! - `job_workflow_ref` is `OWNER/REPO/PATH@REF` of the workflow file that defines the job.
//! - `aud` is what the job requested: `sts.amazonaws.com` for configure-aws-credentials.
//!
//! STS exposes these GitHub claims as condition keys `token.actions.githubusercontent.com:<claim>`:
//! `aud`, `sub`, `actor`, `actor_id`, `job_workflow_ref`, `repository`, `repository_id`,
//! `workflow`, `ref`, `environment`, `enterprise_id`. A condition on any other claim never matches.

use indexmap::IndexMap;

use crate::pipeline::names::{GITHUB_AUDIENCE, GITHUB_OIDC_HOST};
use crate::pipeline::{Pipeline, RoleUse};

/// The claims STS lets a trust policy test for GitHub tokens (besides `aud` and `sub`).
pub const STS_GITHUB_CLAIMS: [&str; 11] = [
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

/// The condition key for a GitHub claim: `token.actions.githubusercontent.com:sub`.
pub fn condition_key(claim: &str) -> String {
    [GITHUB_OIDC_HOST, ":", claim].concat()
}

/// The claims of the jobs that use a role, as patterns: exact values, or globs where `*`
/// stands for any branch name matching the feature pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPatterns {
    /// `true` when the values contain `*` (StringLike); otherwise they are exact (StringEquals).
    pub glob: bool,
    pub sub: String,
    pub git_ref: String,
    pub job_workflow_ref: String,
}

/// What `use_`'s job presents.
pub fn patterns(pipeline: &Pipeline, use_: &RoleUse) -> ClaimPatterns {
    let repo = &pipeline.repository;
    let git_ref = use_.runs_on_ref.git_ref();
    let sub = match &use_.environment {
        Some(environment) => format!("{}:environment:{environment}", repo.subject_prefix()),
        None => format!("{}:ref:{git_ref}", repo.subject_prefix()),
    };
    ClaimPatterns {
        glob: use_.runs_on_ref.is_glob(),
        sub,
        job_workflow_ref: format!("{}/{}@{git_ref}", repo.full_name(), pipeline.workflow_path),
        git_ref,
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
    claims.insert("aud".into(), GITHUB_AUDIENCE.into());
    claims.insert("sub".into(), concrete(&p.sub));
    claims.insert("ref".into(), concrete(&p.git_ref));
    claims.insert("job_workflow_ref".into(), concrete(&p.job_workflow_ref));
    claims.insert("repository".into(), pipeline.repository.full_name());
    if let Some((owner_id, repo_id)) = pipeline.repository.ids {
        claims.insert("repository_id".into(), repo_id.to_string());
        claims.insert("repository_owner_id".into(), owner_id.to_string());
    }
    if let Some(environment) = &use_.environment {
        claims.insert("environment".into(), environment.clone());
    }
    claims
}
