//! `defaults:`: the shell and working directory of every `run:` step of a workflow or job.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#defaults>.

use serde_yaml::Value;

use super::render::Map;

/// `defaults.run`; renders nothing when neither field is set.
///
/// ```yaml
/// defaults:
///   run:
///     shell: bash
///     working-directory: app
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// `shell:`, e.g. `bash`.
    pub shell: Option<String>,
    /// `working-directory:`.
    pub working_directory: Option<String>,
}

impl Defaults {
    /// No default set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `shell:`.
    pub fn shell(mut self, shell: impl Into<String>) -> Self {
        self.shell = Some(shell.into());
        self
    }

    /// Sets `working-directory:`.
    pub fn working_directory(mut self, directory: impl Into<String>) -> Self {
        self.working_directory = Some(directory.into());
        self
    }

    /// The `defaults:` value, or `None` when there is nothing to write.
    pub(crate) fn to_yaml_opt(&self) -> Option<Value> {
        let run = Map::new()
            .opt("shell", self.shell.clone())
            .opt("working-directory", self.working_directory.clone());
        (!run.is_empty()).then(|| Map::new().put("run", run).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::assert_yaml;

    #[test]
    fn renders_under_run_and_nothing_when_empty() {
        let defaults = Defaults::new().working_directory("app").shell("bash");
        assert_yaml(
            &defaults.to_yaml_opt().expect("defaults are set"),
            "run:\n  shell: bash\n  working-directory: app\n",
        );
        assert_eq!(Defaults::new().to_yaml_opt(), None);
    }
}
