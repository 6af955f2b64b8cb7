//! The pipeline resources an application stack must never change: the roles that deploy it,
//! the boundaries that cap it, the OIDC providers, the buckets that hold its artifacts and
//! logs, the image repositories and the pipeline-resources stacks. Their names start with
//! `{app}-{stage}-`, which is also how the application stack `{app}-{stage}` names what it
//! creates, so scoping the execution role by the stack's prefix alone would hand them to the
//! application: every execution role and boundary denies them explicitly, for every stage of
//! the app (stages may share an account).

use crate::pipeline::StagePlan;

/// ARN patterns (`!Sub` text with `${AWS::Partition}`, `${AWS::Region}`, `${AWS::AccountId}`)
/// of one kind of pipeline resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protected {
    /// Roles, boundary policies, OIDC providers and pipeline-resources stacks: nothing at all.
    pub untouchable: Vec<String>,
    /// The artifacts buckets and their objects: only reading (Lambda reads function code and
    /// layers with the deploying role's permissions).
    pub artifacts: Vec<String>,
    /// The image repositories: only pulling (Lambda checks the deploying role may pull).
    pub repositories: Vec<String>,
}

/// What reading the artifacts needs.
pub const ARTIFACT_READS: [&str; 2] = ["s3:GetObject", "s3:GetObjectVersion"];
/// What pulling an image needs.
pub const IMAGE_PULLS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/// Every pipeline resource of app `app`, in any of its `stages` (in any region: stages may
/// share an account across regions). Patterns by name suffix (not one ARN
/// per stage) keep the policies the same size however many stages there are; resources the
/// config reuses by name or ARN are added as they are.
pub fn protected(app: &str, stages: &[StagePlan]) -> Protected {
    let iam = "arn:${AWS::Partition}:iam::${AWS::AccountId}";
    let mut untouchable = vec![
        format!("{iam}:role/{app}-*-pipeline-execution-role"),
        format!("{iam}:role/{app}-*-cfn-execution-role"),
        format!("{iam}:role/{app}-*-feature-role"),
        format!("{iam}:role/{app}-*-feature-cfn-role"),
        format!("{iam}:policy/{app}-*-app-boundary"),
        format!("{iam}:oidc-provider/*"),
        format!(
            "arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{app}-*-pipeline-resources/*"
        ),
    ];
    let s3 = "arn:${AWS::Partition}:s3:::";
    let mut artifacts = Vec::new();
    let mut bucket = |name: String| {
        artifacts.push(format!("{s3}{name}"));
        artifacts.push(format!("{s3}{name}/*"));
    };
    bucket(format!("{app}-*-artifacts-${{AWS::AccountId}}-*"));
    let mut repositories = vec![format!(
        "arn:${{AWS::Partition}}:ecr:*:${{AWS::AccountId}}:repository/{app}/*"
    )];
    for stage in stages {
        if stage.log_bucket.is_none() {
            bucket(stage.artifacts_bucket.clone());
        }
        if stage.cfn_role_name.is_none() && !untouchable.contains(&stage.cfn_role_arn) {
            untouchable.push(stage.cfn_role_arn.clone());
        }
        if let Some(repository) = stage.image_repository.as_ref().filter(|r| !r.create) {
            if !repositories.contains(&repository.arn) {
                repositories.push(repository.arn.clone());
            }
        }
    }
    // The access logs: nobody but S3's log delivery writes them.
    let logs = format!("{app}-*-access-logs-${{AWS::AccountId}}-*");
    untouchable.push(format!("{s3}{logs}"));
    untouchable.push(format!("{s3}{logs}/*"));
    artifacts.dedup();
    Protected {
        untouchable,
        artifacts,
        repositories,
    }
}
