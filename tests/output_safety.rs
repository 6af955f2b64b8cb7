//! Writing never hurts either: synth refuses out paths it cannot use with a clear error and
//! leaves existing files as they were, never replaces a file it did not write (the
//! application's SAM template, a hand-written CI file), a failed write or rename leaves the
//! old files whole, a missing out directory is created, and `check` never writes at all.

use std::fs;
use std::path::Path;

use sampipe::output::{
    is_generated, temp_path, write_all, write_all_using, Artifact, WriteError, MARKER,
};

use crate::common::{fixture_name, fixtures, repo_root, sampipe, synth_fixture};

/// A fresh repository holding `fixtures/<name>` as its `sampipe.yaml` (synth writes the CI
/// file next to the config, so the fixtures directory itself is never used).
fn repository(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::install_fixture(
        &repo_root().join("fixtures").join(name),
        dir.path(),
        "sampipe.yaml",
    );
    dir
}

/// `synth -q` of `fixtures/minimal.yaml` (GitHub) in a repository of its own, into `out`.
fn synth(out: &Path) -> (u8, String, String) {
    let repo = repository("minimal.yaml");
    synth_in(
        repo.path(),
        &["-q", "-o", out.to_str().expect("utf-8 path")],
    )
}

/// Runs `sampipe ARGS -c ROOT/sampipe.yaml` in `root`'s terms.
fn synth_in(root: &Path, args: &[&str]) -> (u8, String, String) {
    let config = root.join("sampipe.yaml");
    let mut all = vec!["synth", "-c", config.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    sampipe(&all)
}

/// Every file under `dir`, relative and sorted, with its contents.
fn snapshot_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path
                    .strip_prefix(base)
                    .expect("under base")
                    .display()
                    .to_string();
                out.push((name, fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Old generated contents: what a previous synth left.
fn generated(body: &str) -> String {
    format!("# {MARKER} Change sampipe.yaml and run `sampipe synth`\n{body}")
}

fn artifacts(template: &str, pipeline: &str) -> Vec<Artifact> {
    vec![
        Artifact {
            file_name: "template.yaml",
            contents: template.into(),
        },
        Artifact {
            file_name: "pipeline.yaml",
            contents: pipeline.into(),
        },
    ]
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_out_path_that_is_a_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    fs::write(&out, "keep me").expect("write");
    let (code, _, stderr) = synth(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error[write]: out path `") && stderr.contains("is not a directory"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&out).expect("read"), "keep me");
}

#[test]
fn an_out_path_under_a_file_is_refused_and_the_file_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    fs::write(&file, "keep me").expect("write");
    let (code, _, stderr) = synth(&file.join("out"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot create directory"), "{stderr}");
    assert_eq!(fs::read_to_string(&file).expect("read"), "keep me");
}

/// Whether the file system enforces permissions on this process (it does not for root).
fn permissions_enforced(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    fs::create_dir(&probe).expect("mkdir");
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o555)).expect("chmod");
    let enforced = fs::write(probe.join("x"), "x").is_err();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::remove_dir_all(&probe).expect("cleanup");
    enforced
}

/// A directory where a file cannot be created. Read-only permissions do that unless the
/// tests run as root; then the staging file's name is taken by a directory instead, which
/// stops the write the same way for everyone.
fn make_unwritable(out: &Path, file_name: &str) -> &'static str {
    use std::os::unix::fs::PermissionsExt;
    if permissions_enforced(out.parent().expect("parent")) {
        fs::set_permissions(out, fs::Permissions::from_mode(0o555)).expect("chmod");
        "read-only directory"
    } else {
        fs::create_dir(temp_path(&out.join(file_name))).expect("mkdir");
        "staging name taken by a directory"
    }
}

#[test]
fn an_unwritable_out_directory_is_reported_and_its_files_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), generated("old template")).expect("write");
    fs::write(out.join("pipeline.yaml"), generated("old pipeline")).expect("write");
    let how = make_unwritable(&out, "template.yaml");

    let (code, _, stderr) = synth(&out);
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(code, 2, "{how}: {stderr}");
    assert!(
        stderr.starts_with("error[write]: cannot write `")
            && stderr.contains("no file was changed"),
        "{how}: {stderr}"
    );
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        generated("old template")
    );
    assert_eq!(
        fs::read_to_string(out.join("pipeline.yaml")).expect("read"),
        generated("old pipeline")
    );
}

/// Staging is all or nothing: when the second file cannot be staged, the first is not
/// replaced either, and no staging file is left behind.
#[test]
fn a_failed_write_of_one_file_changes_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), generated("old template")).expect("write");
    fs::create_dir(temp_path(&out.join("pipeline.yaml"))).expect("mkdir");

    let error = write_all(&out, &artifacts("new template", "new pipeline")).expect_err("fails");
    assert!(matches!(error, WriteError::Write { .. }), "{error}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        generated("old template")
    );
    assert!(!out.join("pipeline.yaml").exists());
    assert!(!temp_path(&out.join("template.yaml")).exists());
}

