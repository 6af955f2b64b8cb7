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
    /// First stage with feature branches: the role feature-branch jobs assume, and the
    /// CloudFormation execution role it passes (both shorter than `pipeline_role`).
    pub feature_role: String,
    pub feature_cfn_role: String,
    /// The permissions boundaries every role the application stack (or a feature stack)
    /// creates must carry; managed policies, whose names IAM allows up to 128 characters.
    pub boundary: String,
    pub feature_boundary: String,
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
            feature_role: format!("{app}-{stage}-feature-role"),
            feature_cfn_role: format!("{app}-{stage}-feature-cfn-role"),
            boundary: format!("{app}-{stage}-app-boundary"),
            feature_boundary: format!("{app}-{stage}-feature-app-boundary"),
            // Bucket names are global across all accounts: account and region make them ours.
            artifacts_bucket: format!("{app}-{stage}-artifacts-{account}-{region}"),
            log_bucket: format!("{app}-{stage}-access-logs-{account}-{region}"),
            image_repository: format!("{app}/{stage}"),
        }
    }

    /// Each name the stage's resources get with its AWS limit, the service that sets it, and
    /// how it is built; only the names of resources in `creates`, since a reused resource
    /// keeps its own name.
    fn limits(&self, creates: Creates) -> impl Iterator<Item = Limit<'_>> {
        let created = [
            true,
            creates.cfn_role,
            creates.buckets,
            creates.buckets,
            true,
            creates.image_repository,
        ];
        let all = [
            Limit {
                name: &self.pipeline_role,
                max: ROLE_NAME_MAX,
                what: "IAM role name",
                service: "IAM",
                pattern: "{app}-{stage}-pipeline-execution-role",
            },
            Limit {
                name: &self.cfn_role,
                max: ROLE_NAME_MAX,
                what: "IAM role name",
                service: "IAM",
                pattern: "{app}-{stage}-cfn-execution-role",
            },
            Limit {
                name: &self.artifacts_bucket,
                max: BUCKET_NAME_MAX,
                what: "S3 bucket name",
                service: "S3",
                pattern: "{app}-{stage}-artifacts-{account}-{region}",
            },
            Limit {
                name: &self.log_bucket,
                max: BUCKET_NAME_MAX,
                what: "S3 bucket name",
                service: "S3",
                pattern: "{app}-{stage}-access-logs-{account}-{region}",
            },
            Limit {
                name: &self.resources_stack,
                max: STACK_NAME_MAX,
                what: "stack name",
                service: "CloudFormation",
                pattern: "{app}-{stage}-pipeline-resources",
            },
            Limit {
                name: &self.image_repository,
                max: REPOSITORY_NAME_MAX,
                what: "ECR repository name",
                service: "ECR",
                pattern: "{app}/{stage}",
            },
        ];
        all.into_iter()
            .zip(created)
            .filter_map(|(limit, created)| created.then_some(limit))
    }

    /// The name furthest over its limit, if any is over.
    fn worst(&self, creates: Creates) -> Option<Over<'_>> {
        self.limits(creates)
            .filter(|l| l.name.len() > l.max)
            .max_by_key(|l| l.name.len() - l.max)
            .map(|limit| Over {
                by: limit.name.len() - limit.max,
                limit,
            })
    }

    /// The names every stage creates whatever its config (the pipeline execution role and the
    /// resources stack), when one is over its limit, as a diagnostic pointing at the stage's
    /// name. Config validation runs [`check_lengths`], which also knows which other resources
    /// the stage creates; this is the safety net for a config that was not validated.
    pub fn check(&self, _app: &str, stage: &str, path: &ConfigPath) -> Vec<Diagnostic> {
        self.worst(Creates::default())
            .map(|over| over.at_stage(stage, path.key("name")))
            .into_iter()
            .collect()
    }
}

/// Which of a stage's resources sampipe creates besides the pipeline execution role and the
/// resources stack, which it always creates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creates {
    /// The artifacts bucket and its access-log bucket (not when `existing.artifacts_bucket`).
    pub buckets: bool,
    /// The CloudFormation execution role (not when `existing.cloudformation_execution_role`).
    pub cfn_role: bool,
    /// The ECR repository (`image_repository: true`).
    pub image_repository: bool,
}

/// One stage, as [`check_lengths`] needs it.
#[derive(Clone, Copy, Debug)]
pub struct StageInput<'a> {
    pub name: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub creates: Creates,
}

struct Limit<'a> {
    name: &'a str,
    max: usize,
    what: &'static str,
    service: &'static str,
    pattern: &'static str,
}

struct Over<'a> {
    limit: Limit<'a>,
    /// Characters over the limit.
    by: usize,
}

