//! Test helpers shared by the unit tests of this module.

use serde_yaml::Value;

use super::expr::{Expr, Literal, Script, Text};

/// Asserts that `actual` renders exactly like the YAML text `expected`, key order included
/// (`Mapping`'s `==` ignores order, so both sides are compared as text).
pub(crate) fn assert_yaml(actual: &Value, expected: &str) {
    let expected: Value = serde_yaml::from_str(expected).expect("expected YAML parses");
    let actual = serde_yaml::to_string(actual).expect("actual renders");
    let expected = serde_yaml::to_string(&expected).expect("expected renders");
    assert_eq!(actual, expected);
}

pub(crate) fn expr(body: &str) -> Expr {
    Expr::new(body).expect("test expression is valid")
}

pub(crate) fn lit(text: &str) -> Literal {
    Literal::new(text).expect("test literal has no `${{`")
}

pub(crate) fn text(literal: &str) -> Text {
    lit(literal).into()
}

pub(crate) fn script(source: &str) -> Script {
    Script::new(source).expect("test script has no `${{`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::render::Map;

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn assert_yaml_is_order_sensitive() {
        let value: Value = Map::new().put("a", 1).put("b", 2).into();
        assert_yaml(&value, "b: 2\na: 1\n");
    }
}
