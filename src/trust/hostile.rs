//! The hostile claim sets the proof tries against every stage's role: what an attacker, a
//! fork, or a job of another stage could present. Each CI system gets the battery its tokens
//! allow: GitHub's tokens say much (`ref`, `job_workflow_ref`, `environment` are condition
//! keys); GitLab's and Bitbucket's say only what `sub` holds, so some sets cannot be denied by
//! IAM and are marked [`Hostile::Limited`] with the control that must stop them.

use super::claims::{bitbucket_subject, gitlab_subject, Claims, SAMPLE_STEP_UUID};
use super::prove::{feature_samples, Jobs};
use crate::config::validate::glob_matches;
use crate::pipeline::provider::{BitbucketRepository, GitLabProject, Provider, Repository};
use crate::pipeline::{Pipeline, RoleKind};

/// The hostile claim sets tried against stage `index`'s role of `kind`, whose deploy job
/// presents `deploy`.
pub(super) fn hostile(
    p: &Pipeline,
    jobs: &Jobs<'_>,
    (index, kind): (usize, RoleKind),
    deploy: Claims,
) -> Vec<Hostile> {
    match &p.provider {
        Provider::GitHub(repo) => github(p, repo, jobs, (index, kind), deploy),
        Provider::GitLab(project) => gitlab(p, project, (index, kind), deploy),
        Provider::Bitbucket(repo) => bitbucket(p, repo, (index, kind), deploy),
    }
}

/// Why a feature branch is hostile to a pipeline role.
const FEATURE_ONLY: &str = "feature branches get only the first stage's feature role";

/// A branch that is neither the deployment branch nor a feature branch.
fn unconfigured_branch(p: &Pipeline) -> Option<&'static str> {
    ["unconfigured-branch", "zz-unconfigured", "x"]
        .into_iter()
        .find(|b| {
            *b != p.branch
                && !p
                    .feature_branches
                    .as_deref()
                    .is_some_and(|g| glob_matches(g, b))
        })
}

/// Hostile claim sets, in the order they are reported.
pub(super) enum Hostile {
    /// One claim set, and what it stands for.
    One(String, Claims),
    /// A job in each of these environments (indices into [`Jobs::environments`]): the deploy
    /// job's claims with `sub` and `environment` naming it ([`in_environment`]).
    InEnvironments(Claims, Vec<usize>),
    /// A claim set the provider's token cannot tell apart from a legitimate job's through the
    /// keys STS exposes, and the control outside AWS that must stop it instead. Denied is
    /// better; admitted, it is reported as a limit, not a violation.
    Limited(String, Claims, String),
}

/// `claims` as presented by a job in environment `environment` (only GitHub's `sub` names it).
pub(super) fn in_environment(p: &Pipeline, claims: &Claims, environment: &str) -> Claims {
    let mut claims = claims.clone();
    if let Some(repo) = p.provider.github() {
        claims.insert(
            "sub".into(),
            format!("{}:environment:{environment}", repo.subject_prefix()),
        );
    }
    claims.insert("environment".into(), environment.to_owned());
    claims
}

