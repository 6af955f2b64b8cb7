//! Evaluates a role's trust policy against one `sts:AssumeRoleWithWebIdentity` request, as AWS
//! does, and says which statement and which condition decided.
//!
//! The model follows [policy evaluation logic](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
//! a statement *applies* when its principal, its action and all its conditions match; an applicable
//! `Deny` overrides any `Allow` (explicit deny); otherwise an applicable `Allow` allows; otherwise
//! the request is denied implicitly. Conditions are ANDed across operators and keys, ORed across
//! the values of one key, and NORed for negated operators such as `StringNotEquals`
//! ([multiple keys or values](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html)).
//! A key missing from the request fails a condition, except that a negated operator is then true,
//! `...IfExists` is true, `Null` tests exactly that, and `ForAllValues:` is vacuously true
//! ([condition operators](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
//! [multivalued keys](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html)).
//!
//! It works on resolved statements (plain strings, see [`crate::cfn::Resolver::policy`]) and
//! never parses templates. Being the engine of a prover, it refuses to guess: anything it does not
//! model — operators other than `String*`, `Arn*`, `Bool` and `Null`; policy variables other than
//! `${*}`, `${?}`, `${$}` in values, and any `${` in a condition key; a `Bool`/`Null` value
//! other than `true`/`false`; a multivalued request key under an operator without a set
//! qualifier — is an [`EvalError`], never a silent answer.

use std::cell::OnceCell;

use indexmap::IndexMap;

use crate::cfn::{Effect, ResolvedPrincipal, ResolvedStatement};

/// The action STS authorizes when a workflow exchanges its OIDC token for credentials.
pub const ASSUME_ROLE_WITH_WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// One condition as written: operator text (`StringEquals`, `ForAllValues:StringLike`,
/// `StringLikeIfExists`, `Null`, ...), the condition key, and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator, with any `ForAllValues:`/`ForAnyValue:` prefix and `IfExists` suffix.
    pub operator: String,
    /// The condition key, e.g. `token.actions.githubusercontent.com:sub`.
    pub key: String,
    /// The values; a request value matches when it matches any of them.
    pub values: Vec<String>,
}

impl Condition {
    /// A condition from its parts.
    pub fn new<V: Into<String>>(
        operator: impl Into<String>,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Condition {
        Condition {
            operator: operator.into(),
            key: key.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// Whom a statement is about, as far as a web-identity request is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// `Principal: '*'` — everyone, including callers not signed in to AWS.
    Any,
    /// `Principal: {Federated: [...]}` — identity provider ARNs, compared exactly.
    Federated(Vec<String>),
    /// Any other principal (`AWS`, `Service`, none): never a web-identity caller. `{AWS: '*'}`
    /// is here too: AWS documents it as all *AWS* identities, unlike `'*'`, and
    /// `AssumeRoleWithWebIdentity` is an unsigned call.
    Other,
}

/// A statement in the evaluator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStatement {
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// The principal.
    pub principal: PrincipalMatch,
    /// Action patterns (case-insensitive, `*` and `?` wildcards).
    pub actions: Vec<String>,
    /// The conditions, all of which must match.
    pub conditions: Vec<Condition>,
}

impl From<&ResolvedStatement> for PolicyStatement {
    /// Resources are dropped: a trust policy has none.
    fn from(s: &ResolvedStatement) -> PolicyStatement {
        let principal = match &s.principal {
            Some(ResolvedPrincipal::Everyone) => PrincipalMatch::Any,
            Some(ResolvedPrincipal::Federated(arns)) => PrincipalMatch::Federated(arns.clone()),
            _ => PrincipalMatch::Other,
        };
        PolicyStatement {
            sid: s.sid.clone(),
            effect: s.effect,
            principal,
            actions: s.action.clone(),
            conditions: conditions_of(s),
        }
    }
}

/// A resolved statement's conditions, one per operator and key, in the statement's order.
pub(crate) fn conditions_of(s: &ResolvedStatement) -> Vec<Condition> {
    s.condition
        .iter()
        .flat_map(|(operator, keys)| {
            keys.iter()
                .map(|(key, values)| Condition::new(operator.as_str(), key, values.clone()))
        })
        .collect()
}

/// The request: an action by a federated principal, with the token's claims as condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Usually [`ASSUME_ROLE_WITH_WEB_IDENTITY`].
    pub action: String,
    /// The identity provider ARN the token was issued through.
    pub federated_principal: String,
    /// Full condition keys (`token.actions.githubusercontent.com:sub`) → values. A key that is
    /// absent, or present with no values, is not in the request. Key names compare
    /// case-insensitively, as AWS documents ([Condition](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)).
    pub context: IndexMap<String, Vec<String>>,
}

impl Request {
    /// `sts:AssumeRoleWithWebIdentity` through `provider`, with no claims yet.
    pub fn web_identity(provider: impl Into<String>) -> Request {
        Request {
            action: ASSUME_ROLE_WITH_WEB_IDENTITY.to_owned(),
            federated_principal: provider.into(),
            context: IndexMap::new(),
        }
    }

    /// Adds `value` to condition key `key`.
    #[must_use]
    pub fn claim(mut self, key: impl Into<String>, value: impl Into<String>) -> Request {
        self.context
            .entry(key.into())
            .or_default()
            .push(value.into());
        self
    }
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// A `Deny` statement applies.
    ExplicitDeny,
    /// No statement applies.
    ImplicitDeny,
}

/// The decision with a trace of every statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The outcome.
    pub decision: Decision,
    /// The index of the statement that allowed or explicitly denied; `None` for an implicit deny.
    pub deciding: Option<usize>,
    /// One trace per statement, in order.
    pub statements: Vec<StatementTrace>,
}

/// Whether one statement applies, and why (not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementTrace {
    /// Position in the policy.
    pub index: usize,
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Whether principal, action and all conditions match.
    pub applies: bool,
    /// `all conditions match`, or the first thing that does not, e.g. ``condition `StringEquals`
    /// on `...:sub` does not match: `repo:a/b:pull_request` is not `repo:a/b:ref:refs/heads/main` ``.
    pub reason: String,
}

impl StatementTrace {
    fn name(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {} (`{sid}`)", self.index),
            None => format!("statement {}", self.index),
        }
    }
}

impl Evaluation {
    /// `true` for [`Decision::Allow`].
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// One paragraph: ALLOW or DENY, and which statement and condition decided.
    pub fn explain(&self) -> String {
        let deciding = self.deciding.and_then(|i| self.statements.get(i));
        match (self.decision, deciding) {
            (Decision::Allow, Some(t)) => {
                format!("ALLOW: {} allows the request: {}.", t.name(), t.reason)
            }
            (Decision::ExplicitDeny, Some(t)) => format!(
                "DENY: {} explicitly denies the request ({}), which overrides any allow.",
                t.name(),
                t.reason
            ),
            _ => {
                let allows: Vec<String> = self
                    .statements
                    .iter()
                    .filter(|t| t.effect == Effect::Allow)
                    .map(|t| format!("{}: {}", t.name(), t.reason))
                    .collect();
                if allows.is_empty() {
                    "DENY: no statement allows the request (implicit deny); the policy has no `Allow` statement.".to_owned()
                } else {
                    format!(
                        "DENY: no statement allows the request (implicit deny): {}.",
                        allows.join("; ")
                    )
                }
            }
        }
    }
}

