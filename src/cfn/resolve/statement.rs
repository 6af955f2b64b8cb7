//! Policy documents resolved for one deployment: the statements that exist, with every value a
//! plain string — what a trust-policy evaluator compares against OIDC claims.

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::{text, wrong_type, ResolveError, Resolver, Stack};
use crate::cfn::{
    ConditionOperator, Effect, PolicyDocument, Principal, Statement, StatementEntry, Value,
};

/// A statement with concrete values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStatement {
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// The principal, if any.
    pub principal: Option<ResolvedPrincipal>,
    /// Actions.
    pub action: Vec<String>,
    /// `NotAction`: every action but these (empty unless the statement uses it).
    pub not_action: Vec<String>,
    /// Resources (functions returning lists are flattened).
    pub resource: Vec<String>,
    /// `operator → key → values`; keys whose values all resolved to `AWS::NoValue` are dropped.
    pub condition: IndexMap<ConditionOperator, IndexMap<String, Vec<String>>>,
}

/// A principal with concrete values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedPrincipal {
    /// `'*'`
    Everyone,
    /// Account ids or ARNs.
    Aws(Vec<String>),
    /// Service principals.
    Service(Vec<String>),
    /// Identity provider ARNs.
    Federated(Vec<String>),
}

impl Resolver<'_> {
    /// The statements of `document` that exist in this deployment (`StatementEntry::If` is dropped
    /// when its condition is false), with concrete values.
    pub fn policy(
        &self,
        document: &PolicyDocument,
    ) -> Result<Vec<ResolvedStatement>, ResolveError> {
        let mut out = Vec::new();
        for entry in document.statements() {
            if let StatementEntry::If { condition, .. } = entry {
                if !self.condition(condition)? {
                    continue;
                }
            }
            out.push(self.statement(entry.statement())?);
        }
        Ok(out)
    }

    fn statement(&self, s: &Statement) -> Result<ResolvedStatement, ResolveError> {
        let st = &mut Stack::new();
        let principal =
            match &s.principal {
                None => None,
                Some(Principal::Everyone) => Some(ResolvedPrincipal::Everyone),
                Some(Principal::Aws(values)) => Some(ResolvedPrincipal::Aws(self.strings(
                    values,
                    "`Principal.AWS`",
                    st,
                )?)),
                Some(Principal::Service(names)) => Some(ResolvedPrincipal::Service(names.clone())),
                Some(Principal::Federated(value)) => Some(ResolvedPrincipal::Federated(
                    self.strings(std::slice::from_ref(value), "`Principal.Federated`", st)?,
                )),
            };
        let mut condition = IndexMap::new();
        for (operator, keys) in &s.condition {
            let mut resolved = IndexMap::new();
            for (key, value) in keys {
                let context = format!("condition key `{key}`");
                let values = self.strings(std::slice::from_ref(value), &context, st)?;
                if !values.is_empty() {
                    resolved.insert(key.clone(), values);
                }
            }
            if !resolved.is_empty() {
                condition.insert(*operator, resolved);
            }
        }
        Ok(ResolvedStatement {
            sid: s.sid.clone(),
            effect: s.effect,
            principal,
            action: s.action.clone(),
            not_action: s.not_action.clone(),
            resource: self.strings(&s.resource, "`Resource`", st)?,
            condition,
        })
    }

    /// Resolves each value to a string or a list of strings and flattens the result.
    fn strings(
        &self,
        values: &[Value],
        context: &str,
        st: &mut Stack,
    ) -> Result<Vec<String>, ResolveError> {
        let mut out = Vec::new();
        for value in values {
            match self.eval(value, st)? {
                None => {}
                Some(Json::Array(items)) => {
                    for item in &items {
                        out.push(text(item, || format!("an item of {context}"))?);
                    }
                }
                Some(Json::Object(map)) => {
                    return Err(wrong_type(
                        context,
                        "a string or list of strings",
                        Some(&Json::Object(map)),
                    ));
                }
                Some(scalar) => out.push(text(&scalar, || context.to_owned())?),
            }
        }
        Ok(out)
    }
}
