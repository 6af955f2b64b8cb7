//! Steps: each one either `uses:` a pinned action or has a `run:` script, never both.
//!
//! [`Step::uses`] makes a `Step<Uses>`, which has `with:` inputs; [`Step::run`] makes a
//! `Step<Run>`, which has `shell:` and `working-directory:`. A job stores either as the
//! plain [`Step`] (`Step<StepKind>`), so a `with:` on a script step cannot be written.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idsteps>.

use indexmap::IndexMap;
use serde_yaml::Value;

use super::actions::ActionRef;
use super::expr::{Expr, Literal, Script, Text};
use super::render::{Map, ToYaml};

/// A step; `K` says whether it uses an action ([`Uses`]) or runs a script ([`Run`]).
///
/// Renders its keys in the order `name, id, if, uses, with, env, shell, working-directory,
/// timeout-minutes, continue-on-error, run`:
///
/// ```yaml
/// - name: Build
///   id: build
///   if: github.event_name == 'push'
///   env:
///     SAM_TEMPLATE: template.yaml
///   shell: bash
///   run: sam build --template "$SAM_TEMPLATE"
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step<K = StepKind> {
    /// `name:`, shown in the run log.
    pub name: Option<String>,
    /// `id:`, used to refer to the step's outputs (`steps.<id>.outputs`).
    pub id: Option<String>,
    /// `if:`, rendered as a bare expression.
    pub if_: Option<Expr>,
    /// `env:` for this step only.
    pub env: IndexMap<String, Text>,
    /// `timeout-minutes:`. Default: none; the job's timeout applies.
    pub timeout_minutes: Option<u32>,
    /// `continue-on-error:`, rendered only when `true`. Default: `false`.
    pub continue_on_error: bool,
    /// What the step does.
    pub kind: K,
}

/// `uses:` an action pinned to a commit, with its `with:` inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Uses {
    /// The action, rendered `owner/repo@<sha>`.
    pub action: ActionRef,
    /// `with:` inputs, in insertion order.
    pub with: IndexMap<String, Input>,
}

/// A `run:` script, with its `shell:` and `working-directory:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// `run:`; contains no `${{` by construction.
    pub script: Script,
    /// `shell:`, e.g. `bash`. Default: the job's or workflow's `defaults`, else GitHub's.
    pub shell: Option<String>,
    /// `working-directory:`. Default: the job's or workflow's `defaults`, else the workspace.
    pub working_directory: Option<String>,
}

/// What a stored [`Step`] does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `uses:` an action.
    Uses(Uses),
    /// `run:` a script.
    Run(Run),
}

/// A `with:` input value.
///
/// ```yaml
/// with:
///   name: sam-build                                 # Input::Str
///   persist-credentials: false                      # Input::Bool
///   retention-days: 1                               # Input::Int
///   role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}     # Input::Expr
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A string without `${{`.
    Str(Literal),
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An expression, rendered `${{ body }}`.
    Expr(Expr),
}

impl From<Literal> for Input {
    fn from(literal: Literal) -> Self {
        Self::Str(literal)
    }
}

impl From<Expr> for Input {
    fn from(expr: Expr) -> Self {
        Self::Expr(expr)
    }
}

impl From<Text> for Input {
    fn from(text: Text) -> Self {
        match text {
            Text::Literal(literal) => Self::Str(literal),
            Text::Expr(expr) => Self::Expr(expr),
        }
    }
}

impl From<bool> for Input {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<i64> for Input {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<i32> for Input {
    fn from(value: i32) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<u32> for Input {
    fn from(value: u32) -> Self {
        Self::Int(i64::from(value))
    }
}

impl ToYaml for Input {
    fn to_yaml(&self) -> Value {
        match self {
            Self::Str(literal) => literal.to_yaml(),
            Self::Bool(value) => Value::Bool(*value),
            Self::Int(value) => Value::from(*value),
            Self::Expr(expr) => expr.to_yaml(),
        }
    }
}

impl<K> Step<K> {
    fn with_kind(kind: K) -> Self {
        Self {
            name: None,
            id: None,
            if_: None,
            env: IndexMap::new(),
            timeout_minutes: None,
            continue_on_error: false,
            kind,
        }
    }

    /// Sets `name:`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets `id:`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `if:`.
    pub fn if_(mut self, condition: Expr) -> Self {
        self.if_ = Some(condition);
        self
    }

    /// Adds `name: value` to `env:`, replacing an earlier value of `name`.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<Text>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Sets `timeout-minutes:`.
    pub fn timeout_minutes(mut self, minutes: u32) -> Self {
        self.timeout_minutes = Some(minutes);
        self
    }

    /// Sets `continue-on-error:`.
    pub fn continue_on_error(mut self, continue_on_error: bool) -> Self {
        self.continue_on_error = continue_on_error;
        self
    }

