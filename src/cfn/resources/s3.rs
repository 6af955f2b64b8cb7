//! S3 resources: bucket and bucket policy.
//!
//! See [AWS::S3::Bucket](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html)
//! and [AWS::S3::BucketPolicy](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucketpolicy.html).

use serde::ser::Serializer;
use serde::Serialize;

use super::Tag;
use crate::cfn::{PolicyDocument, Value};

/// `AWS::S3::Bucket` properties.
///
/// ```yaml
/// BucketName: sam-app-dev-111111111111-us-east-2-artifacts
/// BucketEncryption:
///   ServerSideEncryptionConfiguration:
///     - ServerSideEncryptionByDefault:
///         SSEAlgorithm: AES256
/// VersioningConfiguration:
///   Status: Enabled
/// PublicAccessBlockConfiguration:
///   BlockPublicAcls: true
///   ...
/// OwnershipControls:
///   Rules:
///     - ObjectOwnership: BucketOwnerEnforced
/// LoggingConfiguration:
///   DestinationBucketName: !Ref AccessLogsBucket
///   LogFilePrefix: artifacts/
/// LifecycleConfiguration:
///   Rules: ...
/// Tags: ...
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    /// Physical name (3 to 63 characters); CloudFormation generates one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_name: Option<Value>,
    /// Default server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_encryption: Option<BucketEncryption>,
    /// Versioning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning_configuration: Option<VersioningConfiguration>,
    /// Public access block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_access_block_configuration: Option<PublicAccessBlockConfiguration>,
    /// Object ownership (ACLs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership_controls: Option<OwnershipControls>,
    /// Server access logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<LoggingConfiguration>,
    /// Lifecycle rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_configuration: Option<LifecycleConfiguration>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Bucket {
    /// A bucket with no properties set.
    pub fn new() -> Bucket {
        Bucket::default()
    }

    /// `BucketName`.
    pub fn bucket_name(mut self, name: impl Into<Value>) -> Bucket {
        self.bucket_name = Some(name.into());
        self
    }

    /// `BucketEncryption`.
    pub fn encryption(mut self, encryption: BucketEncryption) -> Bucket {
        self.bucket_encryption = Some(encryption);
        self
    }

    /// `VersioningConfiguration: {Status: Enabled}`.
    pub fn versioned(mut self) -> Bucket {
        self.versioning_configuration = Some(VersioningConfiguration {
            status: VersioningStatus::Enabled,
        });
        self
    }

    /// `PublicAccessBlockConfiguration` with all four settings `true`.
    pub fn block_public_access(mut self) -> Bucket {
        self.public_access_block_configuration = Some(PublicAccessBlockConfiguration::block_all());
        self
    }

    /// `OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerEnforced}]}` — ACLs disabled.
    pub fn bucket_owner_enforced(mut self) -> Bucket {
        self.ownership_controls = Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::BucketOwnerEnforced,
            }],
        });
        self
    }

    /// `LoggingConfiguration: {DestinationBucketName: bucket, LogFilePrefix: prefix}`.
    pub fn logging(
        mut self,
        destination_bucket: impl Into<Value>,
        prefix: impl Into<Value>,
    ) -> Bucket {
        self.logging_configuration = Some(LoggingConfiguration {
            destination_bucket_name: Some(destination_bucket.into()),
            log_file_prefix: Some(prefix.into()),
        });
        self
    }

    /// Adds a lifecycle rule.
    pub fn lifecycle_rule(mut self, rule: LifecycleRule) -> Bucket {
        self.lifecycle_configuration
            .get_or_insert_with(|| LifecycleConfiguration { rules: Vec::new() })
            .rules
            .push(rule);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<Value>) -> Bucket {
        self.tags.push(Tag::new(key, value));
        self
    }
}

/// Default encryption of new objects.
///
/// ```yaml
/// ServerSideEncryptionConfiguration:
///   - ServerSideEncryptionByDefault:
///       SSEAlgorithm: aws:kms
///       KMSMasterKeyID: !Ref Key
///     BucketKeyEnabled: true
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum BucketEncryption {
    /// SSE-S3: `SSEAlgorithm: AES256`.
    Aes256,
    /// SSE-KMS: `SSEAlgorithm: aws:kms`.
    Kms {
        /// `KMSMasterKeyID`; the AWS managed key `aws/s3` when absent.
        key_id: Option<Value>,
        /// `BucketKeyEnabled`: fewer KMS requests.
        bucket_key_enabled: bool,
    },
}

