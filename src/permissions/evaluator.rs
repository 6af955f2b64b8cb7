//! Evaluates what a role can do: its identity policies (inline and managed) and, if it has one,
//! its permissions boundary, against one request — an action on a resource, with condition keys
//! — as AWS does for a request within one account, and says which statement of which policy
//! decided.
//!
//! The model follows [policy evaluation logic](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)
//! for identity-based policies with a
//! [permissions boundary](https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):
//!
//! - an applicable `Deny` in any identity policy or in the boundary decides: explicit deny,
//!   whatever allows;
//! - otherwise the request is allowed when an identity `Allow` applies and, if the role has a
//!   boundary, a boundary `Allow` applies too. The boundary only sets the maximum: it grants
//!   nothing by itself ([`ImplicitDeny::NoIdentityAllow`]), and what it does not allow is denied
//!   even if an identity policy allows it ([`ImplicitDeny::BoundaryDoesNotAllow`]);
//! - otherwise the request is denied implicitly.
//!
//! Resource-based policies, SCPs, RCPs and session policies are not part of the model: the answer
//! is what the role's own policies let it do.
//!
//! A statement *applies* when its action, its resource and all its conditions match:
//!
//! - [`Action`](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)
//!   patterns match case-insensitively, with `*` and `?` wildcards;
//!   [`NotAction`](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html)
//!   matches every action none of its patterns match. A pattern is `*` or `service:pattern`
//!   with a service prefix of letters, digits and `-`.
//! - [`Resource`](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)
//!   patterns match the whole ARN case-sensitively, `*` any run of characters (across `:` and
//!   `/`), `?` one character;
//!   [`NotResource`](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html)
//!   matches every resource none of its patterns match. A pattern is `*` or an ARN whose service
//!   segment is literal ("you can't use a wildcard in the service segment"). AWS documents
//!   wildcards as matching within the colon-separated segments of an ARN, and a `*` that is the
//!   last character of a segment as expanding beyond colons; a request that a pattern matches
//!   only if a `*` inside a segment, or a `?`, matches a `:` is an error (undocumented), not an
//!   answer. `${*}`, `${?}` and `${$}` are the literal characters; any other
//!   [policy variable](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)
//!   is an error.
//! - Conditions are evaluated by the trust evaluator's engine ([`crate::trust::evaluator`]), with
//!   its operators (`String*`, `Arn*`, `Bool`, `Null`; `...IfExists`; `ForAllValues:` and
//!   `ForAnyValue:`) and its rules for absent keys, negated operators and several values
//!   ([condition operators](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)).
//!
//! The request context is exactly what the [`Request`] carries. Keys AWS adds to real requests
//! (`aws:SecureTransport`, `aws:PrincipalArn`, `aws:RequestedRegion`, ...) are absent unless the
//! caller sets them, and an absent key makes negated operators, `...IfExists`, `ForAllValues:`
//! and `Null: true` hold.
//!
//! Being the engine of a prover, it refuses to guess: anything it does not model is a
//! [`PermissionsError`], never a silent answer — a `Principal` or `NotPrincipal` in an identity
//! or boundary policy (they belong to resource-based and trust policies,
//! [Principal](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)),
//! an empty `Action`/`NotAction`/`Resource`/`NotResource`, a malformed action or resource
//! pattern, policy variables, condition operators or values the engine does not model, a key
//! with several values under an operator without a set qualifier, the undocumented wildcard
//! case above, a resolver placeholder (`{Ref:Id}`, `{GetAtt:Id.Attr}`: a name only AWS knows,
//! see [`crate::cfn::Resolver`]) in a resource pattern, a condition value or the request, and a
//! request whose action is not `service:Action` without wildcards or whose resource is not `*`
//! or an ARN. Every statement's patterns and conditions are checked against every request, so
//! an error never depends on statement order or on which statement decided; errors that do not
//! depend on the request are reported by [`Permissions::new`].
//!
//! Resolved statements ([`crate::cfn::Resolver::policy`]) convert with [`IdentityStatement::from`].
//! They carry `Action` and `Resource` only ([`crate::cfn::Statement`] has no `NotAction` or
//! `NotResource`), so `NotAction`/`NotResource` statements are built with [`IdentityStatement`]
//! directly.

use std::fmt;

use indexmap::IndexMap;

pub use crate::trust::evaluator::Condition;

use crate::cfn::{Effect, ResolvedPrincipal, ResolvedStatement};
use crate::trust::evaluator::{
    action_pattern, compile, conditions_of, glob, literal, ticked, Action, Compiled, ConditionMiss,
    EvalError, EvalErrorKind, Tok,
};

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionElement {
    /// The statement covers the actions matching any of these patterns.
    Action(Vec<String>),
    /// The statement covers the actions matching none of these patterns.
    NotAction(Vec<String>),
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceElement {
    /// The statement covers the resources matching any of these patterns.
    Resource(Vec<String>),
    /// The statement covers the resources matching none of these patterns.
    NotResource(Vec<String>),
}

/// A `Principal` or `NotPrincipal`, which identity and boundary policies must not have: kept so
/// that a statement that has one is refused rather than read without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalElement {
    /// `Principal: ...`
    Principal(ResolvedPrincipal),
    /// `NotPrincipal: ...`
    NotPrincipal(ResolvedPrincipal),
}

/// A statement of an identity policy or a permissions boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityStatement {
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Must be `None` (see [`PrincipalElement`]).
    pub principal: Option<PrincipalElement>,
    /// The actions.
    pub action: ActionElement,
    /// The resources.
    pub resource: ResourceElement,
    /// The conditions, all of which must match.
    pub conditions: Vec<Condition>,
}

impl IdentityStatement {
    /// A statement without `Sid`, principal or conditions.
    pub fn new(effect: Effect, action: ActionElement, resource: ResourceElement) -> Self {
        IdentityStatement {
            sid: None,
            effect,
            principal: None,
            action,
            resource,
            conditions: Vec::new(),
        }
    }

    /// `Effect: Allow`, `Action: actions`, `Resource: resources`.
    pub fn allow<A: Into<String>, R: Into<String>>(
        actions: impl IntoIterator<Item = A>,
        resources: impl IntoIterator<Item = R>,
    ) -> Self {
        IdentityStatement::new(
            Effect::Allow,
            ActionElement::Action(actions.into_iter().map(Into::into).collect()),
            ResourceElement::Resource(resources.into_iter().map(Into::into).collect()),
        )
    }

    /// `Effect: Deny`, `Action: actions`, `Resource: resources`.
    pub fn deny<A: Into<String>, R: Into<String>>(
        actions: impl IntoIterator<Item = A>,
        resources: impl IntoIterator<Item = R>,
    ) -> Self {
        IdentityStatement {
            effect: Effect::Deny,
            ..IdentityStatement::allow(actions, resources)
        }
    }

    /// Sets `Sid`.
    #[must_use]
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Adds a condition.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }
}

impl From<&ResolvedStatement> for IdentityStatement {
    /// `Action` and `Resource` as resolved; a principal is kept, to be refused.
    fn from(s: &ResolvedStatement) -> IdentityStatement {
        IdentityStatement {
            sid: s.sid.clone(),
            effect: s.effect,
            principal: s.principal.clone().map(PrincipalElement::Principal),
            // A statement with both is not valid IAM: `Action` stays, and an empty one or a
            // mix is refused when the policy compiles.
            action: if s.not_action.is_empty() {
                ActionElement::Action(s.action.clone())
            } else if s.action.is_empty() {
                ActionElement::NotAction(s.not_action.clone())
            } else {
                ActionElement::Action(Vec::new())
            },
            resource: ResourceElement::Resource(s.resource.clone()),
            conditions: conditions_of(s),
        }
    }
}

/// A named policy: an inline policy (`PolicyName`), a managed policy, or the boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy {
    /// How decisions name the policy, e.g. `deploy-application` or a managed policy's ARN.
    pub name: String,
    /// The statements, in order.
    pub statements: Vec<IdentityStatement>,
}

impl IdentityPolicy {
    /// A policy from its parts.
    pub fn new(name: impl Into<String>, statements: Vec<IdentityStatement>) -> Self {
        IdentityPolicy {
            name: name.into(),
            statements,
        }
    }

    /// A policy from statements resolved by [`crate::cfn::Resolver::policy`].
    pub fn from_resolved(name: impl Into<String>, statements: &[ResolvedStatement]) -> Self {
        IdentityPolicy::new(name, statements.iter().map(Into::into).collect())
    }
}

/// The request: an action on a resource, with condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Action`, e.g. `lambda:CreateFunction`.
    pub action: String,
    /// The resource's ARN, or `*` for an action without resource-level permissions.
    pub resource: String,
    /// Condition keys (`iam:PassedToService`, `aws:ResourceTag/owner`) → values. A key that is
    /// absent, or present with no values, is not in the request; names compare
    /// case-insensitively.
    pub context: IndexMap<String, Vec<String>>,
}

impl Request {
    /// `action` on `resource`, with no condition keys yet.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            context: IndexMap::new(),
        }
    }

    /// Adds `value` to condition key `key`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Request {
        self.context
            .entry(key.into())
            .or_default()
            .push(value.into());
        self
    }
}

/// Whether a policy is one of the role's identity policies or its permissions boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// An inline or managed identity policy.
    Identity,
    /// The permissions boundary.
    Boundary,
}

/// One statement of one policy, as decisions and errors name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// Identity policy or boundary.
    pub kind: PolicyKind,
    /// The policy's name.
    pub policy: String,
    /// Position in the policy.
    pub index: usize,
    /// `Sid`, if any.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    /// ``statement `Sid` of policy `name` ``, ``statement 2 of the permissions boundary `name` ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) => write!(f, "statement `{sid}`")?,
            None => write!(f, "statement {}", self.index)?,
        }
        match self.kind {
            PolicyKind::Identity => write!(f, " of policy `{}`", self.policy),
            PolicyKind::Boundary => write!(f, " of the permissions boundary `{}`", self.policy),
        }
    }
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An identity `Allow` applies, a boundary `Allow` too if there is a boundary, and no `Deny`.
    Allow,
    /// A `Deny` applies, in an identity policy or in the boundary.
    ExplicitDeny,
    /// No `Deny` applies, and something needed to allow is missing.
    ImplicitDeny(ImplicitDeny),
}

/// What an implicit deny lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImplicitDeny {
    /// No identity statement allows (whatever the boundary says).
    NoIdentityAllow,
    /// An identity statement allows, but no boundary statement does.
    BoundaryDoesNotAllow,
}

/// Which element of a statement does not match a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// `Action` or `NotAction`.
    Action,
    /// `Resource` or `NotResource`.
    Resource,
    /// A condition.
    Condition,
}

/// Whether one statement applies, and why (not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementTrace {
    /// The statement.
    pub statement: StatementRef,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// `None` when the statement applies; else the first element that does not match, checked
    /// in the order action, resource, conditions.
    pub missed: Option<Element>,
    /// ``action, resource and all conditions match``, or what does not, e.g. ``condition
    /// `StringEquals` on `iam:PassedToService` does not match: `lambda.amazonaws.com` is not
    /// `cloudformation.amazonaws.com` ``.
    pub reason: String,
}

