//! Security scanners on the generated files of every fixture (`fixtures/*.yaml` and the bundled
//! apps' `fixtures/apps/*/sampipe.yaml`):
//!
//! - checkov (`--framework cloudformation`, offline) on `template.yaml` as written;
//! - cfn-guard v3 on the template resolved for each stage (intrinsics evaluated by
//!   `sampipe::cfn::Resolver`: the rules match literal ARNs and values, and read a `!Sub` as a
//!   string they do not recognise), with two rule sets, judged apart: the AWS Control Tower
//!   proactive controls (tool `cfn-guard`, installed by `.ci/install-tools`) and the AWS Guard
//!   Rules Registry (tool `cfn-guard-registry`, vendored in `tests/scanners/guard-registry`);
//! - parliament (core auditors only) on every IAM identity policy of every stage, resolved
//!   the same way (inline `Policies` of roles, users and groups; managed and plain policies);
//! - shellcheck on every script the CI file runs: each GitHub `run:` step; each GitLab job's
//!   `before_script` + `script` (one shell) and its `after_script`; each Bitbucket step's
//!   `script` (one shell) and its `after-script`. All three CI systems run them with bash.
//!
//! Every finding prints as `fixture / tool / rule / resource / message`. A finding fails the
//! test unless an entry of `tests/scanners/allow.yaml` explains it (`tool`, `rule`, `resource`
//! as a glob, and a `reason`), and an entry that explains no finding of any fixture fails too,
//! so the list cannot rot. Each tool also runs on a known-bad input in the same invocation,
//! which must produce findings: a scanner that silently checks nothing proves nothing.
//!
//! Run alone with `cargo test --test scanners` (add `-- --nocapture` for the full list); the
//! tools come from `.ci/install-tools` (see `common::tool`). `SAMPIPE_SCANNERS_OUT=<dir>`
//! keeps what each tool scanned (`<dir>/<tool>/`: templates, resolved stages, policies,
//! scripts) to rerun a tool by hand.

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use sampipe::cfn::{PseudoValues, Resolver};
use sampipe::pipeline::Synthesis;

use common::{fixture_name, fixtures, printed, repo_root, run, synth_fixture, tool};

/// The tools an allow-list entry may name.
const TOOLS: [&str; 5] = [
    "checkov",
    "cfn-guard",
    "cfn-guard-registry",
    "parliament",
    "shellcheck",
];

/// The name of the known-bad input each tool also scans.
const CANARY: &str = "canary";

// ---------------------------------------------------------------------------------------------
// Fixtures, synthesized once for all the tests of this binary.

/// One fixture's generated files, and its template resolved for each stage.
struct Fixture {
    /// `two-stages`, or `apps/python-api` for a bundled app.
    name: String,
    /// `name` as one path component.
    slug: String,
    /// The generated files: (file name, contents).
    files: Vec<(&'static str, String)>,
    stages: Vec<Stage>,
}

struct Stage {
    name: String,
    /// A template with only literal values: the resources that exist in this stage, each with
    /// its properties resolved.
    template: Json,
}

fn scanned() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut configs: Vec<(String, PathBuf)> = fixtures()
            .into_iter()
            .map(|path| (fixture_name(&path), path))
            .collect();
        let mut apps: Vec<PathBuf> = std::fs::read_dir(repo_root().join("fixtures/apps"))
            .expect("fixtures/apps is readable")
            .map(|entry| entry.expect("app entry").path().join("sampipe.yaml"))
            .filter(|config| config.is_file())
            .collect();
        apps.sort();
        assert!(!apps.is_empty(), "no bundled app in fixtures/apps");
        for config in apps {
            let app = config
                .parent()
                .and_then(Path::file_name)
                .expect("app directory")
                .to_string_lossy()
                .into_owned();
            configs.push((format!("apps/{app}"), config));
        }
        configs
            .into_iter()
            .map(|(name, config)| {
                let synthesis = synth_fixture(&config);
                Fixture {
                    slug: name.replace('/', "-"),
                    files: synthesis
                        .files
                        .iter()
                        .map(|f| (f.file_name, f.contents.clone()))
                        .collect(),
                    stages: resolve_stages(&name, &synthesis),
                    name,
                }
            })
            .collect()
    })
}

