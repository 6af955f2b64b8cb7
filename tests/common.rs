//! Shared helpers: fixtures, in-process synth and CLI runs, and the external validators.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sampipe::pipeline::{synthesize, Synthesis};

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `path` is the SAM template the fixtures read (`fixtures/template.yaml`), not a config.
pub(crate) fn is_sam_template(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "template.yaml")
}

/// Writes the fixtures' SAM template as `template.yaml` into `dir` (a repository root), for
/// configs written into temporary directories.
pub(crate) fn write_sam_template(dir: &Path) {
    std::fs::copy(
        repo_root().join("fixtures/template.yaml"),
        dir.join("template.yaml"),
    )
    .expect("copy the SAM template");
}

/// Makes `dir` a repository holding the fixture `config` as `sampipe.yaml` (or `name`) and the
/// SAM template it reads (`sam_template`, from `fixtures/`) at the same relative path, so
/// that synth, which reads the template and writes the CI file next to the config, never
/// touches `fixtures/`.
pub(crate) fn install_fixture(config: &Path, dir: &Path, name: &str) {
    let text = std::fs::read_to_string(config).expect("read fixture");
    std::fs::write(dir.join(name), &text).expect("copy fixture");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&text).expect("fixture YAML");
    let sam_template = parsed["sam_template"].as_str().unwrap_or("template.yaml");
    let source = config.parent().expect("fixture dir").join(sam_template);
    let target = dir.join(sam_template);
    std::fs::create_dir_all(target.parent().expect("template dir")).expect("mkdir");
    std::fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
}

/// Every valid fixture (`fixtures/*.yaml` but the SAM template), sorted.
pub(crate) fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo_root().join("fixtures"))
        .expect("fixtures/ is readable")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml") && !is_sam_template(path))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "expected at least two fixtures");
    paths
}

pub(crate) fn fixture_name(path: &Path) -> String {
    path.file_stem()
        .expect("fixture name")
        .to_string_lossy()
        .into_owned()
}

/// Loads and synthesizes a fixture, failing the test with the rendered diagnostics.
pub(crate) fn synth_fixture(path: &Path) -> Synthesis {
    let loaded = match sampipe::config::load_file(path) {
        Ok(loaded) => loaded,
        Err(sampipe::config::LoadError::Invalid {
            config,
            diagnostics,
        }) => {
            panic!("{}", config.render(&diagnostics))
        }
        Err(error) => panic!("{error}"),
    };
    match synthesize(&loaded.config) {
        Ok(synthesis) => synthesis,
        Err(diagnostics) => panic!("{}", loaded.source.render(&diagnostics)),
    }
}

/// The text of one synthesized file.
pub(crate) fn file<'a>(synthesis: &'a Synthesis, name: &str) -> &'a str {
    &synthesis
        .files
        .iter()
        .find(|f| f.file_name == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .contents
}

/// Writes a fixture's outputs into a fresh temporary directory.
pub(crate) fn synth_to_tempdir(path: &Path) -> (tempfile::TempDir, Synthesis) {
    let dir = tempfile::tempdir().expect("tempdir");
    let synthesis = synth_fixture(path);
    for artifact in &synthesis.files {
        std::fs::write(dir.path().join(artifact.file_name), &artifact.contents).expect("write");
    }
    (dir, synthesis)
}

/// Runs the CLI in-process; returns (exit code, stdout, stderr).
pub(crate) fn sampipe(args: &[&str]) -> (u8, String, String) {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let code = sampipe::cli::main(
        std::iter::once("sampipe").chain(args.iter().copied()),
        &mut stdout,
        &mut stderr,
    );
    (
        code,
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// The path of an external tool installed by `.ci/install-tools` (`make tools`).
///
/// A missing tool fails the test: a validator that silently does not run proves nothing.
/// Outside CI, `SAMPIPE_ALLOW_MISSING_TOOLS=1` turns that into a loud skip (returns `None`).
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let tools = std::env::var_os("SAMPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"));
    let path = tools.join("bin").join(name);
    if path.exists() {
        return Some(path);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let allowed = std::env::var("SAMPIPE_ALLOW_MISSING_TOOLS").is_ok_and(|v| v == "1");
    if allowed && !in_ci {
        eprintln!(
            "SKIPPED: `{name}` is not installed at {}; run `make tools`",
            path.display()
        );
        return None;
    }
    panic!(
        "`{name}` is not installed at {}: run `make tools` (or `make test`, which installs it)",
        path.display()
    );
}

/// Runs a command and returns its output, failing the test if it cannot start. Colour is
/// turned off: some tools colour their output when they see `CI=true`.
pub(crate) fn run(command: &mut Command) -> Output {
    command
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"))
}

/// Everything a command printed, for failure messages.
pub(crate) fn printed(output: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
