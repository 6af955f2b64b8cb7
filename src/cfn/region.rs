//! AWS regions and their partitions.
//!
//! A stage's region decides the partition of every ARN sampipe writes for it (`arn:aws-cn:…`)
//! and the DNS suffix of its endpoints. Known regions come from the AWS SDKs' partition table
//! (`partitions.json`); a region that is not listed but has the form of one of the partitions'
//! region codes is accepted with a warning, since AWS opens new regions every year.
//!
//! <https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html>

use crate::diag::did_you_mean;

/// Every region sampipe knows, with its partition.
pub const KNOWN_REGIONS: &[(&str, &str)] = &[
    ("af-south-1", "aws"),
    ("ap-east-1", "aws"),
    ("ap-east-2", "aws"),
    ("ap-northeast-1", "aws"),
    ("ap-northeast-2", "aws"),
    ("ap-northeast-3", "aws"),
    ("ap-south-1", "aws"),
    ("ap-south-2", "aws"),
    ("ap-southeast-1", "aws"),
    ("ap-southeast-2", "aws"),
    ("ap-southeast-3", "aws"),
    ("ap-southeast-4", "aws"),
    ("ap-southeast-5", "aws"),
    ("ap-southeast-6", "aws"),
    ("ap-southeast-7", "aws"),
    ("ca-central-1", "aws"),
    ("ca-west-1", "aws"),
    ("eu-central-1", "aws"),
    ("eu-central-2", "aws"),
    ("eu-north-1", "aws"),
    ("eu-south-1", "aws"),
    ("eu-south-2", "aws"),
    ("eu-west-1", "aws"),
    ("eu-west-2", "aws"),
    ("eu-west-3", "aws"),
    ("il-central-1", "aws"),
    ("me-central-1", "aws"),
    ("me-south-1", "aws"),
    ("mx-central-1", "aws"),
    ("sa-east-1", "aws"),
    ("us-east-1", "aws"),
    ("us-east-2", "aws"),
    ("us-west-1", "aws"),
    ("us-west-2", "aws"),
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
    ("us-gov-east-1", "aws-us-gov"),
    ("us-gov-west-1", "aws-us-gov"),
    ("us-iso-east-1", "aws-iso"),
    ("us-iso-west-1", "aws-iso"),
    ("us-isob-east-1", "aws-iso-b"),
    ("us-isob-west-1", "aws-iso-b"),
    ("eu-isoe-west-1", "aws-iso-e"),
    ("us-isof-east-1", "aws-iso-f"),
    ("us-isof-south-1", "aws-iso-f"),
    ("eusc-de-east-1", "aws-eusc"),
];

/// Region-code prefixes of each partition, most specific first, as in the SDKs' `regionRegex`
/// (`^us\-gov\-\w+\-\d+$`): the prefix, then one word, then a number.
const PREFIXES: &[(&[&str], &str)] = &[
    (&["eusc", "de"], "aws-eusc"),
    (&["eu", "isoe"], "aws-iso-e"),
    (&["us", "isof"], "aws-iso-f"),
    (&["us", "isob"], "aws-iso-b"),
    (&["us", "iso"], "aws-iso"),
    (&["us", "gov"], "aws-us-gov"),
    (&["cn"], "aws-cn"),
    (&["us"], "aws"),
    (&["eu"], "aws"),
    (&["ap"], "aws"),
    (&["sa"], "aws"),
    (&["ca"], "aws"),
    (&["me"], "aws"),
    (&["af"], "aws"),
    (&["il"], "aws"),
    (&["mx"], "aws"),
];

/// What sampipe makes of a region code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// A region in [`KNOWN_REGIONS`].
    Known { partition: &'static str },
    /// Not listed, but written like the regions of `partition` (perhaps a new region).
    Unlisted { partition: &'static str },
    /// Not a region code.
    Invalid,
}

/// Classifies a region code.
pub fn classify(region: &str) -> Region {
    if let Some((_, partition)) = KNOWN_REGIONS.iter().find(|(r, _)| *r == region) {
        return Region::Known { partition };
    }
    let parts: Vec<&str> = region.split('-').collect();
    for (prefix, partition) in PREFIXES {
        let Some(rest) = parts.strip_prefix(*prefix) else {
            continue;
        };
        let lower = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
        let number = |p: &&str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if let [word, n] = rest {
            if lower(word) && number(n) {
                return Region::Unlisted { partition };
            }
        }
    }
    Region::Invalid
}

/// The partition of a region code, or `None` when the text is not a region code.
pub fn region_partition(region: &str) -> Option<&'static str> {
    match classify(region) {
        Region::Known { partition } | Region::Unlisted { partition } => Some(partition),
        Region::Invalid => None,
    }
}

/// Whether `id` names a partition (`aws`, `aws-cn`, …).
pub fn is_partition(id: &str) -> bool {
    KNOWN_REGIONS.iter().any(|(_, partition)| *partition == id)
}

/// The DNS suffix of AWS endpoints in a partition (`AWS::URLSuffix`).
pub fn dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        "aws-eusc" => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

/// The known region a mistyped or unlisted code most likely means.
pub fn closest(region: &str) -> Option<&'static str> {
    let lower = region.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    // An availability zone (`us-east-1a`) names its region.
    let zone = lower.trim_end_matches(|c: char| c.is_ascii_lowercase());
    let known = || KNOWN_REGIONS.iter().map(|(r, _)| *r);
    known()
        .find(|r| *r == lower || *r == zone)
        .or_else(|| did_you_mean(&lower, known()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_have_their_partition() {
        assert_eq!(region_partition("us-east-1"), Some("aws"));
        assert_eq!(region_partition("ap-southeast-5"), Some("aws"));
        assert_eq!(region_partition("mx-central-1"), Some("aws"));
        assert_eq!(region_partition("cn-northwest-1"), Some("aws-cn"));
        assert_eq!(region_partition("us-gov-west-1"), Some("aws-us-gov"));
        assert_eq!(region_partition("us-isob-east-1"), Some("aws-iso-b"));
        assert_eq!(region_partition("eu-isoe-west-1"), Some("aws-iso-e"));
        assert_eq!(region_partition("eusc-de-east-1"), Some("aws-eusc"));
    }

    #[test]
    fn every_known_region_has_the_form_of_its_partition() {
        for (region, partition) in KNOWN_REGIONS {
            let parts: Vec<&str> = region.split('-').collect();
            let by_form = PREFIXES
                .iter()
                .find(|(prefix, _)| parts.starts_with(prefix) && parts.len() == prefix.len() + 2)
                .map(|(_, p)| *p);
            assert_eq!(by_form, Some(*partition), "{region}");
        }
    }

    #[test]
    fn unlisted_and_invalid_codes() {
        assert_eq!(classify("eu-west-4"), Region::Unlisted { partition: "aws" });
        assert_eq!(
            classify("us-gov-north-1"),
            Region::Unlisted {
                partition: "aws-us-gov"
            }
        );
        assert_eq!(classify("useast1"), Region::Invalid);
        assert_eq!(classify("us-east-1a"), Region::Invalid);
        assert_eq!(classify("US-EAST-1"), Region::Invalid);
        assert_eq!(classify("xx-east-1"), Region::Invalid);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("us-east-1a"), Some("us-east-1"));
        assert_eq!(closest("US-EAST-1"), Some("us-east-1"));
        assert_eq!(closest("us-east1"), Some("us-east-1"));
        assert_eq!(closest("eu_west_1"), Some("eu-west-1"));
        assert_eq!(closest("mars-1"), None);
    }
}
