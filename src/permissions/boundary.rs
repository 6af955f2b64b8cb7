//! The permissions boundaries of the roles an application stack creates. A deploy role that
//! may create roles without a boundary is as strong as an admin (create a role, attach
//! anything, run it from a custom resource), so the execution roles may create and change
//! roles only when they carry the stage's boundary (the `iam:PermissionsBoundary` condition),
//! and the deploy adds that boundary to every role the built template creates.
//!
//! A boundary is a ceiling, not a grant: the application's own policies still decide what its
//! functions may do. This one lets them do anything except escape it: change the pipeline
//! resources, create a role or user without the same boundary, or remove a boundary. The
//! feature boundary also keeps feature stacks off every main stack of the account.

use crate::cfn::{ConditionOperator, PolicyDocument, Statement, Value};
use crate::permissions::protected::Protected;

/// The IAM actions that create or re-bound a principal; with the boundary condition they
/// keep every new role and user under the same boundary.
pub const BOUNDED_CREATES: [&str; 4] = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:CreateUser",
    "iam:PutUserPermissionsBoundary",
];

/// Removing a boundary is never allowed.
pub const BOUNDARY_REMOVALS: [&str; 2] = [
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
];

/// The boundary policy whose ARN is `own_arn`; `foreign` are resources beyond it (for the
/// feature boundary: every main stack of the account and what it names).
pub fn document(protected: &Protected, own_arn: Value, foreign: &[String]) -> PolicyDocument {
    let everything: Vec<Value> = protected
        .untouchable
        .iter()
        .chain(&protected.artifacts)
        .chain(&protected.repositories)
        .map(|arn| Value::sub_or_str(arn))
        .collect();
    let mut doc = PolicyDocument::new()
        .statement(
            Statement::allow()
                .sid("CeilingForApplicationRoles")
                .action("*")
                .resource(Value::str("*")),
        )
        .statement(
            Statement::deny()
                .sid("ProtectPipelineResources")
                .action("*")
                .resources(everything),
        )
        .statement(
            Statement::deny()
                .sid("KeepThisBoundaryOnNewPrincipals")
                .actions(BOUNDED_CREATES)
                .resource(Value::str("*"))
                .condition(
                    ConditionOperator::StringNotEquals,
                    "iam:PermissionsBoundary",
                    own_arn,
                ),
        )
        .statement(
            Statement::deny()
                .sid("KeepBoundaries")
                .actions(BOUNDARY_REMOVALS)
                .resource(Value::str("*")),
        );
    if !foreign.is_empty() {
        doc = doc.statement(
            Statement::deny()
                .sid("StayOffMainStacks")
                .action("*")
                .resources(foreign.iter().map(|arn| Value::sub_or_str(arn))),
        );
    }
    doc
}
