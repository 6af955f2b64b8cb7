//! The proof, run on every synth: for each stage, resolve the role's trust policy from the typed
//! template (as CloudFormation would for `Stage=<name>`), then evaluate it like STS would:
//!
//! 1. every job that assumes the role presents claims the policy admits;
//! 2. a battery of hostile claim sets (another owner, a fork's pull request, a tag, an
//!    unconfigured branch, a feature branch on a later stage, the wrong environment, no `sub`,
//!    the wrong `aud`, another workflow file, ...) is denied;
//! 3. every statement that trusts the OIDC provider checks both `aud` and `sub`, only with
//!    condition keys STS actually exposes for GitHub, and never with a `ForAllValues` operator.
//!
//! Any failure is a synth error naming the job, the stage, the role and the claims.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde::Serialize;

use super::claims::{patterns, sample_claims, with_branch, Claims};
use super::evaluator::{Decision, EvalError, Evaluation, Policy, PolicyStatement, Request};
use super::hostile::{hostile, in_environment, Hostile};
use crate::cfn::{Effect, ResourceProperties, Template};
use crate::cfn::{PseudoValues, ResolvedPrincipal, ResolvedStatement, Resolver};
use crate::diag::{ConfigPath, Diagnostic};
use crate::pipeline::provider::Provider;
use crate::pipeline::template::ids;
use crate::pipeline::{Pipeline, RoleKind, RoleUse};

const ASSUME: &str = "sts:AssumeRoleWithWebIdentity";

/// What one role of a stage admits, proven.
#[derive(Clone, Debug, Serialize)]
pub struct StageTrust {
    pub stage: String,
    /// `pipeline`, or `feature` for the first stage's feature-branch role.
    pub role: String,
    pub account: String,
    pub region: String,
    pub role_arn: String,
    pub provider_arn: String,
    /// The trust statements as resolved for this stage.
    pub statements: Vec<AdmittedStatement>,
    /// The jobs that assume this role, with the claims each presents.
    pub jobs: Vec<JobClaims>,
    /// The hostile claim sets that were tried and denied.
    pub denied: Vec<String>,
    /// Hostile claim sets the role admits because the provider's token cannot tell them from
    /// its own jobs' through the keys STS exposes, each with the control that must stop them.
    pub limits: Vec<Limit>,
    /// Things a reviewer must act on.
    pub warnings: Vec<String>,
}

/// A hostile claim set a role admits by the provider's limits, and what must stop it instead.
#[derive(Clone, Debug, Serialize)]
pub struct Limit {
    pub admitted: String,
    pub control: String,
}

/// One trust statement: what it requires of a token.
#[derive(Clone, Debug, Serialize)]
pub struct AdmittedStatement {
    pub sid: Option<String>,
    /// `operator key` → values (e.g. `StringLike token...:sub` → [...]).
    pub conditions: IndexMap<String, Vec<String>>,
}

/// A job and the claims it presents.
#[derive(Clone, Debug, Serialize)]
pub struct JobClaims {
    pub job: String,
    pub purpose: String,
    pub trigger: String,
    pub claims: Claims,
}

/// The whole trust map.
#[derive(Clone, Debug, Serialize)]
pub struct TrustMap {
    pub app: String,
    /// The CI system, e.g. `GitHub Actions`.
    pub ci: String,
    pub repository: String,
    /// Where the CI file lives in the repository.
    pub workflow_path: String,
    /// What the provider's tokens cannot express, for every stage.
    pub notes: Vec<String>,
    pub stages: Vec<StageTrust>,
}

/// Where a stage is declared in the config, for diagnostics.
fn stage_path(index: usize) -> ConfigPath {
    ConfigPath::root().key("stages").index(index)
}

fn violation(index: usize, message: String, help: &str) -> Diagnostic {
    Diagnostic::error("trust-violation", message)
        .at(stage_path(index).key("name"))
        .help(help.to_owned())
}

/// A role the proof covers: a stage's pipeline role, or the first stage's feature role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub stage: usize,
    pub kind: RoleKind,
}

/// Every role that OIDC tokens can assume, in stage order, each stage's pipeline role first.
pub fn targets(p: &Pipeline) -> Vec<Target> {
    let mut out = Vec::with_capacity(p.stages.len() + 1);
    for (stage, plan) in p.stages.iter().enumerate() {
        out.push(Target {
            stage,
            kind: RoleKind::Pipeline,
        });
        if plan.feature.is_some() {
            out.push(Target {
                stage,
                kind: RoleKind::Feature,
            });
        }
    }
    out
}

/// The logical id of a role of `kind`.
pub fn role_id(kind: RoleKind) -> &'static str {
    match kind {
        RoleKind::Pipeline => ids::PIPELINE_ROLE,
        RoleKind::Feature => ids::FEATURE_ROLE,
    }
}

