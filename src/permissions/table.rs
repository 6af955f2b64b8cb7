//! The offline permissions table: which IAM actions CloudFormation calls to create, read, update
//! and delete each resource type, and which resource ARNs each of those actions accepts.
//!
//! The data are generated from the pinned cfn-lint package by `.ci/refresh-permissions`
//! (`make permissions-table`, see `data/README.md`) and compiled in, so synth needs no network.
//! Types the data cannot know (no handlers in their schema) come from [`super::fallback`].
//! Lookups are ASCII case-insensitive and never panic; the data are parsed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::fallback;

const HANDLERS_TSV: &str = include_str!("data/handlers.tsv");
const ACTIONS_TSV: &str = include_str!("data/actions.tsv");

struct Table {
    cfn_lint_version: &'static str,
    schema_date: &'static str,
    /// Lowercased type name -> its actions, as the data spell them.
    types: HashMap<String, Vec<&'static str>>,
    /// Lowercased action -> ARN formats (empty: only `Resource: "*"`).
    arn_formats: HashMap<String, Vec<&'static str>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table {
        cfn_lint_version: header(HANDLERS_TSV, "cfn-lint-version"),
        schema_date: header(HANDLERS_TSV, "schema-date"),
        types: rows(HANDLERS_TSV)
            .map(|(key, rest)| (key.to_ascii_lowercase(), words(rest)))
            .collect(),
        arn_formats: rows(ACTIONS_TSV)
            .map(|(key, rest)| {
                let formats = if rest == "-" { Vec::new() } else { words(rest) };
                (key.to_ascii_lowercase(), formats)
            })
            .collect(),
    })
}

/// The value of a `# key: value` header line; `unknown` when absent.
fn header(text: &'static str, key: &str) -> &'static str {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .filter_map(|line| {
            line.strip_prefix('#')?
                .trim()
                .strip_prefix(key)?
                .strip_prefix(':')
        })
        .map(str::trim)
        .next()
        .unwrap_or("unknown")
}

/// The `key<TAB>rest` data lines; comments, blank and malformed lines are skipped.
fn rows(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .filter(|(key, _)| !key.is_empty())
}

fn words(text: &'static str) -> Vec<&'static str> {
    text.split_ascii_whitespace().collect()
}

/// The IAM actions a deployment of `type_name` needs: the union of its create, read, update and
/// delete handler permissions (list is never called by a deployment), else its
/// [`fallback`] entry; `Custom::<Name>` is the custom-resource entry. Sorted
/// case-insensitively; `Some(vec![])` when the type needs none, `None` when it is unknown.
pub fn type_actions(type_name: &str) -> Option<Vec<&'static str>> {
    match table().types.get(&type_name.to_ascii_lowercase()) {
        Some(actions) => Some(actions.clone()),
        None => fallback::actions(type_name).map(<[&str]>::to_vec),
    }
}

/// The ARN formats of the resource types `action` accepts, e.g.
/// `arn:${Partition}:lambda:${Region}:${Account}:function:.*`; `${Partition}`, `${Region}` and
/// `${Account}` are placeholders and most formats end in the regex `.*` where the resource name
/// goes (a few are fixed ARNs or end in a literal `*`). Empty: the action takes only
/// `Resource: "*"` (a wildcard action is empty when any action it matches is). `None` for an
/// action that no table entry uses.
pub fn action_arn_formats(action: &str) -> Option<&'static [&'static str]> {
    table()
        .arn_formats
        .get(&action.to_ascii_lowercase())
        .map(Vec::as_slice)
}

/// Whether [`type_actions`] knows `type_name`.
pub fn is_known_type(type_name: &str) -> bool {
    table().types.contains_key(&type_name.to_ascii_lowercase())
        || fallback::actions(type_name).is_some()
}

