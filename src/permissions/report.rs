//! The permissions map as a person reads it (`sampipe explain`, after the trust map).

use std::fmt::Write as _;

use super::prove::{PermissionsMap, Role};

/// Renders what each role can do and what it was proven unable to do.
pub fn render_text(map: &PermissionsMap) -> String {
    let mut out = String::from("\nPermissions (proven on every synth)\n");
    for proof in &map.roles {
        let what = if proof.arn.contains(":policy/") {
            "boundary of the roles its stacks create"
        } else {
            match proof.role {
                Role::Pipeline => "pipeline role",
                Role::Feature => "feature-branch role",
                Role::Cfn => "CloudFormation execution role",
                Role::FeatureCfn => "feature CloudFormation execution role",
            }
        };
        let _ = writeln!(out, "\nstage {}, {what}", proof.stage);
        let _ = writeln!(out, "  arn        {}", proof.arn);
        for can in &proof.can {
            let _ = writeln!(out, "  can        {can}");
        }
        let _ = writeln!(
            out,
            "  cannot     these {} requests (proven):",
            proof.denied.len()
        );
        for denied in &proof.denied {
            let _ = writeln!(out, "    - {denied}");
        }
        if !proof.warnings.is_empty() {
            let _ = writeln!(out, "  warnings");
            for warning in &proof.warnings {
                let _ = writeln!(out, "    ! {warning}");
            }
        }
    }
    out
}