/// Why a policy could not be evaluated: the condition at fault, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statement {statement}: condition `{operator}` on `{key}`: {kind}")]
pub struct EvalError {
    /// Index of the statement.
    pub statement: usize,
    /// The operator as written.
    pub operator: String,
    /// The condition key.
    pub key: String,
    /// What is wrong.
    pub kind: EvalErrorKind,
}

/// What is wrong with a condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalErrorKind {
    /// An operator this evaluator does not model, or no IAM operator at all.
    #[error("not a supported operator (String*, Arn*, Bool, Null; `IfExists` and `ForAllValues:`/`ForAnyValue:` on all but Null)")]
    UnknownOperator,
    /// An empty value list.
    #[error("no values")]
    NoValues,
    /// A `Bool` or `Null` value other than `true`/`false`.
    #[error("value `{value}` is not `true` or `false`")]
    NotBoolean {
        /// The offending value.
        value: String,
    },
    /// A policy variable that would need substituting from the request.
    #[error(
        "policy variable `{variable}` is not supported (only `${{*}}`, `${{?}}` and `${{$}}` are)"
    )]
    PolicyVariable {
        /// The variable, e.g. `${aws:username}`.
        variable: String,
    },
    /// A policy variable in the condition key (`aws:ResourceTag/${aws:PrincipalTag/team}`),
    /// which would need substituting from the request.
    #[error("policy variable `{variable}` in the key is not supported")]
    KeyPolicyVariable {
        /// The variable, e.g. `${aws:PrincipalTag/team}`.
        variable: String,
    },
    /// Several request values under an operator without a set qualifier.
    #[error(
        "the request has {count} values for the key, which needs `ForAllValues:` or `ForAnyValue:`"
    )]
    MultivaluedKey {
        /// How many values the request has.
        count: usize,
    },
}

/// Evaluates `statements` (one policy) against `request`.
pub fn evaluate(
    statements: &[PolicyStatement],
    request: &Request,
) -> Result<Evaluation, EvalError> {
    Policy::new(statements).evaluate(request)
}

/// A policy compiled once for many requests: operators parsed, values and actions turned into
/// patterns. [`Policy::evaluate`] answers exactly as [`evaluate`] does, errors included (a
/// condition that cannot be compiled is reported when a request reaches it, in policy order);
/// [`Policy::decision`] gives the same decision without building the explanation.
pub struct Policy<'p> {
    statements: Vec<CompiledStatement<'p>>,
    /// Whether a condition cannot be compiled (an error whenever a request reaches it).
    has_errors: bool,
}

struct CompiledStatement<'p> {
    source: &'p PolicyStatement,
    conditions: Vec<Result<Compiled<'p>, EvalError>>,
    /// Action patterns, case-folded, with the text of those without wildcards.
    actions: Vec<(Vec<Tok>, Option<String>)>,
}

