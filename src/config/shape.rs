//! The shape of `sampipe.yaml`: every key the model knows, the kind of value each takes, and
//! which ones must be there. It is checked on the parsed YAML before serde sees it, because
//! serde stops at the first problem and this walk reports all of them, each pointing at the key
//! or value in the source.
//!
//! The walk also normalizes the document into exactly the types of the model, leaving out what
//! it reported, so the checks in `validate` can still run on the rest: a misspelled key and a
//! bad account id in another stage are reported in the same run.
//!
//! [`SCHEMA`] mirrors `model.rs` by hand; a unit test compares the key lists with serde's.

use serde_yaml::{Mapping, Value};

use super::ConfigSource;
use crate::diag::{did_you_mean, ConfigPath, Diagnostic, Segment};

/// What a value must be.
#[derive(Debug)]
pub(crate) enum Kind {
    /// Text. Numbers and booleans count as the text they are written as (`branch: 2024` is the
    /// branch `2024`), as yaml_serde reads them into a `String`.
    Text,
    Bool,
    /// A whole number from 0 to `max`.
    Number {
        max: u64,
    },
    /// A 12-digit account id, which must be quoted.
    Account,
    /// A list; `item` says what one entry is.
    List {
        of: &'static Kind,
        item: &'static str,
    },
    /// A mapping whose keys the user chooses.
    Map {
        of: &'static Kind,
        item: &'static str,
    },
    /// A mapping with known keys.
    Struct(&'static [Field]),
}

/// Whether a key must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    Required,
    /// An `Option` in the model: leaving the value out (`key:`) is the same as leaving the key out.
    Optional,
    /// Has a default, which a value left out does not select.
    Default(&'static str),
}

/// One known key.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) presence: Presence,
    /// What the value must be, for messages: "a name such as `sam-app`".
    pub(crate) expect: &'static str,
    /// A value as it would be written after `name: `, for hints.
    pub(crate) example: &'static str,
}

const fn field(
    name: &'static str,
    kind: Kind,
    presence: Presence,
    expect: &'static str,
    example: &'static str,
) -> Field {
    Field {
        name,
        kind,
        presence,
        expect,
        example,
    }
}

use Presence::{Default as Defaults, Optional, Required};

const U32: u64 = u32::MAX as u64;

/// The whole config (`Config` in `model.rs`).
pub(crate) const SCHEMA: &[Field] = &[
    field(
        "version",
        Kind::Number { max: U32 },
        Required,
        "the number `1`",
        "1",
    ),
    field(
        "app",
        Kind::Text,
        Required,
        "a name such as `sam-app`",
        "sam-app",
    ),
    field(
        "sam_template",
        Kind::Text,
        Defaults("template.yaml"),
        "a path such as `template.yaml`",
        "template.yaml",
    ),
    field(
        "workflow_path",
        Kind::Text,
        Defaults(".github/workflows/pipeline.yaml"),
        "a path such as `.github/workflows/pipeline.yaml`",
        ".github/workflows/pipeline.yaml",
    ),
    field(
        "source",
        Kind::Struct(SOURCE),
        Required,
        "a mapping with one of `github`, `gitlab` or `bitbucket` in it",
        "",
    ),
    field(
        "branch",
        Kind::Text,
        Defaults("main"),
        "a branch name such as `main`",
        "main",
    ),
    field(
        "feature_branches",
        Kind::Text,
        Optional,
        "a branch pattern such as `\"feature*\"`",
        "\"feature*\"",
    ),
    field(
        "stages",
        Kind::List {
            of: &Kind::Struct(STAGE),
            item: "a stage: a mapping with `name`, `account` and `region`",
        },
        Required,
        "a list of stages, each starting with `- name:`",
        "",
    ),
    field(
        "workflow",
        Kind::Struct(WORKFLOW),
        Defaults("{}"),
        "a mapping of workflow settings",
        "",
    ),
    field(
        "cloudformation_execution_role",
        Kind::Struct(EXECUTION_ROLE),
        Defaults("{}"),
        "a mapping with `permissions`, `statements`, `managed_policy_arns` or `permissions_boundary`",
        "",
    ),
];

const SOURCE: &[Field] = &[
    field(
        "github",
        Kind::Struct(GITHUB),
        Optional,
        "a mapping with `repository` in it",
        "",
    ),
    field(
        "gitlab",
        Kind::Struct(GITLAB),
        Optional,
        "a mapping with `project` in it",
        "",
    ),
    field(
        "bitbucket",
        Kind::Struct(BITBUCKET),
        Optional,
        "a mapping with `workspace`, `workspace_uuid` and `repository_uuid` in it",
        "",
    ),
];

