//! `sampipe init` on temporary repositories, and the generated completions and man page.

use std::path::Path;

use crate::common::sampipe;

/// A directory that looks like a git checkout with `url` as origin, on `branch`.
fn repository(url: &str, branch: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let git = dir.path().join(".git");
    std::fs::create_dir(&git).expect("mkdir");
    std::fs::write(git.join("HEAD"), format!("ref: refs/heads/{branch}\n")).expect("HEAD");
    std::fs::write(
        git.join("config"),
        format!("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = {url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"),
    )
    .expect("config");
    dir
}

fn init(dir: &Path, extra: &[&str]) -> (u8, String, String) {
    let config = dir.join("sampipe.yaml");
    let mut args = vec!["init", "-c", config.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    sampipe(&args)
}

#[test]
fn init_reads_github_remotes_over_https_and_ssh() {
    for url in [
        "https://github.com/octo-org/sam-app.git",
        "git@github.com:octo-org/sam-app.git",
        "ssh://git@github.com/octo-org/sam-app",
    ] {
        let repo = repository(url, "trunk");
        let (code, stdout, stderr) = init(repo.path(), &["--stage", "dev=111111111111/us-east-1"]);
        assert_eq!(code, 0, "{url}: {stderr}");
        assert!(stdout.contains("wrote"), "{stdout}");
        let text = std::fs::read_to_string(repo.path().join("sampipe.yaml")).expect("written");
        assert!(
            text.contains("repository: octo-org/sam-app"),
            "{url}:\n{text}"
        );
        assert!(text.contains("branch: trunk"), "{text}");
        assert!(text.contains("app: sam-app"), "{text}");
    }
}

#[test]
fn init_writes_the_source_of_gitlab_and_bitbucket_remotes() {
    let cases = [
        (
            "https://gitlab.com/group/sub/project.git",
            "gitlab:\n    project: group/sub/project\n",
        ),
        (
            "git@gitlab.com:group/project.git",
            "gitlab:\n    project: group/project\n",
        ),
        (
            "https://gitlab.example.com/group/project.git",
            "gitlab:\n    project: group/project\n    url: \"https://gitlab.example.com\"\n",
        ),
        (
            "https://bitbucket.org/team/repo.git",
            "bitbucket:\n    workspace: team\n",
        ),
        (
            "git@bitbucket.org:team/repo.git",
            "bitbucket:\n    workspace: team\n",
        ),
    ];
    for (url, source) in cases {
        let repo = repository(url, "main");
        let (code, _, stderr) = init(repo.path(), &[]);
        assert_eq!(code, 0, "{url}: {stderr}");
        let text = std::fs::read_to_string(repo.path().join("sampipe.yaml")).expect("written");
        assert!(text.contains(source), "{url}:\n{text}");
        assert!(!text.contains("github:"), "{url}:\n{text}");
        // Bitbucket's UUIDs cannot be read from a clone: they are marked.
        if url.contains("bitbucket") {
            assert!(
                text.contains("<FILL-IN: repository UUID>"),
                "{url}:\n{text}"
            );
        }
    }
}

#[test]
fn init_then_synth_then_check_round_trip_on_gitlab() {
    let repo = repository("git@gitlab.com:octo-group/sam-app.git", "main");
    let stages = ["--stage", "dev=111111111111/us-east-1"];
    assert_eq!(init(repo.path(), &stages).0, 0);
    let config = repo.path().join("sampipe.yaml");
    let text = std::fs::read_to_string(&config).expect("read").replace(
        "\"<FILL-IN: unit test command, e.g. make test>\"",
        "make test",
    );
    std::fs::write(&config, text).expect("write");
    crate::common::write_sam_template(repo.path());
    let config = config.to_str().expect("utf-8");
    let out = repo.path().join("out");
    let out = out.to_str().expect("utf-8");
    let (code, stdout, stderr) = sampipe(&["synth", "-c", config, "-o", out]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(".gitlab-ci.yml"), "{stdout}");
    assert!(repo.path().join(".gitlab-ci.yml").exists());
    assert!(repo.path().join("out/template.yaml").exists());
    let (code, stdout, stderr) = sampipe(&["check", "-c", config, "-o", out]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn synth_refuses_the_placeholders_init_leaves() {
    let repo = repository("https://gitlab.com/group/project.git", "main");
    assert_eq!(init(repo.path(), &[]).0, 0);
    let config = repo.path().join("sampipe.yaml");
    let out = repo.path().join("out");
    let (code, _, stderr) = sampipe(&[
        "synth",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2);
    // The account, the region and the test command; the project and the app name come from
    // the remote's path.
    assert_eq!(stderr.matches("error[placeholder]").count(), 3, "{stderr}");
    assert!(!out.exists());
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let repo = repository("https://github.com/o/r.git", "main");
    std::fs::write(repo.path().join("sampipe.yaml"), "keep: me\n").expect("write");
    let (code, _, stderr) = init(repo.path(), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("sampipe.yaml")).expect("read"),
        "keep: me\n"
    );
    assert_eq!(init(repo.path(), &["--force"]).0, 0);
}

#[test]
fn init_then_synth_then_check_round_trip() {
    let repo = repository("git@github.com:octo-org/sam-app.git", "main");
    assert_eq!(
        init(
            repo.path(),
            &[
                "--stage",
                "dev=111111111111/us-east-1",
                "--stage",
                "prod=222222222222/us-west-2"
            ]
        )
        .0,
        0
    );
    let config = repo.path().join("sampipe.yaml");
    // Fill in the one placeholder, as a user would.
    let text = std::fs::read_to_string(&config).expect("read").replace(
        "\"<FILL-IN: unit test command, e.g. make test>\"",
        "make test",
    );
    std::fs::write(&config, text).expect("write");
    crate::common::write_sam_template(repo.path());
    let config = config.to_str().expect("utf-8");
    let out = repo.path().join("out");
    let out = out.to_str().expect("utf-8");
    let (code, _, stderr) = sampipe(&["synth", "-c", config, "-o", out]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = sampipe(&["check", "-c", config, "-o", out]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, stdout, _) = sampipe(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            stdout.contains("synth") && stdout.contains("explain"),
            "{shell}"
        );
    }
    let (code, stdout, _) = sampipe(&["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(".TH sampipe 1") && stdout.contains("synth"),
        "{stdout}"
    );
}

/// `--stage` values get the config validator's rules and messages: a stage init writes is one
/// synth accepts, and a bad one writes nothing.
#[test]
fn init_rejects_stages_the_config_validator_rejects_with_the_same_messages() {
    let cases = [
        ("dev", "1234", "us-east-1", "error[invalid-account]"),
        ("dev", "11111111111a", "us-east-1", "error[invalid-account]"),
        ("Dev", "111111111111", "us-east-1", "error[invalid-name]"),
        ("1dev", "111111111111", "us-east-1", "error[invalid-name]"),
        ("dev", "111111111111", "us-east-1a", "error[invalid-region]"),
    ];
    for (name, account, region, code) in cases {
        let repo = repository("https://github.com/o/r.git", "main");
        let spec = format!("{name}={account}/{region}");
        let (status, stdout, stderr) = init(repo.path(), &["--stage", &spec]);
        assert_eq!(status, 2, "{spec}: {stdout}{stderr}");
        assert!(
            !repo.path().join("sampipe.yaml").exists(),
            "{spec}: nothing may be written"
        );
        // The message the validator gives for the same stage in a config.
        let config = format!(
            "version: 1\napp: r\nsource:\n  github:\n    repository: o/r\nstages:\n  - name: {name}\n    account: \"{account}\"\n    region: {region}\n"
        );
        let expected = match sampipe::config::load_str("sampipe.yaml", &config) {
            Err(sampipe::config::LoadError::Invalid {
                config,
                diagnostics,
            }) => config.render(&diagnostics),
            other => panic!("{spec}: the validator accepted it: {:?}", other.is_ok()),
        };
        let headline = expected
            .lines()
            .find(|l| l.starts_with(code))
            .unwrap_or_else(|| panic!("{spec}: {expected}"));
        let help = expected
            .lines()
            .skip_while(|l| *l != headline)
            .find(|l| l.trim_start().starts_with("= help:"))
            .expect("help");
        assert!(
            stderr.contains(headline),
            "{spec}: {stderr}\nexpected {headline}"
        );
        assert!(
            stderr.contains(help.trim_start()),
            "{spec}: {stderr}\nexpected {help}"
        );
        assert!(stderr.contains(&format!("--> --stage {spec}")), "{stderr}");
    }

    // A duplicate name, as in a config.
    let repo = repository("https://github.com/o/r.git", "main");
    let (status, _, stderr) = init(
        repo.path(),
        &[
            "--stage",
            "dev=111111111111/us-east-1",
            "--stage",
            "dev=222222222222/us-east-2",
        ],
    );
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("error[duplicate-stage]: stage name `dev` is used twice"),
        "{stderr}"
    );
    assert!(!repo.path().join("sampipe.yaml").exists());

    // A region sampipe does not know yet is a warning, as in a config.
    let (status, _, stderr) = init(repo.path(), &["--stage", "dev=111111111111/eu-west-4"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("warning[unknown-region]"), "{stderr}");
}