/// The hostile claim sets tried against stage `index`'s role, whose deploy job presents
/// `deploy`.
fn github(
    p: &Pipeline,
    repo: &Repository,
    jobs: &Jobs<'_>,
    (index, kind): (usize, RoleKind),
    deploy: Claims,
) -> Vec<Hostile> {
    let stage = &p.stages[index];
    let full_name = repo.full_name();
    let mut out = Vec::new();
    let add = |out: &mut Vec<Hostile>, what: &str, claims: Claims| {
        out.push(Hostile::One(what.to_owned(), claims));
    };

    // Another owner with the same repository name (name recycling, or a copy).
    let mut other = deploy.clone();
    let evil_prefix = match repo.ids {
        Some((_, _)) => format!("repo:evil-org@999999/{}@999998", repo.name),
        None => format!("repo:evil-org/{}", repo.name),
    };
    if let Some(sub) = other.get("sub").cloned() {
        other.insert(
            "sub".into(),
            sub.replacen(&repo.subject_prefix(), &evil_prefix, 1),
        );
    }
    other.insert("repository".into(), format!("evil-org/{}", repo.name));
    if let Some(jwr) = other.get("job_workflow_ref").cloned() {
        other.insert(
            "job_workflow_ref".into(),
            jwr.replacen(&full_name, &format!("evil-org/{}", repo.name), 1),
        );
    }
    if other.contains_key("repository_id") {
        other.insert("repository_id".into(), "999998".into());
    }
    add(
        &mut out,
        "another owner's repository with the same name",
        other,
    );

    // Pull requests, including from forks: the subject is `pull_request`, the ref a merge ref.
    let mut pull = deploy.clone();
    pull.shift_remove("environment");
    pull.insert(
        "sub".into(),
        format!("{}:pull_request", repo.subject_prefix()),
    );
    pull.insert("ref".into(), "refs/pull/1/merge".into());
    pull.insert(
        "job_workflow_ref".into(),
        format!("{full_name}/{}@refs/pull/1/merge", p.workflow_path),
    );
    add(&mut out, "a pull request (e.g. from a fork)", pull);

    // A tag.
    add(
        &mut out,
        "a tag",
        with_ref(p, repo, &deploy, "refs/tags/v1.0.0"),
    );

    // A branch that is neither the deployment branch nor a feature branch.
    let unconfigured = unconfigured_branch(p);
    if let Some(branch) = unconfigured {
        add(
            &mut out,
            &format!("a push to unconfigured branch `{branch}`"),
            with_ref(p, repo, &deploy, &format!("refs/heads/{branch}")),
        );
    }

    // A feature branch, on every pipeline role; the deployment branch on the feature role.
    if let Some(glob) = &p.feature_branches {
        if kind == RoleKind::Feature {
            add(
                &mut out,
                &format!("a push to the deployment branch `{}`", p.branch),
                with_ref(p, repo, &deploy, &format!("refs/heads/{}", p.branch)),
            );
        }
        if kind == RoleKind::Pipeline {
            for branch in feature_samples(glob) {
                let mut claims = with_ref(p, repo, &deploy, &format!("refs/heads/{branch}"));
                claims.shift_remove("environment");
                claims.insert(
                    "sub".into(),
                    format!("{}:ref:refs/heads/{branch}", repo.subject_prefix()),
                );
                add(
                    &mut out,
                    &format!("feature branch `{branch}` ({FEATURE_ONLY})"),
                    claims,
                );
            }
        }
    }

    // Environments: a job in another stage's environment, or in an unknown one.
    let environments = (0..jobs.environments.len())
        .filter(|&at| Some(jobs.environments[at].0) != stage.environment.as_deref())
        .collect();
    out.push(Hostile::InEnvironments(deploy.clone(), environments));
    // A job on the deployment branch without the stage's environment (skipping its approvals).
    if stage.environment.is_some() {
        let mut claims = deploy.clone();
        claims.shift_remove("environment");
        claims.insert(
            "sub".into(),
            format!("{}:ref:refs/heads/{}", repo.subject_prefix(), p.branch),
        );
        add(
            &mut out,
            "a job on the deployment branch without the stage's environment",
            claims,
        );
    }

    let mut no_sub = deploy.clone();
    no_sub.shift_remove("sub");
    add(&mut out, "a token without `sub`", no_sub);

    let mut wrong_aud = deploy.clone();
    wrong_aud.insert("aud".into(), format!("https://github.com/{}", repo.owner));
    add(&mut out, "a token for another audience", wrong_aud);

    let mut other_workflow = deploy.clone();
    other_workflow.insert(
        "job_workflow_ref".into(),
        format!(
            "{full_name}/.github/workflows/other.yaml@refs/heads/{}",
            p.branch
        ),
    );
    add(
        &mut out,
        "another workflow file in the repository",
        other_workflow,
    );

    let mut reusable = deploy;
    reusable.insert(
        "job_workflow_ref".into(),
        format!(
            "evil-org/workflows/.github/workflows/deploy.yaml@refs/heads/{}",
            p.branch
        ),
    );
    add(
        &mut out,
        "a reusable workflow from another repository",
        reusable,
    );
    out
}

