//! ECR resources: the image repository for image-based functions.
//!
//! See [AWS::ECR::Repository](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecr-repository.html).

use serde::Serialize;

use super::Tag;
use crate::cfn::{PolicyDocument, Value};

/// `AWS::ECR::Repository` properties.
///
/// ```yaml
/// RepositoryName: sam-app-dev
/// ImageScanningConfiguration:
///   ScanOnPush: true
/// ImageTagMutability: IMMUTABLE
/// EncryptionConfiguration:
///   EncryptionType: AES256
/// LifecyclePolicy:
///   LifecyclePolicyText: '{"rules":[...]}'
/// RepositoryPolicyText:
///   Version: '2012-10-17'
///   Statement: ...
/// Tags: ...
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Repository {
    /// Physical name (lowercase, 2 to 256 characters); CloudFormation generates one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<Value>,
    /// Scan images on push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_scanning_configuration: Option<ImageScanningConfiguration>,
    /// Whether tags can be overwritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability: Option<ImageTagMutability>,
    /// Encryption at rest (cannot change after creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionConfiguration>,
    /// Image expiry rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_policy: Option<LifecyclePolicy>,
    /// The repository (resource) policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_policy_text: Option<PolicyDocument>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Repository {
    /// A repository with no properties set.
    pub fn new() -> Repository {
        Repository::default()
    }

    /// `RepositoryName`.
    pub fn repository_name(mut self, name: impl Into<Value>) -> Repository {
        self.repository_name = Some(name.into());
        self
    }

    /// `ImageScanningConfiguration: {ScanOnPush: true}`.
    pub fn scan_on_push(mut self) -> Repository {
        self.image_scanning_configuration = Some(ImageScanningConfiguration { scan_on_push: true });
        self
    }

    /// `ImageTagMutability`.
    pub fn image_tag_mutability(mut self, mutability: ImageTagMutability) -> Repository {
        self.image_tag_mutability = Some(mutability);
        self
    }

    /// `EncryptionConfiguration`.
    pub fn encryption(mut self, encryption: EncryptionConfiguration) -> Repository {
        self.encryption_configuration = Some(encryption);
        self
    }

    /// `LifecyclePolicy: {LifecyclePolicyText: <rules as compact JSON>}`.
    pub fn lifecycle_policy(mut self, rules: &serde_json::Value) -> Repository {
        self.lifecycle_policy = Some(LifecyclePolicy {
            lifecycle_policy_text: rules.to_string(),
        });
        self
    }

    /// `RepositoryPolicyText`.
    pub fn repository_policy(mut self, policy: PolicyDocument) -> Repository {
        self.repository_policy_text = Some(policy);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<Value>) -> Repository {
        self.tags.push(Tag::new(key, value));
        self
    }
}

/// `{ScanOnPush: bool}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageScanningConfiguration {
    /// Scan each image after it is pushed.
    pub scan_on_push: bool,
}

/// Tag mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImageTagMutability {
    /// `MUTABLE`: tags can be moved (the default).
    Mutable,
    /// `IMMUTABLE`: a pushed tag can never point elsewhere.
    Immutable,
}

/// `{EncryptionType: AES256}` or `{EncryptionType: KMS, KmsKey: ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptionConfiguration {
    /// Algorithm.
    pub encryption_type: EncryptionType,
    /// KMS key (alias, id or ARN) for `KMS`/`KMS_DSSE`; the AWS managed key when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<Value>,
}

/// ECR encryption algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EncryptionType {
    /// `AES256`: S3-managed keys (the default).
    #[serde(rename = "AES256")]
    Aes256,
    /// `KMS`
    #[serde(rename = "KMS")]
    Kms,
    /// `KMS_DSSE`: dual-layer encryption.
    #[serde(rename = "KMS_DSSE")]
    KmsDsse,
}

/// `{LifecyclePolicyText: '<json>'}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecyclePolicy {
    /// The lifecycle policy as a JSON string (ECR requires 100 to 30720 characters).
    pub lifecycle_policy_text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::{Principal, Statement};
    use serde_yaml::Value as Yaml;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    #[test]
    fn repository_renders_every_property_in_order() {
        let rules = serde_json::json!({"rules": [{"rulePriority": 1}]});
        let policy = PolicyDocument::new().statement(
            Statement::allow()
                .sid("LambdaPull")
                .principal(Principal::service("lambda.amazonaws.com"))
                .actions(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]),
        );
        let repo = Repository::new()
            .tag("App", "sam-app")
            .repository_policy(policy)
            .lifecycle_policy(&rules)
            .encryption(EncryptionConfiguration {
                encryption_type: EncryptionType::Aes256,
                kms_key: None,
            })
            .image_tag_mutability(ImageTagMutability::Immutable)
            .scan_on_push()
            .repository_name("sam-app-dev");
        assert_eq!(
            serde_yaml::to_value(&repo).expect("serializes"),
            yaml(
                r#"
                RepositoryName: sam-app-dev
                ImageScanningConfiguration: {ScanOnPush: true}
                ImageTagMutability: IMMUTABLE
                EncryptionConfiguration: {EncryptionType: AES256}
                LifecyclePolicy:
                  LifecyclePolicyText: '{"rules":[{"rulePriority":1}]}'
                RepositoryPolicyText:
                  Version: '2012-10-17'
                  Statement:
                    - Sid: LambdaPull
                      Effect: Allow
                      Principal: {Service: lambda.amazonaws.com}
                      Action: [ecr:BatchGetImage, ecr:GetDownloadUrlForLayer]
                Tags: [{Key: App, Value: sam-app}]
                "#
            )
        );
    }

    #[test]
    fn kms_encryption_type_names() {
        let enc = EncryptionConfiguration {
            encryption_type: EncryptionType::KmsDsse,
            kms_key: Some(Value::ref_to("Key")),
        };
        assert_eq!(
            serde_yaml::to_value(&enc).expect("serializes"),
            yaml("{EncryptionType: KMS_DSSE, KmsKey: !Ref Key}")
        );
    }
}
