//! Writing never hurts either: synth refuses out paths it cannot use with a clear error and
//! leaves existing files as they were, a failed write or rename leaves the old files whole,
//! a missing out directory is created, and `check` never writes at all.

use std::fs;
use std::path::Path;

use sampipe::output::{temp_path, write_all, write_all_using, Artifact, WriteError};

use crate::common::{repo_root, sampipe};

fn fixture() -> String {
    repo_root()
        .join("fixtures/minimal.yaml")
        .display()
        .to_string()
}

fn synth(out: &Path) -> (u8, String, String) {
    sampipe(&[
        "synth",
        "-q",
        "-c",
        &fixture(),
        "-o",
        out.to_str().expect("utf-8 path"),
    ])
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
    fs::write(out.join("template.yaml"), "old template").expect("write");
    fs::write(out.join("pipeline.yaml"), "old pipeline").expect("write");
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
        "old template"
    );
    assert_eq!(
        fs::read_to_string(out.join("pipeline.yaml")).expect("read"),
        "old pipeline"
    );
}

/// Staging is all or nothing: when the second file cannot be staged, the first is not
/// replaced either, and no staging file is left behind.
#[test]
fn a_failed_write_of_one_file_changes_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("template.yaml"), "old template").expect("write");
    fs::create_dir(temp_path(&out.join("pipeline.yaml"))).expect("mkdir");

    let error = write_all(&out, &artifacts("new template", "new pipeline")).expect_err("fails");
    assert!(matches!(error, WriteError::Write { .. }), "{error}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        "old template"
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
    fs::write(out.join("template.yaml"), "old template").expect("write");
    fs::write(out.join("pipeline.yaml"), "old pipeline").expect("write");

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
        "old template"
    );
    assert_eq!(
        fs::read_to_string(out.join("pipeline.yaml")).expect("read"),
        "old pipeline"
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
        "old pipeline"
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
    fs::create_dir_all(out.join("pipeline.yaml/keep")).expect("mkdir");
    fs::write(out.join("template.yaml"), "old template").expect("write");
    let (code, _, stderr) = synth(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is a directory, not a file"), "{stderr}");
    assert_eq!(
        fs::read_to_string(out.join("template.yaml")).expect("read"),
        "old template"
    );
    assert!(out.join("pipeline.yaml/keep").is_dir());
}

#[test]
fn a_missing_out_directory_is_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("a/b/out");
    let (code, _, stderr) = synth(&out);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listing(&out), ["pipeline.yaml", "template.yaml"]);
}

#[test]
fn check_never_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let config = fixture();
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
