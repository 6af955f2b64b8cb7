//! Expressions, literals and scripts: the three kinds of text a workflow holds, kept apart by type.
//!
//! An [`Expr`] is the only way to put `${{ }}` into a workflow. A [`Literal`] and a [`Script`]
//! are checked at construction to contain no `${{`, so an expression can never end up inside a
//! `run:` script, where GitHub would splice its value into the shell source (script injection);
//! data reaches a script through `env:` instead.
//!
//! See <https://docs.github.com/en/actions/reference/workflows-and-actions/expressions> and
//! <https://docs.github.com/en/actions/reference/security/secure-use#good-practices-for-mitigating-script-injection-attacks>.

use std::fmt;

use serde_yaml::Value;
use thiserror::Error;

use super::render::ToYaml;

const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// A GitHub expression, held as its body without the `${{ }}` delimiters.
///
/// Where GitHub expects a value (`env:`, `with:`, a concurrency group, an environment name) it
/// renders as `${{ body }}`; in `if:` it renders bare, as GitHub evaluates `if:` as an
/// expression anyway:
///
/// ```yaml
/// if: github.ref == 'refs/heads/main'
/// env:
///   BRANCH: ${{ github.ref_name }}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expr(String);

impl Expr {
    /// Makes an expression from its body, e.g. `github.ref == 'refs/heads/main'`.
    ///
    /// The body is trimmed; it must not be empty and must not contain `${{` or `}}`, not even
    /// inside a string literal (build such strings with `format('{0}', ..)`).
    pub fn new(body: impl Into<String>) -> Result<Self, InvalidExprError> {
        let body = body.into();
        let trimmed = body.trim();
        if trimmed.is_empty() {
            return Err(InvalidExprError::Empty);
        }
        if trimmed.contains(OPEN) || trimmed.contains(CLOSE) {
            return Err(InvalidExprError::Delimiters { body });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The body, without delimiters.
    pub fn body(&self) -> &str {
        &self.0
    }

    /// The bare form GitHub accepts in `if:`. A body that starts with `!` is wrapped in
    /// `${{ }}` all the same, because YAML would read a leading `!` as a tag.
    pub fn condition(&self) -> String {
        if self.0.starts_with('!') {
            self.to_string()
        } else {
            self.0.clone()
        }
    }
}

/// `${{ body }}`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{OPEN} {} {CLOSE}", self.0)
    }
}

impl ToYaml for Expr {
    fn to_yaml(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// Why a text is not a valid expression body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InvalidExprError {
    /// The body is empty or only whitespace.
    #[error("expression body is empty")]
    Empty,
    /// The body contains `${{` or `}}`.
    #[error(
        "expression body `{body}` contains `${{{{` or `}}}}`; pass the body without delimiters"
    )]
    Delimiters {
        /// The rejected body.
        body: String,
    },
}

/// Text that GitHub uses as it is: it contains no `${{`.
///
/// ```yaml
/// SAM_TEMPLATE: template.yaml
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal(String);

