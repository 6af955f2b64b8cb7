//! The integration test binary: one binary, a module per area (see STYLE.md).

mod app;
mod cli;
mod common;
mod crosscheck;
mod deploy;
mod errors;
mod init;
mod output_safety;
mod schema;
mod synth;
mod trust;
mod validators;
