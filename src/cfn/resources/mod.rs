//! Resources: the [`Resource`] entry (type, condition, policies) and typed properties for the
//! resource types sampipe emits, one module per AWS service.
//!
//! Property structs mirror the CloudFormation resource schemas; fields are declared in the order a
//! reviewer expects (name first) and serialize as `PascalCase`, optional ones omitted.
//!
//! See the [resource attribute reference](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-product-attribute-reference.html)
//! and the [resource type reference](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html).

pub mod ecr;
pub mod iam;
pub mod s3;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::Value;

/// An entry of the template's `Resources` section.
///
/// ```yaml
/// ArtifactsBucket:
///   Type: AWS::S3::Bucket
///   Condition: CreateArtifactsBucket
///   DependsOn: AccessLogsBucket
///   DeletionPolicy: Retain
///   UpdateReplacePolicy: Retain
///   Properties:
///     ...
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Template condition that decides whether the resource exists.
    pub condition: Option<String>,
    /// Logical ids this resource must be created after (one prints as a scalar).
    pub depends_on: Vec<String>,
    /// What happens to the physical resource when it leaves the template.
    pub deletion_policy: Option<DeletionPolicy>,
    /// What happens to the old physical resource when an update replaces it.
    pub update_replace_policy: Option<DeletionPolicy>,
    /// The typed properties, which also determine `Type`.
    pub properties: ResourceProperties,
}

impl Resource {
    /// A resource with these properties and no attributes.
    pub fn new(properties: impl Into<ResourceProperties>) -> Resource {
        Resource {
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            properties: properties.into(),
        }
    }

    /// `Condition: name`.
    pub fn condition(mut self, name: impl Into<String>) -> Resource {
        self.condition = Some(name.into());
        self
    }

    /// Adds a `DependsOn` entry (ignored if already present).
    pub fn depends_on(mut self, logical_id: impl Into<String>) -> Resource {
        let id = logical_id.into();
        if !self.depends_on.contains(&id) {
            self.depends_on.push(id);
        }
        self
    }

    /// `DeletionPolicy: policy`.
    pub fn deletion_policy(mut self, policy: DeletionPolicy) -> Resource {
        self.deletion_policy = Some(policy);
        self
    }

    /// `UpdateReplacePolicy: policy` (`RetainExceptOnCreate` is not allowed here; `validate`
    /// reports it).
    pub fn update_replace_policy(mut self, policy: DeletionPolicy) -> Resource {
        self.update_replace_policy = Some(policy);
        self
    }

    /// `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain`: the physical resource survives
    /// both stack deletion and replacement (cfn-lint W3011 wants both).
    pub fn retain(self) -> Resource {
        self.deletion_policy(DeletionPolicy::Retain)
            .update_replace_policy(DeletionPolicy::Retain)
    }

    /// The resource type, e.g. `AWS::S3::Bucket`.
    pub fn type_name(&self) -> &'static str {
        self.properties.type_name()
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("Type", self.type_name())?;
        if let Some(condition) = &self.condition {
            map.serialize_entry("Condition", condition)?;
        }
        match self.depends_on.as_slice() {
            [] => {}
            [one] => map.serialize_entry("DependsOn", one)?,
            many => map.serialize_entry("DependsOn", many)?,
        }
        if let Some(policy) = &self.deletion_policy {
            map.serialize_entry("DeletionPolicy", policy)?;
        }
        if let Some(policy) = &self.update_replace_policy {
            map.serialize_entry("UpdateReplacePolicy", policy)?;
        }
        map.serialize_entry("Properties", &self.properties)?;
        map.end()
    }
}

/// `DeletionPolicy` / `UpdateReplacePolicy` values.
/// See [DeletionPolicy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeletionPolicy {
    /// `Delete` (the default for most resources).
    Delete,
    /// `Retain`: keep the physical resource.
    Retain,
    /// `RetainExceptOnCreate`: retain, except when the stack's creation rolls back
    /// (`DeletionPolicy` only).
    RetainExceptOnCreate,
    /// `Snapshot`: for resources that support snapshots.
    Snapshot,
}

/// The typed properties of a resource; the variant determines `Type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResourceProperties {
    /// `AWS::IAM::OIDCProvider`
    OidcProvider(iam::OidcProvider),
    /// `AWS::IAM::Role`
    Role(Box<iam::Role>),
    /// `AWS::IAM::ManagedPolicy`
    ManagedPolicy(iam::ManagedPolicy),
    /// `AWS::S3::Bucket`
    Bucket(Box<s3::Bucket>),
    /// `AWS::S3::BucketPolicy`
    BucketPolicy(s3::BucketPolicy),
    /// `AWS::ECR::Repository`
    Repository(Box<ecr::Repository>),
}

