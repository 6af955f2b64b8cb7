//! Hand-written IAM actions for resource types whose provider schema lists no handlers (so
//! `data/handlers.tsv` cannot know them) and that SAM apps plausibly contain.
//!
//! `.ci/refresh-permissions` reads the quoted actions of this file: it fails on one that is not
//! an IAM action, and gives each its ARN formats in `data/actions.tsv`. A test fails once a type
//! here gains handlers upstream, so the generated table takes over.

/// The custom-resource type; every `Custom::<Name>` type behaves as this one.
pub const CUSTOM_RESOURCE: &str = "AWS::CloudFormation::CustomResource";

/// The prefix of a named custom-resource type (`Custom::MyThing`).
pub const CUSTOM_PREFIX: &str = "Custom::";

/// Resource type -> the actions CloudFormation performs with the execution role for it.
pub const TYPES: &[(&str, &[&str])] = &[
    // AWS CDK Developer Guide, "Configure AWS CDK usage data reporting": metadata only, no service call.
    ("AWS::CDK::Metadata", &[]),
    // CloudFormation User Guide, "AWS::CloudFormation::CustomResource" and Lambda Developer Guide,
    // "Using AWS Lambda with CloudFormation": CloudFormation invokes the ServiceToken function
    // (the integrator scopes it to that ARN; an SNS ServiceToken would need sns:Publish instead).
    (CUSTOM_RESOURCE, &["lambda:InvokeFunction"]),
    // CloudFormation User Guide, "AWS::CloudFormation::WaitCondition": CloudFormation waits for
    // signals on the handle's presigned URL itself.
    ("AWS::CloudFormation::WaitCondition", &[]),
    // CloudFormation User Guide, "AWS::CloudFormation::WaitConditionHandle": only a presigned URL.
    ("AWS::CloudFormation::WaitConditionHandle", &[]),
    // CodeBuild User Guide, "AWS CodeBuild permissions reference": CreateProject/UpdateProject
    // pass the service role; Triggers and Visibility are the webhook and visibility calls.
    (
        "AWS::CodeBuild::Project",
        &[
            "codebuild:BatchGetProjects",
            "codebuild:CreateProject",
            "codebuild:CreateWebhook",
            "codebuild:DeleteProject",
            "codebuild:DeleteWebhook",
            "codebuild:UpdateProject",
            "codebuild:UpdateProjectVisibility",
            "codebuild:UpdateWebhook",
            "iam:PassRole",
        ],
    ),
    // Route 53 Developer Guide, "Amazon Route 53 API permissions: Actions, resources, and
    // conditions reference"; the same calls the AWS::Route53::RecordSet handlers list. SAM emits
    // this type for an API `Domain` with `Route53`.
    (
        "AWS::Route53::RecordSetGroup",
        &[
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
            "route53:GetHostedZone",
            "route53:ListHostedZones",
            "route53:ListResourceRecordSets",
        ],
    ),
];

/// The entry for `type_name` (ASCII case-insensitive): its canonical name and actions.
/// `Custom::<Name>` resolves to [`CUSTOM_RESOURCE`].
pub fn lookup(type_name: &str) -> Option<(&'static str, &'static [&'static str])> {
    let wanted = if is_custom(type_name) {
        CUSTOM_RESOURCE
    } else {
        type_name
    };
    TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
        .map(|&(name, actions)| (name, actions))
}

/// The actions of `type_name`'s entry, if it has one.
pub fn actions(type_name: &str) -> Option<&'static [&'static str]> {
    lookup(type_name).map(|(_, actions)| actions)
}

// `Custom::` alone names nothing; CloudFormation requires a name after the prefix.
fn is_custom(type_name: &str) -> bool {
    type_name.len() > CUSTOM_PREFIX.len()
        && type_name
            .get(..CUSTOM_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(CUSTOM_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_types_are_the_custom_resource() {
        assert_eq!(
            actions("Custom::Anything"),
            Some(&["lambda:InvokeFunction"][..])
        );
        assert_eq!(actions("custom::x"), actions(CUSTOM_RESOURCE));
        assert_eq!(
            lookup("Custom::Anything").map(|(n, _)| n),
            Some(CUSTOM_RESOURCE)
        );
        assert_eq!(actions("Custom::"), None);
        assert_eq!(actions("Custom"), None);
    }

    #[test]
    fn wait_conditions_need_no_actions() {
        assert_eq!(actions("AWS::CloudFormation::WaitCondition"), Some(&[][..]));
        assert_eq!(
            actions("AWS::CloudFormation::WaitConditionHandle"),
            Some(&[][..])
        );
    }

    #[test]
    fn entries_are_sorted_unique_and_well_formed() {
        for pair in TYPES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (name, actions) in TYPES {
            assert!(name.starts_with("AWS::"), "{name}");
            for pair in actions.windows(2) {
                assert!(pair[0] < pair[1], "{name}: {} before {}", pair[0], pair[1]);
            }
            for action in *actions {
                let (service, op) = action.split_once(':').expect("service:Action");
                assert_eq!(service, service.to_ascii_lowercase(), "{action}");
                assert!(op.starts_with(|c: char| c.is_ascii_uppercase()), "{action}");
            }
        }
    }

    #[test]
    fn odd_names_do_not_panic() {
        for name in ["", ":", "::", "Custom", "Cust", "é::x", "Custom::é"] {
            let _ = lookup(name);
        }
        assert!(lookup("Custom::é").is_some());
    }
}
