//! The application sampipe deploys, as its SAM template describes it: what the CI jobs must
//! set up to build it (each function's runtime, image functions, layers' build methods) and
//! what it exports (`Outputs`), and every resource it declares ([`resources`]: what the SAM
//! transform will make of each). [`parse`] reads template text (YAML with CloudFormation's
//! short-form tags, or JSON) and never touches the filesystem; [`crate::config::load_file`]
//! reads the file next to the config.

pub mod resources;
pub mod runtime;

use serde_yaml::{Mapping, Value};

use crate::diag::{ConfigPath, Diagnostic, Span};

pub use resources::{ApiSpec, Resource, SamSpec};
pub use runtime::Toolchain;

/// The SAM template's transform; a template without it is not a SAM template.
pub const SERVERLESS_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// SAM templates larger than this are refused (CloudFormation accepts at most 1 MB).
pub const MAX_TEMPLATE_BYTES: usize = 4 << 20;

/// How a function is packaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageType {
    Zip,
    /// A container image `sam build` builds with Docker and `sam deploy` pushes to ECR.
    Image,
}

/// One `AWS::Serverless::Function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    pub package_type: PackageType,
    /// `Runtime` (or `Globals.Function.Runtime`); `None` for image functions.
    pub runtime: Option<String>,
    /// `Metadata.BuildMethod` (e.g. `go1.x`, `makefile`, `esbuild`).
    pub build_method: Option<String>,
    /// What the build job must install for it; `None` for image functions.
    pub toolchain: Option<Toolchain>,
    /// Image functions: `Metadata.DockerTag` (SAM's default is `latest`).
    pub docker_tag: Option<String>,
}

/// One layer sam builds (`AWS::Serverless::LayerVersion` or `AWS::Lambda::LayerVersion` with
/// `Metadata.BuildMethod`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub logical_id: String,
    pub build_method: Option<String>,
    pub compatible_runtimes: Vec<String>,
    /// What the build job must install for it (`None` for `makefile` or no build method).
    pub toolchain: Option<Toolchain>,
}

/// What synth learned from the application's SAM template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SamApp {
    pub functions: Vec<Function>,
    pub layers: Vec<Layer>,
    /// The names of the template's `Outputs`, in order.
    pub outputs: Vec<String>,
    /// Every resource of `Resources`, in template order.
    pub resources: Vec<Resource>,
    /// The implicit `ServerlessRestApi` as `Globals.Api` configures it (SAM creates it only
    /// for `Api` events without `RestApiId`).
    pub implicit_rest_api: ApiSpec,
    /// The implicit `ServerlessHttpApi` as `Globals.HttpApi` configures it (SAM creates it
    /// only for `HttpApi` events without `ApiId`).
    pub implicit_http_api: ApiSpec,
}

impl SamApp {
    /// Whether any function is packaged as a container image.
    pub fn has_image_functions(&self) -> bool {
        self.functions
            .iter()
            .any(|f| f.package_type == PackageType::Image)
    }

    /// The image functions' logical ids.
    pub fn image_functions(&self) -> impl Iterator<Item = &str> {
        self.functions
            .iter()
            .filter(|f| f.package_type == PackageType::Image)
            .map(|f| f.logical_id.as_str())
    }

    /// The local images `sam build` tags for the image functions: `<logical id, lowercase>:<DockerTag>`
    /// (SAM CLI's `ApplicationBuilder._build_lambda_image`), in template order.
    pub fn built_images(&self) -> Vec<String> {
        self.functions
            .iter()
            .filter(|f| f.package_type == PackageType::Image)
            .map(|f| {
                format!(
                    "{}:{}",
                    f.logical_id.to_lowercase(),
                    f.docker_tag.as_deref().unwrap_or("latest")
                )
            })
            .collect()
    }

