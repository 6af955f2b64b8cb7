//! The command line: a thin layer over the library. Each subcommand is one file with a clap
//! `Args` struct and a `run` method; this module parses, dispatches and maps results to exit
//! codes. It takes its output streams as parameters so tests can run it in-process.
//!
//! Exit codes: 0 success (outputs written or up to date, trust or can said ALLOW); 1 `check`
//! found stale outputs or `trust`/`can` said DENY; 2 invalid input, usage or I/O error.

mod can;
mod check;
mod common;
mod completions;
mod explain;
mod init;
mod schema;
mod synth;
mod trust;

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: `check` found differences, or `trust` answered DENY.
pub const EXIT_DIFFERENT: u8 = 1;
/// Exit code: invalid config, usage or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// Synthesize AWS SAM pipeline resources (CloudFormation) and the CI file that deploys with
/// them (GitHub Actions, GitLab CI/CD or Bitbucket Pipelines) from one config, with the OIDC
/// trust between them proven on every run.
#[derive(Debug, Parser)]
#[command(
    name = "sampipe",
    version,
    after_help = "Exit codes: 0 success; 1 `check` found stale outputs or `trust`/`can` said DENY; 2 invalid input, usage or I/O error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Synth(synth::Synth),
    Check(check::Check),
    Explain(explain::Explain),
    Trust(trust::Trust),
    Can(can::Can),
    Init(init::Init),
    Schema(schema::Schema),
    Completions(completions::Completions),
    Man(completions::Man),
}

/// Runs sampipe with `args` (including the program name) and returns the exit code.
pub fn main<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            };
            let rendered = error.render().to_string();
            let _ = if error.use_stderr() {
                stderr.write_all(rendered.as_bytes())
            } else {
                stdout.write_all(rendered.as_bytes())
            };
            return code;
        }
    };
    let result = match &cli.command {
        Command::Synth(command) => command.run(stdout, stderr),
        Command::Check(command) => command.run(stdout, stderr),
        Command::Explain(command) => command.run(stdout, stderr),
        Command::Trust(command) => command.run(stdout, stderr),
        Command::Can(command) => command.run(stdout, stderr),
        Command::Init(command) => command.run(stdout, stderr),
        Command::Schema(command) => command.run(stdout),
        Command::Completions(command) => command.run(stdout),
        Command::Man(command) => command.run(stdout),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let _ = stderr.write_all(error.as_bytes());
            EXIT_ERROR
        }
    }
}