/// The cfn-lint version and schema date the data were generated from.
pub fn table_info() -> (&'static str, &'static str) {
    let t = table();
    (t.cfn_lint_version, t.schema_date)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn actions_of(type_name: &str) -> Vec<&'static str> {
        type_actions(type_name).unwrap_or_else(|| panic!("{type_name} unknown"))
    }

    #[test]
    fn lambda_function_has_its_handler_actions_and_not_list_ones() {
        let actions = actions_of("AWS::Lambda::Function");
        assert!(actions.contains(&"lambda:CreateFunction"), "{actions:?}");
        assert!(actions.contains(&"lambda:DeleteFunction"), "{actions:?}");
        assert!(actions.contains(&"iam:PassRole"), "{actions:?}");
        // The list handler's only permission.
        assert!(!actions.contains(&"lambda:ListFunctions"), "{actions:?}");
    }

    #[test]
    fn iam_role_creates_roles() {
        let actions = actions_of("AWS::IAM::Role");
        assert!(actions.contains(&"iam:CreateRole"), "{actions:?}");
        assert!(!actions.contains(&"iam:ListRoles"), "{actions:?}");
    }

    #[test]
    fn unknown_types_are_none() {
        for name in [
            "AWS::Nope::Nothing",
            "",
            "\t",
            "Custom::",
            "AWS::Lambda::Function\t",
        ] {
            assert_eq!(type_actions(name), None, "{name:?}");
            assert!(!is_known_type(name), "{name:?}");
        }
    }

    #[test]
    fn fallback_types_are_known() {
        assert_eq!(
            actions_of("Custom::Anything"),
            vec!["lambda:InvokeFunction"]
        );
        assert_eq!(
            type_actions("AWS::CloudFormation::CustomResource"),
            type_actions("Custom::Anything")
        );
        assert_eq!(
            actions_of("AWS::CloudFormation::WaitCondition"),
            Vec::<&str>::new()
        );
        assert_eq!(
            actions_of("AWS::CloudFormation::WaitConditionHandle"),
            Vec::<&str>::new()
        );
        assert!(actions_of("AWS::CodeBuild::Project").contains(&"codebuild:CreateProject"));
        assert!(is_known_type("AWS::Route53::RecordSetGroup"));
    }

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(
            type_actions("aws::lambda::FUNCTION"),
            type_actions("AWS::Lambda::Function")
        );
        assert!(is_known_type("aws::iam::role"));
        assert_eq!(
            action_arn_formats("LAMBDA:createfunction"),
            action_arn_formats("lambda:CreateFunction")
        );
        assert!(action_arn_formats("Iam:passrole").is_some());
    }

    #[test]
    fn arn_formats_scope_or_say_star_only() {
        let formats = action_arn_formats("lambda:CreateFunction").expect("known");
        assert!(
            formats.contains(&"arn:${Partition}:lambda:${Region}:${Account}:function:.*"),
            "{formats:?}"
        );
        assert_eq!(
            action_arn_formats("iam:PassRole"),
            Some(&["arn:${Partition}:iam::${Account}:role/.*"][..])
        );
        // Describe calls take no resource ARN.
        assert_eq!(action_arn_formats("ec2:Describe*"), Some(&[][..]));
        assert_eq!(action_arn_formats("nope:Nothing"), None);
        assert_eq!(action_arn_formats(""), None);
    }

    #[test]
    fn every_table_action_has_arn_formats() {
        let t = table();
        assert!(t.types.len() > 1000, "{} types", t.types.len());
        let handler_actions = t.types.values().flatten();
        let fallback_actions = fallback::TYPES.iter().flat_map(|(_, a)| a.iter());
        for action in handler_actions.chain(fallback_actions) {
            assert!(
                action_arn_formats(action).is_some(),
                "{action} has no actions.tsv line"
            );
        }
    }

    #[test]
    fn data_lines_are_well_formed() {
        let mut seen = HashSet::new();
        for line in HANDLERS_TSV.lines().filter(|l| !l.starts_with('#')) {
            let (name, actions) = line.split_once('\t').expect("type<TAB>actions");
            assert!(seen.insert(name.to_ascii_lowercase()), "{name} twice");
            let actions = words(actions);
            assert!(!actions.is_empty(), "{name} has no actions");
            for pair in actions.windows(2) {
                let (a, b) = (pair[0].to_ascii_lowercase(), pair[1].to_ascii_lowercase());
                assert!(a < b, "{name}: {} not before {}", pair[0], pair[1]);
            }
        }
        for line in ACTIONS_TSV.lines().filter(|l| !l.starts_with('#')) {
            let (action, formats) = line.split_once('\t').expect("action<TAB>formats");
            let (service, op) = action.split_once(':').expect("service:Action");
            assert_eq!(service, service.to_ascii_lowercase(), "{action}");
            assert!(!op.is_empty(), "{action}");
            if formats != "-" {
                for format in words(formats) {
                    assert!(
                        format.starts_with("arn:${Partition}:"),
                        "{action}: {format}"
                    );
                }
            }
        }
        assert_eq!(rows(HANDLERS_TSV).count(), table().types.len());
        assert_eq!(rows(ACTIONS_TSV).count(), table().arn_formats.len());
    }

    #[test]
    fn fallback_entries_are_for_types_without_handlers() {
        for (name, _) in fallback::TYPES {
            assert!(
                !table().types.contains_key(&name.to_ascii_lowercase()),
                "{name} now has handlers: drop its fallback.rs entry"
            );
        }
    }

    #[test]
    fn header_names_the_pinned_cfn_lint() {
        let (version, date) = table_info();
        let pins =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/install-tools"))
                .expect("read .ci/install-tools");
        let pinned = pins
            .lines()
            .find_map(|l| l.strip_prefix("CFN_LINT_VERSION="))
            .expect("CFN_LINT_VERSION pin");
        assert_eq!(
            version, pinned,
            "run `make permissions-table` after bumping cfn-lint"
        );
        assert_eq!(header(ACTIONS_TSV, "cfn-lint-version"), version);
        assert_ne!(date, "unknown");
        assert_eq!(header(ACTIONS_TSV, "schema-date"), date);
    }
}