    /// Every toolchain the build needs, without repeats, in a stable order.
    pub fn toolchains(&self) -> Vec<Toolchain> {
        let mut all: Vec<Toolchain> = self
            .functions
            .iter()
            .filter_map(|f| f.toolchain.clone())
            .chain(self.layers.iter().filter_map(|l| l.toolchain.clone()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The Lambda runtimes (e.g. `python3.12`) the functions and layers build for, sorted,
    /// without repeats; `provided.*` runtimes built with `go1.x` count as themselves.
    pub fn runtimes(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .functions
            .iter()
            .filter(|f| f.toolchain.is_some())
            .filter_map(|f| f.runtime.clone())
            .chain(
                self.layers
                    .iter()
                    .filter(|l| l.toolchain.is_some())
                    .filter_map(|l| l.build_method.clone()),
            )
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

fn not_sam(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error("not-a-sam-template", message)
}

/// Parses a SAM template's text. `Err` holds every problem found, each located (line and
/// column via [`crate::config::ConfigSource`]) when possible.
pub fn parse(text: &str) -> Result<SamApp, Vec<Diagnostic>> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(vec![Diagnostic::error(
            "sam-template-too-large",
            format!(
                "the SAM template is {} bytes; sampipe reads at most {MAX_TEMPLATE_BYTES}",
                text.len()
            ),
        )
        .help("point `sam_template` at the application's SAM template")]);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let mut message = error.to_string();
            // yaml_serde appends " at line L column C"; the caret says that.
            if let Some(at) = message.find(" at line ") {
                message.truncate(at);
            }
            let mut diagnostic = Diagnostic::error(
                "invalid-sam-template",
                format!("the SAM template is not valid YAML or JSON: {message}"),
            )
            .help("fix the syntax; `sam validate --lint` shows the same problem");
            if let Some(location) = error.location() {
                diagnostic = diagnostic.at_span(Span {
                    line: location.line(),
                    column: location.column(),
                    len: 1,
                });
            }
            return Err(vec![diagnostic]);
        }
    };
    let Value::Mapping(root) = value else {
        return Err(vec![not_sam("the SAM template is not a mapping of sections")
            .help("point `sam_template` at the application's SAM template (with `Transform: AWS::Serverless-2016-10-31` and `Resources:`)")]);
    };
    if !has_serverless_transform(root.get("Transform")) {
        let diagnostic = not_sam(format!(
            "the template has no `Transform: {SERVERLESS_TRANSFORM}`, so it is not a SAM template"
        ))
        .help(format!(
            "point `sam_template` at the SAM template, or add `Transform: {SERVERLESS_TRANSFORM}` at its top level"
        ));
        return Err(vec![if root.contains_key("Transform") {
            diagnostic.at(ConfigPath::root().key("Transform"))
        } else {
            diagnostic
        }]);
    }
    let mut problems = Vec::new();
    let globals = root
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(Value::as_mapping);
    let global_runtime = globals.and_then(|g| g.get("Runtime"));
    let global_package_type = globals.and_then(|g| g.get("PackageType"));

    let mut app = SamApp::default();
    let resources = root.get("Resources").and_then(Value::as_mapping);
    let Some(resources) = resources else {
        return Err(vec![not_sam("the SAM template has no `Resources` mapping")
            .help("a SAM template declares its functions under `Resources:`")]);
    };
    let context = resources::Context::new(&root);
    app.implicit_rest_api = context.implicit_rest_api();
    app.implicit_http_api = context.implicit_http_api();
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        if let Some(declared) = resources::resource(&context, id, resource, &mut problems) {
            app.resources.push(declared);
        }
        let path = ConfigPath::root().key("Resources").key(id);
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        let properties = resource.get("Properties").and_then(Value::as_mapping);
        let metadata = resource.get("Metadata").and_then(Value::as_mapping);
        let build_method = metadata
            .and_then(|m| m.get("BuildMethod"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let docker_tag = match metadata.and_then(|m| m.get("DockerTag")) {
            None => None,
            Some(Value::String(tag)) if is_docker_tag(tag) => Some(tag.clone()),
            Some(_) => {
                problems.push(
                    Diagnostic::error("invalid-docker-tag", format!("function `{id}`'s `DockerTag` is not a Docker tag"))
                        .at(path.key("Metadata").key("DockerTag"))
                        .help("write letters, digits, `_`, `.` and `-` (at most 128, not starting with `.` or `-`), e.g. `DockerTag: v1`"),
                );
                None
            }
        };
        match kind {
            "AWS::Serverless::Function" => {
                match function(id, &path, properties, global_runtime, global_package_type) {
                    Ok((package_type, runtime, runtime_path)) => {
                        let toolchain = match (&runtime, package_type) {
                            (Some(runtime), PackageType::Zip) => {
                                match Toolchain::for_runtime(runtime, build_method.as_deref()) {
                                    Ok(toolchain) => toolchain,
                                    Err(problem) => {
                                        problems.push(problem.at(runtime_path));
                                        None
                                    }
                                }
                            }
                            _ => None,
                        };
                        app.functions.push(Function {
                            logical_id: id.to_owned(),
                            package_type,
                            runtime,
                            build_method,
                            toolchain,
                            docker_tag,
                        });
                    }
                    Err(problem) => problems.push(problem),
                }
            }
            "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => {
                let compatible_runtimes = properties
                    .and_then(|p| p.get("CompatibleRuntimes"))
                    .and_then(Value::as_sequence)
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let toolchain = match build_method.as_deref() {
                    None | Some("makefile") => None,
                    Some(method) => match Toolchain::for_runtime(method, None) {
                        Ok(toolchain) => toolchain,
                        Err(problem) => {
                            problems.push(
                                problem
                                    .at(path.key("Metadata").key("BuildMethod"))
                                    .help("a layer's `BuildMethod` is a Lambda runtime (e.g. `python3.12`) or `makefile`"),
                            );
                            None
                        }
                    },
                };
                app.layers.push(Layer {
                    logical_id: id.to_owned(),
                    build_method,
                    compatible_runtimes,
                    toolchain,
                });
            }
            _ => {}
        }
    }
    if let Some(outputs) = root.get("Outputs").and_then(Value::as_mapping) {
        app.outputs = outputs
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    if problems.is_empty() {
        Ok(app)
    } else {
        Err(problems)
    }
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_docker_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn has_serverless_transform(transform: Option<&Value>) -> bool {
    match transform {
        Some(Value::String(name)) => name == SERVERLESS_TRANSFORM,
        Some(Value::Sequence(names)) => names
            .iter()
            .any(|n| n.as_str() == Some(SERVERLESS_TRANSFORM)),
        _ => false,
    }
}

/// A function's package type and runtime (with where the runtime is written).
fn function(
    id: &str,
    path: &ConfigPath,
    properties: Option<&Mapping>,
    global_runtime: Option<&Value>,
    global_package_type: Option<&Value>,
) -> Result<(PackageType, Option<String>, ConfigPath), Diagnostic> {
    let own_package_type = properties.and_then(|p| p.get("PackageType"));
    let (package_type, package_path) = match own_package_type {
        Some(value) => (Some(value), path.key("Properties").key("PackageType")),
        None => (
            global_package_type,
            ConfigPath::root()
                .key("Globals")
                .key("Function")
                .key("PackageType"),
        ),
    };
    let package_type = match package_type {
        None => PackageType::Zip,
        Some(Value::String(s)) if s == "Zip" => PackageType::Zip,
        Some(Value::String(s)) if s == "Image" => PackageType::Image,
        Some(_) => {
            return Err(Diagnostic::error(
                "unknown-package-type",
                format!("function `{id}` has a `PackageType` that is neither `Zip` nor `Image`"),
            )
            .at(package_path)
            .help("write `PackageType: Zip` or `PackageType: Image` literally; sampipe must know it at synth to set up the build"))
        }
    };
    let own_runtime = properties.and_then(|p| p.get("Runtime"));
    let (runtime, runtime_path) = match own_runtime {
        Some(value) => (Some(value), path.key("Properties").key("Runtime")),
        None => (
            global_runtime,
            ConfigPath::root()
                .key("Globals")
                .key("Function")
                .key("Runtime"),
        ),
    };
    if package_type == PackageType::Image {
        return Ok((package_type, None, runtime_path));
    }
    // Inline code is not built; it still needs no toolchain.
    match runtime {
        Some(Value::String(runtime)) => Ok((package_type, Some(runtime.clone()), runtime_path)),
        Some(_) => Err(Diagnostic::error(
            "runtime-not-literal",
            format!("function `{id}`'s `Runtime` is not a literal string"),
        )
        .at(runtime_path)
        .help("write the runtime literally (e.g. `Runtime: python3.12`): sampipe sets up the build job for it at synth, before any parameter is known")),
        None => Err(Diagnostic::error(
            "missing-runtime",
            format!("function `{id}` has no `Runtime` (and `Globals.Function` sets none)"),
        )
        .at(path.clone())
        .help("add `Runtime:` to the function's `Properties` or to `Globals.Function`, or `PackageType: Image` for a container image function")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n";

    fn app(body: &str) -> SamApp {
        parse(&format!("{HEADER}{body}")).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn codes(text: &str) -> Vec<&'static str> {
        parse(text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn reads_runtimes_from_globals_and_functions_with_short_form_tags() {
        let app = app("Globals:\n  Function:\n    Runtime: python3.12\nResources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: a/\n      Handler: app.handler\n      Environment:\n        Variables:\n          T: !Ref Table\n          U: !GetAtt Table.Arn\n          S: !Sub '${AWS::StackName}-x'\n  B:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs20.x\n  C:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n    Metadata:\n      Dockerfile: Dockerfile\n  Table:\n    Type: AWS::Serverless::SimpleTable\nOutputs:\n  Api:\n    Value: !Ref A\n  Arn:\n    Value: !GetAtt A.Arn\n");
        let runtimes: Vec<Option<&str>> =
            app.functions.iter().map(|f| f.runtime.as_deref()).collect();
        assert_eq!(runtimes, [Some("python3.12"), Some("nodejs20.x"), None]);
        assert!(app.has_image_functions());
        assert_eq!(app.image_functions().collect::<Vec<_>>(), ["C"]);
        assert_eq!(app.built_images(), ["c:latest"]);
        assert_eq!(app.outputs, ["Api", "Arn"]);
        assert_eq!(app.runtimes(), ["nodejs20.x", "python3.12"]);
    }

    #[test]
    fn image_package_type_from_globals() {
        let app = app("Globals:\n  Function:\n    PackageType: Image\nResources:\n  A:\n    Type: AWS::Serverless::Function\n");
        assert!(app.has_image_functions());
        assert!(app.toolchains().is_empty());
    }

    #[test]
    fn reads_json_templates_and_layers() {
        let app = parse(r#"{"Transform": ["AWS::Serverless-2016-10-31"], "Resources": {"L": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"CompatibleRuntimes": ["python3.13"]}, "Metadata": {"BuildMethod": "python3.13"}}, "M": {"Type": "AWS::Serverless::LayerVersion", "Metadata": {"BuildMethod": "makefile"}}}}"#)
            .expect("parses");
        assert_eq!(app.layers.len(), 2);
        assert_eq!(app.layers[0].compatible_runtimes, ["python3.13"]);
        assert_eq!(app.toolchains(), [Toolchain::Python("3.13".into())]);
    }

    #[test]
    fn problems_are_diagnostics_not_panics() {
        assert_eq!(codes("Resources: {}\n"), ["not-a-sam-template"]);
        assert_eq!(codes("[1, 2]\n"), ["not-a-sam-template"]);
        assert_eq!(codes("a: [\n"), ["invalid-sam-template"]);
        assert_eq!(
            codes(&format!("{HEADER}Resources: 3\n")),
            ["not-a-sam-template"]
        );
        assert_eq!(
            codes(&format!("{HEADER}Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: cobol9\n")),
            ["unknown-runtime"]
        );
        assert_eq!(
            codes(&format!("{HEADER}Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: !Ref R\n")),
            ["runtime-not-literal"]
        );
        assert_eq!(
            codes(&format!(
                "{HEADER}Resources:\n  A:\n    Type: AWS::Serverless::Function\n"
            )),
            ["missing-runtime"]
        );
        let mut laughs = String::from(
            "Transform: AWS::Serverless-2016-10-31\na: &a [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for level in 1..12 {
            let previous = level - 1;
            laughs.push_str(&format!(
                "l{level}: &l{level} [*{}, *{0}, *{0}, *{0}, *{0}, *{0}, *{0}, *{0}, *{0}, *{0}]\n",
                if previous == 0 {
                    "a".to_owned()
                } else {
                    format!("l{previous}")
                }
            ));
        }
        laughs.push_str("Resources: *l11\n");
        assert!(
            parse(&laughs).is_err(),
            "an alias bomb is refused, not expanded"
        );
        for text in ["", "~", "!Ref x", "Transform: 1", "\u{feff}Transform: [x]"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }
}