impl Serialize for BucketEncryption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Wire<'a> {
            server_side_encryption_configuration: [Rule<'a>; 1],
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Rule<'a> {
            server_side_encryption_by_default: ByDefault<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            bucket_key_enabled: Option<bool>,
        }
        #[derive(Serialize)]
        struct ByDefault<'a> {
            #[serde(rename = "SSEAlgorithm")]
            sse_algorithm: &'static str,
            #[serde(rename = "KMSMasterKeyID", skip_serializing_if = "Option::is_none")]
            kms_master_key_id: Option<&'a Value>,
        }
        let rule = match self {
            BucketEncryption::Aes256 => Rule {
                server_side_encryption_by_default: ByDefault {
                    sse_algorithm: "AES256",
                    kms_master_key_id: None,
                },
                bucket_key_enabled: None,
            },
            BucketEncryption::Kms {
                key_id,
                bucket_key_enabled,
            } => Rule {
                server_side_encryption_by_default: ByDefault {
                    sse_algorithm: "aws:kms",
                    kms_master_key_id: key_id.as_ref(),
                },
                bucket_key_enabled: Some(*bucket_key_enabled),
            },
        };
        Wire {
            server_side_encryption_configuration: [rule],
        }
        .serialize(s)
    }
}

/// `VersioningConfiguration: {Status: Enabled}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    /// `Enabled` or `Suspended`.
    pub status: VersioningStatus,
}

/// Versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VersioningStatus {
    /// `Enabled`
    Enabled,
    /// `Suspended`
    Suspended,
}

/// The four public-access-block switches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlockConfiguration {
    /// Reject public ACLs.
    pub block_public_acls: bool,
    /// Reject public bucket policies.
    pub block_public_policy: bool,
    /// Ignore existing public ACLs.
    pub ignore_public_acls: bool,
    /// Restrict access under a public policy to AWS services and the owner.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    /// All four `true`.
    pub fn block_all() -> PublicAccessBlockConfiguration {
        PublicAccessBlockConfiguration {
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
        }
    }
}

/// `OwnershipControls: {Rules: [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControls {
    /// Rules (S3 accepts one).
    pub rules: Vec<OwnershipControlsRule>,
}

/// `{ObjectOwnership: BucketOwnerEnforced}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControlsRule {
    /// Who owns uploaded objects.
    pub object_ownership: ObjectOwnership,
}

/// Object ownership setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ObjectOwnership {
    /// ACLs disabled; the bucket owner owns every object (recommended).
    BucketOwnerEnforced,
    /// The bucket owner owns objects uploaded with `bucket-owner-full-control`.
    BucketOwnerPreferred,
    /// The uploading account owns the object.
    ObjectWriter,
}

/// Server access logging.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfiguration {
    /// Bucket that receives the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_bucket_name: Option<Value>,
    /// Key prefix of the log objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file_prefix: Option<Value>,
}

/// `LifecycleConfiguration: {Rules: [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    /// The rules, in order.
    pub rules: Vec<LifecycleRule>,
}

/// A lifecycle rule.
///
/// ```yaml
/// Id: expire-noncurrent
/// Status: Enabled
/// NoncurrentVersionExpiration:
///   NoncurrentDays: 90
/// AbortIncompleteMultipartUpload:
///   DaysAfterInitiation: 7
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    /// Rule id.
    pub id: String,
    /// `Enabled` or `Disabled`.
    pub status: RuleStatus,
    /// Days after creation that current objects expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_in_days: Option<u32>,
    /// When noncurrent versions expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    /// When incomplete multipart uploads are aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
}

impl LifecycleRule {
    /// An enabled rule with no actions yet.
    pub fn enabled(id: impl Into<String>) -> LifecycleRule {
        LifecycleRule {
            id: id.into(),
            status: RuleStatus::Enabled,
            expiration_in_days: None,
            noncurrent_version_expiration: None,
            abort_incomplete_multipart_upload: None,
        }
    }

    /// `ExpirationInDays`.
    pub fn expiration_in_days(mut self, days: u32) -> LifecycleRule {
        self.expiration_in_days = Some(days);
        self
    }

    /// `NoncurrentVersionExpiration: {NoncurrentDays: days}`.
    pub fn noncurrent_version_expiration(mut self, days: u32) -> LifecycleRule {
        self.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
            noncurrent_days: days,
        });
        self
    }

    /// `AbortIncompleteMultipartUpload: {DaysAfterInitiation: days}`.
    pub fn abort_incomplete_multipart_upload(mut self, days: u32) -> LifecycleRule {
        self.abort_incomplete_multipart_upload = Some(AbortIncompleteMultipartUpload {
            days_after_initiation: days,
        });
        self
    }
}