const GITLAB: &[Field] = &[
    field(
        "project",
        Kind::Text,
        Required,
        "the project's path, such as `octo-group/sam-app`",
        "octo-group/sam-app",
    ),
    field(
        "url",
        Kind::Text,
        Defaults("https://gitlab.com"),
        "the instance URL, such as `https://gitlab.example.com`",
        "https://gitlab.example.com",
    ),
    field(
        "audience",
        Kind::Text,
        Optional,
        "an audience such as `https://gitlab.com`",
        "https://gitlab.com",
    ),
];

const BITBUCKET: &[Field] = &[
    field(
        "workspace",
        Kind::Text,
        Required,
        "the workspace ID, such as `octo-workspace`",
        "octo-workspace",
    ),
    field(
        "workspace_uuid",
        Kind::Text,
        Required,
        "a UUID in braces and quotes, such as `\"{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}\"`",
        "\"{8d5c2a4e-6f1b-4c3d-9e7a-0b1c2d3e4f50}\"",
    ),
    field(
        "repository_uuid",
        Kind::Text,
        Required,
        "a UUID in braces and quotes, such as `\"{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}\"`",
        "\"{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}\"",
    ),
];

const GITHUB: &[Field] = &[
    field(
        "repository",
        Kind::Text,
        Required,
        "`owner/name`, such as `octo-org/sam-app`",
        "octo-org/sam-app",
    ),
    field(
        "owner_id",
        Kind::Number { max: u64::MAX },
        Optional,
        "a number such as `123456`",
        "123456",
    ),
    field(
        "repository_id",
        Kind::Number { max: u64::MAX },
        Optional,
        "a number such as `456789`",
        "456789",
    ),
];

const STAGE: &[Field] = &[
    field(
        "name",
        Kind::Text,
        Required,
        "a stage name such as `dev`",
        "dev",
    ),
    field(
        "account",
        Kind::Account,
        Required,
        "a 12-digit account id in quotes, such as `\"111111111111\"`",
        "\"111111111111\"",
    ),
    field(
        "region",
        Kind::Text,
        Required,
        "a region such as `us-east-1`",
        "us-east-1",
    ),
    field(
        "stack_name",
        Kind::Text,
        Optional,
        "a stack name such as `sam-app-dev`",
        "sam-app-dev",
    ),
    field(
        "image_repository",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "environment",
        Kind::Text,
        Optional,
        "an environment name such as `production`",
        "production",
    ),
    field(
        "environment_uuid",
        Kind::Text,
        Optional,
        "a UUID in braces and quotes, such as `\"{0f1e2d3c-4b5a-4968-8776-655443322110}\"`",
        "\"{0f1e2d3c-4b5a-4968-8776-655443322110}\"",
    ),
    field(
        "manual_approval",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "parameter_overrides",
        Kind::List {
            of: &Kind::Text,
            item: "a `Key=Value` entry",
        },
        Defaults("[]"),
        "a list of `Key=Value` entries",
        "[LogLevel=warn]",
    ),
    field(
        "existing",
        Kind::Struct(EXISTING),
        Defaults("{}"),
        "a mapping of resources to reuse",
        "",
    ),
];

const EXISTING: &[Field] = &[
    field(
        "oidc_provider",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "artifacts_bucket",
        Kind::Text,
        Optional,
        "a bucket name",
        "my-artifacts-bucket",
    ),
    field(
        "cloudformation_execution_role",
        Kind::Text,
        Optional,
        "an IAM role ARN",
        "arn:aws:iam::111111111111:role/NAME",
    ),
    field(
        "image_repository",
        Kind::Text,
        Optional,
        "an ECR repository URI",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/NAME",
    ),
];

