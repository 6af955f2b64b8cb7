//! Typed GitHub Actions workflows: workflow, triggers, jobs, steps and permissions, with
//! consuming builders and GitHub's own names, rendered to a [`serde_yaml::Value`] whose keys are
//! in the order a reviewer expects.
//!
//! Reference: [workflow syntax](https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax).

mod expr;
#[cfg(test)]
mod testing;

pub use expr::{
    Expr, ExprInLiteralError, ExprInScriptError, InvalidExprError, Literal, Script, Text,
};
