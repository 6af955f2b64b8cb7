//! `sampipe trust`: can a token with this subject (and claims) assume that stage's role?

use std::io::Write;

use clap::Args;

use super::common::{load_and_synthesize, stage_index, ConfigArg};
use super::{EXIT_DIFFERENT, EXIT_OK};
use crate::pipeline::provider::Provider;
use crate::pipeline::{Pipeline, RoleKind};
use crate::trust::claims::Claims;
use crate::trust::evaluator::{evaluate, PolicyStatement};
use crate::trust::prove::{request, trust_statements, Target};

/// Answer ALLOW (exit 0) or DENY (exit 1), with the statement and condition that decided.
///
/// Example: can a run on branch `hotfix` assume prod?
///   sampipe trust --stage prod --subject ref:refs/heads/hotfix
#[derive(Debug, Args)]
pub(super) struct Trust {
    #[command(flatten)]
    config: ConfigArg,
    /// The stage whose role is asked.
    #[arg(long)]
    stage: String,
    /// Which of the stage's roles: its pipeline execution role, or (first stage, with
    /// feature branches) the feature-branch role.
    #[arg(long, value_enum, default_value_t = TrustedRole::Pipeline)]
    role: TrustedRole,
    /// The token's `sub`; the repository part may be left out. GitHub:
    /// `repo:octo-org/sam-app:ref:refs/heads/main` or `ref:refs/heads/main`. GitLab:
    /// `project_path:group/app:ref_type:branch:ref:main` or `ref_type:branch:ref:main`.
    /// Bitbucket: `{REPO_UUID}:{ENV_UUID}:{STEP_UUID}` or `{ENV_UUID}:{STEP_UUID}`.
    #[arg(long)]
    subject: String,
    /// Another claim, `key=value` (aud, ref, job_workflow_ref, repository, repository_id,
    /// environment, ...). On GitHub, `ref` and `job_workflow_ref` default to what a run of
    /// the configured workflow for the subject's ref would present.
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    claims: Vec<String>,
}

/// The roles OIDC tokens can assume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum TrustedRole {
    Pipeline,
    Feature,
}

impl From<TrustedRole> for RoleKind {
    fn from(role: TrustedRole) -> RoleKind {
        match role {
            TrustedRole::Pipeline => RoleKind::Pipeline,
            TrustedRole::Feature => RoleKind::Feature,
        }
    }
}

impl Trust {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        let synthesis = load_and_synthesize(&self.config, stderr)?;
        let p = &synthesis.pipeline;
        let index = stage_index(p, &self.stage)?;
        let stage = &p.stages[index];
        let kind = RoleKind::from(self.role);
        if kind == RoleKind::Feature && stage.feature.is_none() {
            return Err(format!(
                "error[no-feature-role]: stage `{}` has no feature-branch role\n  = help: only the first stage has one, when `feature_branches` is set\n",
                stage.name
            ));
        }

        let mut given = Claims::new();
        for claim in &self.claims {
            let Some((key, value)) = claim.split_once('=') else {
                return Err(format!("error[invalid-claim]: `{claim}` is not `key=value`\n  = help: write e.g. `--claim ref=refs/heads/main`\n"));
            };
            if !p.provider.sts_claims().contains(&key) {
                let _ = writeln!(stderr, "warning: STS does not expose claim `{key}` to trust policies; it cannot affect the answer");
            }
            given.insert(key.to_owned(), value.to_owned());
        }
        let (mut claims, mut assumed) = match &p.provider {
            Provider::GitHub(_) => github_claims(p, &self.subject, &given),
            Provider::GitLab(project) => {
                let subject = if self.subject.starts_with("project_path:") {
                    self.subject.clone()
                } else {
                    format!("project_path:{}:{}", project.path, self.subject)
                };
                (base_claims(p, subject), Vec::new())
            }
            Provider::Bitbucket(repo) => {
                let subject = if self.subject.starts_with(&repo.repository_uuid) {
                    self.subject.clone()
                } else {
                    format!("{}:{}", repo.repository_uuid, self.subject)
                };
                (base_claims(p, subject), Vec::new())
            }
        };
        for (key, value) in given {
            assumed.retain(|a| *a != key);
            claims.insert(key, value);
        }

        let statements = trust_statements(p, &synthesis.template, Target { stage: index, kind })
            .map_err(|e| format!("error[internal-error]: {e}\n"))?;
        let statements: Vec<PolicyStatement> =
            statements.iter().map(PolicyStatement::from).collect();
        let evaluation = evaluate(
            &statements,
            &request(&p.provider, &stage.oidc_provider_arn, &claims),
        )
        .map_err(|e| format!("error[internal-error]: {e}\n"))?;
        let verdict = if evaluation.allowed() {
            "ALLOW"
        } else {
            "DENY"
        };
        let mut text = format!(
            "{verdict}: stage `{}`, role {}\n",
            stage.name,
            stage.roles(kind).role_arn
        );
        for (key, value) in &claims {
            let note = if assumed.contains(&key.as_str()) {
                "  (derived; override with --claim)"
            } else {
                ""
            };
            text.push_str(&format!("  {key:<17} {value}{note}\n"));
        }
        text.push_str(&format!("  reason            {}\n", evaluation.explain()));
        let _ = stdout.write_all(text.as_bytes());
        Ok(if evaluation.allowed() {
            EXIT_OK
        } else {
            EXIT_DIFFERENT
        })
    }
}

/// `aud` and `sub`: what every provider's token carries.
fn base_claims(p: &Pipeline, subject: String) -> Claims {
    let mut claims = Claims::new();
    claims.insert("aud".into(), p.provider.audience());
    claims.insert("sub".into(), subject);
    claims
}

/// A GitHub token for `subject` (with or without `repo:OWNER/NAME:`), with the claims a run of
/// the configured workflow would present unless `given`; also which claims were derived.
fn github_claims(p: &Pipeline, subject: &str, given: &Claims) -> (Claims, Vec<&'static str>) {
    let Provider::GitHub(repo) = &p.provider else {
        return (Claims::new(), Vec::new());
    };
    let subject = if subject.starts_with("repo:") {
        subject.to_owned()
    } else {
        format!("{}:{subject}", repo.subject_prefix())
    };
    let mut claims = base_claims(p, subject.clone());
    claims.insert("repository".into(), repo.full_name());
    if let Some((_, repo_id)) = repo.ids {
        claims.insert("repository_id".into(), repo_id.to_string());
    }
    if let Some((_, environment)) = subject.split_once(":environment:") {
        claims.insert("environment".into(), environment.to_owned());
    }
    // What a run of the configured workflow would present: a ref subject names its ref; an
    // environment subject runs on the deployment branch.
    let git_ref = given
        .get("ref")
        .cloned()
        .unwrap_or_else(|| match subject.split_once(":ref:") {
            Some((_, git_ref)) => git_ref.to_owned(),
            None => format!("refs/heads/{}", p.branch),
        });
    claims.insert("ref".into(), git_ref.clone());
    claims.insert(
        "job_workflow_ref".into(),
        format!("{}/{}@{git_ref}", repo.full_name(), p.workflow_path),
    );
    (claims, vec!["ref", "job_workflow_ref"])
}