/// Why a statement does not apply; turned into text only for a trace.
enum Miss<'s, 'r> {
    Principal,
    Action,
    Condition(&'s Compiled<'s>, ConditionMiss<'r>),
}

/// Why a condition does not hold, borrowing from the request.
pub(crate) enum ConditionMiss<'r> {
    /// The key is not in the request.
    Absent,
    /// The key is in the request (`Null: true`).
    Present,
    /// This value fails the condition.
    Value(&'r str),
    /// `ForAnyValue:` and none of these values passes.
    NoValueMatches(&'r [String]),
}

impl<'p> Policy<'p> {
    /// Compiles `statements`; never fails (see [`Policy`] for when errors surface).
    pub fn new(statements: &'p [PolicyStatement]) -> Policy<'p> {
        let statements: Vec<CompiledStatement<'p>> = statements
            .iter()
            .enumerate()
            .map(|(index, source)| CompiledStatement {
                source,
                conditions: source
                    .conditions
                    .iter()
                    .map(|condition| Compiled::new(index, condition))
                    .collect(),
                actions: source
                    .actions
                    .iter()
                    .map(|a| {
                        let pattern = action_pattern(a);
                        let literal = literal(&pattern);
                        (pattern, literal)
                    })
                    .collect(),
            })
            .collect();
        let has_errors = statements
            .iter()
            .any(|s| s.conditions.iter().any(Result::is_err));
        Policy {
            statements,
            has_errors,
        }
    }

    /// The decision with a trace of every statement, as [`evaluate`].
    pub fn evaluate(&self, request: &Request) -> Result<Evaluation, EvalError> {
        let action = OnceCell::new();
        let mut traces = Vec::with_capacity(self.statements.len());
        for (index, statement) in self.statements.iter().enumerate() {
            let miss = statement.miss(index, request, &action, true)?;
            let s = statement.source;
            traces.push(StatementTrace {
                index,
                sid: s.sid.clone(),
                effect: s.effect,
                applies: miss.is_none(),
                reason: match miss {
                    Some(miss) => miss.describe(s, request),
                    None if s.conditions.is_empty() => {
                        "principal and action match and there are no conditions".to_owned()
                    }
                    None => "all conditions match".to_owned(),
                },
            });
        }
        let first = |effect: Effect| {
            traces
                .iter()
                .find(|t| t.applies && t.effect == effect)
                .map(|t| t.index)
        };
        let (decision, deciding) = match (first(Effect::Deny), first(Effect::Allow)) {
            (Some(deny), _) => (Decision::ExplicitDeny, Some(deny)),
            (None, Some(allow)) => (Decision::Allow, Some(allow)),
            (None, None) => (Decision::ImplicitDeny, None),
        };
        Ok(Evaluation {
            decision,
            deciding,
            statements: traces,
        })
    }

    /// Only the decision of [`Policy::evaluate`] (same errors), without allocating a trace.
    pub fn decision(&self, request: &Request) -> Result<Decision, EvalError> {
        let action = OnceCell::new();
        // Checking a compiled condition fails only on a key with several values; without such
        // a key and without a condition that failed to compile, no condition can fail, so a
        // statement's first condition that does not hold decides, and the rest can be skipped.
        let exhaustive = self.has_errors || request.context.values().any(|v| v.len() > 1);
        let (mut allow, mut deny) = (false, false);
        for (index, statement) in self.statements.iter().enumerate() {
            if statement
                .miss(index, request, &action, exhaustive)?
                .is_none()
            {
                match statement.source.effect {
                    Effect::Allow => allow = true,
                    Effect::Deny => deny = true,
                }
            }
        }
        Ok(combine(allow, deny))
    }

    /// The decision for each item of `items` on `request` with each of `keys` set to the item's
    /// value for it (`context.insert(key, vec![value])`): the same answers and errors as
    /// [`Policy::decision`] on each such request. For a family of requests that differ in a
    /// claim or two (a job in each of many environments): when `keys` are in the request and
    /// no condition can fail (see [`Policy::decision`]), each statement's principal, action and
    /// conditions on other keys are checked once, and per item only the conditions that read
    /// one of `keys`.
    pub fn decide_each<'i, const N: usize>(
        &self,
        request: &Request,
        keys: [&str; N],
        items: impl IntoIterator<Item = [&'i str; N]>,
    ) -> Result<Vec<Decision>, EvalError> {
        let positions = keys.map(|key| request.context.get_index_of(key));
        let shared = !self.has_errors
            && request.context.values().all(|v| v.len() <= 1)
            && positions.iter().all(Option::is_some);
        if !shared {
            let mut varied = request.clone();
            return items
                .into_iter()
                .map(|item| {
                    for (key, value) in keys.iter().zip(item) {
                        varied
                            .context
                            .insert((*key).to_owned(), vec![value.to_owned()]);
                    }
                    self.decision(&varied)
                })
                .collect();
        }
        // The statements that apply to every item whose values satisfy `varying` (conditions,
        // each with the index in `keys` of the key it reads); the others apply to no item.
        let action = OnceCell::new();
        let mut live: Vec<(Effect, Vec<(&Compiled<'_>, usize)>)> = Vec::new();
        for (index, statement) in self.statements.iter().enumerate() {
            let mut varying = Vec::new();
            let mut applies =
                statement.principal_matches(request) && statement.action_matches(request, &action);
            for compiled in &statement.conditions {
                let compiled = compiled.as_ref().map_err(Clone::clone)?;
                let read = lookup_index(&request.context, &compiled.condition.key);
                match positions.iter().position(|&at| at.is_some() && at == read) {
                    Some(slot) => varying.push((compiled, slot)),
                    None => {
                        applies = applies && compiled.check(index, &request.context)?.is_none();
                    }
                }
            }
            if applies {
                live.push((statement.source.effect, varying));
            }
        }
        Ok(items
            .into_iter()
            .map(|item| {
                let (mut allow, mut deny) = (false, false);
                for (effect, varying) in &live {
                    let decided = match effect {
                        Effect::Allow => &mut allow,
                        Effect::Deny => &mut deny,
                    };
                    if !*decided && varying.iter().all(|(c, slot)| c.holds_for(item[*slot])) {
                        *decided = true;
                    }
                }
                combine(allow, deny)
            })
            .collect())
    }
}

/// An applicable `Deny` wins; else an applicable `Allow`; else nothing allows.
fn combine(allow: bool, deny: bool) -> Decision {
    if deny {
        Decision::ExplicitDeny
    } else if allow {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// A request's action, lower-cased once for matching against the case-folded action patterns.
/// Actions are short ASCII words (`sts:AssumeRoleWithWebIdentity`), folded without allocating.
pub(crate) enum Action {
    /// An ASCII action of at most [`Action::INLINE`] bytes, lower-cased; `len` bytes are used.
    Inline {
        bytes: [u8; Action::INLINE],
        len: usize,
    },
    Folded(String),
}

impl Action {
    const INLINE: usize = 64;

    pub(crate) fn new(text: &str) -> Self {
        if text.is_ascii() && text.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            bytes.make_ascii_lowercase();
            // For ASCII, `to_lowercase` is `to_ascii_lowercase`.
            Action::Inline {
                bytes,
                len: text.len(),
            }
        } else {
            Action::Folded(text.to_lowercase())
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Lower-cased ASCII is ASCII, hence UTF-8.
            Action::Inline { bytes, len } => std::str::from_utf8(&bytes[..*len]).unwrap_or(""),
            Action::Folded(text) => text,
        }
    }

    /// Whether the action matches `pattern` (folded), whose text is `literal` if it has no
    /// wildcards.
    pub(crate) fn matches(&self, pattern: &[Tok], literal: &Option<String>) -> bool {
        match literal {
            Some(literal) => literal == self.as_str(),
            None => glob(pattern, self.as_str()),
        }
    }
}

impl CompiledStatement<'_> {
    fn principal_matches(&self, request: &Request) -> bool {
        match &self.source.principal {
            PrincipalMatch::Any => true,
            PrincipalMatch::Federated(arns) => arns.contains(&request.federated_principal),
            PrincipalMatch::Other => false,
        }
    }

    /// `action` is the request's, folded when first needed.
    fn action_matches(&self, request: &Request, action: &OnceCell<Action>) -> bool {
        let action = action.get_or_init(|| Action::new(&request.action));
        self.actions
            .iter()
            .any(|(pattern, literal)| action.matches(pattern, literal))
    }

    /// `None` when the statement applies to the request, else why not: the principal, else the
    /// action, else the first condition. `action` is the request's, folded when first needed.
    fn miss<'s, 'r>(
        &'s self,
        index: usize,
        request: &'r Request,
        action: &OnceCell<Action>,
        exhaustive: bool,
    ) -> Result<Option<Miss<'s, 'r>>, EvalError> {
        // Check every condition even after a miss, so a bad operator is always reported
        // (`exhaustive`: see `Policy::decision` for when the rest cannot fail).
        let mut condition_miss = None;
        for compiled in &self.conditions {
            let compiled = compiled.as_ref().map_err(Clone::clone)?;
            let miss = compiled.check(index, &request.context)?;
            if condition_miss.is_none() {
                condition_miss = miss.map(|miss| Miss::Condition(compiled, miss));
                if condition_miss.is_some() && !exhaustive {
                    return Ok(condition_miss);
                }
            }
        }
        if !self.principal_matches(request) {
            return Ok(Some(Miss::Principal));
        }
        if !self.action_matches(request, action) {
            return Ok(Some(Miss::Action));
        }
        Ok(condition_miss)
    }
}

impl Miss<'_, '_> {
    fn describe(&self, s: &PolicyStatement, request: &Request) -> String {
        match self {
            Miss::Principal => match &s.principal {
                PrincipalMatch::Federated(arns) => format!(
                    "principal is {}, not `{}`",
                    ticked(arns),
                    request.federated_principal
                ),
                _ => "principal is not `*` or a federated identity provider".to_owned(),
            },
            Miss::Action => format!(
                "action `{}` is not in {}",
                request.action,
                ticked(&s.actions)
            ),
            Miss::Condition(compiled, why) => format!(
                "condition `{}` on `{}` does not match: {}",
                compiled.condition.operator,
                compiled.condition.key,
                compiled.describe(why)
            ),
        }
    }
}

// The condition engine and the pattern matchers below are shared with the identity-policy
// evaluator (`crate::permissions::evaluator`), which evaluates the same condition operators
// against another kind of request: they read a request's condition keys, never the request.

/// One pattern element: a literal character, `*` (any run, even empty) or `?` (one character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    Any,
    One,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Equals,
    EqualsIgnoreCase,
    Like,
    Arn,
    Bool,
    Null,
}

/// A condition with its operator parsed and its values compiled to patterns.
pub(crate) struct Compiled<'a> {
    pub(crate) condition: &'a Condition,
    set: SetOp,
    kind: Kind,
    negated: bool,
    if_exists: bool,
    patterns: Vec<Vec<Tok>>,
    /// For each pattern without wildcards, its text: matching it is string equality (not for
    /// `Arn*`, which also compares the parts' count).
    literals: Vec<Option<String>>,
}

impl<'a> Compiled<'a> {
    /// Parses the operator and compiles the values; `statement` is the index errors name.
    pub(crate) fn new(
        statement: usize,
        condition: &'a Condition,
    ) -> Result<Compiled<'a>, EvalError> {
        let error = |kind| EvalError {
            statement,
            operator: condition.operator.clone(),
            key: condition.key.clone(),
            kind,
        };
        let text = condition.operator.as_str();
        let (set, rest) = if let Some(rest) = text.strip_prefix("ForAnyValue:") {
            (SetOp::ForAnyValue, rest)
        } else if let Some(rest) = text.strip_prefix("ForAllValues:") {
            (SetOp::ForAllValues, rest)
        } else {
            (SetOp::Single, text)
        };
        let (if_exists, core) = match rest.strip_suffix("IfExists") {
            Some(core) => (true, core),
            None => (false, rest),
        };
        // ArnEquals and ArnLike are documented identically: case-sensitive, each of the six
        // colon-separated parts compared separately, wildcards allowed in both.
        let (kind, negated) = match core {
            "StringEquals" => (Kind::Equals, false),
            "StringNotEquals" => (Kind::Equals, true),
            "StringEqualsIgnoreCase" => (Kind::EqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Kind::EqualsIgnoreCase, true),
            "StringLike" => (Kind::Like, false),
            "StringNotLike" => (Kind::Like, true),
            "ArnEquals" | "ArnLike" => (Kind::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Kind::Arn, true),
            "Bool" => (Kind::Bool, false),
            // `Null` tests presence itself; a qualifier or `IfExists` on it has no meaning.
            "Null" if set == SetOp::Single && !if_exists => (Kind::Null, false),
            _ => return Err(error(EvalErrorKind::UnknownOperator)),
        };
        if let Some(at) = condition.key.find("${") {
            let rest = &condition.key[at..];
            let variable = rest.find('}').map_or(rest, |end| &rest[..=end]).to_owned();
            return Err(error(EvalErrorKind::KeyPolicyVariable { variable }));
        }
        if condition.values.is_empty() {
            return Err(error(EvalErrorKind::NoValues));
        }
        let mut patterns = Vec::with_capacity(condition.values.len());
        for value in &condition.values {
            if matches!(kind, Kind::Bool | Kind::Null)
                && !value.eq_ignore_ascii_case("true")
                && !value.eq_ignore_ascii_case("false")
            {
                let value = value.clone();
                return Err(error(EvalErrorKind::NotBoolean { value }));
            }
            let wildcards = matches!(kind, Kind::Like | Kind::Arn);
            let tokens = compile(value, wildcards)
                .map_err(|variable| error(EvalErrorKind::PolicyVariable { variable }))?;
            patterns.push(if kind.folds_case() {
                fold(&tokens)
            } else {
                tokens
            });
        }
        let literals = patterns
            .iter()
            .map(|tokens| literal(tokens).filter(|_| kind != Kind::Arn))
            .collect();
        Ok(Compiled {
            condition,
            set,
            kind,
            negated,
            if_exists,
            patterns,
            literals,
        })
    }

    /// `None` when the condition holds on a request with these condition keys (names compared
    /// case-insensitively), else why not; `statement` is the index errors name.
    pub(crate) fn check<'r>(
        &self,
        statement: usize,
        context: &'r IndexMap<String, Vec<String>>,
    ) -> Result<Option<ConditionMiss<'r>>, EvalError> {
        let key = &self.condition.key;
        let values = lookup(context, key);
        if self.kind == Kind::Null {
            // `Null: true` holds when the key is absent, `Null: false` when it is present.
            let absent = values.is_empty();
            let holds = self
                .condition
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == absent);
            return Ok(match (holds, absent) {
                (true, _) => None,
                (false, true) => Some(ConditionMiss::Absent),
                (false, false) => Some(ConditionMiss::Present),
            });
        }
        if values.is_empty() {
            // Absent key: false, except negated operators (true), `...IfExists` (true) and
            // `ForAllValues:` ("also returns true if there are no context keys in the request",
            // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html).
            let holds = self.if_exists
                || match self.set {
                    SetOp::ForAllValues => true,
                    SetOp::ForAnyValue => false,
                    SetOp::Single => self.negated,
                };
            return Ok((!holds).then_some(ConditionMiss::Absent));
        }
        let passes = |v: &String| self.first_match(v).is_some() != self.negated;
        Ok(match (self.set, values) {
            (SetOp::Single, [value]) => (!passes(value)).then_some(ConditionMiss::Value(value)),
            (SetOp::Single, _) => {
                // AWS gives no precise rule for this; our OIDC claims are single-valued.
                return Err(EvalError {
                    statement,
                    operator: self.condition.operator.clone(),
                    key: key.clone(),
                    kind: EvalErrorKind::MultivaluedKey {
                        count: values.len(),
                    },
                });
            }
            (SetOp::ForAllValues, _) => values
                .iter()
                .find(|v| !passes(v))
                .map(|v| ConditionMiss::Value(v)),
            (SetOp::ForAnyValue, _) => {
                (!values.iter().any(passes)).then_some(ConditionMiss::NoValueMatches(values))
            }
        })
    }

    /// Whether the condition holds when its key has exactly the one value `value` (what
    /// [`Compiled::check`] says then, without the request).
    fn holds_for(&self, value: &str) -> bool {
        if self.kind == Kind::Null {
            // The key is present: `Null: false` holds.
            return self
                .condition
                .values
                .iter()
                .any(|v| !v.eq_ignore_ascii_case("true"));
        }
        // One present value: every set qualifier reduces to whether it passes.
        self.first_match(value).is_some() != self.negated
    }

    /// The text of a miss found by [`Compiled::check`].
    pub(crate) fn describe(&self, miss: &ConditionMiss<'_>) -> String {
        let key = &self.condition.key;
        match miss {
            ConditionMiss::Absent => format!("`{key}` is not in the request"),
            ConditionMiss::Present => format!("`{key}` is in the request"),
            ConditionMiss::Value(value) => self.miss(value),
            ConditionMiss::NoValueMatches(values) => {
                let misses: Vec<String> = values.iter().map(|v| self.miss(v)).collect();
                format!("no value matches: {}", misses.join("; "))
            }
        }
    }

    /// The index of the first condition value that `value` matches (ignoring negation).
    fn first_match(&self, value: &str) -> Option<usize> {
        let folded;
        let value = if self.kind.folds_case() {
            folded = value.to_lowercase();
            folded.as_str()
        } else {
            value
        };
        let matches = |(p, literal): (&Vec<Tok>, &Option<String>)| match (self.kind, literal) {
            (_, Some(literal)) => literal == value,
            (Kind::Arn, None) => arn_match(p, value),
            (_, None) => glob(p, value),
        };
        self.patterns.iter().zip(&self.literals).position(matches)
    }

    /// Why `value` fails this condition.
    fn miss(&self, value: &str) -> String {
        let (is, is_not) = match self.kind {
            Kind::Like | Kind::Arn => ("matches", "does not match"),
            _ => ("is", "is not"),
        };
        let values = &self.condition.values;
        match self.first_match(value).and_then(|i| values.get(i)) {
            Some(hit) if self.negated => format!("`{value}` {is} `{hit}`"),
            _ if values.len() == 1 => format!("`{value}` {is_not} {}", ticked(values)),
            _ => format!("`{value}` {is_not} any of {}", ticked(values)),
        }
    }
}

