//! The command line, run in-process: exit codes, what synth prints and writes, and check.

use std::path::Path;

use crate::common::{repo_root, sampipe};

/// A fresh repository holding `fixtures/<name>` as its `sampipe.yaml`: synth writes the CI
/// file next to the config, never into the fixtures directory.
fn repository(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::install_fixture(
        &repo_root().join("fixtures").join(name),
        dir.path(),
        "sampipe.yaml",
    );
    dir
}

fn config_of(repo: &Path) -> String {
    repo.join("sampipe.yaml").display().to_string()
}

#[test]
fn synth_writes_both_files_then_reports_them_unchanged() {
    let dir = repository("two-stages.yaml");
    let config = config_of(dir.path());
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = sampipe(&["synth", "-c", &config, "-o", out]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("    wrote ") && stdout.contains("template.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--parameter-overrides Stage=dev"),
        "{stdout}"
    );
    let (code, stdout, _) = sampipe(&["synth", "-c", &config, "-o", out]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("unchanged ") && !stdout.contains("    wrote "),
        "{stdout}"
    );
}

#[test]
fn check_passes_when_fresh_and_fails_with_a_diff_when_stale_or_missing() {
    let repo = repository("minimal.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let config = config_of(repo.path());
    let (code, _, stderr) = sampipe(&["check", "-c", &config, "-o", out]);
    assert_eq!(code, 1, "missing files are stale");
    assert!(stderr.contains("(missing)"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "check must not write"
    );
    assert!(
        !repo.path().join(".github").exists(),
        "check must not write"
    );

    assert_eq!(sampipe(&["synth", "-q", "-c", &config, "-o", out]).0, 0);
    let (code, stdout, _) = sampipe(&["check", "-c", &config, "-o", out]);
    assert_eq!(code, 0, "{stdout}");

    let template = dir.path().join("template.yaml");
    let edited = std::fs::read_to_string(&template)
        .expect("read")
        .replace("Stage", "Stadium");
    std::fs::write(&template, &edited).expect("write");
    let (code, stdout, stderr) = sampipe(&["check", "-c", &config, "-o", out]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("-  Stadium:") || stdout.contains("Stadium"),
        "{stdout}"
    );
    assert!(stderr.contains("error[stale]"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&template).expect("read"),
        edited,
        "check must not write"
    );
}

#[test]
fn invalid_config_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sampipe.yaml");
    std::fs::write(
        &config,
        "version: 1\napp: Bad_App\nsource:\n  github:\n    repository: o/r\nstages: []\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let (code, _, stderr) = sampipe(&[
        "synth",
        "-c",
        config.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error[invalid-name]") && stderr.contains("error[no-stages]"),
        "{stderr}"
    );
    assert!(stderr.contains("sampipe.yaml:2:6"), "{stderr}");
    assert!(
        !out.exists(),
        "nothing may be written for an invalid config"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(sampipe(&["frobnicate"]).0, 2);
    let (code, stdout, _) = sampipe(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Exit codes"), "{stdout}");
}

#[test]
fn synth_asks_for_a_staging_bucket_when_the_template_is_too_big_to_send_inline() {
    // 100 stages give a template over CloudFormation's 51,200-byte inline limit.
    let mut text =
        String::from("version: 1\napp: big\nsource:\n  github:\n    repository: o/big\nstages:\n");
    for i in 0..100 {
        text.push_str(&format!(
            "  - name: s{i}\n    account: '{:012}'\n    region: eu-west-1\n",
            100_000_000_000u64 + i
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sampipe.yaml");
    std::fs::write(&config, text).expect("write");
    crate::common::write_sam_template(dir.path());
    let out = dir.path().join("out");
    let (code, stdout, stderr) = sampipe(&[
        "synth",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("--s3-bucket EXISTING-BUCKET"), "{stdout}");
    assert!(
        stdout.contains("over the 51200 CloudFormation accepts inline"),
        "{stdout}"
    );
    let small_repo = repository("minimal.yaml");
    let (_, small, _) = sampipe(&[
        "synth",
        "-c",
        &config_of(small_repo.path()),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!small.contains("--s3-bucket"), "{small}");
}

/// What runs is what is checked: synth writes the CI file where the CI system reads it
/// (`workflow_path`, or the repository root for GitLab and Bitbucket; the root is the config
/// file's directory), and check compares that file, not a copy in the out directory.
#[test]
fn synth_writes_and_check_checks_the_ci_file_where_the_ci_system_runs_it() {
    for (fixture, ci_file, ci_name) in [
        (
            "minimal.yaml",
            ".github/workflows/pipeline.yaml",
            "pipeline.yaml",
        ),
        ("gitlab.yaml", ".gitlab-ci.yml", ".gitlab-ci.yml"),
        (
            "bitbucket.yaml",
            "bitbucket-pipelines.yml",
            "bitbucket-pipelines.yml",
        ),
    ] {
        let repo = repository(fixture);
        let config = config_of(repo.path());
        let out = repo.path().join("pipeline");
        let out_text = out.to_str().expect("utf-8");
        let (code, stdout, stderr) = sampipe(&["synth", "-c", &config, "-o", out_text]);
        assert_eq!(code, 0, "{fixture}: {stderr}");
        let running = repo.path().join(ci_file);
        assert!(running.is_file(), "{fixture}: {stdout}");
        assert!(!out.join(ci_name).exists(), "{fixture}: no copy in -o");
        assert!(
            stdout.contains(&format!("wrote {}", running.display())),
            "{fixture}: {stdout}"
        );
        assert_eq!(sampipe(&["check", "-c", &config, "-o", out_text]).0, 0);

        // A stale running file fails check even with a fresh copy in the out directory.
        let fresh = std::fs::read_to_string(&running).expect("read");
        std::fs::write(out.join(ci_name), &fresh).expect("write");
        std::fs::write(&running, format!("{fresh}# (edited)\n")).expect("write");
        let (code, stdout, stderr) = sampipe(&["check", "-c", &config, "-o", out_text]);
        assert_eq!(code, 1, "{fixture}: {stdout}");
        assert!(
            stderr.contains(&format!("`{}`", running.display())) && stdout.contains("(edited)"),
            "{fixture}: {stderr}{stdout}"
        );

        // synth mends it, and says the copy in -o is an old one to delete.
        let (code, stdout, _) = sampipe(&["synth", "-c", &config, "-o", out_text]);
        assert_eq!(code, 0);
        assert_eq!(std::fs::read_to_string(&running).expect("read"), fresh);
        assert!(
            stdout
                .contains("is an old copy of the CI file that sampipe no longer writes or checks"),
            "{fixture}: {stdout}"
        );
    }
}

/// A config in a subdirectory is that directory's: `-c ci/sampipe.yaml` writes
/// `ci/.github/workflows/pipeline.yaml`, and the relative `-o` is the caller's.
#[test]
fn the_repository_root_is_the_config_files_directory() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(repo.path().join("ci")).expect("mkdir");
    crate::common::install_fixture(
        &repo_root().join("fixtures/minimal.yaml"),
        &repo.path().join("ci"),
        "sampipe.yaml",
    );
    let config = repo.path().join("ci/sampipe.yaml");
    let out = repo.path().join("out");
    let (code, _, stderr) = sampipe(&[
        "synth",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(repo
        .path()
        .join("ci/.github/workflows/pipeline.yaml")
        .is_file());
    assert!(out.join("template.yaml").is_file());
}

/// The help says what is true for all three CI systems.
#[test]
fn help_texts_name_every_ci_system_and_where_files_go() {
    let (_, top, _) = sampipe(&["--help"]);
    assert!(
        top.contains("GitHub Actions, GitLab CI/CD or Bitbucket Pipelines")
            && !top.contains("and a GitHub Actions workflow"),
        "{top}"
    );
    for command in ["synth", "check"] {
        let (code, help, _) = sampipe(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(
            !help.contains("holds template.yaml and pipeline.yaml"),
            "{help}"
        );
        assert!(
            help.contains(".gitlab-ci.yml") && help.contains("bitbucket-pipelines.yml"),
            "{command}: {help}"
        );
    }
}

/// The README as a newcomer reads it in a fresh clone.
#[test]
fn the_readme_works_in_a_fresh_clone() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    assert!(
        readme.contains("cargo install --locked --path ."),
        "how to put sampipe on the PATH"
    );
    assert!(
        !readme.contains("](../") && !readme.contains("`../"),
        "a clone has nothing outside it"
    );
    assert!(!readme.contains("OWNER/sampipe") && !readme.contains("rev: v0.1.0"));
    // The Commands table is one table: no blank line between its rows.
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("| command |"))
        .expect("commands table");
    let rows: Vec<&&str> = lines[start..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .collect();
    for command in [
        "synth",
        "check",
        "explain",
        "trust",
        "init",
        "schema",
        "completions",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.starts_with(&format!("| `sampipe {command}"))),
            "`sampipe {command}` is not in the Commands table: {rows:#?}"
        );
    }
    // What GitLab feature environments do on their own is documented, and true.
    let gitlab = crate::common::synth_fixture(&repo_root().join("fixtures/gitlab.yaml"));
    let ci = crate::common::file(&gitlab, ".gitlab-ci.yml");
    assert!(ci.contains("auto_stop_in: 1 week"), "{ci}");
    assert!(readme.contains("auto_stop_in: 1 week"));
}

/// check's help names the command that fixes it, and says when synth would refuse to.
#[test]
fn check_says_how_to_fix_and_when_synth_would_not() {
    let repo = repository("gitlab.yaml");
    let config = config_of(repo.path());
    let out = repo.path().join("pipeline");
    let out_text = out.to_str().expect("utf-8");
    std::fs::write(
        repo.path().join(".gitlab-ci.yml"),
        "test:\n  script: [make]\n",
    )
    .expect("write");
    let (code, _, stderr) = sampipe(&[
        "check",
        "-c",
        &config,
        "-o",
        out_text,
        "--template-format",
        "json",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(".gitlab-ci.yml` (not written by sampipe, so synth will not replace it)")
            && stderr.contains("template.json` (missing)")
            && stderr.contains(&format!(
                "run `sampipe synth -c {config} -o {out_text} --template-format json`"
            )),
        "{stderr}"
    );
}
