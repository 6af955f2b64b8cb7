//! `on:`: the events that start a workflow, with their filters.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#on>
//! and <https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows>.

use serde_yaml::{Mapping, Value};

use super::render::{Map, ToYaml};

/// The events a workflow runs on, rendered in the order `push, pull_request, delete,
/// workflow_dispatch`. An event without filters renders as `{}`, which GitHub (like `null`)
/// reads as "every such event":
///
/// ```yaml
/// on:
///   push:
///     branches: [main, 'feature*']
///   delete: {}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggers {
    /// `push:`.
    pub push: Option<PushTrigger>,
    /// `pull_request:`.
    pub pull_request: Option<PullRequestTrigger>,
    /// `delete:` (a branch or tag was deleted). GitHub allows no filters on it: check
    /// `github.event.ref_type` and `github.event.ref` in the job's `if:` instead.
    pub delete: bool,
    /// `workflow_dispatch:` (run by hand).
    pub workflow_dispatch: bool,
}

impl Triggers {
    /// No event yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs on `push`.
    pub fn push(mut self, push: PushTrigger) -> Self {
        self.push = Some(push);
        self
    }

    /// Runs on `pull_request`.
    pub fn pull_request(mut self, pull_request: PullRequestTrigger) -> Self {
        self.pull_request = Some(pull_request);
        self
    }

    /// Runs on `delete`.
    pub fn delete(mut self) -> Self {
        self.delete = true;
        self
    }

    /// Runs on `workflow_dispatch`.
    pub fn workflow_dispatch(mut self) -> Self {
        self.workflow_dispatch = true;
        self
    }

    /// Whether no event is set; GitHub rejects such a workflow.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn bare_event(on: bool) -> Option<Value> {
    on.then(|| Value::Mapping(Mapping::new()))
}

impl ToYaml for Triggers {
    fn to_yaml(&self) -> Value {
        Map::new()
            .opt("push", self.push.as_ref().map(ToYaml::to_yaml))
            .opt(
                "pull_request",
                self.pull_request.as_ref().map(ToYaml::to_yaml),
            )
            .opt("delete", bare_event(self.delete))
            .opt("workflow_dispatch", bare_event(self.workflow_dispatch))
            .into()
    }
}

/// `push:` filters; a push must match every filter that is set. Patterns are GitHub's globs
/// (`*`, `**`, `?`, `!`).
///
/// ```yaml
/// push:
///   branches: [main]
///   branches-ignore: ['dependabot/**']
///   tags: ['v*']
///   paths: ['src/**']
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushTrigger {
    /// `branches:`; cannot be combined with `branches_ignore`.
    pub branches: Vec<String>,
    /// `branches-ignore:`.
    pub branches_ignore: Vec<String>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `paths:`.
    pub paths: Vec<String>,
}

impl PushTrigger {
    /// Every push.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a `branches:` pattern.
    pub fn branch(mut self, pattern: impl Into<String>) -> Self {
        self.branches.push(pattern.into());
        self
    }

    /// Adds a `branches-ignore:` pattern.
    pub fn branch_ignore(mut self, pattern: impl Into<String>) -> Self {
        self.branches_ignore.push(pattern.into());
        self
    }

    /// Adds a `tags:` pattern.
    pub fn tag(mut self, pattern: impl Into<String>) -> Self {
        self.tags.push(pattern.into());
        self
    }

    /// Adds a `paths:` pattern.
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.paths.push(pattern.into());
        self
    }
}

impl ToYaml for PushTrigger {
    fn to_yaml(&self) -> Value {
        Map::new()
            .non_empty("branches", self.branches.to_yaml())
            .non_empty("branches-ignore", self.branches_ignore.to_yaml())
            .non_empty("tags", self.tags.to_yaml())
            .non_empty("paths", self.paths.to_yaml())
            .into()
    }
}

/// `pull_request:` filters; `branches` match the pull request's base branch.
///
/// ```yaml
/// pull_request:
///   types: [opened, synchronize]
///   branches: [main]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequestTrigger {
    /// `types:` (activity types). Default: `opened, synchronize, reopened`.
    pub types: Vec<String>,
    /// `branches:`; cannot be combined with `branches_ignore`.
    pub branches: Vec<String>,
    /// `branches-ignore:`.
    pub branches_ignore: Vec<String>,
    /// `paths:`.
    pub paths: Vec<String>,
}

impl PullRequestTrigger {
    /// Every pull request of the default activity types.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an activity type, e.g. `opened`.
    pub fn activity_type(mut self, activity: impl Into<String>) -> Self {
        self.types.push(activity.into());
        self
    }

    /// Adds a `branches:` pattern.
    pub fn branch(mut self, pattern: impl Into<String>) -> Self {
        self.branches.push(pattern.into());
        self
    }

    /// Adds a `branches-ignore:` pattern.
    pub fn branch_ignore(mut self, pattern: impl Into<String>) -> Self {
        self.branches_ignore.push(pattern.into());
        self
    }

    /// Adds a `paths:` pattern.
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.paths.push(pattern.into());
        self
    }
}

impl ToYaml for PullRequestTrigger {
    fn to_yaml(&self) -> Value {
        Map::new()
            .non_empty("types", self.types.to_yaml())
            .non_empty("branches", self.branches.to_yaml())
            .non_empty("branches-ignore", self.branches_ignore.to_yaml())
            .non_empty("paths", self.paths.to_yaml())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::assert_yaml;

    #[test]
    fn events_render_in_order_and_bare_events_as_empty_mappings() {
        let triggers = Triggers::new()
            .workflow_dispatch()
            .delete()
            .push(PushTrigger::new().branch("main").branch("feature*"));
        assert_yaml(
            &triggers.to_yaml(),
            "
push:
  branches: [main, 'feature*']
delete: {}
workflow_dispatch: {}
",
        );
    }

    #[test]
    fn push_and_pull_request_filters_render_in_order() {
        let triggers = Triggers::new()
            .pull_request(
                PullRequestTrigger::new()
                    .path("src/**")
                    .branch_ignore("wip/**")
                    .branch("main")
                    .activity_type("opened"),
            )
            .push(
                PushTrigger::new()
                    .path("src/**")
                    .tag("v*")
                    .branch_ignore("dependabot/**"),
            );
        assert_yaml(
            &triggers.to_yaml(),
            "
push:
  branches-ignore: ['dependabot/**']
  tags: ['v*']
  paths: ['src/**']
pull_request:
  types: [opened]
  branches: [main]
  branches-ignore: ['wip/**']
  paths: ['src/**']
",
        );
    }

    #[test]
    fn unfiltered_push_is_an_empty_mapping_and_no_event_is_empty() {
        assert_yaml(
            &Triggers::new().push(PushTrigger::new()).to_yaml(),
            "push: {}",
        );
        assert!(Triggers::new().is_empty());
        assert!(!Triggers::new().delete().is_empty());
    }
}
