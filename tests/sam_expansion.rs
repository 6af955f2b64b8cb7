//! `sampipe::permissions::sam::deployed_resources` against the real SAM transform: every SAM
//! template of the fixtures (`fixtures/template.yaml`, `fixtures/sam/*.yaml`, and each bundled
//! app's `template.yaml`) goes through aws-sam-translator (`tests/sam_translate.py`, the same
//! call `tests/e2e/local_aws.py` makes), and the resources it generates must be exactly the
//! ones sampipe predicts: the same types, and the same logical ids (up to the hash SAM appends
//! to some, see `sampipe::permissions::sam::HASH`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use sampipe::permissions::sam::{deployed_resources, DeployedResource};

use crate::common::{printed, repo_root, run};

/// The Python of `.tools/venv` (aws-sam-translator and moto), under the rules of
/// [`crate::common::tool`]: missing fails the test, except outside CI with
/// `SAMPIPE_ALLOW_MISSING_TOOLS=1`, where the test says it skipped.
fn translator_python() -> Option<PathBuf> {
    let tools = std::env::var_os("SAMPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"));
    let python = tools.join("venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let allowed = std::env::var("SAMPIPE_ALLOW_MISSING_TOOLS").is_ok_and(|v| v == "1");
    if allowed && !in_ci {
        eprintln!(
            "SKIPPED: the SAM translator's Python is not installed at {}; run `make tools`",
            python.display()
        );
        return None;
    }
    panic!(
        "the SAM translator's Python is not installed at {}: run `make tools` (or `make test`, which installs it)",
        python.display()
    );
}

/// Every SAM template of the fixtures, sorted.
fn sam_templates() -> Vec<PathBuf> {
    let root = repo_root().join("fixtures");
    let mut templates = vec![root.join("template.yaml")];
    let yaml_in = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect()
    };
    templates.extend(yaml_in(&root.join("sam")));
    templates.extend(
        std::fs::read_dir(root.join("apps"))
            .expect("fixtures/apps")
            .map(|e| e.expect("entry").path().join("template.yaml"))
            .filter(|p| p.is_file()),
    );
    templates.sort();
    templates
}

/// What the translator generated for each template: logical id to type, or its refusal.
fn translate(
    python: &Path,
    templates: &[PathBuf],
) -> BTreeMap<String, Result<BTreeMap<String, String>, String>> {
    let output = run(Command::new(python)
        .arg(repo_root().join("tests/sam_translate.py"))
        .args(templates));
    assert!(
        output.status.success(),
        "sam_translate.py:\n{}",
        printed(&output)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", printed(&output)));
    answer
        .as_object()
        .expect("an object")
        .iter()
        .map(|(path, result)| {
            let result = match result.get("resources").and_then(|r| r.as_object()) {
                Some(resources) => Ok(resources
                    .iter()
                    .map(|(id, t)| (id.clone(), t.as_str().unwrap_or_default().to_owned()))
                    .collect()),
                None => Err(result["error"].as_str().unwrap_or("no answer").to_owned()),
            };
            (path.clone(), result)
        })
        .collect()
}

/// The differences between sampipe's prediction and the translator's output, empty when they
/// agree: each predicted resource must be generated (an exact id, or a hashed id with that
/// prefix), and each generated one predicted.
fn differences(
    predicted: &[DeployedResource],
    generated: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut matched = BTreeSet::new();
    // Exact ids first, so a hashed prefix cannot claim a resource an exact id names.
    for r in predicted.iter().filter(|r| r.hashed_prefix().is_none()) {
        match generated.get(&r.logical_id) {
            Some(t) if *t == r.type_name => {
                matched.insert(r.logical_id.clone());
            }
            Some(t) => problems.push(format!(
                "{} is {t}, sampipe says {}",
                r.logical_id, r.type_name
            )),
            None => problems.push(format!(
                "sampipe predicts {} ({}, {}), the translator generates none",
                r.logical_id, r.type_name, r.from
            )),
        }
    }
    for r in predicted {
        let Some(prefix) = r.hashed_prefix() else {
            continue;
        };
        let found = generated.iter().find(|(id, t)| {
            **t == r.type_name
                && !matched.contains(*id)
                && id.strip_prefix(prefix).is_some_and(|hash| {
                    !hash.is_empty() && hash.chars().all(|c| c.is_ascii_alphanumeric())
                })
        });
        match found {
            Some((id, _)) => {
                matched.insert(id.clone());
            }
            None => problems.push(format!(
                "sampipe predicts {} ({}, {}), the translator generates none",
                r.logical_id, r.type_name, r.from
            )),
        }
    }
    for (id, t) in generated {
        if !matched.contains(id) {
            problems.push(format!(
                "the translator generates {id} ({t}), sampipe does not predict it"
            ));
        }
    }
    let predicted_types: BTreeSet<&str> = predicted.iter().map(|r| r.type_name.as_str()).collect();
    let generated_types: BTreeSet<&str> = generated.values().map(String::as_str).collect();
    if predicted_types != generated_types {
        problems.push(format!(
            "types differ: sampipe {predicted_types:?}, translator {generated_types:?}"
        ));
    }
    problems
}

#[test]
fn deployed_resources_match_the_sam_translator_for_every_fixture_template() {
    let Some(python) = translator_python() else {
        return;
    };
    let templates = sam_templates();
    assert!(templates.len() >= 8, "fixture templates: {templates:?}");
    let translated = translate(&python, &templates);
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for template in &templates {
        let name = template
            .strip_prefix(repo_root())
            .unwrap_or(template)
            .display()
            .to_string();
        let text = std::fs::read_to_string(template).expect("read template");
        let app = sampipe::app::parse(&text).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let predicted = deployed_resources(&app);
        let generated = match &translated[&template.display().to_string()] {
            Ok(generated) => generated,
            Err(refusal) => {
                failures.push(format!("{name}: the translator refuses it: {refusal}"));
                continue;
            }
        };
        let problems = differences(&predicted, generated);
        if problems.is_empty() {
            summary.push(format!("{name}: {} resources agree", generated.len()));
        } else {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{}", summary.join("\n"));
}

/// The comparison itself catches a wrong prediction (so a green run means agreement).
#[test]
fn a_wrong_prediction_is_reported() {
    let generated: BTreeMap<String, String> = [
        ("Fn".to_owned(), "AWS::Lambda::Function".to_owned()),
        (
            "FnVersion0123456789".to_owned(),
            "AWS::Lambda::Version".to_owned(),
        ),
    ]
    .into();
    let resource = |id: &str, t: &str| DeployedResource {
        logical_id: id.to_owned(),
        type_name: t.to_owned(),
        from: "test".to_owned(),
        creates_role_without_boundary_support: false,
    };
    let right = [
        resource("Fn", "AWS::Lambda::Function"),
        resource("FnVersion{hash}", "AWS::Lambda::Version"),
    ];
    assert_eq!(differences(&right, &generated), Vec::<String>::new());
    let missing_role = [
        right[0].clone(),
        right[1].clone(),
        resource("FnRole", "AWS::IAM::Role"),
    ];
    assert_eq!(
        differences(&missing_role, &generated).len(),
        2,
        "an extra id and an extra type"
    );
    assert_eq!(
        differences(&right[..1], &generated).len(),
        2,
        "an unpredicted version"
    );
}