const WORKFLOW: &[Field] = &[
    field(
        "name",
        Kind::Text,
        Defaults("Pipeline"),
        "a workflow name",
        "Pipeline",
    ),
    field(
        "runs_on",
        Kind::Text,
        Defaults("ubuntu-latest"),
        "a runner label such as `ubuntu-24.04`",
        "ubuntu-24.04",
    ),
    field(
        "unit_test_command",
        Kind::Text,
        Optional,
        "a shell command",
        "make test",
    ),
    field(
        "integration_test_command",
        Kind::Text,
        Optional,
        "a shell command",
        "make integration-test",
    ),
    field(
        "image",
        Kind::Text,
        Optional,
        "a container image such as `public.ecr.aws/sam/build-python3.13:1.150.1`",
        "public.ecr.aws/sam/build-python3.13:1.150.1",
    ),
    field(
        "sam_cli_version",
        Kind::Text,
        Optional,
        "a version such as `1.170.0`",
        "1.170.0",
    ),
    field(
        "use_container",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "cache",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "timeout_minutes",
        Kind::Number { max: U32 },
        Defaults("30"),
        "a number of minutes such as `30`",
        "30",
    ),
    field(
        "capabilities",
        Kind::List {
            of: &Kind::Text,
            item: "a capability such as `CAPABILITY_IAM`",
        },
        Defaults("[CAPABILITY_IAM]"),
        "a list of capabilities",
        "[CAPABILITY_IAM]",
    ),
    field(
        "env",
        Kind::Map {
            of: &Kind::Text,
            item: "a value, taken literally",
        },
        Defaults("{}"),
        "a mapping from variable names to values",
        "",
    ),
    field(
        "steps",
        Kind::Struct(EXTRA_STEPS),
        Defaults("{}"),
        "a mapping with `before_build`, `after_build`, `before_deploy` or `after_deploy`",
        "",
    ),
    field(
        "jobs",
        Kind::List {
            of: &Kind::Struct(EXTRA_JOB),
            item: "a job: a mapping with `id`, `after` and `run`",
        },
        Defaults("[]"),
        "a list of jobs",
        "",
    ),
    field(
        "actions",
        Kind::Map {
            of: &Kind::Struct(ACTION_PIN),
            item: "a pin: a mapping with `sha` and `version`",
        },
        Defaults("{}"),
        "a mapping from `owner/repo` to a pin",
        "",
    ),
];

const STEP_LIST: Kind = Kind::List {
    of: &Kind::Struct(EXTRA_STEP),
    item: "a step: a mapping with `name` and `run`",
};

const EXTRA_STEPS: &[Field] = &[
    field(
        "before_build",
        STEP_LIST,
        Defaults("[]"),
        "a list of steps",
        "",
    ),
    field(
        "after_build",
        STEP_LIST,
        Defaults("[]"),
        "a list of steps",
        "",
    ),
    field(
        "before_deploy",
        STEP_LIST,
        Defaults("[]"),
        "a list of steps",
        "",
    ),
    field(
        "after_deploy",
        STEP_LIST,
        Defaults("[]"),
        "a list of steps",
        "",
    ),
];

const ENV: Kind = Kind::Map {
    of: &Kind::Text,
    item: "a value, taken literally",
};

const SECRETS: Kind = Kind::List {
    of: &Kind::Text,
    item: "a secret's name such as `NPM_TOKEN`",
};

