//! `concurrency:`: at most one running and one pending run or job per group.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#concurrency>.

use serde_yaml::Value;

use super::expr::Text;
use super::render::{Map, ToYaml};

/// A concurrency group; `cancel-in-progress` is always written, so a reviewer sees whether a
/// newer run cancels the running one or waits for it:
///
/// ```yaml
/// concurrency:
///   group: deploy-prod
///   cancel-in-progress: false
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concurrency {
    /// `group:`, a literal or an expression such as `${{ github.workflow }}`.
    pub group: Text,
    /// `cancel-in-progress:`. Default: `false` (a new run waits).
    pub cancel_in_progress: bool,
}

impl Concurrency {
    /// The group `group`, where a new run waits for the running one.
    pub fn new(group: impl Into<Text>) -> Self {
        Self {
            group: group.into(),
            cancel_in_progress: false,
        }
    }

    /// Sets `cancel-in-progress:`.
    pub fn cancel_in_progress(mut self, cancel: bool) -> Self {
        self.cancel_in_progress = cancel;
        self
    }
}

impl ToYaml for Concurrency {
    fn to_yaml(&self) -> Value {
        Map::new()
            .put("group", self.group.to_yaml())
            .put("cancel-in-progress", self.cancel_in_progress)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::{assert_yaml, expr, text};

    #[test]
    fn renders_group_and_cancel_in_progress() {
        let concurrency = Concurrency::new(expr("github.workflow"));
        assert_yaml(
            &concurrency.to_yaml(),
            "group: ${{ github.workflow }}\ncancel-in-progress: false\n",
        );
        let literal = text("deploy-prod");
        assert_yaml(
            &Concurrency::new(literal).cancel_in_progress(true).to_yaml(),
            "group: deploy-prod\ncancel-in-progress: true\n",
        );
    }
}