impl Kind {
    fn folds_case(self) -> bool {
        matches!(self, Kind::EqualsIgnoreCase | Kind::Bool)
    }
}

/// The values of `key`, comparing key names case-insensitively; empty when absent.
fn lookup<'r>(context: &'r IndexMap<String, Vec<String>>, key: &str) -> &'r [String] {
    lookup_index(context, key)
        .and_then(|at| context.get_index(at))
        .map_or(&[], |(_, values)| values.as_slice())
}

/// The position of the entry [`lookup`] reads for `key`: the first whose name is `key` in any
/// ASCII case.
fn lookup_index(context: &IndexMap<String, Vec<String>>, key: &str) -> Option<usize> {
    // Keys share long prefixes (`token.actions.githubusercontent.com:`): the last byte tells
    // most apart.
    let last = |k: &str| k.bytes().last().map(|b| b.to_ascii_lowercase());
    let same = |k: &str| {
        k.len() == key.len() && last(k) == last(key) && (k == key || k.eq_ignore_ascii_case(key))
    };
    context.keys().position(|k| same(k))
}

/// Compiles a condition value. `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars);
/// any other `${...}` is a policy variable and is returned as the error.
pub(crate) fn compile(value: &str, wildcards: bool) -> Result<Vec<Tok>, String> {
    let mut tokens = Vec::new();
    let mut rest = value;
    loop {
        if let Some((name, tail)) = rest.strip_prefix("${").and_then(|r| r.split_once('}')) {
            tokens.push(Tok::Lit(match name {
                "*" => '*',
                "?" => '?',
                "$" => '$',
                _ => return Err(format!("${{{name}}}")),
            }));
            rest = tail;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return Ok(tokens);
        };
        tokens.push(match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            c => Tok::Lit(c),
        });
        rest = chars.as_str();
    }
}