const EXTRA_STEP: &[Field] = &[
    field(
        "name",
        Kind::Text,
        Required,
        "the step's name",
        "Install dependencies",
    ),
    field("run", Kind::Text, Required, "shell commands", "npm ci"),
    field(
        "env",
        ENV,
        Defaults("{}"),
        "a mapping from variable names to values",
        "",
    ),
    field(
        "secrets",
        SECRETS,
        Defaults("[]"),
        "a list of secret names",
        "[NPM_TOKEN]",
    ),
    field(
        "role",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
    field(
        "stages",
        Kind::List {
            of: &Kind::Text,
            item: "a stage name",
        },
        Optional,
        "a list of stage names",
        "[dev]",
    ),
];

const EXTRA_JOB: &[Field] = &[
    field(
        "id",
        Kind::Text,
        Required,
        "a job id such as `smoke-test`",
        "smoke-test",
    ),
    field("name", Kind::Text, Optional, "the job's name", "Smoke test"),
    field(
        "after",
        Kind::Text,
        Required,
        "`build` or a stage name",
        "dev",
    ),
    field(
        "run",
        Kind::Text,
        Required,
        "shell commands",
        "make smoke-test",
    ),
    field(
        "env",
        ENV,
        Defaults("{}"),
        "a mapping from variable names to values",
        "",
    ),
    field(
        "secrets",
        SECRETS,
        Defaults("[]"),
        "a list of secret names",
        "[API_KEY]",
    ),
    field(
        "role",
        Kind::Bool,
        Defaults("false"),
        "`true` or `false`",
        "true",
    ),
];

const ACTION_PIN: &[Field] = &[
    field("sha", Kind::Text, Required, "a 40-character commit SHA", ""),
    field(
        "version",
        Kind::Text,
        Required,
        "a release name such as `v7.0.1`",
        "v7.0.1",
    ),
];

const EXECUTION_ROLE: &[Field] = &[
    field(
        "permissions",
        Kind::Text,
        Optional,
        "`derived` or `admin`",
        "derived",
    ),
    field(
        "statements",
        Kind::List {
            of: &Kind::Struct(EXTRA_STATEMENT),
            item: "a statement: a mapping with `sid`, `effect`, `actions` and `resources`",
        },
        Defaults("[]"),
        "a list of IAM statements",
        "",
    ),
    field(
        "managed_policy_arns",
        Kind::List {
            of: &Kind::Text,
            item: "a managed policy ARN",
        },
        Defaults("[]"),
        "a list of managed policy ARNs",
        "",
    ),
    field(
        "permissions_boundary",
        Kind::Text,
        Optional,
        "a managed policy ARN",
        "",
    ),
];

const EXTRA_STATEMENT: &[Field] = &[
    field("sid", Kind::Text, Required, "a statement id of letters and digits", "AllowQueues"),
    field("effect", Kind::Text, Optional, "`Allow` or `Deny`", "Allow"),
    field(
        "actions",
        Kind::List {
            of: &Kind::Text,
            item: "an IAM action such as `sqs:CreateQueue`",
        },
        Required,
        "a list of IAM actions",
        "",
    ),
    field(
        "resources",
        Kind::List {
            of: &Kind::Text,
            item: "an ARN (`${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}` are substituted)",
        },
        Required,
        "a list of ARNs",
        "",
    ),
];

/// The outcome of the walk: the document in the model's types, and what was wrong with it.
#[derive(Debug)]
pub(crate) struct Shaped {
    pub(crate) value: Value,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Paths whose value the walk reported and replaced (by a [`placeholder`], or an account
    /// number by its text): later checks at or below them would only repeat the report.
    pub(crate) replaced: Vec<ConfigPath>,
}

/// Checks `document` against [`SCHEMA`].
pub(crate) fn check(document: Value, source: &ConfigSource) -> Shaped {
    let mut walk = Walk {
        source,
        out: Vec::new(),
        replaced: Vec::new(),
    };
    let root = ConfigPath::root();
    let value = match walk.untag(document, &root) {
        Value::Mapping(mapping) => Value::Mapping(walk.fields(mapping, SCHEMA, &root)),
        other => other,
    };
    Shaped {
        value,
        diagnostics: walk.out,
        replaced: walk.replaced,
    }
}

struct Walk<'a> {
    source: &'a ConfigSource,
    out: Vec<Diagnostic>,
    replaced: Vec<ConfigPath>,
}

/// A stand-in for a required value that is missing or unreadable, so that the rest of the
/// config can still be checked. Problems found at or below its path are not reported.
fn placeholder(kind: &Kind) -> Value {
    match kind {
        Kind::Text | Kind::Account => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::Number { .. } => Value::Number(1.into()),
        Kind::List { .. } => Value::Sequence(Vec::new()),
        Kind::Map { .. } => Value::Mapping(Mapping::new()),
        Kind::Struct(fields) => Value::Mapping(
            fields
                .iter()
                .filter(|f| f.presence == Required)
                .map(|f| (Value::String(f.name.into()), placeholder(&f.kind)))
                .collect(),
        ),
    }
}

impl Walk<'_> {
    /// Reports and drops a YAML tag (`!Ref x`): the config takes plain values.
    fn untag(&mut self, value: Value, path: &ConfigPath) -> Value {
        match value {
            Value::Tagged(tagged) => {
                self.out.push(
                    Diagnostic::error(
                        "yaml-tag",
                        format!("{} has the YAML tag `{}`", place(path), tagged.tag),
                    )
                    .at(path.clone())
                    .help(format!(
                        "sampipe.yaml takes plain values: remove `{}`",
                        tagged.tag
                    )),
                );
                self.untag(tagged.value, path)
            }
            other => other,
        }
    }

    /// Checks the entries of a mapping with known keys; returns them in the model's types. A
    /// required key that is missing, and any value that cannot be read, is replaced by a
    /// [`placeholder`].
    fn fields(&mut self, mapping: Mapping, fields: &[Field], path: &ConfigPath) -> Mapping {
        let mut kept = Mapping::new();
        // Keys that are written (even if unreadable) or that a misspelled key most likely
        // means: neither is reported missing as well.
        let mut accounted: Vec<&str> = Vec::new();
        let mut merges = false;
        for (key, value) in mapping {
            let Some(name) = self.key_text(&key, path) else {
                continue;
            };
            let here = path.key(&name);
            let Some(field) = fields.iter().find(|f| f.name == name) else {
                merges |= name == "<<";
                accounted.extend(self.unknown_key(&name, fields, path, &here));
                continue;
            };
            accounted.push(field.name);
            let value = self.untag(value, &here);
            let scalar = !matches!(
                field.kind,
                Kind::List { .. } | Kind::Map { .. } | Kind::Struct(_)
            );
            if value.is_null() && scalar && field.presence == Optional {
                // `key:` is the same as no key for an `Option`.
                continue;
            }
            let value = if value.is_null() {
                self.null(field, &here)
            } else {
                self.value(value, &field.kind, field, &here)
            };
            kept.insert(
                Value::String(name),
                self.or_placeholder(value, &field.kind, &here),
            );
        }
        for field in fields {
            if field.presence != Required || kept.contains_key(field.name) {
                continue;
            }
            // Keys a merge (`<<`, reported) would have supplied are not reported missing.
            if !merges && !accounted.contains(&field.name) {
                self.missing_key(field, path);
            }
            let here = path.key(field.name);
            kept.insert(
                Value::String(field.name.into()),
                self.or_placeholder(None, &field.kind, &here),
            );
        }
        kept
    }

    /// `value`, or a [`placeholder`] at `path` when it could not be read.
    fn or_placeholder(&mut self, value: Option<Value>, kind: &Kind, path: &ConfigPath) -> Value {
        value.unwrap_or_else(|| {
            self.replaced.push(path.clone());
            placeholder(kind)
        })
    }

    /// A value left out (`key:` or `key: ~`) where one is needed.
    fn null(&mut self, field: &Field, path: &ConfigPath) -> Option<Value> {
        match &field.kind {
            // An empty collection, as serde reads it.
            Kind::List { .. } => Some(Value::Sequence(Vec::new())),
            Kind::Map { .. } | Kind::Struct(_) => {
                self.value(Value::Mapping(Mapping::new()), &field.kind, field, path)
            }
            _ => {
                self.missing_value(field, field.presence, path);
                None
            }
        }
    }

    /// The text of a key, or `None` (reported) when the key is a list or a mapping.
    fn key_text(&mut self, key: &Value, path: &ConfigPath) -> Option<String> {
        match key {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some("~".into()),
            Value::Tagged(tagged) => self.key_text(&tagged.value, path),
            Value::Sequence(_) | Value::Mapping(_) => {
                self.out.push(
                    Diagnostic::error(
                        "invalid-key",
                        format!("{} has a key that is not text", place(path)),
                    )
                    .at(path.clone())
                    .help("write keys as plain words, such as `name:`"),
                );
                None
            }
        }
    }

    /// Checks one value against its kind; returns it in the model's type, or `None` (reported).
    fn value(
        &mut self,
        value: Value,
        kind: &Kind,
        field: &Field,
        path: &ConfigPath,
    ) -> Option<Value> {
        let value = self.untag(value, path);
        match (kind, value) {
            (Kind::Text, Value::String(s)) => Some(Value::String(s)),
            (Kind::Text, value @ (Value::Number(_) | Value::Bool(_))) => {
                Some(Value::String(self.written(&value, path)))
            }
            (Kind::Bool, Value::Bool(b)) => Some(Value::Bool(b)),
            (Kind::Number { max }, Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= *max => Some(Value::Number(n)),
                Some(_) => {
                    self.out_of_range(field, path, *max);
                    None
                }
                None => {
                    self.mistyped(&Value::Number(n), kind, field, path);
                    None
                }
            },
            // Digits that yaml_serde kept as text only because of a leading zero.
            (Kind::Account, Value::String(s))
                if s.bytes().all(|b| b.is_ascii_digit())
                    && self
                        .source
                        .written(path)
                        .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit())) =>
            {
                self.unquoted_account(&s, &s, path);
                Some(Value::String(s))
            }
            (Kind::Account, Value::String(s)) => Some(Value::String(s)),
            (Kind::Account, value @ Value::Number(_)) => {
                let written = self.written(&value, path);
                let read = value.as_u64().map(|n| n.to_string());
                self.unquoted_account(&written, read.as_deref().unwrap_or(&written), path);
                Some(Value::String(written))
            }
            (Kind::List { of, .. }, Value::Sequence(items)) => {
                let mut kept = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    // A placeholder keeps the indices of the later entries those of the source.
                    let here = path.index(index);
                    let item = self.item(item, of, kind, &here);
                    kept.push(self.or_placeholder(item, of, &here));
                }
                Some(Value::Sequence(kept))
            }
            (Kind::Map { of, .. }, Value::Mapping(mapping)) => {
                let mut kept = Mapping::new();
                for (key, item) in mapping {
                    let Some(name) = self.key_text(&key, path) else {
                        continue;
                    };
                    let here = path.key(&name);
                    let item = self.item(item, of, kind, &here);
                    kept.insert(Value::String(name), self.or_placeholder(item, of, &here));
                }
                Some(Value::Mapping(kept))
            }
            (Kind::Struct(fields), Value::Mapping(mapping)) => {
                Some(Value::Mapping(self.fields(mapping, fields, path)))
            }
            (_, value) => {
                self.mistyped(&value, kind, field, path);
                None
            }
        }
    }

    /// Checks one entry of a list or of a user-keyed mapping.
    fn item(&mut self, value: Value, of: &Kind, parent: &Kind, path: &ConfigPath) -> Option<Value> {
        let (Kind::List { item, .. } | Kind::Map { item, .. }) = parent else {
            return None;
        };
        let value = self.untag(value, path);
        let as_field = Field {
            name: "",
            kind: Kind::Text,
            presence: Required,
            expect: item,
            example: "",
        };
        if value.is_null() {
            if let Kind::Struct(fields) = of {
                return Some(Value::Mapping(self.fields(Mapping::new(), fields, path)));
            }
            self.mistyped(&value, of, &as_field, path);
            return None;
        }
        self.value(value, of, &as_field, path)
    }

    /// The value as the user wrote it (quotes included), falling back to how YAML read it.
    fn written(&self, value: &Value, path: &ConfigPath) -> String {
        if let Some(written) = self.source.written(path) {
            return written.to_owned();
        }
        match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        }
    }

    /// "the text `yes`", "the number `5`", "a list": what was found instead.
    fn describe(&self, value: &Value, path: &ConfigPath) -> String {
        let written = self.written(value, path);
        match value {
            Value::Null => "nothing".into(),
            Value::Bool(_) => format!("`{written}`"),
            Value::Number(_) => format!("the number `{written}`"),
            Value::String(_) => format!("the text `{written}`"),
            Value::Sequence(_) => "a list".into(),
            Value::Mapping(_) => "a mapping".into(),
            Value::Tagged(_) => "a tagged value".into(),
        }
    }

    /// Reports an unknown key; returns the known key it most likely means.
    fn unknown_key(
        &mut self,
        name: &str,
        fields: &[Field],
        parent: &ConfigPath,
        at: &ConfigPath,
    ) -> Option<&'static str> {
        let names = fields.iter().map(|f| f.name);
        let close = did_you_mean(name, names.clone()).or_else(|| abbreviated(name, fields));
        let help = if name == "<<" {
            "YAML merge keys are not supported: write the keys out in full".to_owned()
        } else if let Some(close) = close {
            format!("did you mean `{close}`?")
        } else if let Some(home) = home_of(name) {
            format!("`{name}` belongs in {home}")
        } else {
            format!(
                "{} takes {}",
                place(parent),
                ticked(&names.collect::<Vec<_>>())
            )
        };
        self.out.push(
            Diagnostic::error(
                "unknown-key",
                format!("unknown key `{name}` {}", within(parent)),
            )
            .at_key(at.clone())
            .help(help),
        );
        close
    }

    fn missing_key(&mut self, field: &Field, parent: &ConfigPath) {
        let example = if field.example.is_empty() {
            format!("`{}:` with {}", field.name, field.expect)
        } else {
            format!("`{}: {}`", field.name, field.example)
        };
        self.out.push(
            Diagnostic::error(
                "missing-key",
                format!("missing key `{}` {}", field.name, within(parent)),
            )
            .at(parent.clone())
            .help(format!("add {example}")),
        );
    }

    fn missing_value(&mut self, field: &Field, presence: Presence, path: &ConfigPath) {
        let help = match presence {
            Defaults(default) => format!(
                "give {}, or remove the key to use the default `{default}`",
                field.expect
            ),
            _ => format!("give {}", field.expect),
        };
        self.out.push(
            Diagnostic::error("missing-value", format!("`{path}` has no value"))
                .at_key(path.clone())
                .help(help),
        );
    }

    /// Reports a value of the wrong kind; `kind` is what was expected (for a list entry, the
    /// entry's kind rather than the list's).
    fn mistyped(&mut self, value: &Value, kind: &Kind, field: &Field, path: &ConfigPath) {
        let found = self.describe(value, path);
        let mut diagnostic = Diagnostic::error(
            "invalid-type",
            format!("`{path}` must be {}, not {found}", field.expect),
        )
        .at(path.clone());
        let key = match path.segments().last() {
            Some(Segment::Key(key)) => key.clone(),
            _ => String::new(),
        };
        diagnostic.help = match (kind, value) {
            (Kind::Bool, Value::String(s)) => {
                let meant = match s.to_ascii_lowercase().as_str() {
                    "yes" | "y" | "on" => Some(true),
                    "no" | "n" | "off" => Some(false),
                    _ => None,
                };
                diagnostic.label =
                    Some("YAML 1.2 reads only `true` and `false` as booleans".into());
                Some(match meant {
                    Some(b) => format!("write `{key}: {b}`"),
                    None => format!("write `{key}: true` or `{key}: false`"),
                })
            }
            (Kind::Number { .. }, Value::String(s)) if s.trim().parse::<u64>().is_ok() => {
                Some(format!("remove the quotes: `{key}: {}`", s.trim()))
            }
            (Kind::Number { .. }, Value::Number(_)) => Some(format!(
                "write a whole number that is not negative, e.g. `{key}: {}`",
                field.example
            )),
            (Kind::List { .. }, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                Some(format!(
                    "write a list, even of one entry: `{key}: [{}]`",
                    self.written(value, path)
                ))
            }
            (Kind::List { .. }, Value::Mapping(_)) if key == "stages" => Some(
                "start each stage with `- `, e.g. `- name: dev`, and indent its keys below".into(),
            ),
            (Kind::Struct(_) | Kind::Map { .. }, _) if !key.is_empty() => Some(format!(
                "write the entries of `{key}` on the lines below it, indented"
            )),
            (Kind::Struct(_), _) if path.parent() == ConfigPath::root().key("stages") => Some(
                "write each stage as `- name: dev`, with `account:` and `region:` on the lines below it, indented"
                    .into(),
            ),
            (Kind::Struct(_), _) => {
                Some("write the entry's keys on the lines below, indented".into())
            }
            _ if !field.example.is_empty() && !key.is_empty() => {
                Some(format!("write e.g. `{key}: {}`", field.example))
            }
            _ => None,
        };
        self.out.push(diagnostic);
    }

    fn out_of_range(&mut self, field: &Field, path: &ConfigPath, max: u64) {
        self.out.push(
            Diagnostic::error(
                "invalid-type",
                format!("`{path}` is too large: it must be {}", field.expect),
            )
            .at(path.clone())
            .help(format!("give a number no larger than {max}")),
        );
    }

    /// An account id YAML read without quotes. `read` is what another reader could make of it.
    fn unquoted_account(&mut self, written: &str, read: &str, path: &ConfigPath) {
        let digits: String = written.chars().filter(char::is_ascii_digit).collect();
        let label = if written.starts_with('0') && written.len() > 1 {
            if written[1..].starts_with(['x', 'o', 'b']) {
                format!("YAML reads `{written}` as the number {read}")
            } else {
                "sampipe reads this as text, but YAML 1.1 tools read a leading `0` as an octal number".to_owned()
            }
        } else {
            "YAML reads this as a number, and a number loses its leading zeros".to_owned()
        };
        let fixed = if written.bytes().all(|b| b.is_ascii_digit()) && digits.len() < 12 {
            format!("{:0>12}", digits)
        } else {
            written.to_owned()
        };
        self.replaced.push(path.clone());
        self.out.push(
            Diagnostic::error(
                "unquoted-account",
                format!("account `{written}` must be a quoted string"),
            )
            .at(path.clone())
            .label(label)
            .help(format!("write it in quotes: `account: \"{fixed}\"`")),
        );
    }
}