impl StatementTrace {
    /// Whether the statement applies to the request.
    pub fn applies(&self) -> bool {
        self.missed.is_none()
    }
}

/// The decision with a trace of every statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The request's action.
    pub action: String,
    /// The request's resource.
    pub resource: String,
    /// The permissions boundary's name, if the role has one.
    pub boundary: Option<String>,
    /// The outcome.
    pub decision: Decision,
    /// For [`Decision::Allow`], the identity statement that allows; for
    /// [`Decision::ExplicitDeny`], the statement that denies; for
    /// [`ImplicitDeny::BoundaryDoesNotAllow`], the identity statement that would allow; `None`
    /// for [`ImplicitDeny::NoIdentityAllow`]. The first such statement, identity policies in
    /// order, then the boundary.
    pub deciding: Option<StatementRef>,
    /// For [`Decision::Allow`] with a boundary, the boundary statement that allows too.
    pub boundary_allow: Option<StatementRef>,
    /// One trace per statement: the identity policies' in order, then the boundary's.
    pub statements: Vec<StatementTrace>,
}

impl Evaluation {
    /// `true` for [`Decision::Allow`].
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// One line: ALLOW or DENY, and which statement of which policy decided, e.g.
    /// ``ALLOW by statement `DeployFunctions` of policy `deploy-application` ``.
    pub fn explain(&self) -> String {
        let (action, resource) = (&self.action, &self.resource);
        match (self.decision, &self.deciding) {
            (Decision::Allow, Some(by)) => match &self.boundary_allow {
                Some(boundary) => format!("ALLOW by {by}, and by {boundary}"),
                None => format!("ALLOW by {by}"),
            },
            (Decision::ExplicitDeny, Some(by)) => {
                format!("DENY by {by}: an explicit deny overrides any allow")
            }
            (Decision::ImplicitDeny(ImplicitDeny::BoundaryDoesNotAllow), Some(by)) => {
                let boundary = self.boundary.as_deref().unwrap_or_default();
                format!(
                    "DENY (implicit): {by} allows `{action}` on `{resource}`, but the permissions \
                     boundary `{boundary}` does not{}",
                    self.near_misses(PolicyKind::Boundary)
                )
            }
            _ => format!(
                "DENY (implicit): no identity policy statement allows `{action}` on `{resource}`{}",
                self.near_misses(PolicyKind::Identity)
            ),
        }
    }

    /// `: ` and why each `Allow` of `kind` whose action matches does not apply, or nothing.
    fn near_misses(&self, kind: PolicyKind) -> String {
        let near: Vec<String> = self
            .statements
            .iter()
            .filter(|t| t.statement.kind == kind && t.effect == Effect::Allow)
            .filter(|t| matches!(t.missed, Some(Element::Resource | Element::Condition)))
            .map(|t| format!("{}: {}", t.statement, t.reason))
            .collect();
        if near.is_empty() {
            String::new()
        } else {
            format!(": {}", near.join("; "))
        }
    }
}

/// Why policies or a request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PermissionsError {
    /// Something in a statement that is not modeled.
    #[error("{statement}: {kind}")]
    Statement {
        /// The statement at fault.
        statement: StatementRef,
        /// What is wrong with it.
        kind: StatementErrorKind,
    },
    /// A request action that is not `service:Action` without wildcards.
    #[error("the request's action `{action}` is not `service:Action` without wildcards")]
    RequestAction {
        /// The action.
        action: String,
    },
    /// A request resource that is not `*` or an ARN.
    #[error("the request's resource `{resource}` is not `*` or an ARN")]
    RequestResource {
        /// The resource.
        resource: String,
    },
    /// A request resource or condition value that stands for what only AWS knows.
    #[error("the request's `{value}` holds a placeholder for a value only AWS knows (`{{Ref:..}}` or `{{GetAtt:..}}`)")]
    RequestPlaceholder {
        /// The resource or condition value.
        value: String,
    },
}

/// What is wrong with a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementErrorKind {
    /// A `Principal`, which identity and boundary policies cannot have.
    #[error("has a `Principal`, which identity policies and permissions boundaries cannot have")]
    Principal,
    /// A `NotPrincipal`, which identity and boundary policies cannot have.
    #[error(
        "has a `NotPrincipal`, which identity policies and permissions boundaries cannot have"
    )]
    NotPrincipal,
    /// `Action`, `NotAction`, `Resource` or `NotResource` without any value.
    #[error("`{element}` has no values")]
    Empty {
        /// The element.
        element: &'static str,
    },
    /// An action pattern that is not `*` or `service:pattern`.
    #[error("action `{action}` is not `*` or `service:pattern` (a service prefix of letters, digits and `-`)")]
    MalformedAction {
        /// The pattern.
        action: String,
    },
    /// A resource pattern that is not `*` or an ARN with a literal service.
    #[error("resource `{resource}` is not `*` or an ARN `arn:partition:service:...` whose service has no wildcards")]
    MalformedResource {
        /// The pattern.
        resource: String,
    },
    /// A policy variable in a resource pattern.
    #[error("resource `{resource}`: policy variable `{variable}` is not supported (only `${{*}}`, `${{?}}` and `${{$}}` are)")]
    ResourcePolicyVariable {
        /// The pattern.
        resource: String,
        /// The variable, e.g. `${aws:username}`.
        variable: String,
    },
    /// A resource pattern that matches the request's resource only if a wildcard inside an ARN
    /// segment matches a `:`.
    #[error("resource `{pattern}` matches `{resource}` only if a `*` inside an ARN segment or a `?` matches a `:`, which AWS does not document (only a `*` that ends a segment expands beyond colons)")]
    UndocumentedWildcard {
        /// The pattern.
        pattern: String,
        /// The request's resource.
        resource: String,
    },
    /// A resource pattern or condition value with a placeholder the resolver writes for what
    /// only AWS knows (a generated name): what it matches cannot be known.
    #[error("`{value}` holds a placeholder for a value only AWS knows (`{{Ref:..}}` or `{{GetAtt:..}}`)")]
    Placeholder {
        /// The pattern or value.
        value: String,
    },
    /// A condition the engine cannot evaluate.
    #[error("condition `{operator}` on `{key}`: {kind}")]
    Condition {
        /// The operator as written.
        operator: String,
        /// The condition key.
        key: String,
        /// What is wrong, as the trust evaluator says it.
        kind: EvalErrorKind,
    },
}

/// Evaluates `request` against a role's `identity` policies and its `boundary`, if any.
pub fn evaluate(
    identity: &[IdentityPolicy],
    boundary: Option<&IdentityPolicy>,
    request: &Request,
) -> Result<Evaluation, PermissionsError> {
    Permissions::new(identity, boundary)?.evaluate(request)
}

/// A role's policies compiled once for many requests: actions and resources turned into
/// patterns, conditions parsed. Everything that can be wrong regardless of the request is
/// reported here.
#[derive(Debug)]
pub struct Permissions<'p> {
    identity: Vec<CompiledPolicy<'p>>,
    boundary: Option<CompiledPolicy<'p>>,
}

#[derive(Debug)]
struct CompiledPolicy<'p> {
    kind: PolicyKind,
    name: &'p str,
    statements: Vec<CompiledStatement<'p>>,
}

struct CompiledStatement<'p> {
    source: &'p IdentityStatement,
    reference: StatementRef,
    /// `NotAction`.
    not_action: bool,
    /// Action patterns, case-folded, with the text of those without wildcards.
    actions: Vec<(Vec<Tok>, Option<String>)>,
    /// `NotResource`.
    not_resource: bool,
    resources: Vec<ResourcePattern<'p>>,
    conditions: Vec<Compiled<'p>>,
}

impl fmt::Debug for CompiledStatement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledStatement")
            .field("statement", &self.reference)
            .finish_non_exhaustive()
    }
}

/// A resource pattern, compiled.
struct ResourcePattern<'p> {
    text: &'p str,
    tokens: Vec<Tok>,
    /// The text it matches, if it has no wildcards.
    literal: Option<String>,
    /// Whether it has a `?`, or a `*` not at the end of a segment: wildcards that AWS documents
    /// as matching within a segment only.
    bounded: bool,
}

/// Why a statement does not apply; turned into text only for a trace.
enum Miss<'s, 'r> {
    Action,
    Resource,
    Condition(&'s Compiled<'s>, ConditionMiss<'r>),
}

impl<'p> Permissions<'p> {
    /// Compiles the role's `identity` policies and its `boundary`, if any.
    pub fn new(
        identity: &'p [IdentityPolicy],
        boundary: Option<&'p IdentityPolicy>,
    ) -> Result<Permissions<'p>, PermissionsError> {
        Ok(Permissions {
            identity: identity
                .iter()
                .map(|p| CompiledPolicy::new(PolicyKind::Identity, p))
                .collect::<Result<_, _>>()?,
            boundary: boundary
                .map(|p| CompiledPolicy::new(PolicyKind::Boundary, p))
                .transpose()?,
        })
    }

    /// The decision with a trace of every statement.
    pub fn evaluate(&self, request: &Request) -> Result<Evaluation, PermissionsError> {
        let mut traces = Vec::new();
        let (decision, deciding, boundary_allow) = self.run(request, Some(&mut traces))?;
        Ok(Evaluation {
            action: request.action.clone(),
            resource: request.resource.clone(),
            boundary: self.boundary.as_ref().map(|b| b.name.to_owned()),
            decision,
            deciding: deciding.cloned(),
            boundary_allow: boundary_allow.cloned(),
            statements: traces,
        })
    }

    /// Only the decision of [`Permissions::evaluate`] (same errors), without building traces.
    pub fn decision(&self, request: &Request) -> Result<Decision, PermissionsError> {
        self.run(request, None).map(|(decision, ..)| decision)
    }