/// Lifecycle rule status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleStatus {
    /// `Enabled`
    Enabled,
    /// `Disabled`
    Disabled,
}

/// `{NoncurrentDays: n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentVersionExpiration {
    /// Days a version is noncurrent before it expires.
    pub noncurrent_days: u32,
}

/// `{DaysAfterInitiation: n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    /// Days after an upload starts before its parts are removed.
    pub days_after_initiation: u32,
}

/// `AWS::S3::BucketPolicy` properties.
///
/// ```yaml
/// Bucket: !Ref ArtifactsBucket
/// PolicyDocument:
///   Version: '2012-10-17'
///   Statement: ...
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    /// Name of the bucket.
    pub bucket: Value,
    /// The resource policy.
    pub policy_document: PolicyDocument,
}

impl BucketPolicy {
    /// A policy for `bucket` (a name, e.g. `!Ref ArtifactsBucket`).
    pub fn new(bucket: impl Into<Value>, policy_document: PolicyDocument) -> BucketPolicy {
        BucketPolicy {
            bucket: bucket.into(),
            policy_document,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml::Value as Yaml;

    fn yaml(s: &str) -> Yaml {
        serde_yaml::from_str(s).expect("test YAML parses")
    }

    fn to_yaml<T: Serialize>(t: &T) -> Yaml {
        serde_yaml::to_value(t).expect("serializes")
    }

    #[test]
    fn hardened_bucket_renders_every_property_in_order() {
        let bucket = Bucket::new()
            .tag("App", "sam-app")
            .lifecycle_rule(
                LifecycleRule::enabled("expire-noncurrent")
                    .noncurrent_version_expiration(90)
                    .abort_incomplete_multipart_upload(7),
            )
            .logging(Value::ref_to("Logs"), "artifacts/")
            .bucket_owner_enforced()
            .block_public_access()
            .versioned()
            .encryption(BucketEncryption::Aes256)
            .bucket_name(Value::sub("${AWS::StackName}-artifacts"));
        assert_eq!(
            to_yaml(&bucket),
            yaml(
                "
                BucketName: !Sub '${AWS::StackName}-artifacts'
                BucketEncryption:
                  ServerSideEncryptionConfiguration:
                    - ServerSideEncryptionByDefault:
                        SSEAlgorithm: AES256
                VersioningConfiguration:
                  Status: Enabled
                PublicAccessBlockConfiguration:
                  BlockPublicAcls: true
                  BlockPublicPolicy: true
                  IgnorePublicAcls: true
                  RestrictPublicBuckets: true
                OwnershipControls:
                  Rules:
                    - ObjectOwnership: BucketOwnerEnforced
                LoggingConfiguration:
                  DestinationBucketName: !Ref Logs
                  LogFilePrefix: artifacts/
                LifecycleConfiguration:
                  Rules:
                    - Id: expire-noncurrent
                      Status: Enabled
                      NoncurrentVersionExpiration:
                        NoncurrentDays: 90
                      AbortIncompleteMultipartUpload:
                        DaysAfterInitiation: 7
                Tags:
                  - Key: App
                    Value: sam-app
                "
            )
        );
        let keys: Vec<_> = to_yaml(&bucket)
            .as_mapping()
            .expect("a mapping")
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        assert_eq!(keys[0], "BucketName");
        assert_eq!(keys.last().map(String::as_str), Some("Tags"));
    }

    #[test]
    fn kms_encryption() {
        let enc = BucketEncryption::Kms {
            key_id: Some(Value::ref_to("Key")),
            bucket_key_enabled: true,
        };
        assert_eq!(
            to_yaml(&enc),
            yaml(
                "
                ServerSideEncryptionConfiguration:
                  - ServerSideEncryptionByDefault:
                      SSEAlgorithm: aws:kms
                      KMSMasterKeyID: !Ref Key
                    BucketKeyEnabled: true
                "
            )
        );
    }

    #[test]
    fn empty_bucket_has_no_properties_and_expiration_rule() {
        assert_eq!(to_yaml(&Bucket::new()), yaml("{}"));
        let rule = LifecycleRule::enabled("logs").expiration_in_days(365);
        assert_eq!(
            to_yaml(&rule),
            yaml("{Id: logs, Status: Enabled, ExpirationInDays: 365}")
        );
    }

    #[test]
    fn bucket_policy() {
        let p = BucketPolicy::new(Value::ref_to("B"), PolicyDocument::new());
        assert_eq!(
            to_yaml(&p),
            yaml("{Bucket: !Ref B, PolicyDocument: {Version: '2012-10-17', Statement: []}}")
        );
    }
}
