//! Parsing of `Fn::Sub` templates: `${Name}`, `${AWS::Region}`, `${Resource.Attribute}`, and the
//! `${!Literal}` escape, which stands for the text `${Literal}`.
//!
//! See [Fn::Sub](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html).

/// A piece of a `Fn::Sub` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text copied as is (escapes already undone).
    Literal(String),
    /// `${Name}`: a variable, parameter, pseudo parameter or `Resource.Attribute`.
    Var(String),
}

/// Splits a template into literal text and variables. Errors describe the problem in lowercase,
/// with the offending text in backticks.
pub(crate) fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "`${{` at byte {} is never closed",
                template.len() - rest.len() + start
            ));
        };
        let name = &after[..end];
        if let Some(escaped) = name.strip_prefix('!') {
            literal.push_str("${");
            literal.push_str(escaped);
            literal.push('}');
        } else if name.trim().is_empty() {
            return Err("`${}` names no variable".to_owned());
        } else {
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var(name.trim().to_owned()));
        }
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_owned())
    }

    fn var(s: &str) -> Part {
        Part::Var(s.to_owned())
    }

    #[test]
    fn variables_and_literals() {
        assert_eq!(
            parse("arn:${AWS::Partition}:s3:::${Bucket}/*").expect("parses"),
            [
                lit("arn:"),
                var("AWS::Partition"),
                lit(":s3:::"),
                var("Bucket"),
                lit("/*")
            ]
        );
        assert_eq!(parse("${Role.Arn}").expect("parses"), [var("Role.Arn")]);
        assert_eq!(parse("").expect("parses"), []);
        assert_eq!(parse("$ {x} $x").expect("parses"), [lit("$ {x} $x")]);
    }

    #[test]
    fn escapes_become_literal_text() {
        assert_eq!(
            parse("echo ${!HOME} ${Stage}").expect("parses"),
            [lit("echo ${HOME} "), var("Stage")]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("a${b").expect_err("unclosed"),
            "`${` at byte 1 is never closed"
        );
        assert_eq!(parse("${}").expect_err("empty"), "`${}` names no variable");
    }
}
