//! Resolver tests against a small pipeline-resources template.

use indexmap::IndexMap;
use serde_json::json;

use super::*;
use crate::cfn::resources::{ecr, iam, s3};
use crate::cfn::{
    ConditionOperator, Effect, Mapping, Output, Parameter, PolicyDocument, Principal, Resource,
    Statement,
};

const AUD: &str = "token.actions.githubusercontent.com:aud";
const SUB: &str = "token.actions.githubusercontent.com:sub";

fn trust() -> PolicyDocument {
    PolicyDocument::new().statement(
        Statement::allow()
            .action("sts:AssumeRoleWithWebIdentity")
            .principal(Principal::federated(Value::ref_to("GitHubOidc")))
            .condition(ConditionOperator::StringEquals, AUD, "sts.amazonaws.com")
            .condition(
                ConditionOperator::StringLike,
                SUB,
                Value::find_in_map("Stages", Value::ref_to("Stage"), "Subjects"),
            ),
    )
}

fn permissions() -> PolicyDocument {
    PolicyDocument::new()
        .statement(
            Statement::allow()
                .action("s3:PutObject")
                .resource(Value::sub("${Artifacts.Arn}/*")),
        )
        .statement_if(
            "HasImages",
            Statement::allow()
                .action("ecr:PutImage")
                .resource(Value::get_att("Images", "Arn")),
        )
}

fn template() -> Template {
    Template::new()
        .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
        .parameter(
            "ImageRepository",
            Parameter::string()
                .default("false")
                .allowed_values(["true", "false"]),
        )
        .parameter(
            "Subnets",
            Parameter::new("CommaDelimitedList").default("a,b"),
        )
        .mapping(
            "Stages",
            Mapping::new()
                .entry("dev", "Name", "dev")
                .entry(
                    "dev",
                    "Subjects",
                    Value::List(vec![
                        "repo:o/r:ref:refs/heads/main".into(),
                        "repo:o/r:ref:refs/heads/feature*".into(),
                    ]),
                )
                .entry("prod", "Name", "prod")
                .entry(
                    "prod",
                    "Subjects",
                    Value::List(vec!["repo:o/r:environment:production".into()]),
                ),
        )
        .condition("IsProd", Value::equals(Value::ref_to("Stage"), "prod"))
        .condition("IsDev", Value::not(Value::condition("IsProd")))
        .condition(
            "HasImages",
            Value::equals(Value::ref_to("ImageRepository"), "true"),
        )
        .condition(
            "ProdImages",
            Value::and([Value::condition("IsProd"), Value::condition("HasImages")]),
        )
        .condition(
            "DevOrImages",
            Value::or([Value::condition("IsDev"), Value::condition("HasImages")]),
        )
        .resource(
            "GitHubOidc",
            Resource::new(
                iam::OidcProvider::new("https://token.actions.githubusercontent.com")
                    .client_id("sts.amazonaws.com"),
            ),
        )
        .resource(
            "DeployRole",
            Resource::new(
                iam::Role::new(trust())
                    .role_name(Value::sub("${AWS::StackName}-deploy"))
                    .policy("Deploy", permissions()),
            ),
        )
        .resource(
            "Artifacts",
            Resource::new(
                s3::Bucket::new().bucket_name(Value::sub("sam-app-${Stage}-${AWS::AccountId}")),
            ),
        )
        .resource("Logs", Resource::new(s3::Bucket::new()))
        .resource(
            "Images",
            Resource::new(ecr::Repository::new().repository_name(Value::sub("sam-app-${Stage}")))
                .condition("HasImages"),
        )
        .output(
            "ImageUri",
            Output::new(Value::get_att("Images", "RepositoryUri")).condition("HasImages"),
        )
}

