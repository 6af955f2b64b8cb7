#![allow(clippy::unwrap_used)]

use indexmap::IndexMap;
use proptest::prelude::*;
use serde::Serialize;
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};

use super::*;

/// Parses YAML test input (written in whatever style is easiest to read).
fn yaml(src: &str) -> Value {
    serde_yaml::from_str(src).unwrap()
}

fn emit(v: &Value) -> String {
    to_string(v, &Style::default())
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn tagged(tag: &str, value: Value) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(tag),
        value,
    }))
}

/// Writes `v` as a block value and checks that it reads back.
fn scalar_out(v: Value) -> String {
    let out = emit(&v);
    assert_eq!(serde_yaml::from_str::<Value>(&out).unwrap(), v, "{out}");
    out.strip_suffix('\n').unwrap().to_owned()
}

#[test]
fn plain_strings_stay_plain() {
    for text in [
        "sam-app-dev",
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "token.actions.githubusercontent.com:sub",
        "ubuntu-latest",
        "-x",
        "--no-verify",
        "it's",
        "a  b",
        "v1.2",
        "1st",
        "日本語",
        "sts:AssumeRoleWithWebIdentity",
        "${AWS::StackName}-role",
        "${{ github.ref }}",
        "https://x?y=1",
        "a,b",
    ] {
        assert_eq!(scalar_out(s(text)), text);
    }
}

#[test]
fn yaml_1_1_traps_are_quoted() {
    for text in [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "Y",
        "NO",
        "On",
        "2012-10-17",
        "0755",
        "1:20",
        "1_000",
        ".5",
        "~",
        "null",
        "",
        "=",
        "<<",
        "0x1F",
        "0o17",
        "+1",
        "1e3",
        ".inf",
        "-.Inf",
        ".nan",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "3.11",
        "0b1010",
        "-1",
        "._",
    ] {
        assert_eq!(scalar_out(s(text)), format!("'{text}'"), "{text:?}");
    }
}

#[test]
fn syntax_characters_are_quoted() {
    for text in [
        "a: b", "a #b", "a:", "-", "- a", "---", "...x", "#x", "&a", "*a", "!a", "|", ">", "%x",
        "@x", "`x", "?x", ":x", "[a]", "{a}", "]", ",", " a", "a ", "\"x",
    ] {
        let quoted = format!("'{}'", text.replace('\'', "''"));
        assert_eq!(scalar_out(s(text)), quoted, "{text:?}");
    }
    assert_eq!(scalar_out(s("'a' b")), "'''a'' b'");
}

#[test]
fn flow_items_quote_flow_indicators() {
    let v = tagged(
        "Join",
        yaml("['', [a, 'a,b', '${AWS::Region}', 'x?y', '[', 'a]', 'p:q']]"),
    );
    let out = emit(&v);
    assert_eq!(
        out,
        "!Join ['', [a, 'a,b', '${AWS::Region}', 'x?y', '[', 'a]', p:q]]\n"
    );
    assert_eq!(yaml(&out), v);
}

