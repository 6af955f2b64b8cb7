//! Writing the synthesized files, and comparing them with what is on disk.
//!
//! Everything is synthesized in memory first, so invalid input never reaches the disk. Writing
//! then runs in two phases: every changed file is first written in full (and synced) to a
//! temporary file next to it, and only when all of them are staged is each renamed over the
//! old one. A failure while staging (a full disk, a read-only directory) leaves every old file
//! untouched; a rename replaces a file atomically, so a reader sees the old file or the new
//! one, never half of either. Unchanged files are not touched, so their modification times
//! stay put for Make.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// File name inside the out directory.
    pub file_name: &'static str,
    pub contents: String,
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("out path `{}` exists and is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot create directory `{}`: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is a directory, not a file", .path.display())]
    TargetIsADirectory { path: PathBuf },
    /// Staging failed: no file was changed.
    #[error("cannot write `{}`: {source}; no file was changed", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A rename failed after `replaced` files were already replaced (each file is whole:
    /// old or new).
    #[error("cannot replace `{}`: {source}{}", .path.display(), replaced_note(.replaced))]
    Replace {
        path: PathBuf,
        source: std::io::Error,
        replaced: Vec<PathBuf>,
    },
}

fn replaced_note(replaced: &[PathBuf]) -> String {
    if replaced.is_empty() {
        "; no file was changed".into()
    } else {
        let names: Vec<String> = replaced
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        format!(
            "; already replaced: {} (run synth again to finish)",
            names.join(", ")
        )
    }
}

/// Where the new contents of `path` are staged before the rename: a hidden file in the same
/// directory (a rename is only atomic within one file system), named after the process so
/// that two runs do not share it.
pub fn temp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.sampipe-{}.tmp", std::process::id()))
}

/// Writes `artifacts` into `dir` (created when missing): all staged first, then each renamed
/// into place.
pub fn write_all(
    dir: &Path,
    artifacts: &[Artifact],
) -> Result<Vec<(PathBuf, Outcome)>, WriteError> {
    write_all_using(dir, artifacts, |from, to| fs::rename(from, to))
}

/// [`write_all`] with the rename it uses given, so that tests can make it fail.
#[doc(hidden)]
pub fn write_all_using(
    dir: &Path,
    artifacts: &[Artifact],
    rename: impl Fn(&Path, &Path) -> std::io::Result<()>,
) -> Result<Vec<(PathBuf, Outcome)>, WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;

    // Phase 1: stage every changed file. Nothing visible changes yet.
    let mut outcomes = Vec::with_capacity(artifacts.len());
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut failure = None;
    for artifact in artifacts {
        let path = dir.join(artifact.file_name);
        if path.is_dir() {
            failure = Some(WriteError::TargetIsADirectory { path });
            break;
        }
        if fs::read(&path).is_ok_and(|old| old == artifact.contents.as_bytes()) {
            outcomes.push((path, Outcome::Unchanged));
            continue;
        }
        let temp = temp_path(&path);
        if let Err(source) = stage(&temp, artifact.contents.as_bytes()) {
            // A directory in the way is not ours to remove.
            if !temp.is_dir() {
                let _ = fs::remove_file(&temp);
            }
            failure = Some(WriteError::Write { path, source });
            break;
        }
        staged.push((temp, path.clone()));
        outcomes.push((path, Outcome::Written));
    }
    if let Some(error) = failure {
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
        return Err(error);
    }

    // Phase 2: move each staged file into place.
    let mut replaced = Vec::new();
    for (index, (temp, path)) in staged.iter().enumerate() {
        if let Err(source) = rename(temp, path) {
            for (temp, _) in &staged[index..] {
                let _ = fs::remove_file(temp);
            }
            return Err(WriteError::Replace {
                path: path.clone(),
                source,
                replaced,
            });
        }
        replaced.push(path.clone());
    }
    // Make the renames durable; a file system that cannot sync a directory still renamed.
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    Ok(outcomes)
}

/// Writes `contents` to `temp` in full and flushes it to disk.
fn stage(temp: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(temp)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A file whose contents on disk differ from a fresh synth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub path: PathBuf,
    /// Unified diff from the file on disk to the fresh synth (empty header paths are used for
    /// a missing file).
    pub diff: String,
    pub missing: bool,
}

/// Compares `artifacts` with the files in `dir`; never writes.
pub fn compare(dir: &Path, artifacts: &[Artifact]) -> Vec<Stale> {
    let mut stale = Vec::new();
    for artifact in artifacts {
        let path = dir.join(artifact.file_name);
        let (old, missing) = match fs::read(&path) {
            Ok(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), false),
            Err(_) => (String::new(), true),
        };
        if !missing && old == artifact.contents {
            continue;
        }
        let shown = path.display().to_string();
        let from = if missing {
            "/dev/null".to_owned()
        } else {
            format!("{shown} (on disk)")
        };
        let diff = similar::TextDiff::from_lines(&old, &artifact.contents)
            .unified_diff()
            .context_radius(3)
            .header(&from, &format!("{shown} (synthesized)"))
            .to_string();
        stale.push(Stale {
            path,
            diff,
            missing,
        });
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(contents: &str) -> Artifact {
        Artifact {
            file_name: "template.yaml",
            contents: contents.into(),
        }
    }

    #[test]
    fn writes_then_leaves_unchanged_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = write_all(&out, &[artifact("a\n")]).unwrap();
        assert_eq!(first[0].1, Outcome::Written);
        let second = write_all(&out, &[artifact("a\n")]).unwrap();
        assert_eq!(second[0].1, Outcome::Unchanged);
        assert_eq!(
            fs::read_to_string(out.join("template.yaml")).unwrap(),
            "a\n"
        );
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    }

    #[test]
    fn refuses_an_out_path_that_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out");
        fs::write(&file, "keep me").unwrap();
        let error = write_all(&file, &[artifact("a\n")]).unwrap_err();
        assert!(matches!(error, WriteError::NotADirectory { .. }));
        assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
    }

    #[test]
    fn compare_reports_missing_and_stale_files_with_a_diff() {
        let dir = tempfile::tempdir().unwrap();
        let missing = compare(dir.path(), &[artifact("a\n")]);
        assert!(missing[0].missing);
        fs::write(dir.path().join("template.yaml"), "a\nb\n").unwrap();
        let stale = compare(dir.path(), &[artifact("a\nc\n")]);
        assert!(stale[0].diff.contains("-b\n+c\n"), "{}", stale[0].diff);
        fs::write(dir.path().join("template.yaml"), "a\nc\n").unwrap();
        assert!(compare(dir.path(), &[artifact("a\nc\n")]).is_empty());
    }
}
