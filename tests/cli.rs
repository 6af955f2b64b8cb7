//! The command line, run in-process: exit codes, what synth prints and writes, and check.

use crate::common::{repo_root, sampipe};

fn fixture(name: &str) -> String {
    repo_root()
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn synth_writes_both_files_then_reports_them_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = sampipe(&["synth", "-c", &fixture("two-stages.yaml"), "-o", out]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("    wrote ") && stdout.contains("template.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--parameter-overrides Stage=dev"),
        "{stdout}"
    );
    let (code, stdout, _) = sampipe(&["synth", "-c", &fixture("two-stages.yaml"), "-o", out]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("unchanged ") && !stdout.contains("    wrote "),
        "{stdout}"
    );
}

#[test]
fn check_passes_when_fresh_and_fails_with_a_diff_when_stale_or_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let config = fixture("minimal.yaml");
    let (code, _, stderr) = sampipe(&["check", "-c", &config, "-o", out]);
    assert_eq!(code, 1, "missing files are stale");
    assert!(stderr.contains("(missing)"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
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
    let (_, small, _) = sampipe(&[
        "synth",
        "-c",
        &fixture("minimal.yaml"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!small.contains("--s3-bucket"), "{small}");
}