/// `claims` for a run on `git_ref` (ref-based subject; environment dropped).
fn with_ref(p: &Pipeline, repo: &Repository, claims: &Claims, git_ref: &str) -> Claims {
    let mut claims = claims.clone();
    claims.shift_remove("environment");
    claims.insert(
        "sub".into(),
        format!("{}:ref:{git_ref}", repo.subject_prefix()),
    );
    claims.insert("ref".into(), git_ref.to_owned());
    claims.insert(
        "job_workflow_ref".into(),
        format!("{}/{}@{git_ref}", repo.full_name(), p.workflow_path),
    );
    claims
}

/// GitLab: `sub` names the project (of the source project, for a merge request from a fork)
/// and the branch or tag; nothing else reaches IAM.
fn gitlab(
    p: &Pipeline,
    project: &GitLabProject,
    (index, kind): (usize, RoleKind),
    deploy: Claims,
) -> Vec<Hostile> {
    let stage = &p.stages[index];
    let mut out = Vec::new();
    let on = |project_path: &str, ref_type: &str, name: &str| {
        let mut claims = deploy.clone();
        claims.insert("sub".into(), gitlab_subject(project_path, ref_type, name));
        claims.insert("project_path".into(), project_path.to_owned());
        claims.insert("ref_type".into(), ref_type.to_owned());
        claims.insert("ref".into(), name.to_owned());
        claims.shift_remove("environment");
        claims
    };
    let name = project.path.rsplit('/').next().unwrap_or(&project.path);
    out.push(Hostile::One(
        "another group's project with the same name".into(),
        on(&format!("evil-group/{name}"), "branch", &p.branch),
    ));
    let mut fork = on(&format!("attacker/{name}"), "branch", &p.branch);
    fork.insert("pipeline_source".into(), "merge_request_event".into());
    out.push(Hostile::One(
        "a merge request from a fork (its token names the fork)".into(),
        fork,
    ));
    out.push(Hostile::One(
        "a project whose path extends this one's".into(),
        on(&format!("{}-evil", project.path), "branch", &p.branch),
    ));
    out.push(Hostile::One(
        "a tag".into(),
        on(&project.path, "tag", "v1.0.0"),
    ));
    if let Some(branch) = unconfigured_branch(p) {
        out.push(Hostile::One(
            format!("a push to unconfigured branch `{branch}`"),
            on(&project.path, "branch", branch),
        ));
        let mut merge_request = on(&project.path, "branch", branch);
        merge_request.insert("pipeline_source".into(), "merge_request_event".into());
        out.push(Hostile::One(
            format!("a merge request pipeline from unconfigured branch `{branch}`"),
            merge_request,
        ));
    }
    if let (Some(glob), true) = (&p.feature_branches, kind == RoleKind::Pipeline) {
        for branch in feature_samples(glob) {
            out.push(Hostile::One(
                format!("feature branch `{branch}` ({FEATURE_ONLY})"),
                on(&project.path, "branch", &branch),
            ));
        }
    }
    if kind == RoleKind::Feature {
        out.push(Hostile::One(
            format!("a push to the deployment branch `{}`", p.branch),
            on(&project.path, "branch", &p.branch),
        ));
    }
    // The environment is in the token but not a condition key: jobs of the deployment branch
    // in another environment, or in none, present this stage's subject. Every other stage's
    // environment is one such claim set, each tried once.
    let gate = "protect branch `{branch}` (who may push and merge) and make the stage's environment a protected environment (who may deploy)"
        .replace("{branch}", &p.branch);
    let mut seen = std::collections::HashSet::new();
    for environment in p
        .stages
        .iter()
        .filter(|s| s.name != stage.name)
        .filter_map(|s| s.environment.as_deref())
        .filter(|e| Some(*e) != stage.environment.as_deref())
        .filter(|e| seen.insert(*e))
    {
        let mut claims = on(&project.path, "branch", &p.branch);
        claims.insert("environment".into(), environment.to_owned());
        out.push(Hostile::Limited(
            format!("a job on `{}` in environment `{environment}` (GitLab's `sub` does not name the environment)", p.branch),
            claims,
            gate.clone(),
        ));
    }
    if stage.environment.is_some() {
        out.push(Hostile::Limited(
            format!("a job on `{}` without the stage's environment", p.branch),
            on(&project.path, "branch", &p.branch),
            gate,
        ));
    }
    // Other stages in this stage's environment, or like it in none: their jobs present exactly
    // this role's jobs' claims. Named by all the stages that share it (this one too), so that
    // every stage of the group reads, and reuses, the same claim set.
    if kind == RoleKind::Pipeline {
        let sharing: Vec<&str> = p
            .stages
            .iter()
            .filter(|s| s.environment == stage.environment)
            .map(|s| s.name.as_str())
            .collect();
        if sharing.len() > 1 {
            let stages = stage_list(&sharing);
            let (what, control) = match &stage.environment {
                Some(environment) => (
                    format!("a job on `{}` of another stage in environment `{environment}` ({stages} deploy in it, so their jobs present the same claims)", p.branch),
                    format!("protect branch `{}` (who may push and merge) and give each stage its own `environment`, a protected environment (who may deploy)", p.branch),
                ),
                None => (
                    format!("a job on `{}` of another stage without an environment ({stages} have none, so their jobs present the same claims)", p.branch),
                    format!("protect branch `{}` (who may push and merge) and give each stage an `environment`, a protected environment (who may deploy)", p.branch),
                ),
            };
            let mut claims = on(&project.path, "branch", &p.branch);
            if let Some(environment) = &stage.environment {
                claims.insert("environment".into(), environment.clone());
            }
            out.push(Hostile::Limited(what, claims, control));
        }
    }
    out.extend(tampered(&deploy, "https://gitlab.example.org"));
    out
}