/// "the top level", "`stages[0]`".
fn place(path: &ConfigPath) -> String {
    if path.segments().is_empty() {
        "the top level".into()
    } else {
        format!("`{path}`")
    }
}

/// "at the top level", "in `stages[0]`".
fn within(path: &ConfigPath) -> String {
    if path.segments().is_empty() {
        "at the top level".into()
    } else {
        format!("in `{path}`")
    }
}

fn ticked(words: &[&str]) -> String {
    let ticked: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match ticked.split_last() {
        None => "no keys".into(),
        Some((only, [])) => format!("only {only}"),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The one known key that the unknown one abbreviates: same first letter, and its letters in
/// order (`image_repo` → `image_repository`, `repo_id` → `repository_id`).
fn abbreviated(name: &str, fields: &[Field]) -> Option<&'static str> {
    let name = name.to_ascii_lowercase().replace('-', "_");
    if name.len() < 3 {
        return None;
    }
    let abbreviates = |full: &str| {
        let mut rest = full.chars();
        full.chars().next() == name.chars().next() && name.chars().all(|c| rest.any(|f| f == c))
    };
    let mut matches = fields.iter().filter(|f| abbreviates(f.name));
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only.name),
        _ => None,
    }
}

/// Where in the schema a key that is unknown here is known: "each stage (`stages[*]`)".
fn home_of(name: &str) -> Option<String> {
    fn search(fields: &[Field], path: &str, name: &str, found: &mut Vec<String>) {
        for field in fields {
            let here = if path.is_empty() {
                field.name.to_owned()
            } else {
                format!("{path}.{}", field.name)
            };
            if field.name == name {
                found.push(if path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{path}`")
                });
            }
            match &field.kind {
                Kind::Struct(inner) => search(inner, &here, name, found),
                Kind::List {
                    of: Kind::Struct(inner),
                    ..
                } => search(inner, &format!("{here}[*]"), name, found),
                Kind::Map {
                    of: Kind::Struct(inner),
                    ..
                } => search(inner, &format!("{here}.*"), name, found),
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    search(SCHEMA, "", name, &mut found);
    match found.as_slice() {
        [] => None,
        [only] if only == "`stages[*]`" => Some("each stage (`stages[*]`)".into()),
        [only] => Some(only.clone()),
        many => Some(format!("one of {}", many.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{
        ActionPin, Config, ExecutionRoleSettings, Existing, GitHubSource, Source, Stage,
        WorkflowSettings,
    };

    /// The field names serde knows for `T`, captured from `deserialize_struct`.
    fn serde_fields<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
        struct Spy(Option<&'static [&'static str]>);
        impl<'de> serde::Deserializer<'de> for &mut Spy {
            type Error = serde::de::value::Error;
            fn deserialize_any<V: serde::de::Visitor<'de>>(
                self,
                _: V,
            ) -> Result<V::Value, Self::Error> {
                Err(serde::de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0 = Some(fields);
                Err(serde::de::Error::custom("captured"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let mut spy = Spy(None);
        let _ = T::deserialize(&mut spy);
        spy.0.expect("a struct")
    }

    fn names(fields: &[Field]) -> Vec<&'static str> {
        fields.iter().map(|f| f.name).collect()
    }

    #[test]
    fn schema_lists_exactly_the_model_fields() {
        assert_eq!(names(SCHEMA), serde_fields::<Config>());
        assert_eq!(names(SOURCE), serde_fields::<Source>());
        assert_eq!(names(GITHUB), serde_fields::<GitHubSource>());
        assert_eq!(names(STAGE), serde_fields::<Stage>());
        assert_eq!(names(EXISTING), serde_fields::<Existing>());
        assert_eq!(names(WORKFLOW), serde_fields::<WorkflowSettings>());
        assert_eq!(names(ACTION_PIN), serde_fields::<ActionPin>());
        assert_eq!(
            names(EXECUTION_ROLE),
            serde_fields::<ExecutionRoleSettings>()
        );
    }

    #[test]
    fn unknown_keys_are_placed_where_they_belong() {
        assert_eq!(
            home_of("account").as_deref(),
            Some("each stage (`stages[*]`)")
        );
        assert_eq!(home_of("github").as_deref(), Some("`source`"));
        assert_eq!(home_of("zzz"), None);
        assert_eq!(abbreviated("image_repo", STAGE), Some("image_repository"));
        assert_eq!(abbreviated("repo_id", GITHUB), Some("repository_id"));
        assert_eq!(abbreviated("rgn", STAGE), Some("region"));
        assert_eq!(abbreviated("xyz", STAGE), None);
        assert_eq!(ticked(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
