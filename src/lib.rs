//! sampipe: one reviewable config in, the pipeline-resources CloudFormation template and the CI
//! workflow out, generated from one model so that trust policies and jobs always agree.
//!
//! Layers, from reusable to specific:
//! - [`yaml`]: a deterministic, reviewer-friendly YAML emitter (short-form CloudFormation tags).
//! - [`cfn`]: typed CloudFormation builders (template, intrinsics, IAM policy documents).
//! - [`gha`]: typed GitHub Actions builders (workflow, triggers, jobs, steps, permissions).

pub mod app;
pub mod bitbucket;
pub mod cfn;
pub mod cli;
pub mod config;
pub mod diag;
pub mod gha;
pub mod gitlab;
pub mod init;
pub mod output;
pub mod permissions;
pub mod pipeline;
pub mod trust;
pub mod yaml;