    fn map_kind<L>(self, kind: impl FnOnce(K) -> L) -> Step<L> {
        Step {
            name: self.name,
            id: self.id,
            if_: self.if_,
            env: self.env,
            timeout_minutes: self.timeout_minutes,
            continue_on_error: self.continue_on_error,
            kind: kind(self.kind),
        }
    }
}

impl Step<Uses> {
    /// A step that runs `action`: `uses: owner/repo@<sha>`.
    pub fn uses(action: ActionRef) -> Self {
        Self::with_kind(Uses {
            action,
            with: IndexMap::new(),
        })
    }

    /// Adds `name: value` to `with:`, replacing an earlier value of `name`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Input>) -> Self {
        self.kind.with.insert(name.into(), value.into());
        self
    }
}

impl Step<Run> {
    /// A step that runs `script`: `run: <script>`.
    pub fn run(script: Script) -> Self {
        Self::with_kind(Run {
            script,
            shell: None,
            working_directory: None,
        })
    }

    /// Sets `shell:`.
    pub fn shell(mut self, shell: impl Into<String>) -> Self {
        self.kind.shell = Some(shell.into());
        self
    }

    /// Sets `working-directory:`.
    pub fn working_directory(mut self, directory: impl Into<String>) -> Self {
        self.kind.working_directory = Some(directory.into());
        self
    }
}

impl From<Step<Uses>> for Step {
    fn from(step: Step<Uses>) -> Self {
        step.map_kind(StepKind::Uses)
    }
}

impl From<Step<Run>> for Step {
    fn from(step: Step<Run>) -> Self {
        step.map_kind(StepKind::Run)
    }
}

impl Step {
    /// The action this step uses, if it is a `uses:` step.
    pub fn action(&self) -> Option<&ActionRef> {
        match &self.kind {
            StepKind::Uses(uses) => Some(&uses.action),
            StepKind::Run(_) => None,
        }
    }
}

impl ToYaml for Step {
    fn to_yaml(&self) -> Value {
        let (uses, with, shell, working_directory, run) = match &self.kind {
            StepKind::Uses(uses) => (
                Some(uses.action.uses()),
                (!uses.with.is_empty()).then(|| uses.with.to_yaml()),
                None,
                None,
                None,
            ),
            StepKind::Run(run) => (
                None,
                None,
                run.shell.clone(),
                run.working_directory.clone(),
                Some(run.script.to_yaml()),
            ),
        };
        Map::new()
            .opt("name", self.name.clone())
            .opt("id", self.id.clone())
            .opt("if", self.if_.as_ref().map(Expr::condition))
            .opt("uses", uses)
            .opt("with", with)
            .non_empty("env", self.env.to_yaml())
            .opt("shell", shell)
            .opt("working-directory", working_directory)
            .opt("timeout-minutes", self.timeout_minutes)
            .opt("continue-on-error", self.continue_on_error.then_some(true))
            .opt("run", run)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::{assert_yaml, expr, lit, script, text};

    fn checkout() -> ActionRef {
        ActionRef::new(
            "actions/checkout",
            "3d3c42e5aac5ba805825da76410c181273ba90b1",
            "v7.0.1",
        )
        .expect("valid pin")
    }

    #[test]
    fn uses_step_renders_keys_in_order() {
        let step: Step = Step::uses(checkout())
            .with("persist-credentials", false)
            .with("fetch-depth", 1)
            .env("X", lit("1"))
            .if_(expr("github.event_name == 'push'"))
            .id("checkout")
            .name("Check out")
            .timeout_minutes(5)
            .into();
        assert_yaml(
            &step.to_yaml(),
            "
name: Check out
id: checkout
if: github.event_name == 'push'
uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
with:
  persist-credentials: false
  fetch-depth: 1
env:
  X: '1'
timeout-minutes: 5
",
        );
    }

    #[test]
    fn run_step_renders_run_last() {
        let step: Step = Step::run(script("sam build --template \"$SAM_TEMPLATE\""))
            .working_directory("app")
            .shell("bash")
            .continue_on_error(true)
            .env("SAM_TEMPLATE", text("template.yaml"))
            .name("Build")
            .into();
        assert_yaml(
            &step.to_yaml(),
            r#"
name: Build
env:
  SAM_TEMPLATE: template.yaml
shell: bash
working-directory: app
continue-on-error: true
run: sam build --template "$SAM_TEMPLATE"
"#,
        );
    }

    #[test]
    fn inputs_render_as_their_yaml_types() {
        let step: Step = Step::uses(checkout())
            .with("s", lit("x"))
            .with("b", true)
            .with("i", -3_i64)
            .with("e", expr("vars.X"))
            .into();
        assert_yaml(
            &step.to_yaml(),
            "
uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
with: {s: x, b: true, i: -3, e: '${{ vars.X }}'}
",
        );
    }

    #[test]
    fn bare_step_omits_empty_keys() {
        let step: Step = Step::uses(checkout()).into();
        assert_yaml(
            &step.to_yaml(),
            "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n",
        );
        assert_eq!(step.action(), Some(&checkout()));
    }
}