impl Fixture {
    fn file(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, contents)| contents.as_str())
    }
}

/// The template as CloudFormation evaluates it for each stage: parameters, pseudo parameters,
/// conditions, mappings and `!If` resolved, `AWS::NoValue` removed, resources whose condition
/// is false left out. What only AWS knows (generated names) stays a symbolic string.
fn resolve_stages(fixture: &str, synthesis: &Synthesis) -> Vec<Stage> {
    let template = &synthesis.template;
    let long = template.to_json().expect("template JSON");
    synthesis
        .pipeline
        .stages
        .iter()
        .map(|plan| {
            let parameters = IndexMap::from([(
                sampipe::pipeline::template::ids::STAGE.to_owned(),
                plan.name.clone(),
            )]);
            let pseudo = PseudoValues {
                account_id: plan.account.clone(),
                region: plan.region.clone(),
                partition: plan.partition.to_owned(),
                stack_name: plan.resources_stack_name.clone(),
            };
            let resolver = Resolver::new(template, parameters, pseudo)
                .unwrap_or_else(|e| panic!("{fixture}/{}: {e}", plan.name));
            let mut resources = serde_json::Map::new();
            for id in template.resources().keys() {
                let at = || format!("{fixture}/{}: {id}", plan.name);
                if !resolver
                    .resource_enabled(id)
                    .unwrap_or_else(|e| panic!("{}: {e}", at()))
                {
                    continue;
                }
                let mut resource = long["Resources"][id].clone();
                let entry = resource.as_object_mut().expect("a resource is a map");
                entry.remove("Condition");
                entry.insert(
                    "Properties".to_owned(),
                    resolver
                        .resource_properties(id)
                        .unwrap_or_else(|e| panic!("{}: {e}", at())),
                );
                resources.insert(id.clone(), resource);
            }
            Stage {
                name: plan.name.clone(),
                template: json!({
                    "AWSTemplateFormatVersion": "2010-09-09",
                    "Resources": resources,
                }),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Findings and the allow list.

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    fixture: String,
    tool: &'static str,
    rule: String,
    /// A logical id (`CloudFormationExecutionRole`), a policy (`Role/PolicyName`, with the
    /// element a parliament finding is about: `Role/PolicyName[arn:...]`) or a script
    /// (`bitbucket-pipelines.yml/<step name>/script`).
    resource: String,
    message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {} / {} / {} / {}",
            self.fixture, self.tool, self.rule, self.resource, self.message
        )
    }
}

/// Findings of the per-stage scans, each once per fixture with the stages it appears in.
#[derive(Default)]
struct PerStage(BTreeMap<(String, String, String, String), BTreeSet<String>>);

impl PerStage {
    fn add(&mut self, fixture: &str, stage: &str, rule: &str, resource: &str, message: &str) {
        self.0
            .entry((
                fixture.to_owned(),
                rule.to_owned(),
                resource.to_owned(),
                message.to_owned(),
            ))
            .or_default()
            .insert(stage.to_owned());
    }

    fn findings(self, tool: &'static str) -> Vec<Finding> {
        self.0
            .into_iter()
            .map(|((fixture, rule, resource, message), stages)| Finding {
                fixture,
                tool,
                rule,
                resource,
                message: format!(
                    "{message} (stages: {})",
                    stages.into_iter().collect::<Vec<_>>().join(", ")
                ),
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allowed {
    tool: String,
    rule: String,
    /// A glob: `*` matches any run of characters, `?` any one.
    resource: String,
    reason: String,
}

impl Allowed {
    fn explains(&self, finding: &Finding) -> bool {
        self.tool == finding.tool
            && self.rule == finding.rule
            && glob(&self.resource, &finding.resource)
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {} / {}", self.tool, self.rule, self.resource)
    }
}

fn allow_list() -> Vec<Allowed> {
    let path = repo_root().join("tests/scanners/allow.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str::<Option<Vec<Allowed>>>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_default()
}

/// `*` matches any run of characters (`/` included), `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Prints every finding of `tool` (marking the explained ones), then fails on any finding the
/// allow list does not explain and on any entry of `tool` that explains nothing.
fn judge(tool: &'static str, mut findings: Vec<Finding>) {
    findings.sort();
    findings.dedup();
    let allowed: Vec<Allowed> = allow_list()
        .into_iter()
        .filter(|a| a.tool == tool)
        .collect();
    let mut used = vec![false; allowed.len()];
    let mut unexplained = Vec::new();
    eprintln!("{tool}: {} findings", findings.len());
    for finding in &findings {
        let mut explained = false;
        for (entry, used) in allowed.iter().zip(used.iter_mut()) {
            if entry.explains(finding) {
                *used = true;
                explained = true;
            }
        }
        eprintln!("  {}{finding}", if explained { "(allowed) " } else { "" });
        if !explained {
            unexplained.push(finding.to_string());
        }
    }
    let stale: Vec<String> = allowed
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(entry, _)| entry.to_string())
        .collect();
    let mut problems = Vec::new();
    if !unexplained.is_empty() {
        problems.push(format!(
            "{} finding(s) not in tests/scanners/allow.yaml (fix the generator, or add an entry \
             with the reason it is safe):\n  {}",
            unexplained.len(),
            unexplained.join("\n  ")
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "allow-list entries that match no finding on any fixture (remove them):\n  {}",
            stale.join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{tool}:\n{}", problems.join("\n"));
}

/// The directory `.ci/install-tools` installs into (`SAMPIPE_TOOLS`, else `.tools/`).
fn tools_dir() -> PathBuf {
    std::env::var_os("SAMPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
}

/// Where a tool's inputs are written: `$SAMPIPE_SCANNERS_OUT/<tool>` (kept, emptied first),
/// else a temporary directory (removed when the guard drops).
fn scratch(tool: &str) -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("SAMPIPE_SCANNERS_OUT") {
        Some(out) => {
            let dir = PathBuf::from(out).join(tool);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("empty SAMPIPE_SCANNERS_OUT");
            }
            std::fs::create_dir_all(&dir).expect("mkdir SAMPIPE_SCANNERS_OUT");
            (None, dir.canonicalize().expect("canonical path"))
        }
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().to_path_buf();
            (Some(dir), path)
        }
    }
}

fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn allow_list_entries_name_a_tool_and_give_a_reason() {
    let entries = allow_list();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in &entries {
        if !TOOLS.contains(&entry.tool.as_str()) {
            problems.push(format!("{entry}: tool is not one of {TOOLS:?}"));
        }
        if entry.rule.trim().is_empty() || entry.resource.trim().is_empty() {
            problems.push(format!("{entry}: empty rule or resource"));
        }
        if entry.reason.trim().is_empty() {
            problems.push(format!("{entry}: no reason"));
        }
        if !seen.insert(entry.to_string()) {
            problems.push(format!("{entry}: listed twice"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_allow_list_glob_matches_runs_and_single_characters() {
    assert!(glob(
        "CloudFormationExecutionRole",
        "CloudFormationExecutionRole"
    ));
    assert!(glob("*Bucket", "AccessLogBucket"));
    assert!(glob(
        "*/script",
        "bitbucket-pipelines.yml/Deploy (deploy-dev)/script"
    ));
    assert!(glob("Role/?eploy*", "Role/deploy-any-resource"));
    assert!(glob("*", ""));
    assert!(!glob("*Bucket", "AccessLogBucketPolicy"));
    assert!(!glob("Role", "Role/x"));
}

// ---------------------------------------------------------------------------------------------
// checkov

/// A template checkov must find problems in.
const CHECKOV_CANARY: &str = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Open:\n    Type: AWS::S3::Bucket\n  Admin:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: '*'\n            Resource: '*'\n";

#[test]
fn checkov_reports_nothing_unexplained_on_any_template() {
    let Some(checkov) = tool("checkov") else {
        return;
    };
    let (_keep, dir) = scratch("checkov");
    let mut by_slug = HashMap::new();
    for fixture in scanned() {
        let template = fixture.file("template.yaml").expect("template.yaml");
        write(&dir.join(&fixture.slug).join("template.yaml"), template);
        by_slug.insert(fixture.slug.as_str(), fixture.name.as_str());
    }
    write(&dir.join(CANARY).join("template.yaml"), CHECKOV_CANARY);
    // One run over every template: checkov takes seconds to start.
    let output = run(Command::new(&checkov)
        .current_dir(&dir)
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        .env_remove("BC_API_KEY")
        .args([
            "--directory",
            ".",
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ]));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "checkov failed:\n{}",
        printed(&output)
    );
    let report: Json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("checkov JSON: {e}\n{}", printed(&output)));
    let reports = match report {
        Json::Array(reports) => reports,
        report => vec![report],
    };
    let mut findings = Vec::new();
    let mut scanned_slugs = BTreeSet::new();
    let mut canary = 0;
    for report in &reports {
        assert_eq!(report["check_type"], "cloudformation", "{report}");
        assert_eq!(
            report["summary"]["parsing_errors"],
            0,
            "checkov could not parse a template:\n{}",
            printed(&output)
        );
        for (result, failed) in [("passed_checks", false), ("failed_checks", true)] {
            for check in report["results"][result].as_array().into_iter().flatten() {
                let path = check["file_path"].as_str().expect("file_path");
                let slug = path
                    .trim_start_matches("./")
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .expect("a directory");
                scanned_slugs.insert(slug.to_owned());
                if !failed {
                    continue;
                }
                if slug == CANARY {
                    canary += 1;
                    continue;
                }
                let fixture = by_slug
                    .get(slug)
                    .unwrap_or_else(|| panic!("checkov reported an unknown file {path}"));
                let resource = check["resource"].as_str().expect("resource");
                findings.push(Finding {
                    fixture: (*fixture).to_owned(),
                    tool: "checkov",
                    rule: check["check_id"].as_str().expect("check_id").to_owned(),
                    // `AWS::IAM::Role.CloudFormationExecutionRole` → the logical id.
                    resource: resource.rsplit('.').next().unwrap_or(resource).to_owned(),
                    message: check["check_name"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    assert!(
        canary > 0,
        "checkov found nothing in a known-bad template:\n{}",
        printed(&output)
    );
    for slug in by_slug.keys() {
        assert!(
            scanned_slugs.contains(*slug),
            "checkov checked nothing in {slug}/template.yaml:\n{}",
            printed(&output)
        );
    }
    judge("checkov", findings);
}

// ---------------------------------------------------------------------------------------------
// cfn-guard

/// A resolved template both rule sets must find problems in: a bucket anyone may write to.
const GUARD_CANARY: &str = r#"{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Open": {"Type": "AWS::S3::Bucket", "Properties": {"AccessControl": "PublicReadWrite"}}}}"#;

/// The AWS Control Tower proactive controls, as `.ci/install-tools` installs them.
#[test]
fn cfn_guard_reports_nothing_unexplained_on_any_stage() {
    let rules = tools_dir().join("guard-rules");
    assert!(
        rules.join("VERSION").is_file(),
        "no Guard rules at {}: run `make tools`",
        rules.display()
    );
    guard_scan("cfn-guard", &rules, "s3_bucket_acl_prohibited_check");
}

/// The AWS Guard Rules Registry, vendored in `tests/scanners/guard-registry` (see its README).
#[test]
fn cfn_guard_registry_reports_nothing_unexplained_on_any_stage() {
    let rules = repo_root().join("tests/scanners/guard-registry/rules");
    assert!(
        rules.join("aws/amazon_s3").is_dir(),
        "no registry rules at {}",
        rules.display()
    );
    guard_scan("cfn-guard-registry", &rules, "S3_BUCKET_NO_PUBLIC_RW_ACL");
}

/// Runs cfn-guard with the rules under `rules` on every stage of every fixture and on
/// `GUARD_CANARY` (where `canary_rule` must fail), and judges the findings as `tool`.
fn guard_scan(tool: &'static str, rules: &Path, canary_rule: &str) {
    let Some(guard) = common::tool("cfn-guard") else {
        return;
    };
    let (_keep, dir) = scratch(tool);
    let data = dir.join("data");
    let mut files = HashMap::new();
    for fixture in scanned() {
        for stage in &fixture.stages {
            let path = data.join(format!("{}--{}.json", fixture.slug, stage.name));
            let text = serde_json::to_string_pretty(&stage.template).expect("JSON");
            write(&path, &text);
            files.insert(
                path.display().to_string(),
                (fixture.name.as_str(), stage.name.as_str()),
            );
        }
    }
    let canary = data.join(format!("{CANARY}.json"));
    write(&canary, GUARD_CANARY);
    let output = run(Command::new(&guard)
        .args(["validate", "--rules"])
        .arg(rules)
        .arg("--data")
        .arg(&data)
        .args([
            "--output-format",
            "json",
            "--structured",
            "--show-summary",
            "none",
        ]));
    // 0: every rule passes; 19: some rule fails. Anything else is an error.
    assert!(
        matches!(output.status.code(), Some(0 | 19)),
        "{tool} failed:\n{}",
        printed(&output)
    );
    let reports: Vec<Json> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{tool} JSON: {e}\n{}", printed(&output)));
    let mut per_stage = PerStage::default();
    let mut seen = BTreeSet::new();
    let mut canary_failures = BTreeSet::new();
    for report in &reports {
        let name = report["name"].as_str().expect("name");
        seen.insert(name.to_owned());
        let failures = report["not_compliant"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if name == canary.display().to_string() {
            canary_failures.extend(
                failures
                    .iter()
                    .filter_map(|f| f["Rule"]["name"].as_str())
                    .map(str::to_owned),
            );
            continue;
        }
        let (fixture, stage) = files
            .get(name)
            .unwrap_or_else(|| panic!("{tool} reported an unknown file {name}"));
        for failure in &failures {
            let rule = failure["Rule"]["name"].as_str().unwrap_or("unnamed");
            let mut paths = BTreeSet::new();
            let mut messages = Vec::new();
            guard_details(failure, &mut paths, &mut messages);
            // Control Tower: `[CT.S3.PR.8]: Require that ... [FIX]: ...`; the registry:
            // `Violation: S3 Bucket ... Fix: ...`. Keep what is wrong, not how to fix it. (A
            // few registry rules have no message: their name says it.)
            let message = messages
                .first()
                .map(|m| {
                    let end = [" [FIX]", " Fix:"]
                        .iter()
                        .filter_map(|fix| m.find(fix))
                        .min()
                        .unwrap_or(m.len());
                    m[..end].to_owned()
                })
                .unwrap_or_else(|| "(the rule has no message)".to_owned());
            let resources: BTreeSet<&str> = paths
                .iter()
                .filter_map(|p| p.strip_prefix("/Resources/"))
                .map(|p| p.split('/').next().unwrap_or(p))
                .collect();
            if resources.is_empty() {
                per_stage.add(fixture, stage, rule, "-", &message);
            }
            for resource in resources {
                per_stage.add(fixture, stage, rule, resource, &message);
            }
        }
    }
    assert!(
        canary_failures.contains(canary_rule),
        "{tool}: {canary_rule} did not fail on a known-bad template (failed: {canary_failures:?}):\n{}",
        printed(&output)
    );
    for name in files.keys() {
        assert!(
            seen.contains(name),
            "{tool} did not report on {name}:\n{}",
            printed(&output)
        );
    }
    judge(tool, per_stage.findings(tool));
}

/// The data paths (`/Resources/Id/...`) and the custom messages in a cfn-guard failure.
fn guard_details(value: &Json, paths: &mut BTreeSet<String>, messages: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("path", Json::String(path)) => {
                        paths.insert(path.clone());
                    }
                    ("custom_message", Json::String(message)) if !message.trim().is_empty() => {
                        messages.push(one_line(message));
                    }
                    _ => guard_details(value, paths, messages),
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                guard_details(item, paths, messages);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// parliament

/// An identity policy parliament must find a problem in (`Resource: '*'` for an action that
/// supports resource-level permissions).
const PARLIAMENT_CANARY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;

/// Every identity policy in a resolved template: (`Resource` or `Resource/PolicyName`, document).
fn identity_policies(template: &Json) -> Vec<(String, Json)> {
    let mut policies = Vec::new();
    let resources = template["Resources"].as_object().expect("Resources");
    for (id, resource) in resources {
        let properties = &resource["Properties"];
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
                for policy in properties["Policies"].as_array().into_iter().flatten() {
                    let name = policy["PolicyName"].as_str().unwrap_or("unnamed");
                    policies.push((format!("{id}/{name}"), policy["PolicyDocument"].clone()));
                }
            }
            "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => {
                policies.push((id.clone(), properties["PolicyDocument"].clone()));
            }
            _ => {}
        }
    }
    policies
}

#[test]
fn parliament_reports_nothing_unexplained_on_any_identity_policy() {
    let Some(parliament) = tool("parliament") else {
        return;
    };
    let (_keep, dir) = scratch("parliament");
    let mut files = HashMap::new();
    for fixture in scanned() {
        let mut count = 0;
        for stage in &fixture.stages {
            for (index, (resource, document)) in
                identity_policies(&stage.template).into_iter().enumerate()
            {
                let path = dir
                    .join(&fixture.slug)
                    .join(&stage.name)
                    .join(format!("{index}.json"));
                write(
                    &path,
                    &serde_json::to_string_pretty(&document).expect("JSON"),
                );
                files.insert(
                    path.display().to_string(),
                    (fixture.name.as_str(), stage.name.as_str(), resource),
                );
                count += 1;
            }
        }
        assert!(count > 0, "{}: no IAM identity policy found", fixture.name);
    }
    let canary = dir.join(CANARY).join("policy.json");
    write(&canary, PARLIAMENT_CANARY);
    // One run over every policy file (a run per policy would start Python hundreds of times).
    // Community auditors stay off: their privilege-escalation, credentials-exposure and
    // permissions-management lists fire on any broad policy and are not part of parliament's
    // policy-correctness checks.
    let output = run(Command::new(&parliament)
        .arg("--directory")
        .arg(&dir)
        .args(["--include_policy_extension", ".json", "--json"]));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "parliament failed:\n{}",
        printed(&output)
    );
    let mut per_stage = PerStage::default();
    let mut canary_findings = 0;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.trim().is_empty() {
            continue;
        }
        let issue: Json = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("parliament JSON line {line:?}: {e}"));
        let path = issue["location"]["filepath"].as_str().unwrap_or_default();
        if path == canary.display().to_string() {
            canary_findings += 1;
            continue;
        }
        let (fixture, stage, resource) = files
            .get(path)
            .unwrap_or_else(|| panic!("parliament reported on an unknown file: {line}"));
        let detail = match &issue["detail"] {
            Json::Null => String::new(),
            Json::String(s) if s.is_empty() => String::new(),
            Json::String(s) => format!(": {}", one_line(s)),
            detail => format!(": {}", one_line(&detail.to_string())),
        };
        let message = format!(
            "{} ({}){detail}",
            issue["title"].as_str().unwrap_or_default(),
            issue["severity"].as_str().unwrap_or_default()
        );
        // What in the policy the finding is about, where parliament says (an ARN, a Sid):
        // `Role/PolicyName[arn:aws:...]`, so that an allow-list entry can name it exactly.
        let resource = match &issue["location"]["string"] {
            Json::String(at) => format!("{resource}[{at}]"),
            _ => resource.clone(),
        };
        per_stage.add(
            fixture,
            stage,
            issue["issue"].as_str().expect("issue"),
            &resource,
            &message,
        );
    }
    assert!(
        canary_findings > 0,
        "parliament found nothing in a known-bad policy:\n{}",
        printed(&output)
    );
    judge("parliament", per_stage.findings("parliament"));
}

// ---------------------------------------------------------------------------------------------
// shellcheck

/// A script shellcheck must find a problem in (SC2086, unquoted expansion).
const SHELLCHECK_CANARY: &str = "#!/usr/bin/env bash\necho $1\n";

/// One shell script a CI file runs.
struct Script {
    /// `<CI file>/<job or step>/<section>`.
    resource: String,
    /// `bash` or `sh`: what the CI system runs it with.
    shell: &'static str,
    body: String,
}

/// A YAML scalar or (nested) list of scalars, as CI files write commands.
fn commands(value: &serde_yaml::Value) -> Vec<String> {
    match value {
        serde_yaml::Value::String(s) => vec![s.clone()],
        serde_yaml::Value::Sequence(items) => items.iter().flat_map(commands).collect(),
        // Bitbucket `pipe:` items and the like are not shell.
        _ => Vec::new(),
    }
}

fn key<'v>(value: &'v serde_yaml::Value, name: &str) -> Option<&'v serde_yaml::Value> {
    value.as_mapping().and_then(|m| m.get(name))
}

/// GitHub's `shell:` names: `bash` and `sh` are linted; pwsh, python and the like are not.
fn github_shell(name: &str) -> Option<&'static str> {
    match name.split_whitespace().next().unwrap_or(name) {
        "bash" => Some("bash"),
        "sh" => Some("sh"),
        _ => None,
    }
}

fn github_scripts(file: &str, workflow: &serde_yaml::Value) -> Vec<Script> {
    let shell_of = |v: &serde_yaml::Value| {
        key(v, "defaults")
            .and_then(|d| key(d, "run"))
            .and_then(|r| key(r, "shell"))
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    let workflow_shell = shell_of(workflow).unwrap_or_else(|| "bash".to_owned());
    let mut scripts = Vec::new();
    let jobs = key(workflow, "jobs")
        .and_then(|j| j.as_mapping())
        .expect("a workflow has jobs");
    for (job_id, job) in jobs {
        let job_id = job_id.as_str().expect("job id");
        let job_shell = shell_of(job).unwrap_or_else(|| workflow_shell.clone());
        for (index, step) in key(job, "steps")
            .and_then(|s| s.as_sequence())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(run) = key(step, "run").and_then(|r| r.as_str()) else {
                continue;
            };
            let shell = key(step, "shell")
                .and_then(|s| s.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| job_shell.clone());
            let Some(shell) = github_shell(&shell) else {
                continue;
            };
            let name = key(step, "name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("step {}", index + 1));
            scripts.push(Script {
                resource: format!("{file}/{job_id}/{name}"),
                shell,
                body: github_expressions_as_words(run),
            });
        }
    }
    scripts
}

/// `${{ expr }}` is replaced before the shell sees the script; stand a plain word in for it so
/// that shellcheck lints the shell around it.
fn github_expressions_as_words(run: &str) -> String {
    let mut out = String::with_capacity(run.len());
    let mut rest = run;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str("GITHUB_EXPRESSION");
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// GitLab: each job's `before_script` (its own, else `default:`'s) and `script` run in one
/// shell; `after_script` in another. Jobs in Docker run bash when the image has it (the
/// SAM build images do), and the shell executor runs bash.
fn gitlab_scripts(file: &str, pipeline: &serde_yaml::Value) -> Vec<Script> {
    const NOT_JOBS: [&str; 9] = [
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
    ];
    let default = key(pipeline, "default");
    let inherited = |name: &str| default.and_then(|d| key(d, name)).map(commands);
    let mut scripts = Vec::new();
    for (name, job) in pipeline.as_mapping().expect("a mapping") {
        let name = name.as_str().expect("job name");
        if NOT_JOBS.contains(&name) || name == "after_script" {
            continue;
        }
        let Some(script) = key(job, "script") else {
            continue;
        };
        let mut lines = key(job, "before_script")
            .map(commands)
            .or_else(|| inherited("before_script"))
            .unwrap_or_default();
        lines.extend(commands(script));
        scripts.push(Script {
            resource: format!("{file}/{name}/script"),
            shell: "bash",
            body: lines.join("\n"),
        });
        let after = key(job, "after_script")
            .map(commands)
            .or_else(|| inherited("after_script"))
            .unwrap_or_default();
        if !after.is_empty() {
            scripts.push(Script {
                resource: format!("{file}/{name}/after_script"),
                shell: "bash",
                body: after.join("\n"),
            });
        }
    }
    scripts
}

/// Bitbucket: each step's `script` runs in one bash, line by line; `after-script` in
/// another. A step used by several pipelines (`branches:`, `custom:`) is linted once.
fn bitbucket_scripts(file: &str, pipelines: &serde_yaml::Value) -> Vec<Script> {
    fn steps<'v>(value: &'v serde_yaml::Value, out: &mut Vec<&'v serde_yaml::Value>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (k, v) in map {
                    if k.as_str() == Some("step") {
                        out.push(v);
                    } else {
                        steps(v, out);
                    }
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for item in items {
                    steps(item, out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    steps(
        key(pipelines, "pipelines").expect("a bitbucket-pipelines.yml has pipelines"),
        &mut found,
    );
    let mut scripts: Vec<Script> = Vec::new();
    for (index, step) in found.into_iter().enumerate() {
        let name = key(step, "name")
            .and_then(|n| n.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("step {}", index + 1));
        for section in ["script", "after-script"] {
            let Some(lines) = key(step, section).map(commands) else {
                continue;
            };
            let script = Script {
                resource: format!("{file}/{name}/{section}"),
                shell: "bash",
                body: lines.join("\n"),
            };
            if !scripts
                .iter()
                .any(|s| s.resource == script.resource && s.body == script.body)
            {
                scripts.push(script);
            }
        }
    }
    scripts
}

fn ci_scripts(fixture: &Fixture) -> Vec<Script> {
    let mut scripts = Vec::new();
    for (name, contents) in &fixture.files {
        if *name == "template.yaml" {
            continue;
        }
        let yaml: serde_yaml::Value = serde_yaml::from_str(contents)
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", fixture.name));
        scripts.extend(match *name {
            ".gitlab-ci.yml" => gitlab_scripts(name, &yaml),
            "bitbucket-pipelines.yml" => bitbucket_scripts(name, &yaml),
            _ => github_scripts(name, &yaml),
        });
    }
    scripts
}

#[test]
fn shellcheck_reports_nothing_unexplained_in_any_ci_script() {
    let Some(shellcheck) = tool("shellcheck") else {
        return;
    };
    let (_keep, dir) = scratch("shellcheck");
    // File → (fixture, resource, the file's lines); and the files of each shell.
    let mut files: HashMap<String, (&str, String, Vec<String>)> = HashMap::new();
    let mut by_shell: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    for fixture in scanned() {
        let scripts = ci_scripts(fixture);
        assert!(!scripts.is_empty(), "{}: no CI script found", fixture.name);
        for (index, script) in scripts.into_iter().enumerate() {
            let path = dir
                .join(&fixture.slug)
                .join(format!("{index}.{}", script.shell));
            let text = format!("#!/usr/bin/env {}\n{}\n", script.shell, script.body);
            write(&path, &text);
            files.insert(
                path.display().to_string(),
                (
                    fixture.name.as_str(),
                    script.resource,
                    text.lines().map(str::to_owned).collect(),
                ),
            );
            by_shell.entry(script.shell).or_default().push(path);
        }
    }
    let canary = dir.join(CANARY).join("canary.bash");
    write(&canary, SHELLCHECK_CANARY);
    by_shell.entry("bash").or_default().push(canary.clone());
    let mut findings = Vec::new();
    let mut canary_findings = 0;
    for (shell, paths) in &by_shell {
        let output = run(Command::new(&shellcheck)
            .args(["--norc", "--shell", shell, "--format", "gcc"])
            .args(paths));
        // 0: clean; 1: findings. 2-4: files, syntax or options it could not handle.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "shellcheck failed:\n{}",
            printed(&output)
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            // `file:line:column: level: message [SC1234]`
            let mut parts = line.splitn(4, ':');
            let (Some(file), Some(number), Some(_column), Some(rest)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                panic!("unexpected shellcheck line: {line}");
            };
            if file == canary.display().to_string() {
                canary_findings += 1;
                continue;
            }
            let (message, code) = rest
                .trim()
                .rsplit_once(" [")
                .map(|(m, c)| (m, c.trim_end_matches(']')))
                .unwrap_or_else(|| panic!("no code in shellcheck line: {line}"));
            let (fixture, resource, text) = files
                .get(file)
                .unwrap_or_else(|| panic!("shellcheck reported on an unknown file: {line}"));
            let number: usize = number.parse().expect("line number");
            let source = text.get(number - 1).map(|l| l.trim()).unwrap_or_default();
            let source: String = source.chars().take(100).collect();
            findings.push(Finding {
                fixture: (*fixture).to_owned(),
                tool: "shellcheck",
                rule: code.to_owned(),
                resource: resource.clone(),
                // Line 1 of the file is the `#!` line that was added: count from the script's.
                message: format!("{message} (line {}: `{source}`)", number - 1),
            });
        }
    }
    assert!(
        canary_findings > 0,
        "shellcheck found nothing in a known-bad script"
    );
    judge("shellcheck", findings);
}
