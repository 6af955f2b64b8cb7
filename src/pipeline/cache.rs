//! The dependency cache (`workflow.cache`): where the package managers of the app's toolchains
//! keep their downloads while the test and build jobs run, the variables that send them there,
//! and the files whose contents key the cache.
//!
//! Only downloads are cached, never build output: `sam build` still installs every dependency
//! into each function's build folder, so the build stays what the dependency files say. The
//! folders are under `.aws-sam/`, which `sam build` leaves out of the functions' code and the
//! build artifact (`.aws-sam/build`) does not contain; GitLab caches only paths inside the
//! project, so every CI system uses the same ones.

use crate::app::Toolchain;
use crate::pipeline::Pipeline;

/// Where the cached folders live, relative to the checkout.
pub const CACHE_ROOT: &str = ".aws-sam/dependencies";

/// A variable of a package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variable {
    /// `NAME=<prefix><the folder's absolute path>`.
    Folder(&'static str, &'static str),
    /// `NAME=<value>`.
    Constant(&'static str, &'static str),
}

/// One package manager's download folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFolder {
    /// The folder under [`CACHE_ROOT`], e.g. `pip`.
    pub name: &'static str,
    /// Variables that point the package manager at the folder.
    variables: &'static [Variable],
    /// Glob patterns of the files that list the dependencies.
    pub key_files: &'static [&'static str],
}

impl CacheFolder {
    /// `.aws-sam/dependencies/<name>`.
    pub fn path(&self) -> String {
        format!("{CACHE_ROOT}/{}", self.name)
    }

    /// The variables and their values.
    pub fn variables(&self) -> impl Iterator<Item = (&'static str, VariableValue)> + '_ {
        self.variables.iter().map(|variable| match *variable {
            Variable::Folder(name, prefix) => (
                name,
                VariableValue::InCheckout {
                    prefix,
                    path: self.path(),
                },
            ),
            Variable::Constant(name, value) => (name, VariableValue::Constant(value)),
        })
    }
}

/// A variable's value: the folder's path in the checkout (after `prefix`), or a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableValue {
    InCheckout { prefix: &'static str, path: String },
    Constant(&'static str),
}

impl VariableValue {
    /// The value, with the checkout at `checkout` (its absolute path as the CI system writes
    /// it, e.g. `$PWD`).
    pub fn under(&self, checkout: &str) -> String {
        match self {
            Self::InCheckout { prefix, path } => format!("{prefix}{checkout}/{path}"),
            Self::Constant(value) => (*value).to_owned(),
        }
    }
}

const PIP: CacheFolder = CacheFolder {
    name: "pip",
    variables: &[Variable::Folder("PIP_CACHE_DIR", "")],
    key_files: &["**/requirements*.txt"],
};
const NPM: CacheFolder = CacheFolder {
    name: "npm",
    variables: &[Variable::Folder("npm_config_cache", "")],
    key_files: &["**/package-lock.json", "**/package.json"],
};
const MAVEN: CacheFolder = CacheFolder {
    name: "maven",
    variables: &[Variable::Folder("MAVEN_OPTS", "-Dmaven.repo.local=")],
    key_files: &["**/pom.xml"],
};
const GRADLE: CacheFolder = CacheFolder {
    name: "gradle",
    variables: &[Variable::Folder("GRADLE_USER_HOME", "")],
    key_files: &["**/build.gradle", "**/build.gradle.kts"],
};
// Go makes its module cache read-only; `-modcacherw` lets the runner clean the checkout.
const GO: CacheFolder = CacheFolder {
    name: "go",
    variables: &[
        Variable::Folder("GOMODCACHE", ""),
        Variable::Constant("GOFLAGS", "-modcacherw"),
    ],
    key_files: &["**/go.sum"],
};
const NUGET: CacheFolder = CacheFolder {
    name: "nuget",
    variables: &[Variable::Folder("NUGET_PACKAGES", "")],
    key_files: &["**/*.csproj", "**/packages.lock.json"],
};

/// The folders to cache for `p`'s toolchains, in a fixed order; empty when `workflow.cache` is
/// off. Ruby's Bundler installs into each function's folder and keeps no download cache, so a
/// Ruby function adds nothing.
pub fn folders(p: &Pipeline) -> Vec<CacheFolder> {
    if !p.workflow.cache {
        return Vec::new();
    }
    let toolchains = p.sam_app.toolchains();
    let uses = |wanted: fn(&Toolchain) -> bool| toolchains.iter().any(wanted);
    let mut out = Vec::new();
    if uses(|t| matches!(t, Toolchain::Python(_))) {
        out.push(PIP);
    }
    if uses(|t| matches!(t, Toolchain::Node(_))) {
        out.push(NPM);
    }
    if uses(|t| matches!(t, Toolchain::Java(_))) {
        out.push(MAVEN);
        out.push(GRADLE);
    }
    if uses(|t| matches!(t, Toolchain::Go)) {
        out.push(GO);
    }
    if uses(|t| matches!(t, Toolchain::Dotnet(_))) {
        out.push(NUGET);
    }
    out
}

/// The key files of `folders`, each once, in order.
pub fn key_files(folders: &[CacheFolder]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for file in folders.iter().flat_map(|f| f.key_files.iter().copied()) {
        if !out.contains(&file) {
            out.push(file);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn under(folder: &CacheFolder, checkout: &str) -> Vec<(&'static str, String)> {
        folder
            .variables()
            .map(|(name, value)| (name, value.under(checkout)))
            .collect()
    }

    #[test]
    fn variables_put_each_folder_under_the_checkout() {
        assert_eq!(
            under(&PIP, "$CI_PROJECT_DIR"),
            vec![(
                "PIP_CACHE_DIR",
                "$CI_PROJECT_DIR/.aws-sam/dependencies/pip".to_owned()
            )]
        );
        assert_eq!(
            under(&MAVEN, "/w"),
            vec![(
                "MAVEN_OPTS",
                "-Dmaven.repo.local=/w/.aws-sam/dependencies/maven".to_owned()
            )]
        );
    }

    #[test]
    fn go_flags_stay_constant() {
        assert_eq!(
            under(&GO, "/w"),
            vec![
                ("GOMODCACHE", "/w/.aws-sam/dependencies/go".to_owned()),
                ("GOFLAGS", "-modcacherw".to_owned())
            ]
        );
    }

    #[test]
    fn key_files_are_listed_once() {
        assert_eq!(
            key_files(&[NPM, NPM, PIP]),
            vec![
                "**/package-lock.json",
                "**/package.json",
                "**/requirements*.txt"
            ]
        );
    }
}