fn params(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pseudo() -> PseudoValues {
    PseudoValues::new("111111111111", "us-east-2", "sam-app-dev-pipeline")
}

fn with<T>(pairs: &[(&str, &str)], f: impl FnOnce(&Resolver<'_>) -> T) -> T {
    let t = template();
    assert_eq!(t.validate(), [], "the fixture is valid");
    let r = Resolver::new(&t, params(pairs), pseudo()).expect("parameters are valid");
    f(&r)
}

fn dev<T>(f: impl FnOnce(&Resolver<'_>) -> T) -> T {
    with(&[("Stage", "dev")], f)
}

fn err(r: &Resolver<'_>, v: Value) -> String {
    r.resolve(&v).expect_err("does not resolve").to_string()
}

#[test]
fn parameters_are_checked_up_front() {
    let t = template();
    let e = |pairs: &[(&str, &str)]| {
        Resolver::new(&t, params(pairs), pseudo())
            .expect_err("rejected")
            .to_string()
    };
    assert_eq!(e(&[]), "parameter `Stage` has no value and no default");
    assert_eq!(
        e(&[("Stage", "qa")]),
        "parameter `Stage` is `qa`, which is not one of its allowed values (`dev`, `prod`)"
    );
    assert_eq!(
        e(&[("Stage", "dev"), ("Nope", "x")]),
        "`Nope` is not a parameter of the template"
    );
    dev(|r| {
        assert_eq!(r.parameter("ImageRepository"), Some("false"));
        assert_eq!(r.parameter("Stage"), Some("dev"));
    });
}

#[test]
fn refs_to_parameters_and_pseudo_parameters() {
    dev(|r| {
        let cases = [
            (Value::ref_to("Stage"), json!("dev")),
            (Value::ref_to("Subnets"), json!(["a", "b"])),
            (Value::pseudo(Pseudo::AccountId), json!("111111111111")),
            (Value::pseudo(Pseudo::Region), json!("us-east-2")),
            (Value::pseudo(Pseudo::Partition), json!("aws")),
            (
                Value::pseudo(Pseudo::StackName),
                json!("sam-app-dev-pipeline"),
            ),
            (Value::pseudo(Pseudo::UrlSuffix), json!("amazonaws.com")),
            (Value::pseudo(Pseudo::StackId), json!("{Ref:AWS::StackId}")),
            (Value::pseudo(Pseudo::NotificationArns), json!([])),
            (Value::no_value(), json!(null)),
        ];
        for (value, expected) in cases {
            assert_eq!(r.resolve(&value).expect("resolves"), expected, "{value:?}");
        }
    });
}

#[test]
fn no_value_removes_list_items_and_map_entries() {
    dev(|r| {
        let list = Value::List(vec![
            "a".into(),
            Value::no_value(),
            Value::if_("IsProd", "prod-only", Value::no_value()),
            Value::if_("IsDev", "dev-only", Value::no_value()),
        ]);
        assert_eq!(
            r.resolve(&list).expect("resolves"),
            json!(["a", "dev-only"])
        );
        let map = Value::Map(IndexMap::from([
            (
                "Gone".to_owned(),
                Value::if_("IsProd", "x", Value::no_value()),
            ),
            ("Kept".to_owned(), Value::from("y")),
        ]));
        assert_eq!(r.resolve(&map).expect("resolves"), json!({"Kept": "y"}));
        let join = Value::join("-", ["a".into(), Value::no_value(), "b".into()]);
        assert_eq!(r.resolve(&join).expect("resolves"), json!("a-b"));
    });
}

#[test]
fn nested_if_takes_only_the_chosen_branch() {
    let v = Value::if_(
        "IsProd",
        Value::get_att("Images", "Arn"), // would fail for dev: `Images` is disabled
        Value::if_("HasImages", "dev-with-images", "dev-plain"),
    );
    dev(|r| assert_eq!(r.resolve(&v).expect("resolves"), json!("dev-plain")));
    with(&[("Stage", "dev"), ("ImageRepository", "true")], |r| {
        assert_eq!(r.resolve(&v).expect("resolves"), json!("dev-with-images"));
    });
    with(&[("Stage", "prod"), ("ImageRepository", "true")], |r| {
        assert_eq!(
            r.resolve(&v).expect("resolves"),
            json!("arn:aws:ecr:us-east-2:111111111111:repository/sam-app-prod")
        );
    });
}

#[test]
fn conditions() {
    dev(|r| {
        let truth: Vec<_> = ["IsProd", "IsDev", "HasImages", "ProdImages", "DevOrImages"]
            .into_iter()
            .map(|c| r.condition(c).expect("evaluates"))
            .collect();
        assert_eq!(truth, [false, true, false, false, true]);
        assert_eq!(
            r.resolve(&Value::equals(true, "true")).expect("resolves"),
            json!(true),
            "scalars compare as strings"
        );
        assert_eq!(
            r.resolve(&Value::condition("IsDev")).expect("resolves"),
            json!(true)
        );
    });
}

#[test]
fn sub_variables_escapes_and_attributes() {
    dev(|r| {
        let v = Value::sub("${!Literal} ${Stage} ${AWS::Region} ${DeployRole.Arn}");
        assert_eq!(
            r.resolve(&v).expect("resolves"),
            json!("${Literal} dev us-east-2 arn:aws:iam::111111111111:role/sam-app-dev-pipeline-deploy")
        );
        let v = Value::sub_with(
            "${Stage}:${Url}",
            [
                ("Stage", Value::from("bound")),
                (
                    "Url",
                    Value::select(
                        1,
                        Value::split("//", "https://token.actions.githubusercontent.com"),
                    ),
                ),
            ],
        );
        assert_eq!(
            r.resolve(&v).expect("resolves"),
            json!("bound:token.actions.githubusercontent.com")
        );
    });
}

#[test]
fn find_in_map_returns_strings_and_lists() {
    dev(|r| {
        let subjects = Value::find_in_map("Stages", Value::ref_to("Stage"), "Subjects");
        assert_eq!(
            r.resolve(&subjects).expect("resolves"),
            json!([
                "repo:o/r:ref:refs/heads/main",
                "repo:o/r:ref:refs/heads/feature*"
            ])
        );
        assert_eq!(
            r.resolve(&Value::select(1, subjects)).expect("resolves"),
            json!("repo:o/r:ref:refs/heads/feature*")
        );
        let name = Value::join(
            "-",
            [
                Value::find_in_map("Stages", Value::ref_to("Stage"), "Name"),
                "x".into(),
            ],
        );
        assert_eq!(r.resolve(&name).expect("resolves"), json!("dev-x"));
    });
}

#[test]
fn physical_names_and_arns() {
    with(&[("Stage", "prod"), ("ImageRepository", "true")], |r| {
        let cases = [
            (
                Value::ref_to("GitHubOidc"),
                "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
            ),
            (Value::ref_to("DeployRole"), "sam-app-dev-pipeline-deploy"),
            (
                Value::get_att("DeployRole", "Arn"),
                "arn:aws:iam::111111111111:role/sam-app-dev-pipeline-deploy",
            ),
            (
                Value::get_att("DeployRole", "RoleId"),
                "{GetAtt:DeployRole.RoleId}",
            ),
            (Value::ref_to("Artifacts"), "sam-app-prod-111111111111"),
            (
                Value::get_att("Artifacts", "Arn"),
                "arn:aws:s3:::sam-app-prod-111111111111",
            ),
            (
                Value::get_att("Artifacts", "RegionalDomainName"),
                "sam-app-prod-111111111111.s3.us-east-2.amazonaws.com",
            ),
            (Value::ref_to("Logs"), "{Ref:Logs}"),
            (Value::get_att("Logs", "Arn"), "{GetAtt:Logs.Arn}"),
            (
                Value::get_att("Images", "RepositoryUri"),
                "111111111111.dkr.ecr.us-east-2.amazonaws.com/sam-app-prod",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                r.resolve(&value).expect("resolves"),
                json!(expected),
                "{value:?}"
            );
        }
    });
}

#[test]
fn resources_properties_and_outputs() {
    dev(|r| {
        assert!(r.resource_enabled("Artifacts").expect("known"));
        assert!(!r.resource_enabled("Images").expect("known"));
        assert_eq!(r.output("ImageUri").expect("resolves"), None);
        let props = r.resource_properties("DeployRole").expect("resolves");
        assert_eq!(
            props["Policies"][0]["PolicyDocument"]["Statement"],
            json!([{
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::sam-app-dev-111111111111/*"
            }]),
            "the image statement is dropped when `HasImages` is false"
        );
        assert_eq!(
            props["AssumeRolePolicyDocument"]["Version"],
            json!("2012-10-17")
        );
    });
    with(&[("Stage", "dev"), ("ImageRepository", "true")], |r| {
        assert_eq!(
            r.output("ImageUri").expect("resolves"),
            Some(json!(
                "111111111111.dkr.ecr.us-east-2.amazonaws.com/sam-app-dev"
            ))
        );
        let props = r.resource_properties("DeployRole").expect("resolves");
        assert_eq!(
            props["Policies"][0]["PolicyDocument"]["Statement"][1],
            json!({
                "Effect": "Allow",
                "Action": "ecr:PutImage",
                "Resource": "arn:aws:ecr:us-east-2:111111111111:repository/sam-app-dev"
            })
        );
    });
}

#[test]
fn policy_resolves_to_concrete_statements() {
    dev(|r| {
        let statements = r.policy(&trust()).expect("resolves");
        assert_eq!(
            statements,
            [ResolvedStatement {
                sid: None,
                effect: Effect::Allow,
                principal: Some(ResolvedPrincipal::Federated(vec![
                    "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
                        .to_owned()
                ])),
                action: vec!["sts:AssumeRoleWithWebIdentity".to_owned()],
                not_action: Vec::new(),
                resource: vec![],
                condition: IndexMap::from([
                    (
                        ConditionOperator::StringEquals,
                        IndexMap::from([(AUD.to_owned(), vec!["sts.amazonaws.com".to_owned()])]),
                    ),
                    (
                        ConditionOperator::StringLike,
                        IndexMap::from([(
                            SUB.to_owned(),
                            vec![
                                "repo:o/r:ref:refs/heads/main".to_owned(),
                                "repo:o/r:ref:refs/heads/feature*".to_owned()
                            ]
                        )]),
                    ),
                ]),
            }]
        );
        assert_eq!(r.policy(&permissions()).expect("resolves").len(), 1);
        let tls = PolicyDocument::new().statement(
            Statement::deny()
                .principal(Principal::everyone())
                .action("s3:*")
                .resources([
                    Value::get_att("Artifacts", "Arn"),
                    Value::sub("${Artifacts.Arn}/*"),
                ])
                .condition(ConditionOperator::Bool, "aws:SecureTransport", false)
                .condition(
                    ConditionOperator::StringEquals,
                    "dropped",
                    Value::no_value(),
                ),
        );
        let s = &r.policy(&tls).expect("resolves")[0];
        assert_eq!(s.principal, Some(ResolvedPrincipal::Everyone));
        assert_eq!(
            s.resource,
            [
                "arn:aws:s3:::sam-app-dev-111111111111",
                "arn:aws:s3:::sam-app-dev-111111111111/*"
            ]
        );
        assert_eq!(
            s.condition,
            IndexMap::from([(
                ConditionOperator::Bool,
                IndexMap::from([("aws:SecureTransport".to_owned(), vec!["false".to_owned()])])
            )])
        );
    });
    with(&[("Stage", "dev"), ("ImageRepository", "true")], |r| {
        assert_eq!(r.policy(&permissions()).expect("resolves").len(), 2);
    });
}

#[test]
fn errors_name_what_went_wrong() {
    dev(|r| {
        let cases = [
            (Value::ref_to("Ghost"), "`Ghost` is not a parameter, resource or pseudo parameter"),
            (Value::get_att("Ghost", "Arn"), "`Ghost` is not a resource of the template"),
            (
                Value::get_att("Artifacts", "Nope"),
                "`AWS::S3::Bucket` resource `Artifacts` has no attribute `Nope`",
            ),
            (
                Value::get_att("Images", "Arn"),
                "resource `Images` is referenced, but its condition `HasImages` is false for this deployment",
            ),
            (Value::if_("Ghost", "a", "b"), "condition `Ghost` is not declared in `Conditions`"),
            (
                Value::find_in_map("Ghost", "dev", "Name"),
                "mapping `Ghost` is not declared in `Mappings`",
            ),
            (
                Value::find_in_map("Stages", Value::ref_to("Stage"), "Ghost"),
                "mapping `Stages` has no entry `dev.Ghost`",
            ),
            (
                Value::select(5, Value::List(vec!["a".into()])),
                "`Fn::Select` index 5 is out of range for a list of 1",
            ),
            (
                Value::join(",", [Value::find_in_map("Stages", "dev", "Subjects")]),
                "an item of `Fn::Join` must be a string, found a list",
            ),
            (
                Value::sub("${Subnets}"),
                "`Fn::Sub` variable `${Subnets}` must be a string, found a list",
            ),
            (
                Value::sub("a ${Stage"),
                "`Fn::Sub` template `a ${Stage` is malformed: `${` at byte 2 is never closed",
            ),
            (Value::get_azs(""), "`Fn::GetAZs` cannot be evaluated without calling AWS"),
            (
                Value::base64("x"),
                "`Fn::Base64` cannot be evaluated without calling AWS",
            ),
            (
                Value::not(Value::ref_to("Stage")),
                "a condition must be a boolean, found a string",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(err(r, value), expected);
        }
        assert_eq!(
            r.resource_enabled("Ghost")
                .expect_err("unknown")
                .to_string(),
            "`Ghost` is not a resource of the template"
        );
        assert_eq!(
            r.output("Ghost").expect_err("unknown").to_string(),
            "`Ghost` is not an output of the template"
        );
        assert_eq!(
            r.resource_properties("Ghost")
                .expect_err("unknown")
                .to_string(),
            "`Ghost` is not a resource of the template"
        );
    });
}

#[test]
fn loops_are_reported_instead_of_overflowing_the_stack() {
    let t = template()
        .condition("A", Value::and([Value::condition("B"), true.into()]))
        .condition("B", Value::not(Value::condition("A")))
        .resource(
            "Loop",
            Resource::new(
                iam::Role::new(PolicyDocument::new()).role_name(Value::sub("${Loop.Arn}")),
            ),
        );
    let r = Resolver::new(&t, params(&[("Stage", "dev")]), pseudo()).expect("valid parameters");
    assert_eq!(
        r.condition("A").expect_err("loops").to_string(),
        "evaluation loops: condition `A` → condition `B` → condition `A`"
    );
    assert_eq!(
        err(&r, Value::ref_to("Loop")),
        "evaluation loops: the name of resource `Loop` → the name of resource `Loop`"
    );
}
