//! Lambda runtimes and what a CI job must install to `sam build` for them.
//!
//! `sam build` (without `--use-container`) runs the language's own tools on the runner and
//! checks that their version matches the runtime (`python3.12` needs a `python3.12` on
//! `PATH`), so the build job installs exactly that version.

use crate::diag::Diagnostic;

/// A language toolchain at the version a runtime needs. Ordered so that a set of them sorts
/// the same on every synth.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toolchain {
    /// `actions/setup-python`'s `python-version`, e.g. `3.12`.
    Python(String),
    /// `actions/setup-node`'s `node-version`, e.g. `20`.
    Node(String),
    /// `actions/setup-java`'s `java-version` (Amazon Corretto, the JDK Lambda runs).
    Java(String),
    /// Go for `provided.*` runtimes with `BuildMethod: go1.x`: the latest stable release.
    Go,
    /// `actions/setup-dotnet`'s `dotnet-version`, e.g. `8.0.x`.
    Dotnet(String),
    /// `ruby/setup-ruby`'s `ruby-version`, e.g. `3.3`.
    Ruby(String),
}

/// The runtimes sampipe knows, for messages.
pub const KNOWN_RUNTIMES: &str = "python3.9 to python3.13, nodejs18.x, nodejs20.x, nodejs22.x, java8.al2, java11, java17, java21, dotnet6, dotnet8, ruby3.2, ruby3.3, and provided.al2 or provided.al2023 with `BuildMethod: go1.x` or `makefile`";

impl Toolchain {
    /// The toolchain `runtime` (a function's `Runtime`, or a layer's `BuildMethod`) needs,
    /// given the function's `Metadata.BuildMethod`. `Ok(None)`: nothing to install (a
    /// `makefile` build brings its own tools).
    pub fn for_runtime(
        runtime: &str,
        build_method: Option<&str>,
    ) -> Result<Option<Self>, Diagnostic> {
        let unknown = || {
            Diagnostic::error("unknown-runtime", format!("sampipe does not know Lambda runtime `{runtime}`"))
                .help(format!("use one of {KNOWN_RUNTIMES}; or build in a container image you choose (`workflow.image` on GitLab and Bitbucket)"))
        };
        let toolchain = match runtime {
            "python3.9" | "python3.10" | "python3.11" | "python3.12" | "python3.13" => {
                Self::Python(runtime.trim_start_matches("python").to_owned())
            }
            "nodejs18.x" | "nodejs20.x" | "nodejs22.x" => Self::Node(
                runtime
                    .trim_start_matches("nodejs")
                    .trim_end_matches(".x")
                    .to_owned(),
            ),
            "java8.al2" => Self::Java("8".into()),
            "java11" | "java17" | "java21" => Self::Java(runtime.trim_start_matches("java").to_owned()),
            "dotnet6" | "dotnet8" => {
                Self::Dotnet(format!("{}.0.x", runtime.trim_start_matches("dotnet")))
            }
            "ruby3.2" | "ruby3.3" => Self::Ruby(runtime.trim_start_matches("ruby").to_owned()),
            "provided.al2" | "provided.al2023" => match build_method {
                Some("go1.x") => Self::Go,
                Some("makefile") => return Ok(None),
                Some(other) => {
                    return Err(Diagnostic::error(
                        "unknown-build-method",
                        format!("sampipe does not know how to set up `BuildMethod: {other}` for runtime `{runtime}`"),
                    )
                    .help("use `BuildMethod: go1.x` (Go) or `makefile` (your Makefile installs what it needs)"))
                }
                None => {
                    return Err(Diagnostic::error(
                        "missing-build-method",
                        format!("runtime `{runtime}` needs `Metadata.BuildMethod` to be built"),
                    )
                    .help("add `Metadata: {BuildMethod: go1.x}` (Go) or `{BuildMethod: makefile}` to the function"))
                }
            },
            _ => return Err(unknown()),
        };
        Ok(Some(toolchain))
    }

    /// What it is called in step names: `Python 3.12`.
    pub fn describe(&self) -> String {
        match self {
            Self::Python(v) => format!("Python {v}"),
            Self::Node(v) => format!("Node.js {v}"),
            Self::Java(v) => format!("Java {v}"),
            Self::Go => "Go".into(),
            Self::Dotnet(v) => format!(".NET {v}"),
            Self::Ruby(v) => format!("Ruby {v}"),
        }
    }
}