impl Over<'_> {
    fn diagnostic(&self, stage: &str) -> Diagnostic {
        let l = &self.limit;
        Diagnostic::error(
            "name-too-long",
            format!(
                "{} `{}` for stage `{stage}` would be {} characters; {} allows {}",
                l.what,
                l.name,
                l.name.len(),
                l.service,
                l.max
            ),
        )
        .label(format!("part of `{}`", l.pattern))
    }

    fn at_stage(&self, stage: &str, path: ConfigPath) -> Diagnostic {
        let keep = stage.len().saturating_sub(self.by);
        let help = if keep == 0 {
            format!(
                "shorten `app` and the stage name by {} in total",
                count(self.by, "character")
            )
        } else {
            format!(
                "shorten the stage name to {} or fewer (or shorten `app`, which is part of every name)",
                count(keep, "character")
            )
        };
        self.diagnostic(stage).at(path).help(help)
    }
}

/// Checks the physical names of every stage against AWS limits. Each problem points at the
/// field that is best shortened: the stage's name when it is at least as long as `app`, else
/// `app` (once, for the stage that needs the most cut). `stages` pairs each stage with its
/// index in the config.
pub fn check_lengths(app: &str, stages: &[(usize, StageInput<'_>)]) -> Vec<Diagnostic> {
    let root = ConfigPath::root();
    let mut out = Vec::new();
    let mut app_cut: Option<(usize, Diagnostic)> = None;
    let mut app_stages = Vec::new();
    for (index, input) in stages {
        let stage = input.name;
        let names = StageNames::new(app, stage, input.account, input.region);
        let Some(over) = names.worst(input.creates) else {
            continue;
        };
        if stage.len() >= app.len() {
            out.push(over.at_stage(stage, root.key("stages").index(*index).key("name")));
            continue;
        }
        app_stages.push(format!("`{stage}`"));
        if app_cut.as_ref().is_none_or(|(by, _)| over.by > *by) {
            let keep = app.len().saturating_sub(over.by);
            let help = if keep == 0 {
                format!(
                    "shorten `app` and the stage name by {} in total",
                    count(over.by, "character")
                )
            } else {
                format!(
                    "shorten `app` to {} or fewer (or shorten the stage name)",
                    count(keep, "character")
                )
            };
            app_cut = Some((
                over.by,
                over.diagnostic(stage).at(root.key("app")).help(help),
            ));
        }
    }
    if let Some((_, mut diagnostic)) = app_cut {
        if app_stages.len() > 1 {
            diagnostic.label = Some(format!("too long for stages {}", app_stages.join(", ")));
            diagnostic.help = diagnostic
                .help
                .map(|h| h.replace("the stage name", "the stage names"));
        }
        out.push(diagnostic);
    }
    out
}

fn count(n: usize, noun: &str) -> String {
    crate::diag::count(n, noun)
}

/// DNS suffix of AWS endpoints in a partition.
pub fn url_suffix(partition: &str) -> &'static str {
    crate::cfn::region::dns_suffix(partition)
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
        // `check` knows only the names every stage has: the role is 11 characters over.
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "name-too-long");
        assert!(
            problems[0].message.contains("IAM role name"),
            "{}",
            problems[0].message
        );
        // With buckets, the log bucket is the worst: 28 characters over.
        let problems = check_lengths(app, &[(0, input("production", "ap-southeast-2", ALL))]);
        assert!(
            problems[0].message.contains("S3 bucket name")
                && problems[0].message.contains("91 characters"),
            "{}",
            problems[0].message
        );
    }

    const ALL: Creates = Creates {
        buckets: true,
        cfn_role: true,
        image_repository: true,
    };

    fn input<'a>(name: &'a str, region: &'a str, creates: Creates) -> StageInput<'a> {
        StageInput {
            name,
            account: "111111111111",
            region,
            creates,
        }
    }

    fn target(d: &Diagnostic) -> String {
        match &d.location {
            crate::diag::Location::Path { path, .. } => path.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_longer_of_app_and_stage_name_is_the_one_to_shorten() {
        // A long stage name: point at it, and say how long it may be.
        let long_stage = "integration-testing-environment";
        let problems = check_lengths(
            "app",
            &[
                (0, input("dev", "us-east-1", ALL)),
                (1, input(long_stage, "us-east-1", ALL)),
            ],
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(target(&problems[0]), "stages[1].name");
        // app + stage may have 27 characters with a 9-character region: 27 - 3 = 24.
        let help = problems[0].help.as_deref().unwrap_or_default();
        assert!(help.contains("to 24 characters or fewer"), "{help}");

        // A long app: one diagnostic at `app`, for the stage that needs the most cut.
        let app = "my-company-billing-service";
        let problems = check_lengths(
            app,
            &[
                (0, input("dev", "us-east-1", ALL)),
                (1, input("prod", "ap-southeast-2", ALL)),
            ],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(target(&problems[0]), "app");
        let help = problems[0].help.as_deref().unwrap_or_default();
        assert!(
            help.contains("shorten `app` to 18 characters or fewer"),
            "{help}"
        );
        assert_eq!(
            problems[0].label.as_deref(),
            Some("too long for stages `dev`, `prod`")
        );
        // Without buckets, the same names fit.
        let reuse = Creates {
            buckets: false,
            ..ALL
        };
        assert!(check_lengths(app, &[(1, input("prod", "ap-southeast-2", reuse))]).is_empty());
    }
}
