//! `permissions:` for the `GITHUB_TOKEN`, at workflow or job level.
//!
//! Only the explicit form is modelled: a map from scope to access, or `{}` for no access at all.
//! `read-all` and `write-all` are left out on purpose, since a generated workflow should grant
//! exactly what each job needs.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#permissions>.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::render::{Map, ToYaml};

/// A `GITHUB_TOKEN` permission scope, spelled as GitHub spells it.
///
/// Declared in GitHub's (alphabetical) order, which is also the order scopes are rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `actions`
    Actions,
    /// `attestations`
    Attestations,
    /// `checks`
    Checks,
    /// `contents`
    Contents,
    /// `deployments`
    Deployments,
    /// `discussions`
    Discussions,
    /// `id-token`: `write` lets the job request an OIDC token, e.g. to assume an AWS role.
    IdToken,
    /// `issues`
    Issues,
    /// `models`
    Models,
    /// `packages`
    Packages,
    /// `pages`
    Pages,
    /// `pull-requests`
    PullRequests,
    /// `repository-projects`
    RepositoryProjects,
    /// `security-events`
    SecurityEvents,
    /// `statuses`
    Statuses,
}

impl Scope {
    /// The key GitHub uses, e.g. `id-token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Attestations => "attestations",
            Self::Checks => "checks",
            Self::Contents => "contents",
            Self::Deployments => "deployments",
            Self::Discussions => "discussions",
            Self::IdToken => "id-token",
            Self::Issues => "issues",
            Self::Models => "models",
            Self::Packages => "packages",
            Self::Pages => "pages",
            Self::PullRequests => "pull-requests",
            Self::RepositoryProjects => "repository-projects",
            Self::SecurityEvents => "security-events",
            Self::Statuses => "statuses",
        }
    }
}

/// The access granted to a scope: `read`, `write` or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `read`
    Read,
    /// `write` (implies read)
    Write,
    /// `none`
    None,
}

impl Permission {
    /// The value GitHub uses, e.g. `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::None => "none",
        }
    }
}

/// Explicit permissions; every scope not listed is `none`.
///
/// ```yaml
/// permissions:
///   contents: read
///   id-token: write
/// ```
///
/// With no scope set it renders as `permissions: {}`, which revokes every scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions(BTreeMap<Scope, Permission>);

impl Permissions {
    /// No scope granted: `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `scope` to `permission`, replacing any earlier value.
    pub fn set(mut self, scope: Scope, permission: Permission) -> Self {
        self.0.insert(scope, permission);
        self
    }

    /// The access to `scope`; `Permission::None` when it is not listed.
    pub fn get(&self, scope: Scope) -> Permission {
        self.0.get(&scope).copied().unwrap_or(Permission::None)
    }

    /// The scopes listed, in GitHub's order.
    pub fn iter(&self) -> impl Iterator<Item = (Scope, Permission)> + '_ {
        self.0
            .iter()
            .map(|(scope, permission)| (*scope, *permission))
    }
}

impl ToYaml for Permissions {
    fn to_yaml(&self) -> Value {
        self.iter()
            .fold(Map::new(), |map, (scope, permission)| {
                map.put(scope.as_str(), permission.as_str())
            })
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::assert_yaml;

    #[test]
    fn renders_scopes_in_github_order_whatever_the_call_order() {
        let permissions = Permissions::new()
            .set(Scope::IdToken, Permission::Write)
            .set(Scope::Contents, Permission::Read)
            .set(Scope::PullRequests, Permission::None);
        assert_yaml(
            &permissions.to_yaml(),
            "contents: read\nid-token: write\npull-requests: none\n",
        );
    }

    #[test]
    fn empty_permissions_render_as_empty_mapping() {
        assert_yaml(&Permissions::new().to_yaml(), "{}");
    }

    #[test]
    fn unlisted_scope_is_none_and_set_replaces() {
        let permissions = Permissions::new()
            .set(Scope::Contents, Permission::Write)
            .set(Scope::Contents, Permission::Read);
        assert_eq!(permissions.get(Scope::Contents), Permission::Read);
        assert_eq!(permissions.get(Scope::IdToken), Permission::None);
    }

    #[test]
    fn scope_names_match_github() {
        let names: Vec<_> = [
            Scope::Actions,
            Scope::Attestations,
            Scope::Checks,
            Scope::Contents,
            Scope::Deployments,
            Scope::Discussions,
            Scope::IdToken,
            Scope::Issues,
            Scope::Models,
            Scope::Packages,
            Scope::Pages,
            Scope::PullRequests,
            Scope::RepositoryProjects,
            Scope::SecurityEvents,
            Scope::Statuses,
        ]
        .into_iter()
        .map(Scope::as_str)
        .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(
            names, sorted,
            "declaration order is GitHub's alphabetical order"
        );
        assert_eq!(names.len(), 15);
    }
}