/// An interrupted write, simulated by a rename that fails: the old file is intact, whole, and
/// the staged new contents are cleaned up.
#[test]
fn a_failed_rename_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), generated("old template")).expect("write");
    fs::write(out.join("pipeline.yaml"), generated("old pipeline")).expect("write");

    let failing = |_: &Path, _: &Path| Err(std::io::Error::other("simulated crash"));
    let error = write_all_using(&out, &artifacts("new template", "new pipeline"), failing)
        .expect_err("fails");
    assert!(
        error.to_string().contains("simulated crash")
            && error.to_string().contains("no file was changed"),
        "{error}"
    );
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        generated("old template")
    );
    assert_eq!(
        fs::read_to_string(out.join("pipeline.yaml")).expect("read"),
        generated("old pipeline")
    );
    assert_eq!(
        listing(&out),
        ["pipeline.yaml", "template.yaml"],
        "no staging files left"
    );

    // A rename that fails half-way: the first file is new, the second old, both whole, and
    // the error says which file was replaced.
    let second_fails = |from: &Path, to: &Path| {
        if to.ends_with("pipeline.yaml") {
            Err(std::io::Error::other("simulated crash"))
        } else {
            fs::rename(from, to)
        }
    };
    let error = write_all_using(
        &out,
        &artifacts("new template", "new pipeline"),
        second_fails,
    )
    .expect_err("fails");
    assert!(error.to_string().contains("already replaced"), "{error}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        "new template"
    );
    assert_eq!(
        fs::read_to_string(out.join("pipeline.yaml")).expect("read"),
        generated("old pipeline")
    );
    assert_eq!(
        listing(&out),
        ["pipeline.yaml", "template.yaml"],
        "no staging files left"
    );
}

#[test]
fn a_file_name_taken_by_a_directory_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let repo = repository("minimal.yaml");
    let workflow = repo.path().join(".github/workflows/pipeline.yaml");
    fs::create_dir_all(workflow.join("keep")).expect("mkdir");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), generated("old template")).expect("write");
    let (code, _, stderr) = synth_in(repo.path(), &["-o", out.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is a directory, not a file"), "{stderr}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        generated("old template")
    );
    assert!(workflow.join("keep").is_dir());
}

#[test]
fn a_missing_out_directory_is_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("a/b/out");
    let (code, _, stderr) = synth(&out);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listing(&out), ["template.yaml"]);
}

#[test]
fn check_never_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let repo = repository("minimal.yaml");
    let config = repo.path().join("sampipe.yaml").display().to_string();
    let out_text = out.to_str().expect("utf-8 path");

    // A missing directory is not created.
    let (code, _, _) = sampipe(&["check", "-c", &config, "-o", out_text]);
    assert_eq!(code, 1);
    assert!(!out.exists());

    // Stale files are reported, not fixed.
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), "stale").expect("write");
    let (code, _, _) = sampipe(&["check", "-c", &config, "-o", out_text]);
    assert_eq!(code, 1);
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        "stale"
    );
    assert_eq!(listing(&out), ["template.yaml"]);
}

