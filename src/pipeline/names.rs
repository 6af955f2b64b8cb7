//! Physical names, derived deterministically from app, stage, account and region so the
//! workflow can name every role and bucket without a deploy round-trip. Each name is checked
//! against its AWS limit here, at synth time, instead of failing in CloudFormation later.

use crate::diag::{ConfigPath, Diagnostic};

/// GitHub's OIDC issuer host; the IAM provider ARN ends with it.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";
/// The audience configure-aws-credentials requests by default.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";

pub const ROLE_NAME_MAX: usize = 64;
pub const BUCKET_NAME_MAX: usize = 63;
pub const STACK_NAME_MAX: usize = 128;
pub const REPOSITORY_NAME_MAX: usize = 256;

/// The names of one stage's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageNames {
    pub stack: String,
    pub resources_stack: String,
    pub pipeline_role: String,
    pub cfn_role: String,
    pub artifacts_bucket: String,
    pub log_bucket: String,
    pub image_repository: String,
}

impl StageNames {
    pub fn new(app: &str, stage: &str, account: &str, region: &str) -> Self {
        Self {
            stack: format!("{app}-{stage}"),
            resources_stack: format!("{app}-{stage}-pipeline-resources"),
            pipeline_role: format!("{app}-{stage}-pipeline-execution-role"),
            cfn_role: format!("{app}-{stage}-cfn-execution-role"),
            // Bucket names are global across all accounts: account and region make them ours.
            artifacts_bucket: format!("{app}-{stage}-artifacts-{account}-{region}"),
            log_bucket: format!("{app}-{stage}-access-logs-{account}-{region}"),
            image_repository: format!("{app}/{stage}"),
        }
    }

    /// Every name over its limit, as a diagnostic pointing at the stage's name.
    pub fn check(&self, app: &str, stage: &str, path: &ConfigPath) -> Vec<Diagnostic> {
        let limits = [
            (
                &self.pipeline_role,
                ROLE_NAME_MAX,
                "IAM role name",
                "{app}-{stage}-pipeline-execution-role",
            ),
            (
                &self.cfn_role,
                ROLE_NAME_MAX,
                "IAM role name",
                "{app}-{stage}-cfn-execution-role",
            ),
            (
                &self.artifacts_bucket,
                BUCKET_NAME_MAX,
                "S3 bucket name",
                "{app}-{stage}-artifacts-{account}-{region}",
            ),
            (
                &self.log_bucket,
                BUCKET_NAME_MAX,
                "S3 bucket name",
                "{app}-{stage}-access-logs-{account}-{region}",
            ),
            (
                &self.resources_stack,
                STACK_NAME_MAX,
                "stack name",
                "{app}-{stage}-pipeline-resources",
            ),
            (
                &self.image_repository,
                REPOSITORY_NAME_MAX,
                "ECR repository name",
                "{app}/{stage}",
            ),
        ];
        let mut out = Vec::new();
        for (name, max, what, pattern) in limits {
            if name.len() > max {
                let over = name.len() - max;
                out.push(
                    Diagnostic::error(
                        "name-too-long",
                        format!("{what} `{name}` for stage `{stage}` would be {} characters; AWS allows {max}", name.len()),
                    )
                    .at(path.key("name"))
                    .label(format!("used in `{pattern}`"))
                    .help(format!(
                        "shorten `app` (`{app}`) or the stage name by {over} character{} in total",
                        if over == 1 { "" } else { "s" }
                    )),
                );
                // One name per stage is enough to explain the problem.
                break;
            }
        }
        out
    }
}

/// DNS suffix of AWS endpoints in a partition.
pub fn url_suffix(partition: &str) -> &'static str {
    crate::config::region::dns_suffix(partition)
}

/// Feature stacks are named `{app}-feature-{branch slug}`.
pub fn feature_stack_prefix(app: &str) -> String {
    format!("{app}-feature-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_from_app_stage_account_and_region() {
        let names = StageNames::new("sam-app", "dev", "111111111111", "us-east-2");
        assert_eq!(names.pipeline_role, "sam-app-dev-pipeline-execution-role");
        assert_eq!(
            names.artifacts_bucket,
            "sam-app-dev-artifacts-111111111111-us-east-2"
        );
        assert_eq!(names.image_repository, "sam-app/dev");
        assert!(names
            .check("sam-app", "dev", &ConfigPath::root())
            .is_empty());
    }

    #[test]
    fn a_name_over_its_limit_is_an_error_with_a_hint() {
        let app = "a-very-long-application-name-for-testing";
        let names = StageNames::new(app, "production", "111111111111", "ap-southeast-2");
        let problems = names.check(
            app,
            "production",
            &ConfigPath::root().key("stages").index(0),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "name-too-long");
        assert!(
            problems[0].message.contains("IAM role name"),
            "{}",
            problems[0].message
        );
    }
}