/// The text a pattern without wildcards matches (it matches nothing else).
pub(crate) fn literal(tokens: &[Tok]) -> Option<String> {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn fold(tokens: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(tokens.len());
    for &t in tokens {
        match t {
            Tok::Lit(c) => out.extend(c.to_lowercase().map(Tok::Lit)),
            other => out.push(other),
        }
    }
    out
}

/// Action patterns: case-insensitive, `*` and `?` wildcards, no policy variables.
pub(crate) fn action_pattern(action: &str) -> Vec<Tok> {
    let tokens: Vec<Tok> = action
        .chars()
        .map(|c| match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect();
    fold(&tokens)
}

/// Whether `text` matches `pattern` entirely: greedy, backtracking only to the last `*`, so
/// O(pattern × text) at worst, no recursion and no allocation. `t` and the star's text position
/// are byte offsets at character boundaries.
pub(crate) fn glob(pattern: &[Tok], text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = text[t..].chars().next() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => (p, t) = (p + 1, t + c.len_utf8()),
            Some(Tok::Lit(l)) if *l == c => (p, t) = (p + 1, t + c.len_utf8()),
            _ => match star {
                Some((sp, st)) => {
                    // The star takes one more character (there is one: `st < t`).
                    let Some(taken) = text[st..].chars().next() else {
                        return false;
                    };
                    let st = st + taken.len_utf8();
                    star = Some((sp, st));
                    (p, t) = (sp + 1, st);
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|tail| tail.iter().all(|&tok| tok == Tok::Any))
}

/// `ArnLike`: the six colon-separated parts (the resource part may itself contain colons) are
/// matched separately, so `*` never crosses a part. A pattern without any colon (like a bare `*`)
/// is matched against the whole value, and one with two to five parts matches nothing — our
/// choice: AWS does not document either case.
fn arn_match(pattern: &[Tok], value: &str) -> bool {
    let mut parts: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while parts.len() < 5 {
        let Some(colon) = rest.iter().position(|&t| t == Tok::Lit(':')) else {
            break;
        };
        parts.push(&rest[..colon]);
        rest = &rest[colon + 1..];
    }
    parts.push(rest);
    match parts.len() {
        1 => return glob(pattern, value),
        6 => {}
        _ => return false,
    }
    let values: Vec<&str> = value.splitn(6, ':').collect();
    values.len() == 6 && parts.iter().zip(&values).all(|(p, v)| glob(p, v))
}

pub(crate) fn ticked(items: &[String]) -> String {
    let ticked: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    ticked.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::ConditionOperator;
    use proptest::prelude::*;

    const PROVIDER: &str = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com";
    const AUD: &str = "token.actions.githubusercontent.com:aud";
    const SUB: &str = "token.actions.githubusercontent.com:sub";
    const MAIN: &str = "repo:octo-org/sam-app:ref:refs/heads/main";
    const ROLE: &str = "arn:aws:iam::111111111111:role/deploy";

    fn cond(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(operator, key, values.iter().copied())
    }

    fn statement(effect: Effect, conditions: Vec<Condition>) -> PolicyStatement {
        let principal = PrincipalMatch::Federated(vec![PROVIDER.to_owned()]);
        let actions = vec![ASSUME_ROLE_WITH_WEB_IDENTITY.to_owned()];
        PolicyStatement {
            sid: None,
            effect,
            principal,
            actions,
            conditions,
        }
    }

    /// The trust statement sampipe generates: `StringEquals` on `aud` and on `sub`.
    fn generated() -> PolicyStatement {
        let aud = cond("StringEquals", AUD, &["sts.amazonaws.com"]);
        statement(Effect::Allow, vec![aud, cond("StringEquals", SUB, &[MAIN])])
    }

    fn token(sub: &str) -> Request {
        Request::web_identity(PROVIDER)
            .claim(AUD, "sts.amazonaws.com")
            .claim(SUB, sub)
    }

    /// Whether an Allow with one condition on key `k` admits a request with `claims` for `k`.
    fn holds(operator: &str, values: &[&str], claims: &[&str]) -> bool {
        let policy = [statement(Effect::Allow, vec![cond(operator, "k", values)])];
        let request = claims
            .iter()
            .fold(Request::web_identity(PROVIDER), |r, v| r.claim("k", *v));
        evaluate(&policy, &request).unwrap().allowed()
    }

    #[test]
    fn generated_policy_admits_its_subject_and_explains_why() {
        let eval = evaluate(&[generated()], &token(MAIN)).unwrap();
        assert_eq!((eval.decision, eval.deciding), (Decision::Allow, Some(0)));
        assert_eq!(
            eval.explain(),
            "ALLOW: statement 0 allows the request: all conditions match."
        );
    }

    #[test]
    fn other_subject_is_an_implicit_deny_naming_the_condition() {
        let eval = evaluate(&[generated()], &token("repo:octo-org/sam-app:pull_request")).unwrap();
        assert_eq!(
            (eval.decision, eval.deciding),
            (Decision::ImplicitDeny, None)
        );
        assert_eq!(
            eval.explain(),
            "DENY: no statement allows the request (implicit deny): statement 0: condition \
             `StringEquals` on `token.actions.githubusercontent.com:sub` does not match: \
             `repo:octo-org/sam-app:pull_request` is not `repo:octo-org/sam-app:ref:refs/heads/main`."
        );
    }

    // Policy evaluation logic: "An explicit deny in any policy overrides any allows".
    #[test]
    fn explicit_deny_overrides_allow() {
        let allow = statement(
            Effect::Allow,
            vec![cond("StringLike", SUB, &["repo:octo-org/*"])],
        );
        let mut deny = statement(
            Effect::Deny,
            vec![cond("StringLike", SUB, &["*:pull_request"])],
        );
        deny.sid = Some("NoPullRequests".to_owned());
        let policy = [allow, deny];
        let eval = evaluate(&policy, &token("repo:octo-org/sam-app:pull_request")).unwrap();
        assert_eq!(
            (eval.decision, eval.deciding),
            (Decision::ExplicitDeny, Some(1))
        );
        assert!(eval.statements[0].applies);
        let explain = eval.explain();
        assert!(explain.starts_with("DENY: statement 1 (`NoPullRequests`) explicitly denies"));
        assert!(evaluate(&policy, &token(MAIN)).unwrap().allowed());
    }

    #[test]
    fn principal_must_list_the_provider_or_be_everyone() {
        let mut s = generated();
        s.principal = PrincipalMatch::Federated(vec!["arn:other".into()]);
        let eval = evaluate(&[s.clone()], &token(MAIN)).unwrap();
        assert!(eval.statements[0]
            .reason
            .starts_with("principal is `arn:other`, not `arn:aws:"));
        s.principal = PrincipalMatch::Other;
        assert!(!evaluate(&[s.clone()], &token(MAIN)).unwrap().allowed());
        s.principal = PrincipalMatch::Any;
        assert!(evaluate(&[s], &token(MAIN)).unwrap().allowed());
    }

    // Action element: matched case-insensitively, with `*` and `?` wildcards.
    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let cases = [
            ("sts:*", true),
            ("STS:assumerolewithwebidentity", true),
            ("*", true),
        ];
        let more = [
            ("sts:AssumeRoleWith?ebIdentity", true),
            ("sts:AssumeRole", false),
            ("s3:*", false),
        ];
        for (action, applies) in cases.into_iter().chain(more) {
            let mut s = generated();
            s.actions = vec![action.to_owned()];
            assert_eq!(
                evaluate(&[s], &token(MAIN)).unwrap().allowed(),
                applies,
                "{action}"
            );
        }
    }

    /// (operator, condition values, request values for the key, holds), grouped by documented rule.
    const OPERATOR_CASES: &[(&str, &[&str], &[&str], bool)] = &[
        // String operators: StringLike `*` is any run (even empty), `?` exactly one character;
        // matching is case-sensitive; values of one key are ORed.
        (
            "StringLike",
            &["repo:a/b:ref:refs/heads/*"],
            &["repo:a/b:ref:refs/heads/"],
            true,
        ),
        ("StringLike", &["feature-?"], &["feature-1"], true),
        ("StringLike", &["feature-?"], &["feature-"], false),
        ("StringLike", &["feature-?"], &["feature-12"], false),
        ("StringLike", &["a*b*c"], &["aXbYbZc"], true),
        ("StringLike", &["Repo:*"], &["repo:a"], false),
        ("StringLike", &["x", "y*"], &["yes"], true),
        // StringEquals has no wildcards; `${*}`, `${?}`, `${$}` are literal characters (policy
        // variables, "special characters").
        ("StringEquals", &["a*"], &["a*"], true),
        ("StringEquals", &["a*"], &["ab"], false),
        ("StringLike", &["a${*}"], &["a*"], true),
        ("StringLike", &["a${*}"], &["ab"], false),
        ("StringLike", &["${?}${$}"], &["?$"], true),
        ("StringEqualsIgnoreCase", &["Repo:A/B"], &["repo:a/b"], true),
        (
            "StringNotEqualsIgnoreCase",
            &["Repo:A/B"],
            &["REPO:A/B"],
            false,
        ),
        ("StringEquals", &["Repo:A/B"], &["repo:a/b"], false),
        // Condition operators, "Important": a key absent from the request fails the condition,
        // but a negated operator is then true. Multiple values of a negated operator are NORed.
        ("StringEquals", &["a"], &[], false),
        ("StringNotEquals", &["a"], &[], true),
        ("StringNotLike", &["a*"], &[], true),
        ("StringNotEqualsIgnoreCase", &["a"], &[], true),
        ("ArnNotLike", &["arn:*:*:*:*:*"], &[], true),
        ("StringNotEquals", &["a", "b"], &["c"], true),
        ("StringNotEquals", &["a", "b"], &["b"], false),
        // ...IfExists: true when the key is absent, an ordinary check when it is present.
        ("StringEqualsIfExists", &["a"], &[], true),
        ("StringEqualsIfExists", &["a"], &["a"], true),
        ("StringEqualsIfExists", &["a"], &["b"], false),
        ("ForAnyValue:StringEqualsIfExists", &["a"], &[], true),
        // Null: `true` holds when the key is absent, `false` when it is present.
        ("Null", &["true"], &[], true),
        ("Null", &["true"], &["x"], false),
        ("Null", &["false"], &["x"], true),
        ("Null", &["false"], &[], false),
        // Bool: `true`/`false`, case-insensitive.
        ("Bool", &["true"], &["True"], true),
        ("Bool", &["false"], &["true"], false),
        ("Bool", &["true"], &[], false),
        ("BoolIfExists", &["true"], &[], true),
        // ARN operators: the six colon-separated parts are compared separately.
        ("ArnLike", &["arn:aws:iam::*:role/*"], &[ROLE], true),
        ("ArnEquals", &[ROLE], &[ROLE], true),
        ("ArnLike", &["arn:aws:iam:*:role/deploy"], &[ROLE], false),
        ("ArnLike", &["*"], &[ROLE], true),
        (
            "ArnLike",
            &["arn:aws:logs:*:*:log-group:x:*"],
            &["arn:aws:logs:r:1:log-group:x:s:y"],
            true,
        ),
        // Multivalued keys: ForAllValues needs every request value to match some condition value,
        // ForAnyValue at least one; ForAnyValue is false on an absent key.
        ("ForAllValues:StringLike", &["a*"], &["ab", "ac"], true),
        ("ForAllValues:StringLike", &["a*"], &["ab", "xc"], false),
        ("ForAllValues:StringNotLike", &["a*"], &["xb", "xc"], true),
        ("ForAnyValue:StringLike", &["a*"], &["x", "ab"], true),
        ("ForAnyValue:StringLike", &["a*"], &["x", "y"], false),
        ("ForAnyValue:StringEquals", &["a"], &[], false),
    ];

    #[test]
    fn operators_follow_the_documented_rules() {
        for &(operator, values, claims, expected) in OPERATOR_CASES {
            assert_eq!(
                holds(operator, values, claims),
                expected,
                "{operator} {values:?} {claims:?}"
            );
        }
    }

    #[test]
    fn reasons_name_the_value_that_decided() {
        let reason = |operator: &str, values: &[&str], claims: &[&str]| {
            let policy = [statement(Effect::Allow, vec![cond(operator, "k", values)])];
            let request = claims
                .iter()
                .fold(Request::web_identity(PROVIDER), |r, v| r.claim("k", *v));
            let eval = evaluate(&policy, &request).unwrap();
            eval.statements[0]
                .reason
                .split(": ")
                .skip(1)
                .collect::<Vec<_>>()
                .join(": ")
        };
        assert_eq!(
            reason("StringNotLike", &["a", "b*"], &["bee"]),
            "`bee` matches `b*`"
        );
        assert_eq!(
            reason("StringEquals", &["a", "b"], &["c"]),
            "`c` is not any of `a`, `b`"
        );
        assert_eq!(
            reason("StringEquals", &["a"], &[]),
            "`k` is not in the request"
        );
        assert_eq!(reason("Null", &["true"], &["x"]), "`k` is in the request");
        assert_eq!(
            reason("ForAnyValue:StringLike", &["a*"], &["x", "y"]),
            "no value matches: `x` does not match `a*`; `y` does not match `a*`"
        );
    }

    // "The ForAllValues set operator also returns true if there are no context keys in the request"
    // (reference_policies_condition_examples-multi-valued-context-keys). The AWS SAM reference
    // template trusts through `ForAllValues:StringLike` on `aud` and `sub`, so a token carrying
    // neither claim is admitted. sampipe's `StringEquals` is not fooled.
    #[test]
    fn sam_reference_for_all_values_string_like_admits_a_token_without_aud_or_sub() {
        let reference = statement(
            Effect::Allow,
            vec![
                cond("ForAllValues:StringLike", AUD, &["sts.amazonaws.com"]),
                cond("ForAllValues:StringLike", SUB, &[MAIN]),
            ],
        );
        let no_claims = Request::web_identity(PROVIDER);
        assert!(evaluate(&[reference], &no_claims).unwrap().allowed());
        assert!(!evaluate(&[generated()], &no_claims).unwrap().allowed());
    }

    // Condition element: "Context key names are not case-sensitive."
    #[test]
    fn condition_key_names_are_case_insensitive() {
        let key = "Token.Actions.GitHubUserContent.com:SUB";
        let policy = [statement(
            Effect::Allow,
            vec![cond("StringEquals", key, &[MAIN])],
        )];
        assert!(evaluate(&policy, &token(MAIN)).unwrap().allowed());
    }

    #[test]
    fn statement_without_conditions_and_empty_policy() {
        let eval = evaluate(&[statement(Effect::Allow, vec![])], &token(MAIN)).unwrap();
        let reason = &eval.statements[0].reason;
        assert_eq!(
            reason,
            "principal and action match and there are no conditions"
        );
        let empty = evaluate(&[], &token(MAIN)).unwrap();
        assert_eq!(empty.decision, Decision::ImplicitDeny);
        assert!(empty
            .explain()
            .contains("the policy has no `Allow` statement"));
    }

    #[test]
    fn what_the_evaluator_does_not_model_is_an_error() {
        let err = |c: Condition| {
            let two_values = token(MAIN).claim("k", "x").claim("k", "y");
            evaluate(&[statement(Effect::Allow, vec![c])], &two_values)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(cond("StringEqual", "k", &["a"])),
            "statement 0: condition `StringEqual` on `k`: not a supported operator (String*, Arn*, \
             Bool, Null; `IfExists` and `ForAllValues:`/`ForAnyValue:` on all but Null)"
        );
        for op in [
            "NumericLessThan",
            "NullIfExists",
            "ForAllValues:Null",
            "ForAnyValue:",
            "stringequals",
        ] {
            assert!(err(cond(op, "k", &["1"])).ends_with("not a supported operator (String*, Arn*, Bool, Null; `IfExists` and `ForAllValues:`/`ForAnyValue:` on all but Null)"), "{op}");
        }
        let prefix = "statement 0: condition ";
        let cases = [
            (cond("Null", "k", &["yes"]), "`Null` on `k`: value `yes` is not `true` or `false`"),
            (cond("StringEquals", "k", &[]), "`StringEquals` on `k`: no values"),
            (
                cond("StringEquals", "k/${aws:PrincipalTag/team}", &["x"]),
                "`StringEquals` on `k/${aws:PrincipalTag/team}`: policy variable `${aws:PrincipalTag/team}` in the key is not supported",
            ),
            (
                cond("StringLike", "k", &["${aws:username}-*"]),
                "`StringLike` on `k`: policy variable `${aws:username}` is not supported (only `${*}`, `${?}` and `${$}` are)",
            ),
            (
                cond("StringEquals", "k", &["x"]),
                "`StringEquals` on `k`: the request has 2 values for the key, which needs `ForAllValues:` or `ForAnyValue:`",
            ),
        ];
        for (c, message) in cases {
            assert_eq!(err(c), format!("{prefix}{message}"));
        }
    }

    #[test]
    fn errors_surface_even_after_a_failing_condition() {
        let failing = cond("StringEquals", SUB, &["nope"]);
        let s = statement(
            Effect::Allow,
            vec![failing, cond("DateLessThan", "k", &["x"])],
        );
        assert!(evaluate(&[s], &token(MAIN)).is_err());
    }

    #[test]
    fn converts_a_resolved_statement() {
        let aud = IndexMap::from([(AUD.to_owned(), vec!["sts.amazonaws.com".to_owned()])]);
        let sub = IndexMap::from([(SUB.to_owned(), vec![MAIN.to_owned()])]);
        let resolved = ResolvedStatement {
            sid: Some("GitHub".to_owned()),
            effect: Effect::Allow,
            principal: Some(ResolvedPrincipal::Federated(vec![PROVIDER.to_owned()])),
            action: vec![ASSUME_ROLE_WITH_WEB_IDENTITY.to_owned()],
            not_action: Vec::new(),
            resource: vec![],
            condition: IndexMap::from([
                (ConditionOperator::StringEquals, aud),
                (ConditionOperator::StringLike, sub),
            ]),
        };
        let s = PolicyStatement::from(&resolved);
        let expected = vec![
            cond("StringEquals", AUD, &["sts.amazonaws.com"]),
            cond("StringLike", SUB, &[MAIN]),
        ];
        assert_eq!(s.conditions, expected);
        assert!(evaluate(&[s], &token(MAIN)).unwrap().allowed());
        let aws_star = Some(ResolvedPrincipal::Aws(vec!["*".into()]));
        let aws = ResolvedStatement {
            principal: aws_star,
            ..resolved
        };
        assert_eq!(PolicyStatement::from(&aws).principal, PrincipalMatch::Other);
    }

    proptest! {
        // StringLike: a pattern equal to the value matches it (`*` and `?` match themselves too).
        #[test]
        fn string_like_with_the_literal_value_matches(value in "[a-zA-Z0-9:/._ *?-]{0,40}") {
            prop_assert!(holds("StringLike", &[&value], &[&value]));
        }

        #[test]
        fn star_matches_everything(value in "\\PC{0,40}") {
            prop_assert!(holds("StringLike", &["*"], &[&value]));
        }

        // Policy evaluation logic: an explicit deny overrides an allow, in either order.
        #[test]
        fn deny_beats_an_identical_allow(
            pattern in "[a-z:/*?-]{0,20}",
            other in "[a-z:/-]{0,20}",
            matching: bool,
            deny_first: bool,
        ) {
            let claim = if matching { pattern.replace(['*', '?'], "x") } else { other };
            let allow = statement(Effect::Allow, vec![cond("StringLike", SUB, &[&pattern])]);
            let deny = PolicyStatement { effect: Effect::Deny, ..allow.clone() };
            let alone = evaluate(std::slice::from_ref(&allow), &token(&claim)).unwrap().decision;
            let policy = if deny_first { [deny, allow] } else { [allow, deny] };
            let both = evaluate(&policy, &token(&claim)).unwrap().decision;
            prop_assert!(!matching || alone == Decision::Allow);
            let expected = if alone == Decision::Allow { Decision::ExplicitDeny } else { Decision::ImplicitDeny };
            prop_assert_eq!(both, expected);
        }

        // The glob matcher agrees with a plain character-by-character backtracking reference,
        // on non-ASCII text too (it walks byte offsets).
        #[test]
        fn glob_agrees_with_a_reference_matcher(
            pattern in "[ab*?é]{0,8}",
            text in "[abé]{0,10}",
        ) {
            fn reference(p: &[Tok], t: &[char]) -> bool {
                match (p.first(), t.first()) {
                    (None, _) => t.is_empty(),
                    (Some(Tok::Any), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
                    (Some(Tok::One), Some(_)) => reference(&p[1..], &t[1..]),
                    (Some(Tok::Lit(l)), Some(c)) => l == c && reference(&p[1..], &t[1..]),
                    (Some(_), None) => false,
                }
            }
            let tokens = compile(&pattern, true).unwrap();
            let chars: Vec<char> = text.chars().collect();
            prop_assert_eq!(glob(&tokens, &text), reference(&tokens, &chars));
        }

        // Action matching is glob matching after Unicode lower-casing both sides, whatever the
        // shortcuts taken for ASCII and for patterns without wildcards.
        #[test]
        fn action_matching_folds_case(
            pattern in "[aAkK:*?\u{212A}\u{130}]{0,6}",
            action in "[aAkKi:\u{212A}\u{130}\u{307}]{0,6}",
        ) {
            let folded = action_pattern(&pattern);
            let expected = glob(&folded, &action.to_lowercase());
            prop_assert_eq!(Action::new(&action).matches(&folded, &literal(&folded)), expected);
        }

        // A compiled policy's decision is the decision of the full evaluation, errors included.
        #[test]
        fn policy_decision_agrees_with_evaluate(
            ops in prop::collection::vec(prop::sample::select(&["StringEquals", "StringNotLike", "StringLike", "ForAnyValue:StringLike", "ForAllValues:StringEquals", "StringEqualsIfExists", "Null", "NumericEquals"][..]), 0..4),
            values in prop::collection::vec("[ab*]{0,3}|true", 1..3),
            claims in prop::collection::vec("[ab]{0,3}", 0..3),
            deny: bool,
        ) {
            let conditions = ops.iter().map(|op| cond(op, SUB, &values.iter().map(String::as_str).collect::<Vec<_>>())).collect();
            let first = statement(Effect::Allow, conditions);
            let second = PolicyStatement { effect: if deny { Effect::Deny } else { Effect::Allow }, conditions: vec![cond("StringLike", SUB, &["a*"])], ..first.clone() };
            let policy = [first, second];
            let request = claims.iter().fold(Request::web_identity(PROVIDER), |r, v| r.claim(SUB, v.as_str()));
            let full = evaluate(&policy, &request).map(|e| e.decision);
            prop_assert_eq!(Policy::new(&policy).decision(&request), full);
        }

        // Deciding a family of requests at once answers as deciding each request, including
        // when a varied key is absent or multivalued, or another entry differs only in case.
        #[test]
        fn decide_each_agrees_with_decision(
            conditions in prop::collection::vec((
                prop::sample::select(&["StringEquals", "StringNotLike", "StringLike", "ForAnyValue:StringLike", "ForAllValues:StringEquals", "StringEqualsIfExists", "Null", "NumericEquals"][..]),
                prop::sample::select(&[SUB, AUD, "k", "K"][..]),
                "[ab*]{0,2}|true|false",
            ), 0..6),
            deny: bool,
            subs in prop::collection::vec("[ab]{0,2}", 0..3),
            other in prop::option::of(("k|K", "[ab]{0,2}")),
            vary_aud: bool,
            items in prop::collection::vec(("[ab]{0,2}", "[ab]{0,2}"), 0..5),
        ) {
            let conditions: Vec<Condition> = conditions.iter().map(|(op, key, value)| cond(op, key, &[value])).collect();
            let (first, second) = conditions.split_at(conditions.len() / 2);
            let policy = [
                statement(Effect::Allow, first.to_vec()),
                statement(if deny { Effect::Deny } else { Effect::Allow }, second.to_vec()),
            ];
            let mut request = subs.iter().fold(Request::web_identity(PROVIDER).claim(AUD, "a"), |r, v| r.claim(SUB, v.as_str()));
            if let Some((key, value)) = &other {
                request = request.claim(key.as_str(), value.as_str());
            }
            let keys = [SUB, if vary_aud { AUD } else { "k" }];
            let compiled = Policy::new(&policy);
            let each = compiled.decide_each(&request, keys, items.iter().map(|(a, b)| [a.as_str(), b.as_str()]));
            let one_by_one: Result<Vec<Decision>, EvalError> = items.iter().map(|(a, b)| {
                let mut varied = request.clone();
                for (key, value) in keys.iter().zip([a, b]) {
                    varied.context.insert((*key).to_owned(), vec![value.clone()]);
                }
                compiled.decision(&varied)
            }).collect();
            prop_assert_eq!(each, one_by_one);
        }

        // ForAllValues is vacuously true on an absent key; ForAnyValue is false.
        #[test]
        fn set_qualifiers_on_an_absent_key(
            op in prop::sample::select(&["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase", "ArnLike", "ArnNotEquals", "Bool"][..]),
            value in "true|false",
        ) {
            let (all, any) = (format!("ForAllValues:{op}"), format!("ForAnyValue:{op}"));
            prop_assert!(holds(&all, &[&value], &[]));
            prop_assert!(!holds(&any, &[&value], &[]));
        }
    }
}
