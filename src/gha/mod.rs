//! Typed GitHub Actions workflows: workflow, triggers, jobs, steps and permissions, with
//! consuming builders and GitHub's own names, rendered to a [`serde_yaml::Value`] whose keys are
//! in the order a reviewer expects.
//!
//! Reference: [workflow syntax](https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax).

mod actions;
mod annotate;
mod concurrency;
mod defaults;
mod expr;
mod job;
mod permissions;
mod render;
mod step;
#[cfg(test)]
mod testing;
mod trigger;
mod validate;
mod workflow;

pub use actions::{
    checkout, configure_aws_credentials, download_artifact, setup_sam, upload_artifact, ActionRef,
    AwsCredentials, PinError, Pins,
};
pub use annotate::annotate;
pub use concurrency::Concurrency;
pub use defaults::Defaults;
pub use expr::{
    Expr, ExprInLiteralError, ExprInScriptError, InvalidExprError, Literal, Script, Text,
};
pub use job::{Environment, Job};
pub use permissions::{Permission, Permissions, Scope};
pub use step::{Input, Run, Step, StepKind, Uses};
pub use trigger::{PullRequestTrigger, PushTrigger, Triggers};
pub use validate::WorkflowError;
pub use workflow::Workflow;
