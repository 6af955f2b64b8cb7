//! IAM resources: OIDC provider, role, managed policy.
//!
//! See [AWS::IAM::OIDCProvider](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-oidcprovider.html),
//! [AWS::IAM::Role](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html),
//! [AWS::IAM::ManagedPolicy](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-managedpolicy.html).

use serde::Serialize;

use super::Tag;
use crate::cfn::{PolicyDocument, Value};

/// `AWS::IAM::OIDCProvider` properties.
///
/// ```yaml
/// Url: https://token.actions.githubusercontent.com
/// ClientIdList:
///   - sts.amazonaws.com
/// Tags: ...
/// ```
///
/// `ThumbprintList` is optional (IAM trusts GitHub's certificate authority) and omitted when empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OidcProvider {
    /// Issuer URL, `https://...`.
    pub url: Value,
    /// Audiences (`aud`) the provider accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_id_list: Vec<Value>,
    /// Server certificate thumbprints (40 hex digits each, at most 5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thumbprint_list: Vec<Value>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl OidcProvider {
    /// A provider for the issuer at `url`.
    pub fn new(url: impl Into<Value>) -> OidcProvider {
        OidcProvider {
            url: url.into(),
            client_id_list: Vec::new(),
            thumbprint_list: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Adds an audience to `ClientIdList`.
    pub fn client_id(mut self, audience: impl Into<Value>) -> OidcProvider {
        self.client_id_list.push(audience.into());
        self
    }

    /// Adds a thumbprint to `ThumbprintList`.
    pub fn thumbprint(mut self, thumbprint: impl Into<Value>) -> OidcProvider {
        self.thumbprint_list.push(thumbprint.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<Value>) -> OidcProvider {
        self.tags.push(Tag::new(key, value));
        self
    }
}

/// `AWS::IAM::Role` properties.
///
/// ```yaml
/// RoleName: sam-app-dev-pipeline-execution
/// Description: ...
/// AssumeRolePolicyDocument:
///   Version: '2012-10-17'
///   Statement: ...
/// ManagedPolicyArns: ...
/// PermissionsBoundary: ...
/// MaxSessionDuration: 3600
/// Policies:
///   - PolicyName: ...
///     PolicyDocument: ...
/// Tags: ...
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// Physical name (at most 64 characters); CloudFormation generates one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<Value>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
    /// The trust policy: who may assume the role.
    pub assume_role_policy_document: PolicyDocument,
    /// Managed policy ARNs: a list, or a function such as `!If` that yields one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_policy_arns: Option<Value>,
    /// ARN of the permissions boundary policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Value>,
    /// Maximum session length in seconds, 3600 to 43200. Default: 3600.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<u32>,
    /// Inline policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Role {
    /// A role with this trust policy.
    pub fn new(assume_role_policy_document: PolicyDocument) -> Role {
        Role {
            role_name: None,
            description: None,
            assume_role_policy_document,
            managed_policy_arns: None,
            permissions_boundary: None,
            max_session_duration: None,
            policies: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// `RoleName`.
    pub fn role_name(mut self, name: impl Into<Value>) -> Role {
        self.role_name = Some(name.into());
        self
    }

    /// `Description`.
    pub fn description(mut self, description: impl Into<Value>) -> Role {
        self.description = Some(description.into());
        self
    }

    /// `ManagedPolicyArns`: a `Value::List`, or a function that yields a list.
    pub fn managed_policy_arns(mut self, arns: impl Into<Value>) -> Role {
        self.managed_policy_arns = Some(arns.into());
        self
    }

    /// `PermissionsBoundary`.
    pub fn permissions_boundary(mut self, arn: impl Into<Value>) -> Role {
        self.permissions_boundary = Some(arn.into());
        self
    }

    /// `MaxSessionDuration` in seconds.
    pub fn max_session_duration(mut self, seconds: u32) -> Role {
        self.max_session_duration = Some(seconds);
        self
    }

    /// Adds an inline policy.
    pub fn policy(mut self, name: impl Into<String>, document: PolicyDocument) -> Role {
        self.policies.push(InlinePolicy {
            policy_name: name.into(),
            policy_document: document,
        });
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<Value>) -> Role {
        self.tags.push(Tag::new(key, value));
        self
    }
}

/// An inline policy of a role (the `Policy` property type):
/// `{PolicyName: name, PolicyDocument: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    /// Name, unique within the role.
    pub policy_name: String,
    /// The permissions.
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::ManagedPolicy` properties.
///
/// ```yaml
/// ManagedPolicyName: ...
/// Description: ...
/// PolicyDocument: ...
/// Roles:
///   - !Ref PipelineExecutionRole
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    /// Physical name; CloudFormation generates one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_policy_name: Option<Value>,
    /// Description (cannot change after creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
    /// The permissions.
    pub policy_document: PolicyDocument,
    /// Names of the roles to attach the policy to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Value>,
}

impl ManagedPolicy {
    /// A managed policy with these permissions.
    pub fn new(policy_document: PolicyDocument) -> ManagedPolicy {
        ManagedPolicy {
            managed_policy_name: None,
            description: None,
            policy_document,
            roles: Vec::new(),
        }
    }

    /// `ManagedPolicyName`.
    pub fn managed_policy_name(mut self, name: impl Into<Value>) -> ManagedPolicy {
        self.managed_policy_name = Some(name.into());
        self
    }

    /// `Description`.
    pub fn description(mut self, description: impl Into<Value>) -> ManagedPolicy {
        self.description = Some(description.into());
        self
    }

    /// Attaches the policy to a role (by name, e.g. `!Ref Role`).
    pub fn role(mut self, role_name: impl Into<Value>) -> ManagedPolicy {
        self.roles.push(role_name.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::{ConditionOperator, Principal, Statement};
    use serde_yaml::Value as Yaml;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    fn to_yaml<T: Serialize>(t: &T) -> Yaml {
        serde_yaml::to_value(t).expect("serializes")
    }

    #[test]
    fn oidc_provider_omits_empty_thumbprints() {
        let p = OidcProvider::new("https://token.actions.githubusercontent.com")
            .client_id("sts.amazonaws.com")
            .tag("App", "sam-app");
        assert_eq!(
            to_yaml(&p),
            yaml(
                "
                Url: https://token.actions.githubusercontent.com
                ClientIdList: [sts.amazonaws.com]
                Tags: [{Key: App, Value: sam-app}]
                "
            )
        );
        let with = to_yaml(&p.thumbprint("6938fd4d98bab03faadb97b34396831e3780aea1"));
        assert_eq!(
            with["ThumbprintList"],
            yaml("['6938fd4d98bab03faadb97b34396831e3780aea1']")
        );
    }

    #[test]
    fn role_fields_in_order_with_optional_ones_omitted() {
        let trust = PolicyDocument::new().statement(
            Statement::allow()
                .action("sts:AssumeRole")
                .principal(Principal::service("cloudformation.amazonaws.com")),
        );
        let role = Role::new(trust.clone())
            .tag("Stage", Value::ref_to("Stage"))
            .policy(
                "Deploy",
                PolicyDocument::new().statement(
                    Statement::allow()
                        .action("cloudformation:*")
                        .resource("*")
                        .condition(
                            ConditionOperator::StringEquals,
                            "aws:RequestedRegion",
                            "us-east-1",
                        ),
                ),
            )
            .max_session_duration(3600)
            .managed_policy_arns(Value::if_(
                "C",
                Value::List(vec!["arn".into()]),
                Value::no_value(),
            ))
            .description("CloudFormation execution role")
            .role_name(Value::sub("${AWS::StackName}-cfn"));
        let v = to_yaml(&role);
        let keys: Vec<_> = v
            .as_mapping()
            .expect("a mapping")
            .keys()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "RoleName",
                "Description",
                "AssumeRolePolicyDocument",
                "ManagedPolicyArns",
                "MaxSessionDuration",
                "Policies",
                "Tags"
            ]
        );
        assert_eq!(v["Policies"][0]["PolicyName"], yaml("Deploy"));
        assert_eq!(v["AssumeRolePolicyDocument"], to_yaml(&trust));
        assert_eq!(
            to_yaml(&Role::new(trust)),
            yaml(
                "
                AssumeRolePolicyDocument:
                  Version: '2012-10-17'
                  Statement:
                    - Effect: Allow
                      Principal: {Service: cloudformation.amazonaws.com}
                      Action: sts:AssumeRole
                "
            )
        );
    }

    #[test]
    fn managed_policy() {
        let p = ManagedPolicy::new(PolicyDocument::new())
            .role(Value::ref_to("Role"))
            .managed_policy_name("deploy")
            .description("d");
        assert_eq!(
            to_yaml(&p),
            yaml(
                "
                ManagedPolicyName: deploy
                Description: d
                PolicyDocument: {Version: '2012-10-17', Statement: []}
                Roles: [!Ref Role]
                "
            )
        );
    }
}