#[test]
fn escapes_use_double_quotes() {
    assert_eq!(scalar_out(s("a\tb")), r#""a\tb""#);
    assert_eq!(
        scalar_out(s("x\u{7}\u{85}\u{2028}\u{feff}")),
        r#""x\u0007\u0085\u2028\uFEFF""#
    );
    assert_eq!(scalar_out(s("\"\\\r")), r#""\"\\\r""#);
}

#[test]
fn multi_line_strings() {
    assert_eq!(scalar_out(s("a\n  b\n")), "|\n  a\n    b");
    assert_eq!(scalar_out(s("a\n\nb")), "|-\n  a\n\n  b");
    assert_eq!(scalar_out(s("a\n\n")), "\"a\\n\\n\""); // `|+` may not end a document
    assert_eq!(scalar_out(s("\na")), "|-\n\n  a");
    assert_eq!(scalar_out(s(" a\nb")), r#"" a\nb""#);
    assert_eq!(scalar_out(s("a \nb")), r#""a \nb""#);
    assert_eq!(scalar_out(s("a\tx\nb")), r#""a\tx\nb""#);
    assert_eq!(scalar_out(s("\n")), r#""\n""#);
    assert_eq!(scalar_out(s("# x: y\n- z\n")), "|\n  # x: y\n  - z");
}

#[test]
fn keep_block_suppresses_blank_separator() {
    let mut m = Mapping::new();
    m.insert(s("a"), s("x\n\n"));
    m.insert(s("b"), s("y\n\n\n"));
    m.insert(s("c"), Value::Bool(true));
    let out = emit(&Value::Mapping(m.clone()));
    assert_eq!(out, "a: |+\n  x\n\nb: |+\n  y\n\n\nc: true\n");
    assert_eq!(yaml(&out), Value::Mapping(m));
}

#[test]
fn other_scalars_and_empty_collections() {
    let v = yaml("a: 3600\nb: -7\nc: true\nd: null\ne: {}\nf: []\ng: [[], {}]");
    assert_eq!(
        emit(&v),
        "a: 3600\n\nb: -7\n\nc: true\n\nd: null\n\ne: {}\n\nf: []\n\ng:\n  - []\n  - {}\n"
    );
    assert_eq!(emit(&Value::Null), "null\n");
    assert_eq!(emit(&Value::Mapping(Mapping::new())), "{}\n");
    assert_eq!(emit(&Value::Sequence(vec![])), "[]\n");
}

#[test]
fn nested_collections() {
    let v = yaml("- - a\n  - b\n- c: [d, {e: f}]\n  g: h\n- []");
    assert_eq!(
        emit(&v),
        "- - a\n  - b\n- c:\n    - d\n    - e: f\n  g: h\n- []\n"
    );
}

#[test]
fn keys() {
    let v =
        yaml("on: 1\n'no': 2\n'a: b': 3\n1: 4\ntrue: 5\nnull: 6\n!T k: 7\n? [x]\n: 8\n? {}\n: 9");
    let out = to_string(
        &v,
        &Style {
            flow_width: 100,
            ..Style::default()
        },
    );
    assert_eq!(
        out,
        "on: 1\n\n'no': 2\n\n'a: b': 3\n\n1: 4\n\ntrue: 5\n\nnull: 6\n\n!T k: 7\n\n? - x\n: 8\n\n? {}\n: 9\n"
    );
    assert_eq!(yaml(&out), v);
    // Tagged and multi-line keys never become blocks; long keys use the explicit form.
    let long = "k".repeat(200);
    let mut m = Mapping::new();
    m.insert(s("a\nb"), s("x"));
    m.insert(s(&long), yaml("{v: z}"));
    let out = emit(&Value::Mapping(m.clone()));
    assert_eq!(out, format!("\"a\\nb\": x\n\n? {long}\n:\n  v: z\n"));
    assert_eq!(yaml(&out), Value::Mapping(m));
}

#[test]
fn tags_in_flow_and_block() {
    let v = yaml(concat!(
        "a: !Ref Stage\n",
        "b: !FindInMap [Stages, !Ref Stage, Account]\n",
        "c: !Join ['', [a, !Ref B]]\n",
        "d: !Equals [!FindInMap [Stages, !Ref Stage, CreateOidcProvider], 'true']\n",
        "e: !If [Cond, {Key: v}, !Ref 'AWS::NoValue']\n",
        "f: !Sub \"line ${A}\\nline 2\\n\"\n",
        "g: !Tag {k: v}\n",
        "h: [!GetAtt Role.Arn, !Tag [], !Tag {}, !Tag '', !Tag null]\n",
    ));
    let out = emit(&v);
    assert_eq!(
        out,
        concat!(
            "a: !Ref Stage\n\n",
            "b: !FindInMap [Stages, !Ref Stage, Account]\n\n",
            "c: !Join ['', [a, !Ref B]]\n\n",
            "d: !Equals [!FindInMap [Stages, !Ref Stage, CreateOidcProvider], 'true']\n\n",
            "e: !If\n  - Cond\n  - Key: v\n  - !Ref AWS::NoValue\n\n",
            "f: !Sub |\n  line ${A}\n  line 2\n\n",
            "g: !Tag\n  k: v\n\n",
            "h:\n  - !GetAtt Role.Arn\n  - !Tag []\n  - !Tag {}\n  - !Tag ''\n  - !Tag null\n",
        )
    );
    assert_eq!(yaml(&out), v);
}

#[test]
fn flow_width_counts_the_whole_line() {
    let v = yaml("Key: !Join ['-', [aaaaaaaaaa, !Ref B]]");
    let line = "Key: !Join ['-', [aaaaaaaaaa, !Ref B]]";
    let narrow = |w| {
        to_string(
            &v,
            &Style {
                flow_width: w,
                ..Style::default()
            },
        )
    };
    assert_eq!(narrow(line.len()), format!("{line}\n"));
    assert_eq!(
        narrow(line.len() - 1),
        "Key: !Join\n  - '-'\n  - - aaaaaaaaaa\n    - !Ref B\n"
    );
    // Inner tagged sequences get their own chance to fit.
    let v = yaml("- !If [C, !Join ['', [x, z]], !Ref Z]");
    let out = to_string(
        &v,
        &Style {
            flow_width: 22,
            ..Style::default()
        },
    );
    assert_eq!(out, "- !If\n  - C\n  - !Join ['', [x, z]]\n  - !Ref Z\n");
    assert_eq!(yaml(&out), v);
}

#[test]
fn tag_names_print_one_bang_and_are_encoded() {
    for (tag, text) in [
        ("Ref", "!Ref"),
        ("!Ref", "!Ref"),
        ("a b", "!a%20b"),
        ("é", "!%C3%A9"),
    ] {
        let v = tagged(tag, s("x"));
        let out = emit(&v);
        assert_eq!(out, format!("{text} x\n"));
        assert_eq!(yaml(&out), v);
    }
    // A tag on a tag has no YAML form; the output must fail loudly, not read back differently.
    let nested = tagged("Base64", tagged("Sub", s("x")));
    assert_eq!(emit(&nested), "!Base64 !Sub x\n");
    assert!(serde_yaml::from_str::<Value>(&emit(&nested)).is_err());
}

#[derive(Serialize)]
enum Intrinsic {
    Ref(String),
    GetAtt(String),
    Sub(String),
    FindInMap(String, Box<Cfn>, Box<Cfn>),
    If(String, Box<Cfn>, Box<Cfn>),
    Equals(Box<Cfn>, Box<Cfn>),
}

#[derive(Serialize)]
#[serde(untagged)]
enum Cfn {
    Str(String),
    Fn(Intrinsic),
    Map(IndexMap<String, Cfn>),
}

fn st(text: &str) -> Box<Cfn> {
    Box::new(Cfn::Str(text.to_owned()))
}

fn reference(name: &str) -> Box<Cfn> {
    Box::new(Cfn::Fn(Intrinsic::Ref(name.to_owned())))
}

#[test]
fn cloudformation_document() {
    let doc = serde_yaml::to_value(IndexMap::from([
        ("AWSTemplateFormatVersion", yaml("'2010-09-09'")),
        ("Description", s("Pipeline resources for sam-app")),
        (
            "Mappings",
            yaml("Stages: {dev: {Account: '111111111111', CreateOidcProvider: 'true'}}"),
        ),
        ("Conditions", {
            let equals = Intrinsic::Equals(
                Box::new(Cfn::Fn(Intrinsic::FindInMap(
                    "Stages".into(),
                    reference("Stage"),
                    st("CreateOidcProvider"),
                ))),
                st("true"),
            );
            serde_yaml::to_value(IndexMap::from([("CreateOidc", equals)])).unwrap()
        }),
        ("Resources", {
            let policy = yaml(concat!(
                "Version: '2012-10-17'\n",
                "Statement:\n",
                "  - Effect: Allow\n",
                "    Action: sts:AssumeRoleWithWebIdentity\n",
                "    Condition:\n",
                "      StringLike:\n",
                "        token.actions.githubusercontent.com:sub: repo:o/r:ref:refs/heads/main\n",
            ));
            let role = IndexMap::from([
                ("Type", Cfn::Str("AWS::IAM::Role".into())),
                (
                    "Properties",
                    Cfn::Map(IndexMap::from([
                        (
                            "RoleName".to_owned(),
                            Cfn::Fn(Intrinsic::Sub("${AWS::StackName}-role".into())),
                        ),
                        (
                            "Account".to_owned(),
                            Cfn::Fn(Intrinsic::FindInMap(
                                "Stages".into(),
                                reference("Stage"),
                                st("Account"),
                            )),
                        ),
                        (
                            "Path".to_owned(),
                            Cfn::Fn(Intrinsic::If(
                                "CreateOidc".into(),
                                Box::new(Cfn::Map(IndexMap::from([("Key".into(), *st("v"))]))),
                                reference("AWS::NoValue"),
                            )),
                        ),
                    ])),
                ),
            ]);
            let mut resources = serde_yaml::to_value(IndexMap::from([("Role", role)])).unwrap();
            resources["Role"]["Properties"]["AssumeRolePolicyDocument"] = policy;
            resources["Bucket"] = yaml("Type: AWS::S3::Bucket\nDeletionPolicy: Retain");
            resources
        }),
        (
            "Outputs",
            serde_yaml::to_value(IndexMap::from([(
                "RoleArn",
                IndexMap::from([("Value", Intrinsic::GetAtt("Role.Arn".into()))]),
            )]))
            .unwrap(),
        ),
    ]))
    .unwrap();
    let style = Style {
        spaced_sections: vec!["Resources".into(), "Outputs".into()],
        ..Style::default()
    };
    let out = to_string(&doc, &style);
    assert_eq!(
        out,
        r#"AWSTemplateFormatVersion: '2010-09-09'

Description: Pipeline resources for sam-app

Mappings:
  Stages:
    dev:
      Account: '111111111111'
      CreateOidcProvider: 'true'

Conditions:
  CreateOidc: !Equals [!FindInMap [Stages, !Ref Stage, CreateOidcProvider], 'true']

Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub ${AWS::StackName}-role
      Account: !FindInMap [Stages, !Ref Stage, Account]
      Path: !If
        - CreateOidc
        - Key: v
        - !Ref AWS::NoValue
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringLike:
                token.actions.githubusercontent.com:sub: repo:o/r:ref:refs/heads/main

  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain

Outputs:
  RoleArn:
    Value: !GetAtt Role.Arn
"#
    );
    assert_eq!(yaml(&out), doc);
}

#[test]
fn github_workflow_document() {
    let doc = yaml(concat!(
        "name: Pipeline\n",
        "on: {push: {branches: [main]}, workflow_dispatch: {}}\n",
        "permissions: {id-token: write, contents: read}\n",
        "jobs:\n",
        "  build:\n",
        "    runs-on: ubuntu-latest\n",
        "    steps:\n",
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n",
        "      - name: Build\n",
        "        run: \"sam build\\nsam package --output-template-file packaged.yaml\\n\"\n",
        "  deploy-dev:\n",
        "    needs: [build]\n",
        "    if: ${{ github.ref == 'refs/heads/main' }}\n",
        "    env: {STAGE: dev, DEBUG: 'no'}\n",
        "    steps:\n",
        "      - run: sam deploy --no-fail-on-empty-changeset\n",
    ));
    let style = Style {
        spaced_sections: vec!["jobs".into()],
        ..Style::default()
    };
    let out = to_string(&doc, &style);
    assert_eq!(
        out,
        r#"name: Pipeline

on:
  push:
    branches:
      - main
  workflow_dispatch: {}

permissions:
  id-token: write
  contents: read

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
      - name: Build
        run: |
          sam build
          sam package --output-template-file packaged.yaml

  deploy-dev:
    needs:
      - build
    if: ${{ github.ref == 'refs/heads/main' }}
    env:
      STAGE: dev
      DEBUG: 'no'
    steps:
      - run: sam deploy --no-fail-on-empty-changeset
"#
    );
    assert_eq!(yaml(&out), doc);
}

/// Strings that trip YAML readers, for the round-trip generator.
#[rustfmt::skip]
const NASTY: &[&str] = &[
    "", " ", "~", "null", "Null", "NULL", "y", "Y", "yes", "No", "on", "OFF", "true", "False",
    "=", "<<", "0x1F", "0o17", "017", "0755", "1_000", "+1", "-1", ".5", "1e3", "1.", ".inf",
    "-.Inf", ".NaN", "1:20", "190:20:30", "0b1", "._", ".", "+", "2012-10-17",
    "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "-", "- ", "--", "---", "...",
    "?", ":", "a:", "a: b", "a #b", "a:b", "a?b", "#", "'", "\"", "\\", "!Ref", "&a", "*a", "|",
    ">", "<", "%", "@", "`", "[", "]", "{", "}", ",", "${AWS::Region}", "${{ x }}", "\t", "\n",
    "\r\n", "\u{85}", "\u{2028}", "\u{feff}", "\u{0}", "é", "日本", "a\n", "a\n\n", "\na",
    " a\n", "a \n",
];

fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(NASTY).prop_map(str::to_owned),
        "[a-z0-9 .:_-]{0,6}",
        "(?s).{0,4}",
    ];
    prop::collection::vec(piece, 0..4).prop_map(|pieces| pieces.concat())
}

fn key(any_value: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => text().prop_map(Value::String),
        1 => "[a-z]{150,200}".prop_map(Value::String),
        1 => any_value,
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let tag = prop::sample::select(&["Ref", "GetAtt", "If", "!Sub", "a b", "é", "x:y"][..]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
            // Mostly string keys; now and then any value, which takes the `? key` form.
            prop::collection::vec((key(inner.clone()), inner.clone()), 0..5)
                .prop_map(|entries| Value::Mapping(entries.into_iter().collect())),
            (tag, inner).prop_map(|(tag, mut v)| {
                // A tag directly on a tag has no YAML form (see the module docs).
                while let Value::Tagged(t) = v {
                    v = t.value;
                }
                tagged(tag, v)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trips(v in value(), width in prop_oneof![Just(100usize), 0usize..60]) {
        let style = Style { spaced_sections: vec![String::new(), "on".into()], flow_width: width };
        let out = to_string(&v, &style);
        prop_assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{:?}", out);
        let back: Value = serde_yaml::from_str(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
        prop_assert_eq!(back, v, "{}", out);
    }
}

#[test]
#[ignore = "timing check; run with --release -- --ignored --nocapture"]
fn large_document_is_fast() {
    // 4400 roles of realistic shape make a 2 MB template; the target is a few milliseconds.
    let stage = yaml(concat!(
        "Type: AWS::IAM::Role\n",
        "Properties:\n",
        "  RoleName: !Sub '${AWS::StackName}-pipeline-execution-role'\n",
        "  Account: !FindInMap [Stages, !Ref Stage, Account]\n",
        "  Policies:\n",
        "    - PolicyName: deploy\n",
        "      PolicyDocument:\n",
        "        Version: '2012-10-17'\n",
        "        Statement:\n",
        "          - {Effect: Allow, Action: ['s3:GetObject', 's3:PutObject'], Resource: '*'}\n",
    ));
    let resources: Mapping = (0..4400)
        .map(|i| (s(&format!("Stage{i}Role")), stage.clone()))
        .collect();
    let mut doc = Mapping::new();
    doc.insert(s("Resources"), Value::Mapping(resources));
    let doc = Value::Mapping(doc);
    let style = Style {
        spaced_sections: vec!["Resources".into()],
        ..Style::default()
    };
    let started = std::time::Instant::now();
    let mut out = String::new();
    for _ in 0..50 {
        out = to_string(&doc, &style);
    }
    let took = started.elapsed() / 50;
    assert!(out.len() > 2_000_000);
    eprintln!("{} bytes in {took:?}", out.len());
}