/// The trust statements of stage `stage`'s role of `kind`, resolved.
pub fn trust_statements(
    p: &Pipeline,
    template: &Template,
    Target { stage, kind }: Target,
) -> Result<Vec<ResolvedStatement>, String> {
    let plan = &p.stages[stage];
    let mut parameters = IndexMap::new();
    parameters.insert(ids::STAGE.to_owned(), plan.name.clone());
    // The partition comes from the model (the config's region table), not from a guess, so the
    // proof sees the ARNs CloudFormation will build in that partition.
    let pseudo = PseudoValues {
        account_id: plan.account.clone(),
        region: plan.region.clone(),
        partition: plan.partition.to_owned(),
        stack_name: plan.resources_stack_name.clone(),
    };
    let resolver = Resolver::new(template, parameters, pseudo).map_err(|e| e.to_string())?;
    let role = match template
        .resources()
        .get(role_id(kind))
        .map(|r| &r.properties)
    {
        Some(ResourceProperties::Role(role)) => role,
        _ => return Err(format!("the template has no `{}` role", role_id(kind))),
    };
    resolver
        .policy(&role.assume_role_policy_document)
        .map_err(|e| e.to_string())
}

/// The STS request a token with `claims` makes against `provider`. Only claims STS exposes as
/// condition keys are visible to the policy, as in AWS.
pub fn request(source: &Provider, provider: &str, claims: &Claims) -> Request {
    let mut context = IndexMap::with_capacity(claims.len());
    let exposed = source.sts_claims();
    for (claim, value) in claims {
        if exposed.contains(&claim.as_str()) {
            context.insert(source.condition_key(claim), vec![value.clone()]);
        }
    }
    Request {
        action: ASSUME.to_owned(),
        federated_principal: provider.to_owned(),
        context,
    }
}

/// Whether `policy` admits a token with `claims`; the full evaluation, to explain, only when it
/// does not say `expected` (the usual answer is computed without building explanations).
fn evaluate_claims(
    policy: &Policy<'_>,
    (source, provider): (&Provider, &str),
    claims: &Claims,
    expected: Decision,
) -> Result<Result<(), Evaluation>, EvalError> {
    let request = request(source, provider, claims);
    if policy.decision(&request)? == expected {
        return Ok(Ok(()));
    }
    policy.evaluate(&request).map(Err)
}