/// The SAM CLI release the default GitLab and Bitbucket images carry. It must be at least
/// [`SAM_READS_PARAMETER_FILES`]: the deploy scripts pass parameter overrides in a file.
/// `public.ecr.aws/sam/build-python3.12:1.161.0` is a tag in public use; AWS publishes the
/// build images of every supported runtime under each SAM CLI release's version.
pub const BUILD_IMAGE_SAM_VERSION: &str = "1.161.0";

/// The first SAM CLI release whose `sam deploy --parameter-overrides` reads `file://` (its
/// `CfnParameterOverridesType`, samcli/cli/types.py, gained it in v1.152.0). The deploy
/// scripts pass overrides that way, since the inline form cannot carry every value.
pub const SAM_READS_PARAMETER_FILES: (u32, u32, u32) = (1, 152, 0);

/// The SAM CLI version an AWS SAM build image's tag names (`1.161.0`,
/// `1.142.1-20250701194731-x86_64`), if it is one of those images with such a tag.
pub fn sam_version_of_build_image(image: &str) -> Option<(u32, u32, u32)> {
    let rest = image.strip_prefix("public.ecr.aws/sam/build-")?;
    let (_, tag) = rest.split_once(':')?;
    parse_sam_version(tag.split(['-', '@']).next()?)
}

/// A SAM CLI release number, `1.161.0`.
pub fn parse_sam_version(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) => {
            Some((major, minor, patch))
        }
        _ => None,
    }
}

/// The AWS SAM build image for `runtime` (a Lambda runtime sampipe knows): the SAM CLI, the
/// AWS CLI and the runtime's own tools, at SAM CLI release [`BUILD_IMAGE_SAM_VERSION`] (the
/// release's tag, documented at
/// <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-image-repositories.html>).
/// Set `workflow.image` to a digest for a byte-identical image.
pub fn sam_build_image(runtime: &str) -> String {
    // `java8.al2` and the provided runtimes' images drop nothing: the repository is named
    // after the runtime.
    format!("public.ecr.aws/sam/build-{runtime}:{BUILD_IMAGE_SAM_VERSION}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_runtime_has_a_toolchain() {
        let cases = [
            ("python3.9", Some(Toolchain::Python("3.9".into()))),
            ("python3.13", Some(Toolchain::Python("3.13".into()))),
            ("nodejs22.x", Some(Toolchain::Node("22".into()))),
            ("java8.al2", Some(Toolchain::Java("8".into()))),
            ("java21", Some(Toolchain::Java("21".into()))),
            ("dotnet8", Some(Toolchain::Dotnet("8.0.x".into()))),
            ("ruby3.3", Some(Toolchain::Ruby("3.3".into()))),
        ];
        for (runtime, expected) in cases {
            assert_eq!(
                Toolchain::for_runtime(runtime, None).ok(),
                Some(expected),
                "{runtime}"
            );
        }
        assert_eq!(
            Toolchain::for_runtime("provided.al2023", Some("go1.x")).ok(),
            Some(Some(Toolchain::Go))
        );
        assert_eq!(
            Toolchain::for_runtime("provided.al2", Some("makefile")).ok(),
            Some(None)
        );
        for (runtime, method, code) in [
            ("python2.7", None, "unknown-runtime"),
            ("go1.x", None, "unknown-runtime"),
            ("provided.al2", None, "missing-build-method"),
            (
                "provided.al2",
                Some("rust-cargolambda"),
                "unknown-build-method",
            ),
        ] {
            assert_eq!(
                Toolchain::for_runtime(runtime, method).map_err(|d| d.code),
                Err(code),
                "{runtime}"
            );
        }
    }

    #[test]
    fn build_images_are_pinned_per_runtime() {
        assert_eq!(
            sam_build_image("python3.12"),
            "public.ecr.aws/sam/build-python3.12:1.161.0"
        );
        assert_eq!(
            sam_build_image("java21"),
            "public.ecr.aws/sam/build-java21:1.161.0"
        );
        assert!(
            sam_version_of_build_image(&sam_build_image("nodejs20.x"))
                >= Some(SAM_READS_PARAMETER_FILES)
        );
    }

    #[test]
    fn build_image_tags_name_their_sam_version() {
        for (image, version) in [
            (
                "public.ecr.aws/sam/build-python3.12:1.142.1-20250701194731-x86_64",
                Some((1, 142, 1)),
            ),
            (
                "public.ecr.aws/sam/build-nodejs20.x:1.161.0",
                Some((1, 161, 0)),
            ),
            ("public.ecr.aws/sam/build-java21:latest", None),
            ("public.ecr.aws/sam/build-java21@sha256:0123", None),
            ("registry.example.com/sam:1.100.0", None),
        ] {
            assert_eq!(sam_version_of_build_image(image), version, "{image}");
        }
    }
}