    /// The actions of `candidate_actions` that are allowed on `resource` with condition keys
    /// `context`, in the order given: [`Permissions::decision`] on each request.
    pub fn actions_allowed_on<'a>(
        &self,
        resource: &str,
        candidate_actions: impl IntoIterator<Item = &'a str>,
        context: &IndexMap<String, Vec<String>>,
    ) -> Result<Vec<&'a str>, PermissionsError> {
        let mut request = Request {
            action: String::new(),
            resource: resource.to_owned(),
            context: context.clone(),
        };
        let mut allowed = Vec::new();
        for action in candidate_actions {
            action.clone_into(&mut request.action);
            if self.decision(&request)? == Decision::Allow {
                allowed.push(action);
            }
        }
        Ok(allowed)
    }

    /// The decision, the deciding statement and the boundary's allowing statement (see
    /// [`Evaluation`]); a trace of every statement into `traces` if given.
    fn run(
        &self,
        request: &Request,
        mut traces: Option<&mut Vec<StatementTrace>>,
    ) -> Result<(Decision, Option<&StatementRef>, Option<&StatementRef>), PermissionsError> {
        check_request(request)?;
        let action = Action::new(&request.action);
        let (mut deny, mut identity_allow, mut boundary_allow) = (None, None, None);
        for policy in self.identity.iter().chain(&self.boundary) {
            for statement in &policy.statements {
                let miss = statement.miss(request, &action)?;
                let applies = miss.is_none();
                if let Some(traces) = traces.as_deref_mut() {
                    traces.push(statement.trace(miss, request));
                }
                if applies {
                    let first = match (statement.source.effect, policy.kind) {
                        (Effect::Deny, _) => &mut deny,
                        (Effect::Allow, PolicyKind::Identity) => &mut identity_allow,
                        (Effect::Allow, PolicyKind::Boundary) => &mut boundary_allow,
                    };
                    first.get_or_insert(&statement.reference);
                }
            }
        }
        Ok(match (deny, identity_allow) {
            (Some(deny), _) => (Decision::ExplicitDeny, Some(deny), None),
            (None, None) => (
                Decision::ImplicitDeny(ImplicitDeny::NoIdentityAllow),
                None,
                None,
            ),
            (None, Some(allow)) if self.boundary.is_some() && boundary_allow.is_none() => (
                Decision::ImplicitDeny(ImplicitDeny::BoundaryDoesNotAllow),
                Some(allow),
                None,
            ),
            (None, Some(allow)) => (Decision::Allow, Some(allow), boundary_allow),
        })
    }
}

impl<'p> CompiledPolicy<'p> {
    fn new(kind: PolicyKind, policy: &'p IdentityPolicy) -> Result<Self, PermissionsError> {
        let statements = policy
            .statements
            .iter()
            .enumerate()
            .map(|(index, source)| {
                let reference = StatementRef {
                    kind,
                    policy: policy.name.clone(),
                    index,
                    sid: source.sid.clone(),
                };
                CompiledStatement::new(source, reference)
            })
            .collect::<Result<_, _>>()?;
        Ok(CompiledPolicy {
            kind,
            name: &policy.name,
            statements,
        })
    }
}

impl<'p> CompiledStatement<'p> {
    fn new(
        source: &'p IdentityStatement,
        reference: StatementRef,
    ) -> Result<Self, PermissionsError> {
        let fail = |kind| PermissionsError::Statement {
            statement: reference.clone(),
            kind,
        };
        match &source.principal {
            None => {}
            Some(PrincipalElement::Principal(_)) => {
                return Err(fail(StatementErrorKind::Principal))
            }
            Some(PrincipalElement::NotPrincipal(_)) => {
                return Err(fail(StatementErrorKind::NotPrincipal))
            }
        }
        let (not_action, actions, element) = match &source.action {
            ActionElement::Action(a) => (false, a, "Action"),
            ActionElement::NotAction(a) => (true, a, "NotAction"),
        };
        if actions.is_empty() {
            return Err(fail(StatementErrorKind::Empty { element }));
        }
        let mut action_patterns = Vec::with_capacity(actions.len());
        for action in actions {
            if !is_action_pattern(action) {
                let action = action.clone();
                return Err(fail(StatementErrorKind::MalformedAction { action }));
            }
            let pattern = action_pattern(action);
            let literal = literal(&pattern);
            action_patterns.push((pattern, literal));
        }
        let (not_resource, resources, element) = match &source.resource {
            ResourceElement::Resource(r) => (false, r, "Resource"),
            ResourceElement::NotResource(r) => (true, r, "NotResource"),
        };
        if resources.is_empty() {
            return Err(fail(StatementErrorKind::Empty { element }));
        }
        let placeholder = resources
            .iter()
            .chain(source.conditions.iter().flat_map(|c| &c.values))
            .find(|v| is_placeholder(v));
        if let Some(value) = placeholder {
            let value = value.clone();
            return Err(fail(StatementErrorKind::Placeholder { value }));
        }
        let resources = resources
            .iter()
            .map(|r| ResourcePattern::new(r))
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        let conditions = source
            .conditions
            .iter()
            .map(|c| Compiled::new(reference.index, c))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(condition_error(e)))?;
        Ok(CompiledStatement {
            source,
            reference,
            not_action,
            actions: action_patterns,
            not_resource,
            resources,
            conditions,
        })
    }

    /// `None` when the statement applies to `request` (whose action is `action`, folded), else
    /// the first element that does not match. Every condition and resource pattern is checked,
    /// so that whatever cannot be evaluated is reported whatever else matches.
    fn miss<'s, 'r>(
        &'s self,
        request: &'r Request,
        action: &Action,
    ) -> Result<Option<Miss<'s, 'r>>, PermissionsError> {
        let mut condition_miss = None;
        for compiled in &self.conditions {
            let miss = compiled
                .check(self.reference.index, &request.context)
                .map_err(|e| self.error(condition_error(e)))?;
            if condition_miss.is_none() {
                condition_miss = miss.map(|miss| Miss::Condition(compiled, miss));
            }
        }
        let mut resource_matches = false;
        for pattern in &self.resources {
            resource_matches |= pattern.matches(&request.resource).map_err(|()| {
                self.error(StatementErrorKind::UndocumentedWildcard {
                    pattern: pattern.text.to_owned(),
                    resource: request.resource.clone(),
                })
            })?;
        }
        let action_matches = self.matching_action(action).is_some();
        Ok(if action_matches == self.not_action {
            Some(Miss::Action)
        } else if resource_matches == self.not_resource {
            Some(Miss::Resource)
        } else {
            condition_miss
        })
    }

    /// The index of the first action pattern that `action` matches.
    fn matching_action(&self, action: &Action) -> Option<usize> {
        self.actions
            .iter()
            .position(|(pattern, literal)| action.matches(pattern, literal))
    }

    fn trace(&self, miss: Option<Miss<'_, '_>>, request: &Request) -> StatementTrace {
        let (missed, reason) = match miss {
            None if self.conditions.is_empty() => (
                None,
                "action and resource match and there are no conditions".to_owned(),
            ),
            None => (None, "action, resource and all conditions match".to_owned()),
            Some(Miss::Action) => (Some(Element::Action), self.describe_action(request)),
            Some(Miss::Resource) => (Some(Element::Resource), self.describe_resource(request)),
            Some(Miss::Condition(compiled, why)) => (
                Some(Element::Condition),
                format!(
                    "condition `{}` on `{}` does not match: {}",
                    compiled.condition.operator,
                    compiled.condition.key,
                    compiled.describe(&why)
                ),
            ),
        };
        StatementTrace {
            statement: self.reference.clone(),
            effect: self.source.effect,
            missed,
            reason,
        }
    }

    fn describe_action(&self, request: &Request) -> String {
        let action = &request.action;
        match &self.source.action {
            ActionElement::Action(patterns) => {
                format!("action `{action}` is not in {}", ticked(patterns))
            }
            ActionElement::NotAction(patterns) => {
                let hit = self
                    .matching_action(&Action::new(action))
                    .and_then(|i| patterns.get(i))
                    .map_or("", String::as_str);
                format!("action `{action}` matches `NotAction` `{hit}`")
            }
        }
    }

    fn describe_resource(&self, request: &Request) -> String {
        let resource = &request.resource;
        if self.not_resource {
            let hit = self
                .resources
                .iter()
                .find(|p| p.matches(resource) == Ok(true))
                .map_or("", |p| p.text);
            format!("resource `{resource}` matches `NotResource` `{hit}`")
        } else {
            let patterns: Vec<String> = self.resources.iter().map(|p| p.text.to_owned()).collect();
            format!("resource `{resource}` does not match {}", ticked(&patterns))
        }
    }

    fn error(&self, kind: StatementErrorKind) -> PermissionsError {
        PermissionsError::Statement {
            statement: self.reference.clone(),
            kind,
        }
    }
}

fn condition_error(e: EvalError) -> StatementErrorKind {
    StatementErrorKind::Condition {
        operator: e.operator,
        key: e.key,
        kind: e.kind,
    }
}

impl<'p> ResourcePattern<'p> {
    fn new(text: &'p str) -> Result<Self, StatementErrorKind> {
        let tokens =
            compile(text, true).map_err(|variable| StatementErrorKind::ResourcePolicyVariable {
                resource: text.to_owned(),
                variable,
            })?;
        if tokens != [Tok::Any] {
            let mut segments = tokens.split(|&t| t == Tok::Lit(':'));
            let arn = [Tok::Lit('a'), Tok::Lit('r'), Tok::Lit('n')];
            let is_arn = segments.next() == Some(&arn[..]);
            let service = segments.nth(1);
            let literal_service = service
                .is_some_and(|s| !s.is_empty() && s.iter().all(|t| matches!(t, Tok::Lit(_))));
            if !(is_arn && literal_service) {
                return Err(StatementErrorKind::MalformedResource {
                    resource: text.to_owned(),
                });
            }
        }
        let bounded = tokens.iter().enumerate().any(|(i, &t)| match t {
            Tok::One => true,
            Tok::Any => !ends_segment(&tokens, i),
            Tok::Lit(_) => false,
        });
        Ok(ResourcePattern {
            text,
            literal: literal(&tokens),
            tokens,
            bounded,
        })
    }

    /// Whether the pattern matches `resource`: `Err` when it does only if a wildcard inside a
    /// segment matches a `:` (see the module documentation).
    fn matches(&self, resource: &str) -> Result<bool, ()> {
        let matches = match &self.literal {
            Some(literal) => literal == resource,
            None => glob(&self.tokens, resource),
        };
        if matches && self.bounded && !documented_match(&self.tokens, resource) {
            return Err(());
        }
        Ok(matches)
    }
}

/// Whether the `*` at `i` is the last character of its ARN segment.
fn ends_segment(tokens: &[Tok], i: usize) -> bool {
    matches!(tokens.get(i + 1), None | Some(Tok::Lit(':')))
}

/// Resource matching as AWS documents it: a `?`, or a `*` that does not end its segment,
/// matches within a segment (not a `:`); a `*` that ends its segment matches any run.
/// A dynamic program over (pattern prefix, text prefix): O(pattern × text).
fn documented_match(pattern: &[Tok], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    // `reach[j]`: the pattern so far matches the first `j` characters.
    let mut reach = vec![false; chars.len() + 1];
    reach[0] = true;
    for (i, &token) in pattern.iter().enumerate() {
        let mut next = vec![false; chars.len() + 1];
        match token {
            Tok::Lit(l) => {
                for (j, &c) in chars.iter().enumerate() {
                    next[j + 1] = reach[j] && c == l;
                }
            }
            Tok::One => {
                for (j, &c) in chars.iter().enumerate() {
                    next[j + 1] = reach[j] && c != ':';
                }
            }
            Tok::Any => {
                let crosses = ends_segment(pattern, i);
                next[0] = reach[0];
                for (j, &c) in chars.iter().enumerate() {
                    next[j + 1] = reach[j + 1] || (next[j] && (crosses || c != ':'));
                }
            }
        }
        reach = next;
    }
    reach[chars.len()]
}