/// The application's own SAM template, as `sam init` writes it.
const SAM_TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  HelloFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.12\n";

#[test]
fn synth_into_the_repository_root_never_replaces_the_sam_template() {
    let repo = repository("minimal.yaml");
    fs::write(repo.path().join("template.yaml"), SAM_TEMPLATE).expect("write");
    let before = snapshot_tree(repo.path());
    let root = repo.path().to_str().expect("utf-8");
    let (code, stdout, stderr) = synth_in(repo.path(), &["-o", root]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error[overwrites-sam-template]: `")
            && stderr.contains("is the application's SAM template (`sam_template: template.yaml`")
            && stderr
                .contains("= help: write the pipeline resources elsewhere, e.g. `-o pipeline`"),
        "{stderr}"
    );
    assert_eq!(snapshot_tree(repo.path()), before, "nothing may be written");

    // Refused through `..` too.
    fs::create_dir(repo.path().join("src")).expect("mkdir");
    let dotdot = repo.path().join("src/..");
    let (code, _, stderr) = synth_in(repo.path(), &["-o", dotdot.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error[overwrites-sam-template]"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(repo.path().join("template.yaml")).expect("read"),
        SAM_TEMPLATE
    );
    assert!(!repo.path().join(".github").exists());
}

#[test]
fn a_file_sampipe_did_not_write_is_never_replaced_and_nothing_is_written() {
    // The SAM template lives elsewhere, so `template.yaml` in the out directory is just
    // someone else's file.
    let repo = repository("minimal.yaml");
    let config = repo.path().join("sampipe.yaml");
    let text = fs::read_to_string(&config).expect("read");
    fs::write(&config, format!("{text}sam_template: app/template.yaml\n")).expect("write");
    fs::create_dir(repo.path().join("app")).expect("mkdir");
    fs::rename(
        repo.path().join("template.yaml"),
        repo.path().join("app/template.yaml"),
    )
    .expect("move the SAM template");
    let out = repo.path().join("pipeline");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), SAM_TEMPLATE).expect("write");
    let before = snapshot_tree(repo.path());
    let (code, _, stderr) = synth_in(repo.path(), &["-o", out.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error[not-generated]: `")
            && stderr.contains("pipeline/template.yaml` exists and was not written by sampipe (its first line is not `# Generated by sampipe; do not edit by hand.`)")
            && stderr.contains("no file was changed")
            && stderr.contains("= help: if `"),
        "{stderr}"
    );
    assert_eq!(snapshot_tree(repo.path()), before, "not even the workflow");

    // The same for template.json.
    fs::write(out.join("template.json"), "{\"Resources\": {}}\n").expect("write");
    let before = snapshot_tree(repo.path());
    let (code, _, stderr) = synth_in(
        repo.path(),
        &[
            "-o",
            out.to_str().expect("utf-8"),
            "--template-format",
            "json",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("template.json` exists and was not written by sampipe"),
        "{stderr}"
    );
    assert_eq!(snapshot_tree(repo.path()), before);
}

#[test]
fn a_hand_written_ci_file_is_never_replaced() {
    for (fixture, ci_file) in [
        ("minimal.yaml", ".github/workflows/pipeline.yaml"),
        ("gitlab.yaml", ".gitlab-ci.yml"),
        ("bitbucket.yaml", "bitbucket-pipelines.yml"),
    ] {
        let repo = repository(fixture);
        let path = repo.path().join(ci_file);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, "# my own pipeline\nstages: [test]\n").expect("write");
        let before = snapshot_tree(repo.path());
        let out = repo.path().join("pipeline");
        let (code, _, stderr) = synth_in(repo.path(), &["-o", out.to_str().expect("utf-8")]);
        assert_eq!(code, 2, "{fixture}: {stderr}");
        assert!(
            stderr.contains(&format!("{ci_file}` exists and was not written by sampipe")),
            "{fixture}: {stderr}"
        );
        assert_eq!(
            snapshot_tree(repo.path()),
            before,
            "{fixture}: all or nothing"
        );
    }
}

