//! `sampipe completions` and `sampipe man`: generated from the same clap definitions as `--help`.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, EXIT_OK};

/// Print a shell completion script (e.g. `sampipe completions bash > /etc/bash_completion.d/sampipe`).
#[derive(Debug, Args)]
pub(super) struct Completions {
    /// The shell.
    shell: Shell,
}

impl Completions {
    pub(super) fn run(&self, stdout: &mut dyn Write) -> Result<u8, String> {
        let mut command = Cli::command();
        clap_complete::generate(self.shell, &mut command, "sampipe", stdout);
        Ok(EXIT_OK)
    }
}

/// Print the man page (roff), e.g. `sampipe man > sampipe.1`.
#[derive(Debug, Args)]
pub(super) struct Man {}

impl Man {
    pub(super) fn run(&self, stdout: &mut dyn Write) -> Result<u8, String> {
        clap_mangen::Man::new(Cli::command())
            .render(stdout)
            .map_err(|e| format!("error[write]: cannot print the man page: {e}\n"))?;
        Ok(EXIT_OK)
    }
}