impl Literal {
    /// Accepts `text` when it contains no `${{`; use an [`Expr`] for an expression.
    pub fn new(text: impl Into<String>) -> Result<Self, ExprInLiteralError> {
        let text = text.into();
        if text.contains(OPEN) {
            return Err(ExprInLiteralError { text });
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A literal written in this crate's source, reviewed to contain no `${{`.
    pub(crate) fn constant(text: &'static str) -> Self {
        Self(text.to_owned())
    }

    /// A literal from a closed table in this crate (e.g. a runtime's version, digits and dots),
    /// reviewed to contain no `${{`.
    pub(crate) fn constant_owned(text: String) -> Self {
        debug_assert!(!text.contains(OPEN));
        Self(text)
    }

    /// Joins literals with `,`. A `${{` cannot span a `,`, so the result is a literal too.
    pub(crate) fn comma_separated(parts: &[Literal]) -> Self {
        let parts: Vec<&str> = parts.iter().map(Literal::as_str).collect();
        Self(parts.join(","))
    }
}

impl TryFrom<&str> for Literal {
    type Error = ExprInLiteralError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl TryFrom<String> for Literal {
    type Error = ExprInLiteralError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ToYaml for Literal {
    fn to_yaml(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A literal was given text containing `${{`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("literal `{text}` contains a GitHub expression (`${{{{`); use an `Expr` instead")]
pub struct ExprInLiteralError {
    /// The rejected text.
    pub text: String,
}

/// A string value that is either a [`Literal`] or an [`Expr`]: an `env:` value, a concurrency
/// group, an environment name or URL, a `run-name`.
///
/// ```yaml
/// SAM_TEMPLATE: template.yaml          # Text::Literal
/// BRANCH: ${{ github.ref_name }}       # Text::Expr
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Text {
    /// Text used as it is.
    Literal(Literal),
    /// An expression GitHub evaluates, rendered as `${{ body }}`.
    Expr(Expr),
}

impl Text {
    /// A literal text; fails when `text` contains `${{`.
    pub fn literal(text: impl Into<String>) -> Result<Self, ExprInLiteralError> {
        Literal::new(text).map(Self::Literal)
    }
}

impl From<Literal> for Text {
    fn from(literal: Literal) -> Self {
        Self::Literal(literal)
    }
}

impl From<Expr> for Text {
    fn from(expr: Expr) -> Self {
        Self::Expr(expr)
    }
}

impl ToYaml for Text {
    fn to_yaml(&self) -> Value {
        match self {
            Self::Literal(literal) => literal.to_yaml(),
            Self::Expr(expr) => expr.to_yaml(),
        }
    }
}

/// The source of a `run:` step: shell text that contains no `${{`.
///
/// GitHub substitutes `${{ }}` into the script before the shell parses it, so a value such as a
/// branch name could inject commands. Pass values through `env:` and read them as `"$NAME"`:
///
/// ```yaml
/// env:
///   BRANCH: ${{ github.ref_name }}
/// run: sam delete --stack-name "app-$BRANCH" --no-prompts
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Script(String);

impl Script {
    /// Accepts `source` when it contains no `${{`.
    pub fn new(source: impl Into<String>) -> Result<Self, ExprInScriptError> {
        let source = source.into();
        match source.lines().position(|line| line.contains(OPEN)) {
            Some(index) => Err(ExprInScriptError { line: index + 1 }),
            None => Ok(Self(source)),
        }
    }

    /// The script's source.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ToYaml for Script {
    fn to_yaml(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A script was given source containing `${{`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`run:` script line {line} contains a GitHub expression (`${{{{`); \
     pass the value through `env:` and read it as `\"$NAME\"`"
)]
pub struct ExprInScriptError {
    /// The 1-based line of the first `${{`.
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::{expr, lit, text};

    #[test]
    fn expr_renders_with_delimiters_and_bare_as_condition() {
        let expr = expr("  github.ref == 'refs/heads/main' ");
        assert_eq!(expr.body(), "github.ref == 'refs/heads/main'");
        assert_eq!(expr.to_string(), "${{ github.ref == 'refs/heads/main' }}");
        assert_eq!(expr.condition(), "github.ref == 'refs/heads/main'");
    }

    #[test]
    fn condition_starting_with_bang_keeps_delimiters() {
        let expr = expr("!cancelled()");
        assert_eq!(expr.condition(), "${{ !cancelled() }}");
    }

    #[test]
    fn expr_rejects_empty_and_delimited_bodies() {
        assert_eq!(Expr::new("  "), Err(InvalidExprError::Empty));
        let err = Expr::new("${{ github.ref }}").expect_err("delimited body");
        assert_eq!(
            err.to_string(),
            "expression body `${{ github.ref }}` contains `${{` or `}}`; \
             pass the body without delimiters"
        );
        assert!(Expr::new("format('}}')").is_err());
    }

    #[test]
    fn literal_rejects_expressions() {
        assert_eq!(lit("template.yaml").as_str(), "template.yaml");
        assert_eq!(lit("cost: $5 {x}").as_str(), "cost: $5 {x}");
        let err = Literal::new("app-${{ github.ref_name }}").expect_err("expression in literal");
        assert_eq!(
            err.to_string(),
            "literal `app-${{ github.ref_name }}` contains a GitHub expression (`${{`); \
             use an `Expr` instead"
        );
        assert!(Text::literal("${{ secrets.X }}").is_err());
        assert!(Literal::try_from("${{x}}").is_err());
    }

    #[test]
    fn comma_separated_literals_stay_literal() {
        let parts = [lit("$"), lit("{{")];
        let joined = Literal::comma_separated(&parts);
        assert_eq!(joined.as_str(), "$,{{");
        assert!(Literal::new(joined.as_str()).is_ok());
    }

    #[test]
    fn script_rejects_expressions_and_names_the_line() {
        assert!(Script::new("echo \"$BRANCH\"\nsam build").is_ok());
        let err = Script::new("set -eu\nsam deploy --stack-name ${{ github.ref_name }}")
            .expect_err("expression in script");
        assert_eq!(err, ExprInScriptError { line: 2 });
        assert_eq!(
            err.to_string(),
            "`run:` script line 2 contains a GitHub expression (`${{`); \
             pass the value through `env:` and read it as `\"$NAME\"`"
        );
    }

    #[test]
    fn text_renders_literal_plain_and_expr_delimited() {
        let literal = text("template.yaml");
        let expr = Text::from(expr("github.ref_name"));
        assert_eq!(literal.to_yaml(), Value::String("template.yaml".into()));
        assert_eq!(
            expr.to_yaml(),
            Value::String("${{ github.ref_name }}".into())
        );
    }

    proptest::proptest! {
        /// Only text containing `${{` is refused, whatever else it holds.
        #[test]
        fn script_and_literal_refuse_exactly_text_with_an_expression(
            text in "(\\$\\{\\{|[a-z${} \n]){0,16}"
        ) {
            let has_expr = text.contains("${{");
            proptest::prop_assert_eq!(Script::new(text.as_str()).is_err(), has_expr);
            proptest::prop_assert_eq!(Literal::new(text.as_str()).is_err(), has_expr);
        }
    }
}