/// Stages named in one claim set, at most; the rest are counted.
const NAMED_STAGES_MAX: usize = 10;

/// `stages `a`, `b` and `c``, naming at most [`NAMED_STAGES_MAX`] and counting the rest.
fn stage_list(names: &[&str]) -> String {
    let mut shown: Vec<String> = names
        .iter()
        .take(NAMED_STAGES_MAX)
        .map(|name| format!("`{name}`"))
        .collect();
    if names.len() > NAMED_STAGES_MAX {
        shown.push(format!("{} more", names.len() - NAMED_STAGES_MAX));
    }
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("stages {} and {last}", rest.join(", ")),
        _ => format!("stage {}", shown.concat()),
    }
}

/// Bitbucket: `sub` names the repository, the deployment environment (if the step has one)
/// and the step, never the branch or the kind of pipeline.
fn bitbucket(
    p: &Pipeline,
    repo: &BitbucketRepository,
    (index, kind): (usize, RoleKind),
    deploy: Claims,
) -> Vec<Hostile> {
    let stage = &p.stages[index];
    let mut out = Vec::new();
    let step = |repository: &str, environment: Option<&str>, branch: &str| {
        let mut claims = deploy.clone();
        claims.insert(
            "sub".into(),
            bitbucket_subject(repository, environment, SAMPLE_STEP_UUID),
        );
        claims.insert("repositoryUuid".into(), repository.to_owned());
        claims.insert("branchName".into(), branch.to_owned());
        match environment {
            Some(uuid) => claims.insert("deploymentEnvironmentUuid".into(), uuid.to_owned()),
            None => claims.shift_remove("deploymentEnvironmentUuid"),
        };
        claims
    };
    // Feature steps deploy in no environment: that is what their role trusts.
    let (environment, own_environment) = match kind {
        RoleKind::Pipeline => (
            stage.environment.as_ref(),
            stage.environment_uuid.as_deref(),
        ),
        RoleKind::Feature => (None, None),
    };
    let control = match (environment, own_environment) {
        (Some(environment), Some(_)) => format!(
            "Bitbucket deployment permissions on environment `{environment}` (Premium): allow deployments only from {}",
            deploying_branches(p)
        ),
        _ => "give the stage `environment` and `environment_uuid`, so that only steps deploying to that environment are trusted, and restrict the environment with deployment permissions".to_owned(),
    };
    out.push(Hostile::One(
        "another repository in the workspace".into(),
        step(
            "{00000000-0000-4000-8000-0000000000e1}",
            own_environment,
            &p.branch,
        ),
    ));
    // Steps of the same repository on branches or pipelines the workflow never deploys from.
    let mut pull_request = step(
        &repo.repository_uuid,
        own_environment,
        "feature-from-anyone",
    );
    pull_request.insert("pipeline".into(), "pull-requests".into());
    out.push(Hostile::Limited(
        "a pull-request pipeline step (the token does not say which pipeline ran it)".into(),
        pull_request,
        control.clone(),
    ));
    if let Some(branch) = unconfigured_branch(p) {
        out.push(Hostile::Limited(
            format!("a step on unconfigured branch `{branch}` (the branch is not in `sub`)"),
            step(&repo.repository_uuid, own_environment, branch),
            control.clone(),
        ));
    }
    if let (Some(glob), true) = (&p.feature_branches, kind == RoleKind::Pipeline) {
        let branch = glob.replace('*', "");
        out.push(Hostile::Limited(
            format!("a step on feature branch `{branch}` ({FEATURE_ONLY})"),
            step(&repo.repository_uuid, own_environment, &branch),
            control.clone(),
        ));
    }
    // Other deployment environments, and steps without one.
    let others = p
        .stages
        .iter()
        .filter_map(|s| s.environment_uuid.as_deref())
        .filter(|uuid| Some(*uuid) != own_environment)
        .chain(["{00000000-0000-4000-8000-0000000000e2}"]);
    for (n, uuid) in others.enumerate() {
        let what = match p
            .stages
            .iter()
            .find(|s| s.environment_uuid.as_deref() == Some(uuid))
        {
            Some(other) => format!("a step deploying to stage `{}`'s environment", other.name),
            None => "a step deploying to an unknown environment".to_owned(),
        };
        let claims = step(&repo.repository_uuid, Some(uuid), &p.branch);
        out.push(if own_environment.is_some() {
            Hostile::One(what, claims)
        } else {
            Hostile::Limited(what, claims, control.clone())
        });
        // The environments of every stage are tried once per stage; beyond a few, more
        // of the same kind prove nothing new.
        if n >= 3 {
            break;
        }
    }
    let without = step(&repo.repository_uuid, None, &p.branch);
    if own_environment.is_some() {
        out.push(Hostile::One(
            "a step without a deployment environment".into(),
            without,
        ));
    }
    out.extend(tampered(
        &deploy,
        "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-0000000000e3",
    ));
    out
}

/// The branches whose pipelines deploy to a stage's environment, for messages: only the
/// deployment branch (feature steps deploy in no environment, with their own role).
pub(super) fn deploying_branches(p: &Pipeline) -> String {
    format!("`{}`", p.branch)
}

/// A token without `sub`, and one for another audience.
fn tampered(deploy: &Claims, other_audience: &str) -> Vec<Hostile> {
    let mut no_sub = deploy.clone();
    no_sub.shift_remove("sub");
    let mut wrong_aud = deploy.clone();
    wrong_aud.insert("aud".into(), other_audience.to_owned());
    vec![
        Hostile::One("a token without `sub`".into(), no_sub),
        Hostile::One("a token for another audience".into(), wrong_aud),
    ]
}