/// Whether `request` is one action on `*` or an ARN, with nothing only AWS knows.
fn check_request(request: &Request) -> Result<(), PermissionsError> {
    if !is_request_action(&request.action) {
        return Err(PermissionsError::RequestAction {
            action: request.action.clone(),
        });
    }
    let resource = &request.resource;
    let placeholder = std::iter::once(resource)
        .chain(request.context.values().flatten())
        .find(|v| is_placeholder(v));
    if let Some(value) = placeholder {
        let value = value.clone();
        return Err(PermissionsError::RequestPlaceholder { value });
    }
    if resource != "*" && !resource.starts_with("arn:") {
        let resource = resource.clone();
        return Err(PermissionsError::RequestResource { resource });
    }
    Ok(())
}

/// Whether `text` holds what [`crate::cfn::Resolver`] writes for a name or attribute only AWS
/// knows: `{Ref:Id}` or `{GetAtt:Id.Attr}`.
fn is_placeholder(text: &str) -> bool {
    text.contains("{Ref:") || text.contains("{GetAtt:")
}

fn is_service(service: &str) -> bool {
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `*`, or `service:pattern`.
fn is_action_pattern(action: &str) -> bool {
    action == "*"
        || action
            .split_once(':')
            .is_some_and(|(service, name)| is_service(service) && !name.is_empty())
}

/// `service:Action`, without wildcards.
fn is_request_action(action: &str) -> bool {
    action.split_once(':').is_some_and(|(service, name)| {
        is_service(service) && !name.is_empty() && !name.contains(['*', '?'])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::resources::iam;
    use crate::cfn::{
        ConditionOperator, Parameter, PolicyDocument, PseudoValues, Resolver, Resource,
        ResourceProperties, Statement, Template, Value,
    };
    use proptest::prelude::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-2:111111111111:function:app-dev-Fn-ABC";
    const FUNCTIONS: &str = "arn:aws:lambda:us-east-2:111111111111:function:app-dev-*";
    const EXEC_ROLE: &str = "arn:aws:iam::111111111111:role/app-dev-cfn-exec";
    const BOUNDARY: &str = "arn:aws:iam::111111111111:policy/app-boundary";
    const CFN: &str = "cloudformation.amazonaws.com";

    fn cond(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(operator, key, values.iter().copied())
    }

    fn allow(actions: &[&str], resources: &[&str]) -> IdentityStatement {
        IdentityStatement::allow(actions.iter().copied(), resources.iter().copied())
    }

    fn deny(actions: &[&str], resources: &[&str]) -> IdentityStatement {
        IdentityStatement::deny(actions.iter().copied(), resources.iter().copied())
    }

    fn policy(name: &str, statements: Vec<IdentityStatement>) -> IdentityPolicy {
        IdentityPolicy::new(name, statements)
    }

    fn decide(
        identity: &[IdentityPolicy],
        boundary: Option<&IdentityPolicy>,
        request: &Request,
    ) -> Decision {
        evaluate(identity, boundary, request)
            .expect("evaluates")
            .decision
    }

    fn identity(statements: Vec<IdentityStatement>) -> Vec<IdentityPolicy> {
        vec![policy("p", statements)]
    }

    const NO_ALLOW: Decision = Decision::ImplicitDeny(ImplicitDeny::NoIdentityAllow);
    const OUTSIDE_BOUNDARY: Decision = Decision::ImplicitDeny(ImplicitDeny::BoundaryDoesNotAllow);

    fn statement_ref(
        kind: PolicyKind,
        policy: &str,
        index: usize,
        sid: Option<&str>,
    ) -> StatementRef {
        StatementRef {
            kind,
            policy: policy.to_owned(),
            index,
            sid: sid.map(str::to_owned),
        }
    }

    #[test]
    fn an_allow_names_its_statement_and_policy() {
        let policies = [policy(
            "deploy-application",
            vec![allow(
                &["lambda:CreateFunction", "lambda:UpdateFunctionCode"],
                &[FUNCTIONS],
            )
            .sid("DeployFunctions")],
        )];
        let eval = evaluate(
            &policies,
            None,
            &Request::new("lambda:CreateFunction", FUNCTION),
        )
        .expect("evaluates");
        assert_eq!(eval.decision, Decision::Allow);
        let expected = statement_ref(
            PolicyKind::Identity,
            "deploy-application",
            0,
            Some("DeployFunctions"),
        );
        assert_eq!(eval.deciding, Some(expected));
        assert_eq!(eval.boundary_allow, None);
        assert_eq!(
            eval.explain(),
            "ALLOW by statement `DeployFunctions` of policy `deploy-application`"
        );
        assert_eq!(
            eval.statements[0].reason,
            "action and resource match and there are no conditions"
        );
    }

    // Policy evaluation logic: "An explicit deny in any policy overrides any allows", wherever the
    // deny and the allow are, in one policy or in two, in either order.
    #[test]
    fn an_explicit_deny_overrides_any_allow() {
        let everything = allow(&["*"], &["*"]).sid("Everything");
        let protect = deny(
            &["s3:DeleteBucket", "s3:PutBucketPolicy"],
            &["arn:aws:s3:::pipeline-*"],
        )
        .sid("ProtectPipelineResources");
        let layouts = [
            vec![policy("deploy", vec![everything.clone(), protect.clone()])],
            vec![policy("deploy", vec![protect.clone(), everything.clone()])],
            vec![
                policy("deploy", vec![everything.clone()]),
                policy("guard", vec![protect.clone()]),
            ],
            vec![
                policy("guard", vec![protect.clone()]),
                policy("deploy", vec![everything.clone()]),
            ],
        ];
        let delete = Request::new("s3:DeleteBucket", "arn:aws:s3:::pipeline-artifacts");
        for policies in &layouts {
            let eval = evaluate(policies, None, &delete).expect("evaluates");
            assert_eq!(eval.decision, Decision::ExplicitDeny);
            let by = eval.deciding.as_ref().expect("a deciding statement");
            assert_eq!(by.sid.as_deref(), Some("ProtectPipelineResources"));
            assert!(eval
                .explain()
                .starts_with("DENY by statement `ProtectPipelineResources` of policy `"));
            // The deny covers only its resources and actions.
            let other_bucket = Request::new("s3:DeleteBucket", "arn:aws:s3:::app-data");
            assert_eq!(decide(policies, None, &other_bucket), Decision::Allow);
            let read = Request::new("s3:GetObject", "arn:aws:s3:::pipeline-artifacts");
            assert_eq!(decide(policies, None, &read), Decision::Allow);
        }
        let layout = &layouts[2];
        let eval = evaluate(layout, None, &delete).expect("evaluates");
        assert_eq!(
            eval.explain(),
            "DENY by statement `ProtectPipelineResources` of policy `guard`: an explicit deny \
             overrides any allow"
        );
    }

    #[test]
    fn an_implicit_deny_says_which_allows_came_close() {
        let policies = [policy(
            "deploy-application",
            vec![
                allow(&["iam:PassRole"], &[EXEC_ROLE])
                    .sid("PassCloudFormationExecutionRole")
                    .condition(cond("StringEquals", "iam:PassedToService", &[CFN])),
                allow(&["iam:PassRole"], &["arn:aws:iam::111111111111:role/other"]),
                allow(&["s3:PutObject"], &["*"]),
            ],
        )];
        let to_lambda = Request::new("iam:PassRole", EXEC_ROLE)
            .with("iam:PassedToService", "lambda.amazonaws.com");
        let eval = evaluate(&policies, None, &to_lambda).expect("evaluates");
        assert_eq!((eval.decision, &eval.deciding), (NO_ALLOW, &None));
        assert_eq!(
            eval.explain(),
            "DENY (implicit): no identity policy statement allows `iam:PassRole` on \
             `arn:aws:iam::111111111111:role/app-dev-cfn-exec`: statement \
             `PassCloudFormationExecutionRole` of policy `deploy-application`: condition \
             `StringEquals` on `iam:PassedToService` does not match: `lambda.amazonaws.com` is \
             not `cloudformation.amazonaws.com`; statement 1 of policy `deploy-application`: \
             resource `arn:aws:iam::111111111111:role/app-dev-cfn-exec` does not match \
             `arn:aws:iam::111111111111:role/other`"
        );
        let missed: Vec<Option<Element>> = eval.statements.iter().map(|t| t.missed).collect();
        assert_eq!(
            missed,
            [
                Some(Element::Condition),
                Some(Element::Resource),
                Some(Element::Action)
            ]
        );
        assert_eq!(
            eval.statements[2].reason,
            "action `iam:PassRole` is not in `s3:PutObject`"
        );
        let uncovered = Request::new("lambda:DeleteFunction", FUNCTION);
        assert_eq!(
            evaluate(&policies, None, &uncovered).expect("evaluates").explain(),
            format!("DENY (implicit): no identity policy statement allows `lambda:DeleteFunction` on `{FUNCTION}`")
        );
        let nothing = evaluate(&[], None, &uncovered).expect("evaluates");
        assert_eq!((nothing.decision, nothing.statements.len()), (NO_ALLOW, 0));
    }

    // NotAction: "matches everything except the specified list of actions". A Deny with NotAction
    // on one resource leaves only the listed actions possible there.
    #[test]
    fn deny_with_not_action_leaves_only_the_listed_actions() {
        let only_pass = IdentityStatement::new(
            Effect::Deny,
            ActionElement::NotAction(vec!["iam:PassRole".to_owned()]),
            ResourceElement::Resource(vec![EXEC_ROLE.to_owned()]),
        )
        .sid("OnlyPassTheExecutionRole");
        let policies = identity(vec![allow(&["*"], &["*"]), only_pass]);
        let cases = [
            ("iam:PassRole", EXEC_ROLE, Decision::Allow),
            ("IAM:passrole", EXEC_ROLE, Decision::Allow),
            (
                "iam:UpdateAssumeRolePolicy",
                EXEC_ROLE,
                Decision::ExplicitDeny,
            ),
            ("iam:DeleteRole", EXEC_ROLE, Decision::ExplicitDeny),
            (
                "iam:DeleteRole",
                "arn:aws:iam::111111111111:role/other",
                Decision::Allow,
            ),
        ];
        for (action, resource, expected) in cases {
            let request = Request::new(action, resource);
            assert_eq!(
                decide(&policies, None, &request),
                expected,
                "{action} {resource}"
            );
        }
        let eval =
            evaluate(&policies, None, &Request::new("iam:PassRole", EXEC_ROLE)).expect("evaluates");
        assert_eq!(
            eval.statements[1].reason,
            "action `iam:PassRole` matches `NotAction` `iam:PassRole`"
        );
        // Allow with NotAction grants everything else.
        let all_but_iam = IdentityStatement::new(
            Effect::Allow,
            ActionElement::NotAction(vec!["iam:*".to_owned(), "organizations:*".to_owned()]),
            ResourceElement::Resource(vec!["*".to_owned()]),
        );
        let policies = identity(vec![all_but_iam]);
        assert_eq!(
            decide(
                &policies,
                None,
                &Request::new("s3:GetObject", "arn:aws:s3:::b/k")
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(&policies, None, &Request::new("iam:CreateRole", "*")),
            NO_ALLOW
        );
        assert_eq!(
            decide(
                &policies,
                None,
                &Request::new("Organizations:LeaveOrganization", "*")
            ),
            NO_ALLOW
        );
    }

    // NotResource: the statement covers every resource except those listed.
    #[test]
    fn not_resource_covers_everything_but_its_patterns() {
        let not_artifacts = |effect| {
            IdentityStatement::new(
                effect,
                ActionElement::Action(vec!["s3:*".to_owned()]),
                ResourceElement::NotResource(vec![
                    "arn:aws:s3:::pipeline-artifacts".to_owned(),
                    "arn:aws:s3:::pipeline-artifacts/*".to_owned(),
                ]),
            )
        };
        let policies = identity(vec![not_artifacts(Effect::Allow)]);
        let data = Request::new("s3:GetObject", "arn:aws:s3:::app-data/x");
        let artifact = Request::new("s3:GetObject", "arn:aws:s3:::pipeline-artifacts/build.zip");
        assert_eq!(decide(&policies, None, &data), Decision::Allow);
        let eval = evaluate(&policies, None, &artifact).expect("evaluates");
        assert_eq!(eval.decision, NO_ALLOW);
        assert_eq!(
            eval.statements[0].reason,
            "resource `arn:aws:s3:::pipeline-artifacts/build.zip` matches `NotResource` \
             `arn:aws:s3:::pipeline-artifacts/*`"
        );
        // Deny with NotResource: nothing outside the artifacts, whatever else allows.
        let policies = identity(vec![allow(&["s3:*"], &["*"]), not_artifacts(Effect::Deny)]);
        assert_eq!(decide(&policies, None, &data), Decision::ExplicitDeny);
        assert_eq!(decide(&policies, None, &artifact), Decision::Allow);
    }

    /// (pattern, resource, matches; `None`: undocumented, an error).
    const RESOURCE_CASES: &[(&str, &str, Option<bool>)] = &[
        ("*", FUNCTION, Some(true)),
        ("*", "*", Some(true)),
        (FUNCTIONS, FUNCTION, Some(true)),
        // A `*` that ends its segment expands beyond colons (a function's alias or version).
        (
            FUNCTIONS,
            "arn:aws:lambda:us-east-2:111111111111:function:app-dev-Fn-ABC:live",
            Some(true),
        ),
        (
            "arn:aws:lambda:*:111111111111:function:*",
            FUNCTION,
            Some(true),
        ),
        ("arn:aws:lambda:*:*:*", FUNCTION, Some(true)),
        ("arn:*:lambda:*", FUNCTION, Some(true)),
        // ... and across `/`.
        (
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/a/b/c.zip",
            Some(true),
        ),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", Some(false)),
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket/a", Some(true)),
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::other", Some(false)),
        // Case-sensitive.
        (
            "arn:aws:lambda:us-east-2:111111111111:function:App-*",
            FUNCTION,
            Some(false),
        ),
        (FUNCTION, FUNCTION, Some(true)),
        (
            FUNCTION,
            "arn:aws:lambda:us-east-2:111111111111:function:app-dev-Fn-ABCD",
            Some(false),
        ),
        (
            "arn:aws:lambda:us-east-2:111111111111:function:APP-DEV-FN-ABC",
            FUNCTION,
            Some(false),
        ),
        // `?` is one character.
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-1", Some(true)),
        (
            "arn:aws:s3:::bucket-?",
            "arn:aws:s3:::bucket-12",
            Some(false),
        ),
        ("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-", Some(false)),
        // A `*` inside a segment, matching within it.
        (
            "arn:aws:lambda:us-east-2:111111111111:function:app-*-ABC",
            FUNCTION,
            Some(true),
        ),
        (
            "arn:aws:lambda:us-east-2:111111111111:function:app-*-XYZ",
            FUNCTION,
            Some(false),
        ),
        (
            "arn:aws:lambda:us-*-2:111111111111:function:app-dev-Fn-ABC",
            FUNCTION,
            Some(true),
        ),
        // ... or only by matching a `:`, which AWS does not document.
        (
            "arn:aws:lambda:us-east-2:111111111111:function:app-*-ABC",
            "arn:aws:lambda:us-east-2:111111111111:function:app-x:y-ABC",
            None,
        ),
        ("arn:aws:s3:::a?b", "arn:aws:s3:::a:b", None),
        // `${*}`, `${?}` and `${$}` are literal characters.
        (
            "arn:aws:s3:::bucket/${*}",
            "arn:aws:s3:::bucket/*",
            Some(true),
        ),
        (
            "arn:aws:s3:::bucket/${*}",
            "arn:aws:s3:::bucket/a",
            Some(false),
        ),
        ("arn:aws:s3:::b/${?}${$}", "arn:aws:s3:::b/?$", Some(true)),
    ];

    #[test]
    fn resource_patterns_follow_the_documented_rules() {
        for &(pattern, resource, expected) in RESOURCE_CASES {
            let policies = identity(vec![allow(&["*"], &[pattern])]);
            let got = evaluate(&policies, None, &Request::new("s3:GetObject", resource));
            match expected {
                Some(matches) => {
                    let decision = got.expect("evaluates").decision;
                    let want = if matches { Decision::Allow } else { NO_ALLOW };
                    assert_eq!(decision, want, "{pattern} {resource}");
                }
                None => {
                    let kind = StatementErrorKind::UndocumentedWildcard {
                        pattern: pattern.to_owned(),
                        resource: resource.to_owned(),
                    };
                    let statement = statement_ref(PolicyKind::Identity, "p", 0, None);
                    assert_eq!(
                        got,
                        Err(PermissionsError::Statement { statement, kind }),
                        "{pattern} {resource}"
                    );
                }
            }
        }
    }

    // Action element: case-insensitive, with `*` and `?`.
    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let cases = [
            ("lambda:CreateFunction", true),
            ("LAMBDA:createfunction", true),
            ("lambda:Create*", true),
            ("Lambda:CREATE*", true),
            ("lambda:CreateFunctio?", true),
            ("lambda:*", true),
            ("*", true),
            ("lambda:Create", false),
            ("lambda:CreateFunction?", false),
            ("lambda:Delete*", false),
            ("s3:*", false),
        ];
        for (pattern, expected) in cases {
            let policies = identity(vec![allow(&[pattern], &["*"])]);
            for action in [
                "lambda:CreateFunction",
                "LAMBDA:CREATEFUNCTION",
                "lambda:createFunction",
            ] {
                let decision = decide(&policies, None, &Request::new(action, FUNCTION));
                assert_eq!(decision == Decision::Allow, expected, "{pattern} {action}");
            }
        }
    }

    #[test]
    fn pass_role_only_to_the_named_service() {
        let policies = identity(vec![allow(&["iam:PassRole"], &[EXEC_ROLE])
            .condition(cond("StringEquals", "iam:PassedToService", &[CFN]))]);
        let pass = || Request::new("iam:PassRole", EXEC_ROLE);
        assert_eq!(
            decide(&policies, None, &pass().with("iam:PassedToService", CFN)),
            Decision::Allow
        );
        // Condition key names are case-insensitive; values are not.
        assert_eq!(
            decide(&policies, None, &pass().with("IAM:passedToService", CFN)),
            Decision::Allow
        );
        let upper = pass().with("iam:PassedToService", "CloudFormation.amazonaws.com");
        assert_eq!(decide(&policies, None, &upper), NO_ALLOW);
        let lambda = pass().with("iam:PassedToService", "lambda.amazonaws.com");
        assert_eq!(decide(&policies, None, &lambda), NO_ALLOW);
        let eval = evaluate(&policies, None, &pass()).expect("evaluates");
        assert_eq!(eval.decision, NO_ALLOW);
        assert_eq!(
            eval.statements[0].reason,
            "condition `StringEquals` on `iam:PassedToService` does not match: \
             `iam:PassedToService` is not in the request"
        );
    }

    #[test]
    fn role_creation_requires_the_boundary() {
        let create = || {
            Request::new(
                "iam:CreateRole",
                "arn:aws:iam::111111111111:role/app-dev-fn",
            )
        };
        // An Allow that requires the key: a request without it is not allowed.
        let requires = identity(vec![allow(
            &["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            &["arn:aws:iam::111111111111:role/app-*"],
        )
        .condition(cond("StringEquals", "iam:PermissionsBoundary", &[BOUNDARY]))]);
        assert_eq!(
            decide(
                &requires,
                None,
                &create().with("iam:PermissionsBoundary", BOUNDARY)
            ),
            Decision::Allow
        );
        let other = create().with(
            "iam:PermissionsBoundary",
            "arn:aws:iam::111111111111:policy/admin",
        );
        assert_eq!(decide(&requires, None, &other), NO_ALLOW);
        assert_eq!(decide(&requires, None, &create()), NO_ALLOW);
        // A Deny with the negated operator: an absent key makes it hold, so it denies.
        let denies = identity(vec![
            allow(&["iam:*"], &["*"]),
            deny(&["iam:CreateRole"], &["*"]).condition(cond(
                "StringNotEquals",
                "iam:PermissionsBoundary",
                &[BOUNDARY],
            )),
        ]);
        assert_eq!(decide(&denies, None, &create()), Decision::ExplicitDeny);
        assert_eq!(decide(&denies, None, &other), Decision::ExplicitDeny);
        assert_eq!(
            decide(
                &denies,
                None,
                &create().with("iam:PermissionsBoundary", BOUNDARY)
            ),
            Decision::Allow
        );
    }

    #[test]
    fn null_tests_whether_a_key_is_present() {
        let tag = "aws:ResourceTag/app";
        let untagged_denied = identity(vec![
            allow(&["lambda:*"], &["*"]),
            deny(&["lambda:*"], &["*"]).condition(cond("Null", tag, &["true"])),
        ]);
        let update = || Request::new("lambda:UpdateFunctionCode", FUNCTION);
        assert_eq!(
            decide(&untagged_denied, None, &update()),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(&untagged_denied, None, &update().with(tag, "app")),
            Decision::Allow
        );
        let tagged_only = identity(vec![allow(&["lambda:*"], &["*"]).condition(cond(
            "Null",
            tag,
            &["false"],
        ))]);
        assert_eq!(decide(&tagged_only, None, &update()), NO_ALLOW);
        assert_eq!(
            decide(&tagged_only, None, &update().with(tag, "")),
            Decision::Allow
        );
    }

    #[test]
    fn bool_secure_transport() {
        let artifacts = "arn:aws:s3:::pipeline-artifacts/build.zip";
        for value in ["false", "False", "FALSE"] {
            let policies = identity(vec![
                allow(&["s3:*"], &["*"]),
                deny(&["s3:*"], &["arn:aws:s3:::pipeline-artifacts/*"]).condition(cond(
                    "Bool",
                    "aws:SecureTransport",
                    &[value],
                )),
            ]);
            let get = || Request::new("s3:GetObject", artifacts);
            let cases = [
                (Some("false"), Decision::ExplicitDeny),
                (Some("FALSE"), Decision::ExplicitDeny),
                (Some("true"), Decision::Allow),
                // `Bool` on an absent key does not hold: the deny does not apply.
                (None, Decision::Allow),
            ];
            for (transport, expected) in cases {
                let request = match transport {
                    Some(t) => get().with("aws:SecureTransport", t),
                    None => get(),
                };
                assert_eq!(
                    decide(&policies, None, &request),
                    expected,
                    "{value} {transport:?}"
                );
            }
        }
    }

    #[test]
    fn if_exists_holds_on_an_absent_key() {
        let region_limited = identity(vec![allow(&["ec2:RunInstances"], &["*"]).condition(cond(
            "StringEqualsIfExists",
            "aws:RequestedRegion",
            &["us-east-2"],
        ))]);
        let run = || Request::new("ec2:RunInstances", "*");
        assert_eq!(decide(&region_limited, None, &run()), Decision::Allow);
        assert_eq!(
            decide(
                &region_limited,
                None,
                &run().with("aws:RequestedRegion", "us-east-2")
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                &region_limited,
                None,
                &run().with("aws:RequestedRegion", "eu-west-1")
            ),
            NO_ALLOW
        );
        let mfa = identity(vec![
            allow(&["*"], &["*"]),
            deny(&["*"], &["*"]).condition(cond(
                "BoolIfExists",
                "aws:MultiFactorAuthPresent",
                &["false"],
            )),
        ]);
        assert_eq!(decide(&mfa, None, &run()), Decision::ExplicitDeny);
        assert_eq!(
            decide(
                &mfa,
                None,
                &run().with("aws:MultiFactorAuthPresent", "false")
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(
                &mfa,
                None,
                &run().with("aws:MultiFactorAuthPresent", "true")
            ),
            Decision::Allow
        );
    }

    #[test]
    fn set_qualifiers_on_multivalued_keys() {
        let tag_keys = |op: &str| {
            identity(vec![allow(&["lambda:TagResource"], &["*"])
                .condition(cond(op, "aws:TagKeys", &["app", "stage"]))])
        };
        let tag = |keys: &[&str]| {
            keys.iter()
                .fold(Request::new("lambda:TagResource", FUNCTION), |r, k| {
                    r.with("aws:TagKeys", *k)
                })
        };
        let all = tag_keys("ForAllValues:StringEquals");
        assert_eq!(decide(&all, None, &tag(&["app", "stage"])), Decision::Allow);
        assert_eq!(decide(&all, None, &tag(&["app", "owner"])), NO_ALLOW);
        assert_eq!(decide(&all, None, &tag(&[])), Decision::Allow);
        let any = tag_keys("ForAnyValue:StringEquals");
        assert_eq!(decide(&any, None, &tag(&["app", "owner"])), Decision::Allow);
        assert_eq!(decide(&any, None, &tag(&[])), NO_ALLOW);
    }

    // Permissions boundaries: "an entity ... can perform only the actions that are allowed by both
    // its identity-based policies and its permissions boundaries"; a deny in either decides.
    #[test]
    fn the_boundary_limits_and_grants_nothing() {
        let deploy = [policy(
            "deploy",
            vec![allow(&["lambda:*", "iam:PassRole", "s3:*"], &["*"])],
        )];
        let boundary = policy(
            BOUNDARY,
            vec![
                allow(&["lambda:*"], &["*"]).sid("Functions"),
                allow(&["iam:PassRole"], &[EXEC_ROLE]).sid("PassExecutionRole"),
                allow(&["s3:*"], &["*"]),
                deny(&["s3:DeleteBucket"], &["*"]).sid("NoBucketDeletion"),
            ],
        );
        let eval = evaluate(
            &deploy,
            Some(&boundary),
            &Request::new("lambda:CreateFunction", FUNCTION),
        )
        .expect("evaluates");
        assert_eq!(eval.decision, Decision::Allow);
        assert_eq!(
            eval.deciding,
            Some(statement_ref(PolicyKind::Identity, "deploy", 0, None))
        );
        assert_eq!(
            eval.boundary_allow,
            Some(statement_ref(
                PolicyKind::Boundary,
                BOUNDARY,
                0,
                Some("Functions")
            ))
        );
        assert_eq!(
            eval.explain(),
            format!("ALLOW by statement 0 of policy `deploy`, and by statement `Functions` of the permissions boundary `{BOUNDARY}`")
        );
        // The identity policy allows passing any role; the boundary only the execution role.
        let other_role = Request::new("iam:PassRole", "arn:aws:iam::111111111111:role/admin");
        let eval = evaluate(&deploy, Some(&boundary), &other_role).expect("evaluates");
        assert_eq!(eval.decision, OUTSIDE_BOUNDARY);
        assert_eq!(
            eval.deciding,
            Some(statement_ref(PolicyKind::Identity, "deploy", 0, None))
        );
        assert_eq!(
            eval.explain(),
            format!(
                "DENY (implicit): statement 0 of policy `deploy` allows `iam:PassRole` on \
                 `arn:aws:iam::111111111111:role/admin`, but the permissions boundary `{BOUNDARY}` \
                 does not: statement `PassExecutionRole` of the permissions boundary `{BOUNDARY}`: \
                 resource `arn:aws:iam::111111111111:role/admin` does not match `{EXEC_ROLE}`"
            )
        );
        assert_eq!(
            decide(
                &deploy,
                Some(&boundary),
                &Request::new("iam:PassRole", EXEC_ROLE)
            ),
            Decision::Allow
        );
        // A deny in the boundary is an explicit deny.
        let eval = evaluate(
            &deploy,
            Some(&boundary),
            &Request::new("s3:DeleteBucket", "arn:aws:s3:::b"),
        )
        .expect("evaluates");
        assert_eq!(eval.decision, Decision::ExplicitDeny);
        assert_eq!(
            eval.deciding,
            Some(statement_ref(
                PolicyKind::Boundary,
                BOUNDARY,
                3,
                Some("NoBucketDeletion")
            ))
        );
        assert_eq!(
            eval.explain(),
            format!("DENY by statement `NoBucketDeletion` of the permissions boundary `{BOUNDARY}`: an explicit deny overrides any allow")
        );
        // What only the boundary allows is not allowed.
        let open = policy(BOUNDARY, vec![allow(&["*"], &["*"])]);
        assert_eq!(
            decide(&deploy, Some(&open), &Request::new("dynamodb:Scan", "*")),
            NO_ALLOW
        );
        // An empty boundary allows nothing.
        let empty = policy(BOUNDARY, vec![]);
        let get = Request::new("lambda:GetFunction", FUNCTION);
        let eval = evaluate(&deploy, Some(&empty), &get).expect("evaluates");
        assert_eq!(eval.decision, OUTSIDE_BOUNDARY);
        assert_eq!(
            eval.explain(),
            format!(
                "DENY (implicit): statement 0 of policy `deploy` allows `lambda:GetFunction` on \
                 `{FUNCTION}`, but the permissions boundary `{BOUNDARY}` does not"
            )
        );
        assert_eq!(
            decide(&deploy, None, &Request::new("lambda:GetFunction", FUNCTION)),
            Decision::Allow
        );
    }

    #[test]
    fn actions_allowed_on_a_resource() {
        let policies = identity(vec![
            allow(
                &[
                    "lambda:CreateFunction",
                    "lambda:UpdateFunctionCode",
                    "lambda:Get*",
                ],
                &[FUNCTIONS],
            ),
            allow(&["lambda:DeleteFunction"], &["*"]),
            deny(&["lambda:DeleteFunction"], &[FUNCTIONS]).condition(cond(
                "StringEquals",
                "aws:ResourceTag/stage",
                &["prod"],
            )),
        ]);
        let permissions = Permissions::new(&policies, None).expect("compiles");
        let candidates = [
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:GetFunction",
            "lambda:InvokeFunction",
            "lambda:UpdateFunctionCode",
        ];
        let dev = IndexMap::from([("aws:ResourceTag/stage".to_owned(), vec!["dev".to_owned()])]);
        let prod = IndexMap::from([("aws:ResourceTag/stage".to_owned(), vec!["prod".to_owned()])]);
        assert_eq!(
            permissions
                .actions_allowed_on(FUNCTION, candidates, &dev)
                .expect("evaluates"),
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:UpdateFunctionCode"
            ]
        );
        assert_eq!(
            permissions
                .actions_allowed_on(FUNCTION, candidates, &prod)
                .expect("evaluates"),
            [
                "lambda:CreateFunction",
                "lambda:GetFunction",
                "lambda:UpdateFunctionCode"
            ]
        );
        let elsewhere = "arn:aws:lambda:us-east-2:111111111111:function:other";
        assert_eq!(
            permissions
                .actions_allowed_on(elsewhere, candidates, &dev)
                .expect("evaluates"),
            ["lambda:DeleteFunction"]
        );
        assert!(permissions
            .actions_allowed_on(FUNCTION, ["lambda:*"], &dev)
            .is_err());
    }

    #[test]
    fn what_the_evaluator_does_not_model_is_an_error() {
        let error = |s: IdentityStatement| {
            let policies = [policy("deploy", vec![s.sid("S")])];
            Permissions::new(&policies, None)
                .expect_err("refused")
                .to_string()
        };
        let prefix = "statement `S` of policy `deploy`: ";
        let with_principal = IdentityStatement {
            principal: Some(PrincipalElement::Principal(ResolvedPrincipal::Everyone)),
            ..allow(&["*"], &["*"])
        };
        let with_not_principal = IdentityStatement {
            principal: Some(PrincipalElement::NotPrincipal(ResolvedPrincipal::Aws(
                vec!["111111111111".to_owned()],
            ))),
            ..allow(&["*"], &["*"])
        };
        let not_resource_empty = IdentityStatement::new(
            Effect::Deny,
            ActionElement::Action(vec!["*".to_owned()]),
            ResourceElement::NotResource(vec![]),
        );
        let not_action_empty = IdentityStatement::new(
            Effect::Deny,
            ActionElement::NotAction(vec![]),
            ResourceElement::Resource(vec!["*".to_owned()]),
        );
        let unsupported = "not a supported operator (String*, Arn*, Bool, Null; `IfExists` and \
                           `ForAllValues:`/`ForAnyValue:` on all but Null)";
        let cases = [
            (with_principal, "has a `Principal`, which identity policies and permissions boundaries cannot have".to_owned()),
            (with_not_principal, "has a `NotPrincipal`, which identity policies and permissions boundaries cannot have".to_owned()),
            (allow(&[], &["*"]), "`Action` has no values".to_owned()),
            (not_action_empty, "`NotAction` has no values".to_owned()),
            (allow(&["*"], &[]), "`Resource` has no values".to_owned()),
            (not_resource_empty, "`NotResource` has no values".to_owned()),
            (
                allow(&["s3GetObject"], &["*"]),
                "action `s3GetObject` is not `*` or `service:pattern` (a service prefix of letters, digits and `-`)".to_owned(),
            ),
            (
                allow(&["s3*:GetObject"], &["*"]),
                "action `s3*:GetObject` is not `*` or `service:pattern` (a service prefix of letters, digits and `-`)".to_owned(),
            ),
            (
                allow(&["*"], &["bucket/*"]),
                "resource `bucket/*` is not `*` or an ARN `arn:partition:service:...` whose service has no wildcards".to_owned(),
            ),
            (
                allow(&["*"], &["arn:aws:s3*:::bucket"]),
                "resource `arn:aws:s3*:::bucket` is not `*` or an ARN `arn:partition:service:...` whose service has no wildcards".to_owned(),
            ),
            (
                allow(&["*"], &["arn:aws*"]),
                "resource `arn:aws*` is not `*` or an ARN `arn:partition:service:...` whose service has no wildcards".to_owned(),
            ),
            (
                allow(&["*"], &["arn:aws:s3:::app-${aws:username}/*"]),
                "resource `arn:aws:s3:::app-${aws:username}/*`: policy variable `${aws:username}` is not supported (only `${*}`, `${?}` and `${$}` are)".to_owned(),
            ),
            (
                allow(&["*"], &["*"]).condition(cond("StringLike", "s3:prefix", &["home/${aws:username}/*"])),
                "condition `StringLike` on `s3:prefix`: policy variable `${aws:username}` is not supported (only `${*}`, `${?}` and `${$}` are)".to_owned(),
            ),
            (
                allow(&["*"], &["*"]).condition(cond("NumericLessThan", "s3:max-keys", &["10"])),
                format!("condition `NumericLessThan` on `s3:max-keys`: {unsupported}"),
            ),
            (
                allow(&["*"], &["*"]).condition(cond("IpAddress", "aws:SourceIp", &["203.0.113.0/24"])),
                format!("condition `IpAddress` on `aws:SourceIp`: {unsupported}"),
            ),
            (
                allow(&["*"], &["*"]).condition(cond("Bool", "aws:SecureTransport", &["no"])),
                "condition `Bool` on `aws:SecureTransport`: value `no` is not `true` or `false`".to_owned(),
            ),
        ];
        for (statement, message) in cases {
            assert_eq!(error(statement), format!("{prefix}{message}"));
        }
        // In the boundary, the boundary is named.
        let boundary = policy(BOUNDARY, vec![allow(&["*"], &[]).sid("S")]);
        assert_eq!(
            Permissions::new(&[], Some(&boundary))
                .expect_err("refused")
                .to_string(),
            format!(
                "statement `S` of the permissions boundary `{BOUNDARY}`: `Resource` has no values"
            )
        );
        let placeholder =
            "holds a placeholder for a value only AWS knows (`{Ref:..}` or `{GetAtt:..}`)";
        for (statement, value) in [
            (
                allow(&["*"], &["{GetAtt:Artifacts.Arn}"]),
                "{GetAtt:Artifacts.Arn}",
            ),
            (
                allow(&["*"], &["arn:aws:s3:::{Ref:Artifacts}/*"]),
                "arn:aws:s3:::{Ref:Artifacts}/*",
            ),
            (
                allow(&["*"], &["*"]).condition(cond(
                    "ArnLike",
                    "aws:SourceArn",
                    &["{GetAtt:Fn.Arn}"],
                )),
                "{GetAtt:Fn.Arn}",
            ),
        ] {
            assert_eq!(error(statement), format!("{prefix}`{value}` {placeholder}"));
        }
        // A request action must be one action.
        let policies = identity(vec![allow(&["*"], &["*"])]);
        for action in [
            "s3:*",
            "s3:Get?bject",
            "GetObject",
            "s3:",
            ":GetObject",
            "*",
        ] {
            assert_eq!(
                evaluate(&policies, None, &Request::new(action, "*")),
                Err(PermissionsError::RequestAction {
                    action: action.to_owned()
                }),
                "{action}"
            );
        }
        // A request resource is `*` or an ARN, and nothing in the request is a placeholder.
        let get = |resource: &str| Request::new("s3:GetObject", resource);
        let cases = [
            (
                get("bucket/key"),
                "the request's resource `bucket/key` is not `*` or an ARN".to_owned(),
            ),
            (
                get("{GetAtt:Artifacts.Arn}"),
                format!("the request's `{{GetAtt:Artifacts.Arn}}` {placeholder}"),
            ),
            (
                get("*").with("aws:SourceArn", "arn:aws:s3:::{Ref:Artifacts}"),
                format!("the request's `arn:aws:s3:::{{Ref:Artifacts}}` {placeholder}"),
            ),
        ];
        for (request, message) in cases {
            assert_eq!(
                evaluate(&policies, None, &request)
                    .expect_err("refused")
                    .to_string(),
                message
            );
        }
    }

    // Every statement's conditions and resource patterns are checked on every request: an error
    // does not hide behind a deny that already decided, or behind an action that does not match.
    #[test]
    fn errors_do_not_depend_on_which_statement_decided() {
        let single_valued = cond("StringEquals", "aws:TagKeys", &["app"]);
        let layouts = [
            vec![
                deny(&["*"], &["*"]),
                allow(&["lambda:TagResource"], &["*"]).condition(single_valued.clone()),
            ],
            vec![
                allow(&["lambda:TagResource"], &["*"]).condition(single_valued.clone()),
                deny(&["*"], &["*"]),
            ],
            vec![
                allow(&["*"], &["*"]),
                allow(&["s3:GetObject"], &["*"]).condition(single_valued.clone()),
            ],
        ];
        let request = Request::new("lambda:TagResource", FUNCTION)
            .with("aws:TagKeys", "app")
            .with("aws:TagKeys", "stage");
        for statements in layouts {
            let policies = identity(statements);
            let err = evaluate(&policies, None, &request).expect_err("refused");
            assert!(
                err.to_string().ends_with(
                    "condition `StringEquals` on `aws:TagKeys`: the request has 2 values for the \
                     key, which needs `ForAllValues:` or `ForAnyValue:`"
                ),
                "{err}"
            );
            let permissions = Permissions::new(&policies, None).expect("compiles");
            assert_eq!(permissions.decision(&request), Err(err));
        }
        let undocumented = identity(vec![
            deny(&["*"], &["*"]),
            allow(&["s3:GetObject"], &["arn:aws:s3:::a?b"]),
        ]);
        assert!(evaluate(
            &undocumented,
            None,
            &Request::new("lambda:GetFunction", "arn:aws:s3:::a:b")
        )
        .is_err());
    }

    // The same statements, built with sampipe's CloudFormation builders and resolved for one
    // deployment as the synth-time proof resolves the generated template's policies.
    fn deploy_template(secure_transport: Value) -> Template {
        let bucket = "arn:${AWS::Partition}:s3:::app-${Stage}-artifacts";
        let deploy = PolicyDocument::new()
            .statement(
                Statement::allow()
                    .sid("DeployFunctions")
                    .actions(["lambda:CreateFunction", "lambda:UpdateFunctionCode"])
                    .resource(Value::sub(
                        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:app-${Stage}-*",
                    )),
            )
            .statement(
                Statement::allow()
                    .sid("PassExecutionRole")
                    .action("iam:PassRole")
                    .resource(Value::get_att("ExecutionRole", "Arn"))
                    .condition(ConditionOperator::StringEquals, "iam:PassedToService", CFN),
            )
            .statement(
                Statement::allow()
                    .sid("ReadWriteArtifacts")
                    .actions(["s3:GetObject", "s3:PutObject"])
                    .resource(Value::sub(format!("{bucket}/*"))),
            )
            .statement(
                Statement::deny()
                    .sid("TlsOnly")
                    .action("s3:*")
                    .resources([Value::sub(bucket), Value::sub(format!("{bucket}/*"))])
                    .condition(ConditionOperator::Bool, "aws:SecureTransport", secure_transport),
            )
            .statement_if(
                "IsProd",
                Statement::deny()
                    .sid("ProtectPipelineResources")
                    .action("lambda:UpdateFunctionCode")
                    .resource("*"),
            );
        let boundary = PolicyDocument::new().statement(
            Statement::allow()
                .sid("AppOnly")
                .actions(["lambda:*", "s3:*", "iam:PassRole"])
                .resource("*"),
        );
        let execution =
            iam::Role::new(PolicyDocument::new()).role_name(Value::sub("app-${Stage}-cfn-exec"));
        let mut role =
            iam::Role::new(PolicyDocument::new()).permissions_boundary(Value::ref_to("Boundary"));
        role.policies = vec![iam::InlinePolicy {
            policy_name: "deploy-application".into(),
            policy_document: deploy,
        }];
        Template::new()
            .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
            .condition("IsProd", Value::equals(Value::ref_to("Stage"), "prod"))
            .resource("ExecutionRole", Resource::new(execution))
            .resource(
                "Boundary",
                Resource::new(
                    iam::ManagedPolicy::new(boundary).managed_policy_name("app-boundary"),
                ),
            )
            .resource("DeployRole", Resource::new(role))
    }

    /// The deploy role's inline policy and its boundary, resolved for `stage`.
    fn resolved(template: &Template, stage: &str) -> (IdentityPolicy, IdentityPolicy) {
        let parameters = IndexMap::from([("Stage".to_owned(), stage.to_owned())]);
        let pseudo = PseudoValues::new("111111111111", "us-east-2", "app-pipeline");
        let resolver = Resolver::new(template, parameters, pseudo).expect("resolver");
        let resources = template.resources();
        let Some(ResourceProperties::Role(role)) =
            resources.get("DeployRole").map(|r| &r.properties)
        else {
            panic!("DeployRole is a role");
        };
        let Some(ResourceProperties::ManagedPolicy(boundary)) =
            resources.get("Boundary").map(|r| &r.properties)
        else {
            panic!("Boundary is a managed policy");
        };
        let inline = &role.policies[0];
        let statements = resolver.policy(&inline.policy_document).expect("resolves");
        let boundary_arn = resolver
            .resolve(role.permissions_boundary.as_ref().expect("a boundary"))
            .expect("resolves");
        let boundary_statements = resolver
            .policy(&boundary.policy_document)
            .expect("resolves");
        (
            IdentityPolicy::from_resolved(inline.policy_name.clone(), &statements),
            IdentityPolicy::from_resolved(
                boundary_arn.as_str().expect("an ARN"),
                &boundary_statements,
            ),
        )
    }

    #[test]
    fn evaluates_policies_resolved_from_a_template() {
        let template = deploy_template(Value::from(false));
        let (deploy, boundary) = resolved(&template, "dev");
        assert_eq!(boundary.name, BOUNDARY);
        let deploy = [deploy];
        let permissions = Permissions::new(&deploy, Some(&boundary)).expect("compiles");
        let eval = permissions
            .evaluate(&Request::new("lambda:CreateFunction", FUNCTION))
            .expect("evaluates");
        assert_eq!(
            eval.explain(),
            format!("ALLOW by statement `DeployFunctions` of policy `deploy-application`, and by statement `AppOnly` of the permissions boundary `{BOUNDARY}`")
        );
        let prod_function = "arn:aws:lambda:us-east-2:111111111111:function:app-prod-Fn";
        assert_eq!(
            permissions.decision(&Request::new("lambda:CreateFunction", prod_function)),
            Ok(NO_ALLOW)
        );
        // `!GetAtt ExecutionRole.Arn` resolved to the role's ARN, and the condition kept.
        let pass = Request::new("iam:PassRole", EXEC_ROLE);
        assert_eq!(
            permissions.decision(&pass.clone().with("iam:PassedToService", CFN)),
            Ok(Decision::Allow)
        );
        assert_eq!(
            permissions.decision(&pass.with("iam:PassedToService", "lambda.amazonaws.com")),
            Ok(NO_ALLOW)
        );
        // The conditional statement exists only in prod.
        let update = Request::new("lambda:UpdateFunctionCode", FUNCTION);
        assert_eq!(permissions.decision(&update), Ok(Decision::Allow));
        let (prod, prod_boundary) = resolved(&template, "prod");
        let prod = [prod];
        let eval = evaluate(
            &prod,
            Some(&prod_boundary),
            &Request::new("lambda:UpdateFunctionCode", prod_function),
        )
        .expect("evaluates");
        assert_eq!(eval.decision, Decision::ExplicitDeny);
        assert_eq!(
            eval.explain(),
            "DENY by statement `ProtectPipelineResources` of policy `deploy-application`: an \
             explicit deny overrides any allow"
        );
        assert_eq!(
            eval.deciding.map(|d| d.index),
            Some(4),
            "the conditional statement is the fifth"
        );
    }

    // `aws:SecureTransport: false` and `aws:SecureTransport: 'false'` resolve to the same string,
    // and the deny applies to an insecure request either way.
    #[test]
    fn bool_condition_values_resolve_alike_from_a_boolean_or_a_string() {
        let (from_bool, _) = resolved(&deploy_template(Value::from(false)), "dev");
        let (from_string, boundary) = resolved(&deploy_template(Value::str("false")), "dev");
        assert_eq!(from_bool, from_string);
        let tls = &from_bool.statements[3];
        assert_eq!(
            tls.conditions,
            [cond("Bool", "aws:SecureTransport", &["false"])]
        );
        let object = "arn:aws:s3:::app-dev-artifacts/build.zip";
        for deploy in [from_bool, from_string] {
            let deploy = [deploy];
            let permissions = Permissions::new(&deploy, Some(&boundary)).expect("compiles");
            let get = || Request::new("s3:GetObject", object);
            let insecure = permissions
                .evaluate(&get().with("aws:SecureTransport", "false"))
                .expect("evaluates");
            assert_eq!(insecure.decision, Decision::ExplicitDeny);
            assert_eq!(
                insecure.explain(),
                "DENY by statement `TlsOnly` of policy `deploy-application`: an explicit deny \
                 overrides any allow"
            );
            assert_eq!(
                permissions.decision(&get().with("aws:SecureTransport", "true")),
                Ok(Decision::Allow)
            );
        }
    }

    #[test]
    fn a_resolved_statement_with_a_principal_is_refused() {
        let resolved = ResolvedStatement {
            sid: Some("TlsOnly".to_owned()),
            effect: Effect::Deny,
            principal: Some(ResolvedPrincipal::Everyone),
            action: vec!["s3:*".to_owned()],
            not_action: Vec::new(),
            resource: vec!["arn:aws:s3:::b/*".to_owned()],
            condition: IndexMap::new(),
        };
        let bucket_policy = [IdentityPolicy::from_resolved("bucket", &[resolved])];
        assert_eq!(
            Permissions::new(&bucket_policy, None)
                .expect_err("refused")
                .to_string(),
            "statement `TlsOnly` of policy `bucket`: has a `Principal`, which identity policies \
             and permissions boundaries cannot have"
        );
    }

    /// Statements that never fail to evaluate on the requests below.
    fn arb_statement() -> impl Strategy<Value = IdentityStatement> {
        let actions = prop::sample::subsequence(
            &[
                "*",
                "s3:*",
                "s3:GetObject",
                "lambda:Create*",
                "LAMBDA:createfunction",
                "iam:PassRole",
                "iam:?assRole",
            ][..],
            1..3,
        );
        let resources = prop::sample::subsequence(
            &[
                "*",
                "arn:aws:s3:::b/*",
                FUNCTION,
                FUNCTIONS,
                EXEC_ROLE,
                "arn:aws:iam::111111111111:role/*",
            ][..],
            1..3,
        );
        let condition = prop::option::of((
            prop::sample::select(
                &[
                    "StringEquals",
                    "StringNotEquals",
                    "StringLike",
                    "StringEqualsIfExists",
                    "Null",
                    "Bool",
                    "ForAnyValue:StringEquals",
                ][..],
            ),
            prop::sample::select(
                &[
                    "iam:PassedToService",
                    "aws:SecureTransport",
                    "aws:ResourceTag/app",
                ][..],
            ),
            prop::sample::select(&["true", "false", CFN, "a*"][..]),
        ));
        (
            actions,
            resources,
            any::<bool>(),
            any::<bool>(),
            condition,
            any::<bool>(),
        )
            .prop_map(
                |(actions, resources, not_action, not_resource, condition, deny)| {
                    let actions: Vec<String> = actions.into_iter().map(str::to_owned).collect();
                    let resources: Vec<String> = resources.into_iter().map(str::to_owned).collect();
                    let mut s = IdentityStatement::new(
                        if deny { Effect::Deny } else { Effect::Allow },
                        if not_action {
                            ActionElement::NotAction(actions)
                        } else {
                            ActionElement::Action(actions)
                        },
                        if not_resource {
                            ResourceElement::NotResource(resources)
                        } else {
                            ResourceElement::Resource(resources)
                        },
                    );
                    if let Some((op, key, value)) = condition {
                        let value = if matches!(op, "Null" | "Bool")
                            && !matches!(value, "true" | "false")
                        {
                            "true"
                        } else {
                            value
                        };
                        s = s.condition(cond(op, key, &[value]));
                    }
                    s
                },
            )
    }

    fn arb_request() -> impl Strategy<Value = Request> {
        (
            prop::sample::select(
                &[
                    "s3:GetObject",
                    "lambda:CreateFunction",
                    "iam:PassRole",
                    "iam:CreateRole",
                    "dynamodb:Scan",
                ][..],
            ),
            prop::sample::select(
                &[
                    "*",
                    "arn:aws:s3:::b/k",
                    FUNCTION,
                    EXEC_ROLE,
                    "arn:aws:iam::111111111111:role/x",
                ][..],
            ),
            prop::collection::vec(
                (
                    prop::sample::select(
                        &[
                            "iam:PassedToService",
                            "aws:SecureTransport",
                            "AWS:ResourceTag/app",
                        ][..],
                    ),
                    prop::sample::select(&["true", "false", CFN, "ab"][..]),
                ),
                0..3,
            ),
        )
            .prop_map(|(action, resource, context)| {
                let mut request = Request::new(action, resource);
                for (key, value) in context {
                    // One value per key: the statements use operators without set qualifiers.
                    request
                        .context
                        .insert(key.to_owned(), vec![value.to_owned()]);
                }
                request
            })
    }

    proptest! {
        // An explicit `Deny` of `*` on `*`, in any identity policy or in the boundary, at any
        // position, denies every request, whatever else the policies say.
        #[test]
        fn an_explicit_deny_of_everything_always_denies(
            policies in prop::collection::vec(prop::collection::vec(arb_statement(), 0..4), 1..3),
            boundary in prop::option::of(prop::collection::vec(arb_statement(), 0..4)),
            in_boundary: bool,
            at in any::<prop::sample::Index>(),
            request in arb_request(),
        ) {
            let mut identity: Vec<IdentityPolicy> = policies
                .into_iter()
                .enumerate()
                .map(|(i, statements)| policy(&format!("p{i}"), statements))
                .collect();
            let mut boundary = boundary.map(|statements| policy(BOUNDARY, statements));
            let everything = deny(&["*"], &["*"]).sid("DenyEverything");
            let target = match (&mut boundary, in_boundary) {
                (Some(boundary), true) => &mut boundary.statements,
                _ => {
                    let i = at.index(identity.len());
                    &mut identity[i].statements
                }
            };
            let position = at.index(target.len() + 1);
            target.insert(position, everything);
            let eval = evaluate(&identity, boundary.as_ref(), &request).expect("evaluates");
            prop_assert_eq!(eval.decision, Decision::ExplicitDeny);
            let deciding = eval.deciding.expect("a deciding statement");
            let trace = eval.statements.iter().find(|t| t.statement == deciding).expect("traced");
            prop_assert!(trace.applies() && trace.effect == Effect::Deny);
        }

        // The decision alone is the full evaluation's, errors included.
        #[test]
        fn decision_agrees_with_evaluate(
            statements in prop::collection::vec(arb_statement(), 0..6),
            boundary in prop::option::of(prop::collection::vec(arb_statement(), 0..3)),
            request in arb_request(),
        ) {
            let identity = [policy("p", statements)];
            let boundary = boundary.map(|statements| policy(BOUNDARY, statements));
            let permissions = Permissions::new(&identity, boundary.as_ref()).expect("compiles");
            let full = permissions.evaluate(&request).map(|e| e.decision);
            prop_assert_eq!(permissions.decision(&request), full);
            let trace = permissions.evaluate(&request).expect("evaluates");
            let applies = |effect, kind| trace.statements.iter().any(|t| t.applies() && t.effect == effect && t.statement.kind == kind);
            let deny = applies(Effect::Deny, PolicyKind::Identity) || applies(Effect::Deny, PolicyKind::Boundary);
            let allow = applies(Effect::Allow, PolicyKind::Identity)
                && (boundary.is_none() || applies(Effect::Allow, PolicyKind::Boundary));
            prop_assert_eq!(trace.decision == Decision::ExplicitDeny, deny);
            prop_assert_eq!(trace.decision == Decision::Allow, !deny && allow);
        }

        // The documented reading of resource wildcards never matches more than the whole-string
        // glob, and agrees with it when no wildcard is confined to a segment or the text has
        // no colon.
        #[test]
        fn documented_resource_matching_is_within_the_glob(
            pattern in "[ab:*?]{0,8}",
            text in "[ab:]{0,10}",
        ) {
            let tokens = compile(&pattern, true).expect("no variables");
            let documented = documented_match(&tokens, &text);
            let whole = glob(&tokens, &text);
            prop_assert!(!documented || whole);
            let bounded = tokens.iter().enumerate().any(|(i, &t)| t == Tok::One || (t == Tok::Any && !ends_segment(&tokens, i)));
            if !bounded || !text.contains(':') {
                prop_assert_eq!(documented, whole);
            }
        }
    }
}