impl ResourceProperties {
    /// The CloudFormation type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ResourceProperties::OidcProvider(_) => "AWS::IAM::OIDCProvider",
            ResourceProperties::Role(_) => "AWS::IAM::Role",
            ResourceProperties::ManagedPolicy(_) => "AWS::IAM::ManagedPolicy",
            ResourceProperties::Bucket(_) => "AWS::S3::Bucket",
            ResourceProperties::BucketPolicy(_) => "AWS::S3::BucketPolicy",
            ResourceProperties::Repository(_) => "AWS::ECR::Repository",
        }
    }

    /// The attributes `!GetAtt` can read from this type (from the resource schemas'
    /// read-only properties).
    pub fn attributes(&self) -> &'static [&'static str] {
        match self {
            ResourceProperties::OidcProvider(_) => &["Arn"],
            ResourceProperties::Role(_) => &["Arn", "RoleId"],
            ResourceProperties::ManagedPolicy(_) => &[
                "PolicyArn",
                "AttachmentCount",
                "CreateDate",
                "DefaultVersionId",
                "IsAttachable",
                "PermissionsBoundaryUsageCount",
                "PolicyId",
                "UpdateDate",
            ],
            ResourceProperties::Bucket(_) => &[
                "Arn",
                "DomainName",
                "DualStackDomainName",
                "RegionalDomainName",
                "WebsiteURL",
            ],
            ResourceProperties::BucketPolicy(_) => &[],
            ResourceProperties::Repository(_) => &["Arn", "RepositoryUri"],
        }
    }
}

impl From<iam::OidcProvider> for ResourceProperties {
    fn from(p: iam::OidcProvider) -> Self {
        ResourceProperties::OidcProvider(p)
    }
}

impl From<iam::Role> for ResourceProperties {
    fn from(p: iam::Role) -> Self {
        ResourceProperties::Role(Box::new(p))
    }
}

impl From<iam::ManagedPolicy> for ResourceProperties {
    fn from(p: iam::ManagedPolicy) -> Self {
        ResourceProperties::ManagedPolicy(p)
    }
}

impl From<s3::Bucket> for ResourceProperties {
    fn from(p: s3::Bucket) -> Self {
        ResourceProperties::Bucket(Box::new(p))
    }
}

impl From<s3::BucketPolicy> for ResourceProperties {
    fn from(p: s3::BucketPolicy) -> Self {
        ResourceProperties::BucketPolicy(p)
    }
}

impl From<ecr::Repository> for ResourceProperties {
    fn from(p: ecr::Repository) -> Self {
        ResourceProperties::Repository(Box::new(p))
    }
}

/// A resource tag: `{Key: key, Value: value}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value (may be `!Ref Stage` etc.).
    pub value: Value,
}

impl Tag {
    /// `{Key: key, Value: value}`.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
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

    #[test]
    fn resource_attributes_in_order_type_first() {
        let r = Resource::new(s3::BucketPolicy::new(
            Value::ref_to("B"),
            Default::default(),
        ))
        .retain()
        .depends_on("B")
        .condition("C");
        let v = serde_yaml::to_value(&r).expect("serializes");
        let keys: Vec<_> = v
            .as_mapping()
            .expect("a mapping")
            .keys()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "Type",
                "Condition",
                "DependsOn",
                "DeletionPolicy",
                "UpdateReplacePolicy",
                "Properties"
            ]
        );
        assert_eq!(v["Type"], yaml("AWS::S3::BucketPolicy"));
        assert_eq!(
            v["DependsOn"],
            yaml("B"),
            "one dependency prints as a scalar"
        );
        assert_eq!(v["DeletionPolicy"], yaml("Retain"));
    }

    #[test]
    fn several_dependencies_print_as_a_list_without_duplicates() {
        let r = Resource::new(s3::Bucket::new())
            .depends_on("A")
            .depends_on("B")
            .depends_on("A");
        let v = serde_yaml::to_value(&r).expect("serializes");
        assert_eq!(v["DependsOn"], yaml("[A, B]"));
        assert!(v.get("Condition").is_none());
    }

    #[test]
    fn type_names() {
        let doc = crate::cfn::PolicyDocument::new();
        let cases: Vec<(ResourceProperties, &str)> = vec![
            (
                iam::OidcProvider::new("https://x").into(),
                "AWS::IAM::OIDCProvider",
            ),
            (iam::Role::new(doc.clone()).into(), "AWS::IAM::Role"),
            (
                iam::ManagedPolicy::new(doc.clone()).into(),
                "AWS::IAM::ManagedPolicy",
            ),
            (s3::Bucket::new().into(), "AWS::S3::Bucket"),
            (
                s3::BucketPolicy::new("b", doc).into(),
                "AWS::S3::BucketPolicy",
            ),
            (ecr::Repository::new().into(), "AWS::ECR::Repository"),
        ];
        for (props, name) in cases {
            assert_eq!(props.type_name(), name);
        }
    }

    #[test]
    fn tag() {
        let v =
            serde_yaml::to_value(Tag::new("Stage", Value::ref_to("Stage"))).expect("serializes");
        assert_eq!(v, yaml("{Key: Stage, Value: !Ref Stage}"));
    }
}
