//! What CloudFormation would substitute for pseudo parameters, and for `!Ref`/`!GetAtt` of the
//! resource types sampipe emits when their physical name is set in the template.
//!
//! See [Ref return values](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-ref.html)
//! and [ARN formats](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).

use crate::cfn::ResourceProperties;

/// The deployment a template is resolved for: what `AWS::AccountId`, `AWS::Region`,
/// `AWS::Partition` and `AWS::StackName` stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudoValues {
    /// 12-digit account id.
    pub account_id: String,
    /// Region, e.g. `us-east-2`.
    pub region: String,
    /// Partition, e.g. `aws`.
    pub partition: String,
    /// Name of the stack the template is deployed as.
    pub stack_name: String,
}

impl PseudoValues {
    /// Values for a stack in `region`, with the partition derived from the region's name.
    pub fn new(
        account_id: impl Into<String>,
        region: impl Into<String>,
        stack_name: impl Into<String>,
    ) -> PseudoValues {
        let region = region.into();
        PseudoValues {
            account_id: account_id.into(),
            partition: partition_of(&region).to_owned(),
            region,
            stack_name: stack_name.into(),
        }
    }

    /// `AWS::URLSuffix` for the partition (`amazonaws.com` for partitions not listed here).
    pub fn url_suffix(&self) -> &'static str {
        crate::cfn::region::dns_suffix(&self.partition)
    }
}

/// The partition a region belongs to (`cn-north-1` → `aws-cn`), from the region table;
/// `aws` for text that is not a region code.
pub fn partition_of(region: &str) -> &'static str {
    crate::cfn::region::region_partition(region).unwrap_or("aws")
}

/// How `!Ref id` (attribute `None`) or `!GetAtt id.attribute` is formed from the resource's
/// physical name, or `None` when it depends on something only AWS knows (a generated id).
/// Placeholders: `{partition}`, `{account}`, `{region}`, `{url_suffix}`, `{name}`.
pub(super) fn pattern(
    properties: &ResourceProperties,
    attribute: Option<&str>,
) -> Option<&'static str> {
    use ResourceProperties as P;
    Some(match (properties, attribute) {
        (P::OidcProvider(_), None | Some("Arn")) => {
            "arn:{partition}:iam::{account}:oidc-provider/{name}"
        }
        (P::Role(_), None) => "{name}",
        (P::Role(_), Some("Arn")) => "arn:{partition}:iam::{account}:role/{name}",
        (P::ManagedPolicy(_), None | Some("PolicyArn")) => {
            "arn:{partition}:iam::{account}:policy/{name}"
        }
        (P::Bucket(_), None) => "{name}",
        (P::Bucket(_), Some("Arn")) => "arn:{partition}:s3:::{name}",
        (P::Bucket(_), Some("DomainName")) => "{name}.s3.{url_suffix}",
        (P::Bucket(_), Some("RegionalDomainName")) => "{name}.s3.{region}.{url_suffix}",
        (P::Bucket(_), Some("DualStackDomainName")) => "{name}.s3.dualstack.{region}.{url_suffix}",
        (P::Repository(_), None) => "{name}",
        (P::Repository(_), Some("Arn")) => {
            "arn:{partition}:ecr:{region}:{account}:repository/{name}"
        }
        (P::Repository(_), Some("RepositoryUri")) => {
            "{account}.dkr.ecr.{region}.{url_suffix}/{name}"
        }
        _ => return None,
    })
}

/// The property holding the physical name (for an OIDC provider, its URL).
pub(super) fn name_property(properties: &ResourceProperties) -> Option<&crate::cfn::Value> {
    match properties {
        ResourceProperties::OidcProvider(p) => Some(&p.url),
        ResourceProperties::Role(r) => r.role_name.as_ref(),
        ResourceProperties::ManagedPolicy(m) => m.managed_policy_name.as_ref(),
        ResourceProperties::Bucket(b) => b.bucket_name.as_ref(),
        ResourceProperties::BucketPolicy(_) => None,
        ResourceProperties::Repository(r) => r.repository_name.as_ref(),
    }
}

/// Fills in a [`pattern`]. An OIDC provider's name is its URL without `https://`.
pub(super) fn fill(pattern: &str, pseudo: &PseudoValues, name: &str) -> String {
    let name = name.strip_prefix("https://").unwrap_or(name);
    pattern
        .replace("{partition}", &pseudo.partition)
        .replace("{account}", &pseudo.account_id)
        .replace("{region}", &pseudo.region)
        .replace("{url_suffix}", pseudo.url_suffix())
        .replace("{name}", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_url_suffixes() {
        let cases = [
            ("us-east-2", "aws", "amazonaws.com"),
            ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
            ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
        ];
        for (region, partition, suffix) in cases {
            let p = PseudoValues::new("111111111111", region, "s");
            assert_eq!(
                (p.partition.as_str(), p.url_suffix()),
                (partition, suffix),
                "{region}"
            );
        }
    }

    #[test]
    fn fill_substitutes_every_placeholder_and_strips_the_scheme() {
        let p = PseudoValues::new("111111111111", "cn-north-1", "s");
        assert_eq!(
            fill(
                "arn:{partition}:iam::{account}:oidc-provider/{name}",
                &p,
                "https://token.actions.githubusercontent.com"
            ),
            "arn:aws-cn:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
        );
        assert_eq!(
            fill("{account}.dkr.ecr.{region}.{url_suffix}/{name}", &p, "app"),
            "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/app"
        );
    }
}