#[test]
fn the_template_is_never_written_into_github_workflows() {
    let repo = repository("minimal.yaml");
    for out in [
        ".github/workflows",
        ".github/workflows/",
        ".github/x/../workflows",
    ] {
        let out = repo.path().join(out);
        let (code, _, stderr) = synth_in(repo.path(), &["-o", out.to_str().expect("utf-8")]);
        assert_eq!(code, 2, "{}: {stderr}", out.display());
        assert!(
            stderr.starts_with("error[template-in-workflows]: `-o ")
                && stderr.contains("GitHub runs every YAML file there as a workflow"),
            "{stderr}"
        );
        assert_eq!(
            listing(repo.path()),
            ["sampipe.yaml", "template.yaml"],
            "nothing written"
        );
    }
    // check refuses it the same way.
    let config = repo.path().join("sampipe.yaml");
    let out = repo.path().join(".github/workflows");
    let (code, _, stderr) = sampipe(&[
        "check",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error[template-in-workflows]"), "{stderr}");
}

#[test]
fn generated_files_are_replaced_including_those_of_versions_before_the_marker() {
    let repo = repository("minimal.yaml");
    let out = repo.path().join("pipeline");
    let out_text = out.to_str().expect("utf-8");
    assert_eq!(synth_in(repo.path(), &["-q", "-o", out_text]).0, 0);
    let workflow = repo.path().join(".github/workflows/pipeline.yaml");
    let fresh_template = fs::read_to_string(out.join("template.yaml")).expect("read");
    let fresh_workflow = fs::read_to_string(&workflow).expect("read");

    // A template from before the marker, and a stale workflow with the marker.
    let legacy = "AWSTemplateFormatVersion: '2010-09-09'\n\nDescription: Pipeline resources of `hello` for one stage (deploy once per stage with Stage=<name>). Generated by sampipe from sampipe.yaml; do not edit.\n";
    fs::write(out.join("template.yaml"), legacy).expect("write");
    fs::write(&workflow, generated("name: old\n")).expect("write");
    let (code, _, stderr) = synth_in(repo.path(), &["-q", "-o", out_text]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        fresh_template
    );
    assert_eq!(fs::read_to_string(&workflow).expect("read"), fresh_workflow);

    // The JSON template replaces its own older self.
    assert_eq!(
        synth_in(
            repo.path(),
            &["-q", "-o", out_text, "--template-format", "json"]
        )
        .0,
        0
    );
    let json = out.join("template.json");
    let text = fs::read_to_string(&json).expect("read");
    fs::write(&json, text.replace("\"Stage\"", "\"Stadium\"")).expect("write");
    let (code, _, stderr) = synth_in(
        repo.path(),
        &["-q", "-o", out_text, "--template-format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&json).expect("read"), text);
}

/// The marker check only works if every file sampipe writes carries the marker.
#[test]
fn every_generated_file_of_every_fixture_carries_the_marker() {
    for path in fixtures() {
        let name = fixture_name(&path);
        let synthesis = synth_fixture(&path);
        for file in &synthesis.files {
            assert!(
                file.contents.starts_with(&format!("# {MARKER}")),
                "{name}: {} does not start with the marker",
                file.file_name
            );
            assert!(
                is_generated(file.contents.as_bytes()),
                "{name}: {}",
                file.file_name
            );
        }
        let json = sampipe::pipeline::template::render_json(&synthesis.template).expect("json");
        assert!(is_generated(json.as_bytes()), "{name}: template.json");
    }
    assert!(!is_generated(SAM_TEMPLATE.as_bytes()));
    assert!(!is_generated(b"{\"Description\": \"my app\"}"));
    assert!(
        !is_generated(b"# Generated by sampipe\n"),
        "the marker is exact"
    );
    assert!(
        !is_generated(b"x: 1\n# Generated by sampipe; do not edit by hand.\n"),
        "first line only"
    );
}
