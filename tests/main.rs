//! The integration test binary: one binary, a module per area (see STYLE.md).

mod app;
mod cli;
mod common;
mod crosscheck;
mod deploy;
mod e2e;
mod errors;
mod init;
mod local_aws;
mod output_safety;
mod sam_expansion;
mod schema;
mod synth;
mod trust;
mod validators;
