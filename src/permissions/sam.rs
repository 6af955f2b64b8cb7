//! TEMPORARY stand-in until the SAM expansion lands.
use crate::app::SamApp;
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedResource {
    pub logical_id: String,
    pub type_name: String,
    pub from: String,
    pub creates_role_without_boundary_support: bool,
}
pub fn deployed_resources(app: &SamApp) -> Vec<DeployedResource> {
    let mut out = Vec::new();
    for f in &app.functions {
        for (id, t) in [
            (f.logical_id.clone(), "AWS::Lambda::Function"),
            (format!("{}Role", f.logical_id), "AWS::IAM::Role"),
        ] {
            out.push(DeployedResource {
                logical_id: id,
                type_name: t.into(),
                from: String::new(),
                creates_role_without_boundary_support: false,
            });
        }
    }
    out
}