fn show(claims: &Claims) -> String {
    claims
        .iter()
        .map(|(k, v)| format!("{k}=`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the proofs of all stages look up, computed once so that proving N stages stays linear
/// in N ([`Pipeline::role_uses_of`] scans every job, and the warnings compare stages pairwise).
pub(super) struct Jobs<'p> {
    /// The roles, and the jobs that assume each, in workflow order.
    targets: Vec<Target>,
    of_target: Vec<Vec<&'p RoleUse>>,
    /// Each exact (non-glob) OIDC subject → the stages with a job that presents it, ascending.
    stages_by_subject: HashMap<String, Vec<usize>>,
    /// The stages' environments and one no stage has, each once, for hostile claims, with the
    /// OIDC subject of a job in each and what the denied claim set is called.
    pub(super) environments: Vec<(&'p str, String, String)>,
}

impl<'p> Jobs<'p> {
    fn new(p: &'p Pipeline) -> Self {
        // Only GitHub's subject names the environment; the other providers' batteries build
        // their environment sets themselves.
        let mut seen = HashSet::new();
        let environments = match p.provider.github() {
            Some(repo) => p
                .stages
                .iter()
                .filter_map(|s| s.environment.as_deref())
                .chain(["attacker-environment"])
                .filter(|e| seen.insert(*e))
                .map(|e| {
                    let subject = format!("{}:environment:{e}", repo.subject_prefix());
                    (e, subject, format!("a job in environment `{e}`"))
                })
                .collect(),
            None => Vec::new(),
        };
        let of_stage = p.role_uses_by_stage();
        let targets = targets(p);
        let of_target = targets
            .iter()
            .map(|t| {
                of_stage[t.stage]
                    .iter()
                    .copied()
                    .filter(|u| u.role == t.kind)
                    .collect()
            })
            .collect();
        let mut stages_by_subject: HashMap<String, Vec<usize>> = HashMap::new();
        for use_ in of_stage.iter().flatten() {
            if !use_.runs_on_ref.is_glob() {
                stages_by_subject
                    .entry(patterns(p, use_).sub)
                    .or_default()
                    .push(use_.stage);
            }
        }
        for stages in stages_by_subject.values_mut() {
            stages.sort_unstable();
            stages.dedup();
        }
        Self {
            targets,
            of_target,
            stages_by_subject,
            environments,
        }
    }
}

/// Proves the trust contract for every stage; returns the trust map or every violation.
pub fn prove(p: &Pipeline, template: &Template) -> Result<TrustMap, Vec<Diagnostic>> {
    let jobs = Jobs::new(p);
    let inputs: Vec<HostileInputs> = (0..jobs.targets.len())
        .map(|at| hostile_inputs(p, &jobs, at))
        .collect();
    let mut reuse = Reuse::default();
    for stage_inputs in &inputs {
        *reuse.left.entry(stage_inputs).or_default() += 1;
    }
    let mut problems = Vec::new();
    let mut stages = Vec::new();
    for (at, stage_inputs) in inputs.iter().enumerate() {
        match prove_role(p, template, &jobs, (stage_inputs, &mut reuse), at) {
            Ok(stage) => stages.push(stage),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(TrustMap {
            app: p.app.clone(),
            ci: p.provider.ci_name().to_owned(),
            repository: p.provider.display(),
            workflow_path: match p.provider {
                Provider::GitHub(_) => p.workflow_path.clone(),
                _ => p.provider.file_name().to_owned(),
            },
            notes: notes(p),
            stages,
        })
    } else {
        Err(problems)
    }
}

/// What [`hostile`] builds a role's hostile claim sets from: the deploy job's claims, the
/// kind of role, and the stage's environment.
type HostileInputs = (Vec<(String, String)>, RoleKind, Option<String>);

fn hostile_inputs(p: &Pipeline, jobs: &Jobs<'_>, at: usize) -> HostileInputs {
    let Target { stage: index, kind } = jobs.targets[at];
    let stage = &p.stages[index];
    let deploy_job = match kind {
        RoleKind::Pipeline => crate::pipeline::job_ids::deploy(&stage.name),
        RoleKind::Feature => crate::pipeline::job_ids::DEPLOY_FEATURE.to_owned(),
    };
    let deploy = jobs.of_target[at]
        .iter()
        .find(|u| u.job_id == deploy_job)
        .map(|u| sample_claims(p, u))
        .unwrap_or_default();
    (
        deploy.into_iter().collect(),
        kind,
        stage.environment.clone(),
    )
}

/// Stages with the same [`HostileInputs`] are tried with the same hostile claim sets, built
/// once (with many stages, most agree: all those without an environment). `sets` keeps them,
/// with their requests (the provider is set per stage), while `left` says a later stage will
/// use them.
#[derive(Default)]
struct Reuse<'i> {
    left: HashMap<&'i HostileInputs, usize>,
    sets: HashMap<&'i HostileInputs, Vec<Prepared>>,
}

/// A [`Hostile`] with its request.
enum Prepared {
    One(String, Claims, Request),
    Limited(String, Request, String),
    InEnvironments(Claims, Vec<usize>, Request),
}

fn prove_role<'i>(
    p: &Pipeline,
    template: &Template,
    all_jobs: &Jobs<'_>,
    (inputs, reuse): (&'i HostileInputs, &mut Reuse<'i>),
    at: usize,
) -> Result<StageTrust, Vec<Diagnostic>> {
    let target = all_jobs.targets[at];
    let index = target.stage;
    let plan = &p.stages[index];
    let role = plan.roles(target.kind).role_arn;
    let provider = &plan.oidc_provider_arn;
    let resolved = trust_statements(p, template, target).map_err(|e| {
        vec![violation(
            index,
            format!("cannot resolve the trust policy of `{role}`: {e}"),
            "this is a bug in sampipe; please report it",
        )]
    })?;
    let mut problems = shape_problems(&p.provider, index, role, &resolved);
    let statements: Vec<PolicyStatement> = resolved.iter().map(PolicyStatement::from).collect();
    let policy = Policy::new(&statements);
    let cannot_evaluate = |e: EvalError| {
        violation(
            index,
            format!("cannot evaluate the trust policy of `{role}`: {e}"),
            "this is a bug in sampipe; please report it",
        )
    };

    // 1. Every job that assumes the role is admitted.
    let uses = &all_jobs.of_target[at];
    let bases: Vec<Claims> = uses.iter().map(|u| sample_claims(p, u)).collect();
    let samples: Vec<Vec<Claims>> = uses
        .iter()
        .zip(&bases)
        .map(|(u, base)| job_samples(p, u, base))
        .collect();
    let mut jobs = Vec::new();
    for ((use_, base), samples) in uses.iter().zip(&bases).zip(&samples) {
        for claims in samples {
            match evaluate_claims(&policy, (&p.provider, provider), claims, Decision::Allow) {
                Ok(Ok(())) => {}
                Ok(Err(evaluation)) => problems.push(violation(
                    index,
                    format!(
                        "job `{}` cannot assume role `{role}` of stage `{}`: {}; claims: {}",
                        use_.job_id,
                        plan.name,
                        evaluation.explain(),
                        show(claims)
                    ),
                    "this is a bug in sampipe: the workflow and the trust policy disagree; please report it",
                )),
                Err(e) => problems.push(cannot_evaluate(e)),
            }
        }
        jobs.push(JobClaims {
            job: use_.job_id.clone(),
            purpose: use_.purpose.to_owned(),
            trigger: trigger(use_),
            claims: base.clone(),
        });
    }

    // 2. Hostile claim sets are denied. A set that equals what one of this role's own jobs
    // presents is legitimately admitted (e.g. delete-feature runs on the deployment branch
    // without an environment) and is reported as a warning instead.
    let own: Vec<Request> = samples
        .iter()
        .flatten()
        .map(|claims| request(&p.provider, provider, claims))
        .collect();
    let mut denied = Vec::with_capacity(16 + all_jobs.environments.len());
    let mut limits = Vec::new();
    // Records a hostile claim set's decision: denied, or a violation, explained by evaluating
    // `claims()` in full.
    let mut record = |what: String, decision, claims: &dyn Fn() -> Claims| match decision {
        Ok(Decision::Allow) => {
            let claims = claims();
            match policy.evaluate(&request(&p.provider, provider, &claims)) {
                Ok(evaluation) => problems.push(violation(
                    index,
                    format!(
                        "role `{role}` of stage `{}` admits {what}: {}; claims: {}",
                        plan.name,
                        evaluation.explain(),
                        show(&claims)
                    ),
                    "this is a bug in sampipe: the trust policy admits more than the workflow needs; please report it",
                )),
                Err(e) => problems.push(cannot_evaluate(e)),
            }
        }
        Ok(_) => denied.push(what),
        Err(e) => problems.push(cannot_evaluate(e)),
    };
    let mut sets = match reuse.sets.remove(inputs) {
        Some(sets) => sets,
        None => {
            let prepare = |hostile| match hostile {
                Hostile::One(what, claims) => {
                    let request = request(&p.provider, "", &claims);
                    Prepared::One(what, claims, request)
                }
                Hostile::Limited(what, claims, control) => {
                    let request = request(&p.provider, "", &claims);
                    Prepared::Limited(what, request, control)
                }
                Hostile::InEnvironments(base, environments) => {
                    let family = request(&p.provider, "", &in_environment(p, &base, ""));
                    Prepared::InEnvironments(base, environments, family)
                }
            };
            let deploy = inputs.0.iter().cloned().collect();
            hostile(p, all_jobs, (index, target.kind), deploy)
                .into_iter()
                .map(prepare)
                .collect()
        }
    };
    for set in sets.iter_mut() {
        match set {
            // Reported even when it equals one of the role's own jobs' requests: that is the
            // limit (AWS cannot tell them apart).
            Prepared::Limited(what, request, control) => {
                request.federated_principal.clone_from(provider);
                match policy.decision(request) {
                    Ok(Decision::Allow) => limits.push(Limit {
                        admitted: what.clone(),
                        control: control.clone(),
                    }),
                    Ok(_) => record(what.clone(), Ok(Decision::ImplicitDeny), &Claims::new),
                    Err(e) => record(String::new(), Err(e), &Claims::new),
                }
            }
            Prepared::One(what, claims, request) => {
                request.federated_principal.clone_from(provider);
                if !own.iter().any(|o| o.context == request.context) {
                    record(what.clone(), policy.decision(request), &|| claims.clone());
                }
            }
            Prepared::InEnvironments(base, environments, family) => {
                // The requests of `in_environment(p, &base, name)` for each environment differ
                // only in `sub` and `environment`: decided together, so that the conditions on
                // the other claims are checked once. This family grows with the stages.
                family.federated_principal.clone_from(provider);
                let family = &*family;
                let (sub, environment) = (
                    p.provider.condition_key("sub"),
                    p.provider.condition_key("environment"),
                );
                let keys = [sub.as_str(), environment.as_str()];
                let items: Vec<[&str; 2]> = environments
                    .iter()
                    .map(|&at| {
                        let (name, subject, _) = &all_jobs.environments[at];
                        [subject.as_str(), *name]
                    })
                    .collect();
                // Own jobs whose requests equal the family's but in `keys`, with their values
                // there: an item equal to one of them is not hostile.
                let own_values: Vec<[Option<&Vec<String>>; 2]> = own
                    .iter()
                    .filter(|o| same_except(&o.context, &family.context, &keys))
                    .map(|o| keys.map(|key| o.context.get(key)))
                    .collect();
                let is_own = |item: &[&str; 2]| {
                    own_values.iter().any(|values| {
                        values
                            .iter()
                            .zip(item)
                            .all(|(v, x)| v.is_some_and(|v| v.len() == 1 && v[0] == *x))
                    })
                };
                let decisions = match policy.decide_each(family, keys, items.iter().copied()) {
                    Ok(decisions) => decisions,
                    Err(e) => {
                        record(String::new(), Err(e), &Claims::new);
                        continue;
                    }
                };
                for ((item, decision), &at) in items.iter().zip(decisions).zip(environments.iter())
                {
                    if !is_own(item) {
                        let name = item[1];
                        record(all_jobs.environments[at].2.clone(), Ok(decision), &|| {
                            in_environment(p, base, name)
                        });
                    }
                }
            }
        }
    }
    if let Some(left) = reuse.left.get_mut(inputs) {
        *left -= 1;
        if *left > 0 {
            reuse.sets.insert(inputs, sets);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(StageTrust {
        stage: plan.name.clone(),
        role: target.kind.word().to_owned(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        role_arn: role.to_owned(),
        provider_arn: provider.clone(),
        statements: resolved.iter().map(admitted).collect(),
        jobs,
        denied,
        limits,
        warnings: warnings(p, all_jobs, at),
    })
}

fn trigger(use_: &RoleUse) -> String {
    let event = match use_.event {
        crate::pipeline::Event::Push => "push to",
        crate::pipeline::Event::Delete => "branch deletion, runs on",
        crate::pipeline::Event::Manual => "custom pipeline started by hand on",
    };
    let mut text = format!("{event} `{}`", use_.runs_on_ref.git_ref());
    if let Some(environment) = &use_.environment {
        text.push_str(&format!(" in environment `{environment}`"));
    }
    text
}

fn admitted(statement: &ResolvedStatement) -> AdmittedStatement {
    let mut conditions = IndexMap::new();
    for (operator, keys) in &statement.condition {
        for (key, values) in keys {
            conditions.insert(format!("{} {key}", operator.as_str()), values.clone());
        }
    }
    AdmittedStatement {
        sid: statement.sid.clone(),
        conditions,
    }
}

/// Rule 3: each statement that trusts the OIDC provider tests `aud` and `sub`, with keys STS
/// exposes and operators that fail closed.
fn shape_problems(
    source: &Provider,
    index: usize,
    role: &str,
    statements: &[ResolvedStatement],
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let host = source.issuer_host();
    let prefix = format!("{host}:");
    for statement in statements {
        let trusts_oidc = statement.effect == Effect::Allow
            && matches!(&statement.principal, Some(ResolvedPrincipal::Federated(p)) if p.iter().any(|p| p.ends_with(&host)));
        if !trusts_oidc {
            continue;
        }
        let sid = statement.sid.as_deref().unwrap_or("(no Sid)");
        let keys: Vec<(&str, &str)> = statement
            .condition
            .iter()
            .flat_map(|(op, keys)| keys.keys().map(move |k| (op.as_str(), k.as_str())))
            .collect();
        for claim in ["aud", "sub"] {
            let key = source.condition_key(claim);
            if !keys.iter().any(|(_, k)| *k == key) {
                problems.push(violation(
                    index,
                    format!("statement `{sid}` of role `{role}` does not check `{key}`"),
                    "every OIDC trust statement must check both `aud` and `sub`",
                ));
            }
        }
        for (operator, key) in &keys {
            if operator.starts_with("ForAllValues")
                || operator.starts_with("ForAnyValue")
                || operator.ends_with("IfExists")
            {
                problems.push(violation(index, format!("statement `{sid}` of role `{role}` uses `{operator}` on `{key}`"), "`ForAllValues` and `IfExists` are true when the claim is missing; use `StringEquals` or `StringLike`"));
            }
            if let Some(claim) = key.strip_prefix(&prefix) {
                if !source.sts_claims().contains(&claim) {
                    problems.push(violation(index, format!("statement `{sid}` of role `{role}` tests `{key}`, which STS does not expose"), "a condition on a claim STS does not expose never matches and makes the role unassumable"));
                }
            }
        }
    }
    problems
}

/// Concrete claim sets for one job, whose [`sample_claims`] are `base`: one per sample branch
/// when the job runs on a pattern.
fn job_samples(p: &Pipeline, use_: &RoleUse, base: &Claims) -> Vec<Claims> {
    if !use_.runs_on_ref.is_glob() {
        return vec![base.clone()];
    }
    let glob = p.feature_branches.as_deref().unwrap_or_default();
    feature_samples(glob)
        .into_iter()
        .map(|branch| with_branch(p, base, &branch))
        .collect()
}

/// Branch names matching a feature glob: the shortest and a longer one.
pub(super) fn feature_samples(glob: &str) -> Vec<String> {
    vec![glob.replace('*', ""), glob.replace('*', "x-1")]
}

/// Whether two requests' contexts have the same keys and the same values but in `keys`.
fn same_except(
    a: &IndexMap<String, Vec<String>>,
    b: &IndexMap<String, Vec<String>>,
    keys: &[&str],
) -> bool {
    a.len() == b.len()
        && b.iter().all(|(key, values)| {
            if keys.contains(&key.as_str()) {
                a.contains_key(key)
            } else {
                a.get(key) == Some(values)
            }
        })
}

/// What the provider's tokens let a trust policy tell apart, and what must do the rest.
fn notes(p: &Pipeline) -> Vec<String> {
    match &p.provider {
        Provider::GitHub(_) => Vec::new(),
        Provider::GitLab(project) => vec![format!(
            "AWS STS exposes only `aud` and `sub` of {} tokens. `sub` names the project and the branch (`project_path:{}:ref_type:branch:ref:{}`), not the environment, the pipeline source or whether the branch is protected: every job of a pipeline on `{}` presents the same claims to every stage's role. Compensating controls, outside AWS: protect `{}` (Settings → Repository → Protected branches: who may push and merge), make each stage's environment a protected environment (Settings → CI/CD → Protected environments: who may deploy, approvals), and require review of `.gitlab-ci.yml` changes (CODEOWNERS).",
            project.url, project.path, p.branch, p.branch, p.branch
        )],
        Provider::Bitbucket(_) => vec![format!(
            "AWS STS exposes only `aud` and `sub` of Bitbucket tokens. `sub` names the repository, the step's deployment environment (if it has one) and the step, not the branch or the pipeline (branch, pull request, custom): a role that trusts a deployment environment admits any step that deploys to it, from any branch; a role without one admits every step of the repository. Compensating controls, outside AWS: a deployment environment per stage (`environment` and `environment_uuid`), deployment permissions on each (Bitbucket Premium: allowed branches, admins only), and branch restrictions on `{}`.",
            p.branch
        )],
    }
}

/// Stages named in one warning, at most; the rest are counted.
const NAMED_STAGES_MAX: usize = 10;

/// What a reviewer should know or do about stage `index`'s trust.
fn warnings(p: &Pipeline, jobs: &Jobs<'_>, at: usize) -> Vec<String> {
    let Target { stage: index, kind } = jobs.targets[at];
    let stage = &p.stages[index];
    let mut out = Vec::new();
    if kind == RoleKind::Feature {
        if let Some(glob) = &p.feature_branches {
            out.push(format!(
                "`{glob}` admits every branch that matches it: anyone who can push such a branch can run their own version of the workflow with this role, which can change only `{}*` stacks; keep this stage's account free of production data",
                stage.feature.as_ref().map_or("", |f| f.stack_prefix.as_str())
            ));
            if p.provider.github().is_some() && glob.contains('*') && !glob.contains("**") {
                out.push(format!(
                    "IAM's `*` also matches `/`, so the trust admits branches such as `{}` that GitHub's `{glob}` push filter never runs the workflow for",
                    glob.replacen('*', "x/y", 1)
                ));
            }
        }
        return out;
    }
    match (&p.provider, &stage.environment) {
        (Provider::GitHub(_), Some(environment)) => out.push(format!(
            "the approval gate is GitHub environment `{environment}`: give it required reviewers and restrict its deployment branches to `{}`",
            p.branch
        )),
        (Provider::GitLab(_), Some(environment)) => out.push(format!(
            "make `{environment}` a protected environment (who may deploy{}) and protect branch `{}`: AWS sees neither",
            if stage.manual_approval { " and approve the manual job" } else { "" },
            p.branch
        )),
        (Provider::Bitbucket(_), Some(environment)) => out.push(format!(
            "restrict deployment environment `{environment}` with deployment permissions (Premium): deployments only from {}{}",
            super::hostile::deploying_branches(p),
            if stage.manual_approval { ", and only admins may start the manual step" } else { "" }
        )),
        (Provider::GitLab(_) | Provider::Bitbucket(_), None) if stage.manual_approval => out.push(
            "the manual gate is the CI system's only check: anyone who may run the pipeline may start it; give the stage an `environment` and restrict who may deploy to it".into(),
        ),
        _ => {}
    }
    // Other stages with an exact-ref job that presents one of this stage's subjects: how many,
    // and the first few. Usually all of this stage's jobs present one subject, whose stages are
    // counted and named without collecting them (with many stages on the deployment branch
    // without environments, every stage shares with every other one).
    let mut subjects: Vec<String> = jobs.of_target[at]
        .iter()
        .map(|u| patterns(p, u).sub)
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    let lists: Vec<&[usize]> = subjects
        .iter()
        .filter_map(|sub| jobs.stages_by_subject.get(sub).map(Vec::as_slice))
        .collect();
    let others = |stages: &[usize]| -> Vec<usize> {
        stages
            .iter()
            .copied()
            .filter(|&other| other != index)
            .take(NAMED_STAGES_MAX)
            .collect()
    };
    let (shared, named) = match lists.as_slice() {
        [] => (0, Vec::new()),
        [stages] => (
            stages.len() - usize::from(stages.binary_search(&index).is_ok()),
            others(stages),
        ),
        several => {
            let mut stages: Vec<usize> = several.concat();
            stages.sort_unstable();
            stages.dedup();
            (
                stages.len() - usize::from(stages.binary_search(&index).is_ok()),
                others(&stages),
            )
        }
    };
    // On GitLab every job on the deployment branch presents the same claims; the stage's
    // limits already say so, with the controls.
    let fix = match p.provider {
        Provider::GitHub(_) => Some("give the stages different `environment`s"),
        Provider::Bitbucket(_) => {
            Some("give each stage its own `environment` and `environment_uuid`")
        }
        Provider::GitLab(_) => None,
    };
    if let (true, Some(fix)) = (shared > 0, fix) {
        let mut names: Vec<String> = named
            .iter()
            .map(|&other| format!("`{}`", p.stages[other].name))
            .collect();
        if shared > NAMED_STAGES_MAX {
            names.push(format!("{} more", shared - NAMED_STAGES_MAX));
        }
        let stages = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                format!("stages {} and {last}", rest.join(", "))
            }
            _ => format!("stage {}", names.concat()),
        };
        out.push(format!(
            "jobs of {stages} present the same OIDC claims as this stage's deploy job, so this role cannot tell them apart; {fix}"
        ));
    }
    if p.provider.github().is_some_and(|repo| repo.ids.is_none()) {
        out.push("subjects name the repository, not its immutable ids: set `source.github.owner_id` and `repository_id` to survive renames and name reuse".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::iam;
    use crate::cfn::{ConditionOperator, PolicyDocument, Principal, Resource, Statement, Value};
    use crate::pipeline::template::template;

    const CONFIG: &str = "\
version: 1
app: shop
source:
  github:
    repository: octo-org/shop
feature_branches: 'feature*'
stages:
  - name: dev
    account: '111111111111'
    region: us-east-1
  - name: prod
    account: '222222222222'
    region: us-east-1
    environment: production
";

    fn pipeline(config: &str) -> Pipeline {
        let loaded = crate::config::load_str("sampipe.yaml", config).unwrap();
        Pipeline::new(&loaded.config).unwrap()
    }

    /// Stage `stage`'s pipeline role in the map.
    fn of<'m>(map: &'m TrustMap, stage: &str) -> &'m StageTrust {
        map.stages
            .iter()
            .find(|s| s.stage == stage && s.role == "pipeline")
            .expect("the stage is in the map")
    }

    fn messages(result: Result<TrustMap, Vec<Diagnostic>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn the_generated_template_is_proven() {
        let p = pipeline(CONFIG);
        let map = prove(&p, &template(&p)).unwrap();
        let roles: Vec<(&str, &str)> = map
            .stages
            .iter()
            .map(|s| (s.stage.as_str(), s.role.as_str()))
            .collect();
        assert_eq!(
            roles,
            [
                ("dev", "pipeline"),
                ("dev", "feature"),
                ("prod", "pipeline")
            ]
        );
        // The main roles do not trust feature branches, and the feature role no other branch.
        for role in [&map.stages[0], &map.stages[2]] {
            assert!(
                role.denied
                    .iter()
                    .any(|d| d.starts_with("feature branch `feature`")),
                "{:?}",
                role.denied
            );
        }
        assert!(map.stages[1]
            .denied
            .iter()
            .any(|d| d == "a push to unconfigured branch `unconfigured-branch`"));
        assert!(of(&map, "prod")
            .denied
            .iter()
            .any(|d| d.contains("without the stage's environment")));
    }

    #[test]
    fn a_job_the_trust_policy_does_not_admit_fails_the_proof() {
        // The template was made for a prod without environment; the workflow uses one.
        let without_environment = pipeline(&CONFIG.replace("    environment: production\n", ""));
        let with_environment = pipeline(CONFIG);
        let problems = messages(prove(&with_environment, &template(&without_environment)));
        assert!(
            problems
                .iter()
                .any(|m| m.starts_with("job `deploy-prod` cannot assume role")
                    && m.contains("environment:production")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_trust_policy_that_admits_more_than_the_jobs_fails_the_proof() {
        // The template admits main-branch jobs on prod; the workflow gates prod with an environment.
        let without_environment = pipeline(&CONFIG.replace("    environment: production\n", ""));
        let with_environment = pipeline(CONFIG);
        let problems = messages(prove(&with_environment, &template(&without_environment)));
        assert!(
            problems.iter().any(|m| m
                .contains("admits a job on the deployment branch without the stage's environment")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_trust_policy_that_admits_another_stages_environment_fails_the_proof() {
        // The template was made for a prod in dev's environment.
        let config = CONFIG.replace(
            "    region: us-east-1\n  - name: prod",
            "    region: us-east-1\n    environment: staging\n  - name: prod",
        );
        let workflow = pipeline(&config);
        let template_for =
            pipeline(&config.replace("environment: production", "environment: staging"));
        let problems = messages(prove(&workflow, &template(&template_for)));
        assert!(
            problems.iter().any(|m| m.starts_with("role `arn:aws:iam::222222222222:role/shop-prod-pipeline-execution-role` of stage `prod` admits a job in environment `staging`")
                && m.contains("environment=`staging`")),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_pipeline_role_that_trusts_feature_branches_fails_the_proof() {
        // The feature role's trust statements, added to the pipeline roles' (one template:
        // every stage's role).
        let p = pipeline(CONFIG);
        let t = template(&p);
        let trust_of = |id: &str| match &t.resources()[id].properties {
            ResourceProperties::Role(role) => role.assume_role_policy_document.clone(),
            _ => unreachable!("a role"),
        };
        let mut widened = trust_of(ids::PIPELINE_ROLE);
        widened
            .statement
            .extend(trust_of(ids::FEATURE_ROLE).statement);
        let Some(ResourceProperties::Role(role)) = t
            .resources()
            .get(ids::PIPELINE_ROLE)
            .map(|r| r.properties.clone())
        else {
            unreachable!("a role")
        };
        let role = iam::Role {
            assume_role_policy_document: widened,
            ..*role
        };
        let wide = t
            .clone()
            .replace_resource(ids::PIPELINE_ROLE, Resource::new(role));
        let problems = messages(prove(&p, &wide));
        for stage in ["dev", "prod"] {
            assert!(
                problems.iter().any(|m| m.contains(&format!(
                    "of stage `{stage}` admits feature branch `feature`"
                ))),
                "{problems:#?}"
            );
        }
    }

    #[test]
    fn stages_that_present_the_same_claims_are_named_in_one_warning() {
        // Thirteen stages on the deployment branch without environments: every role admits
        // the other twelve stages' deploy jobs.
        let mut config = CONFIG.replace("    environment: production\n", "");
        for i in 0..11 {
            config.push_str(&format!(
                "  - name: s{i}\n    account: '333333333333'\n    region: us-east-1\n"
            ));
        }
        let p = pipeline(&config);
        let map = prove(&p, &template(&p)).unwrap();
        let shared = |stage: &str| -> Vec<&String> {
            of(&map, stage)
                .warnings
                .iter()
                .filter(|w| w.contains("the same OIDC claims"))
                .collect()
        };
        assert_eq!(
            shared("dev"),
            ["jobs of stages `prod`, `s0`, `s1`, `s2`, `s3`, `s4`, `s5`, `s6`, `s7`, `s8` and 2 more present the same OIDC claims as this stage's deploy job, so this role cannot tell them apart; give the stages different `environment`s"]
        );
        assert!(shared("s10")[0].starts_with("jobs of stages `dev`, `prod`, `s0`,"));

        // Two stages: the other one is named alone.
        let p = pipeline(&CONFIG.replace("    environment: production\n", ""));
        let map = prove(&p, &template(&p)).unwrap();
        assert!(of(&map, "prod")
            .warnings
            .iter()
            .any(|w| w.starts_with("jobs of stage `dev` present the same OIDC claims")));
    }

    #[test]
    fn each_environment_is_tried_once() {
        let config = format!(
            "{CONFIG}  - name: prod-eu\n    account: '222222222222'\n    region: eu-west-1\n    environment: production\n"
        );
        let p = pipeline(&config);
        let map = prove(&p, &template(&p)).unwrap();
        let tried = |stage: &str, environment: &str| {
            let what = format!("a job in environment `{environment}`");
            of(&map, stage)
                .denied
                .iter()
                .filter(|d| **d == what)
                .count()
        };
        assert_eq!(tried("dev", "production"), 1);
        assert_eq!(tried("dev", "attacker-environment"), 1);
        assert_eq!(tried("prod", "production"), 0);
    }

    /// A hand-built template whose trust statement lacks `sub`: rule 3 of the contract.
    #[test]
    fn a_statement_without_sub_fails_the_proof() {
        let p = pipeline(CONFIG);
        let trust = PolicyDocument::new().statement(
            Statement::allow()
                .principal(Principal::federated(Value::sub(format!(
                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{}",
                    p.provider.issuer_host()
                ))))
                .action(ASSUME)
                .condition(
                    ConditionOperator::StringEquals,
                    p.provider.condition_key("aud"),
                    "sts.amazonaws.com",
                )
                .condition(
                    ConditionOperator::StringEquals,
                    p.provider.condition_key("repository_owner_id"),
                    "1",
                ),
        );
        let loose = crate::cfn::Template::new()
            .parameter(
                ids::STAGE,
                crate::cfn::Parameter::string().allowed_values(["dev", "prod"]),
            )
            .resource(ids::PIPELINE_ROLE, Resource::new(iam::Role::new(trust)));
        let problems = messages(prove(&p, &loose));
        assert!(
            problems
                .iter()
                .any(|m| m.contains("does not check `token.actions.githubusercontent.com:sub`")),
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .any(|m| m.contains("which STS does not expose")),
            "{problems:#?}"
        );
        // ... and, since STS never matches that claim, the deploy jobs are denied too.
        assert!(
            problems
                .iter()
                .any(|m| m.starts_with("job `deploy-dev` cannot assume role")),
            "{problems:#?}"
        );
    }
}

#[cfg(test)]
mod provider_tests {
    use super::*;
    use crate::pipeline::template::template;

    fn proven(fixture: &str) -> TrustMap {
        let text = std::fs::read_to_string(format!("fixtures/{fixture}.yaml")).unwrap();
        let loaded = crate::config::load_str(fixture, &text).unwrap();
        let p = Pipeline::new(&loaded.config).unwrap();
        prove(&p, &template(&p)).unwrap()
    }

    /// What each provider's token cannot express is reported as a limit with a control, and
    /// only that: what it can express is denied.
    #[test]
    fn limits_are_exactly_what_the_tokens_cannot_express() {
        let gitlab = proven("gitlab");
        for stage in &gitlab.stages {
            assert!(stage
                .limits
                .iter()
                .all(|l| l.admitted.starts_with("a job on `main`")));
            assert!(stage.denied.iter().any(|d| d == "a tag"));
        }
        let bitbucket = proven("bitbucket-environments");
        let production = bitbucket
            .stages
            .iter()
            .find(|s| s.stage == "production")
            .unwrap();
        assert!(production
            .denied
            .iter()
            .any(|d| d == "a step deploying to stage `test`'s environment"));
        assert!(production.limits.iter().any(|l| l
            .admitted
            .starts_with("a pull-request pipeline step")
            && l.control
                .contains("deployment permissions on environment `Production`")));
        // Feature steps deploy in no environment, with their own role: the first stage's
        // environment takes deployments from `main` only, and a feature step in it is a limit.
        assert!(bitbucket.stages[0]
            .limits
            .iter()
            .all(|l| l.control.contains("only from `main`")));
        assert!(bitbucket.stages[0]
            .limits
            .iter()
            .any(|l| l.admitted.starts_with("a step on feature branch")));
        let feature = &bitbucket.stages[1];
        assert_eq!(feature.role, "feature");
        assert!(feature
            .denied
            .iter()
            .any(|d| d == "a step deploying to stage `test`'s environment"));
        // Without environments, the role trusts steps without one: a subject with a UUID
        // pattern (not `*`) tells those apart from steps that deploy to an environment.
        let open = proven("bitbucket");
        assert!(open.stages[0]
            .denied
            .iter()
            .any(|d| d == "a step deploying to an unknown environment"));
    }

    /// A template made for one Bitbucket environment does not admit another's steps.
    #[test]
    fn a_bitbucket_role_for_another_environment_fails_the_proof() {
        let text = std::fs::read_to_string("fixtures/bitbucket-environments.yaml").unwrap();
        let good = Pipeline::new(&crate::config::load_str("a", &text).unwrap().config).unwrap();
        let swapped = text.replace(
            "{9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d}",
            "{9a8b7c6d-5e4f-4a3b-9c2d-000000000000}",
        );
        let other = Pipeline::new(&crate::config::load_str("b", &swapped).unwrap().config).unwrap();
        let problems = prove(&good, &template(&other)).unwrap_err();
        assert!(problems.iter().any(|d| d
            .message
            .contains("job `deploy-production` cannot assume role")));
    }
}
