//! Test helpers shared by the unit tests of this module.

use super::expr::{Expr, Literal};

pub(crate) fn expr(body: &str) -> Expr {
    Expr::new(body).expect("test expression is valid")
}

pub(crate) fn lit(text: &str) -> Literal {
    Literal::new(text).expect("test literal has no `${{`")
}
