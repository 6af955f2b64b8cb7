//! A GitHub Actions expression evaluator, enough for what workflows (generated or written by
//! users) put in `if:`, `env:` and `with:`: literals, context paths (`github.ref`,
//! `steps.x.outputs.y`, `needs.j.outputs.k`, `secrets.NAME`, `env.NAME`, `matrix`-free), the
//! operators `! == != < <= > >= && ||`, parentheses, and the functions `format`, `contains`,
//! `startsWith`, `endsWith`, `join`, `toJSON`, `hashFiles` (over `github.workspace`),
//! `success`, `always`, `failure`, `cancelled`.
//!
//! Semantics follow GitHub's reference: `==` on strings ignores case, `&&`/`||` return an
//! operand (not a boolean), a missing property is `null`, and `null`, `false`, `0` and `''`
//! are falsy. An expression it cannot parse is an error, never silently false.
//! <https://docs.github.com/en/actions/reference/workflows-and-actions/expressions>

use serde_json::Value;

/// What a status function sees: whether an earlier step (or needed job) failed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Status {
    pub(crate) failed: bool,
}

/// Evaluates `body` (without `${{ }}`) against `contexts`, an object of contexts by name.
pub(crate) fn evaluate(body: &str, contexts: &Value, status: Status) -> Result<Value, String> {
    let tokens = tokenize(body)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        contexts,
        status,
    };
    let value = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "unexpected `{:?}` in `{body}`",
            parser.tokens[parser.at]
        ));
    }
    Ok(value)
}

/// Whether an `if:` holds. A condition without a status function is `success() && (...)`.
pub(crate) fn condition(body: &str, contexts: &Value, status: Status) -> Result<bool, String> {
    let body = strip_delimiters(body);
    let value = evaluate(body, contexts, status)?;
    let uses_status = ["success()", "always()", "failure()", "cancelled()"]
        .iter()
        .any(|f| body.contains(f));
    Ok(truthy(&value) && (uses_status || !status.failed))
}

/// Expands every `${{ }}` in a string value, as GitHub does for `env:`, `with:` and names.
pub(crate) fn interpolate(text: &str, contexts: &Value, status: Status) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `${{{{` in `{text}`"))?;
        out.push_str(&to_text(&evaluate(&after[..end], contexts, status)?));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn strip_delimiters(body: &str) -> &str {
    let trimmed = body.trim();
    trimmed
        .strip_prefix("${{")
        .and_then(|b| b.strip_suffix("}}"))
        .unwrap_or(trimmed)
}

pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// How GitHub turns a value into text (in `${{ }}` interpolation and `format`).
pub(crate) fn to_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Str(String),
    Num(f64),
    Ident(String),
    Dot,
    Comma,
    Open,
    Close,
    IndexOpen,
    IndexClose,
    Star,
    Op(&'static str),
}

fn tokenize(body: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string in `{body}`")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            s.push(*other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(s));
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '[' => {
                tokens.push(Token::IndexOpen);
                i += 1;
            }
            ']' => {
                tokens.push(Token::IndexClose);
                i += 1;
            }
            '*' => {
                tokens.push(Token::Star);
                i += 1;
            }
            '!' | '=' | '<' | '>' | '&' | '|' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    "&&" => "&&",
                    "||" => "||",
                    _ => match c {
                        '!' => "!",
                        '<' => "<",
                        '>' => ">",
                        _ => return Err(format!("unexpected `{c}` in `{body}`")),
                    },
                };
                i += op.len();
                tokens.push(Token::Op(op));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| format!("bad number `{text}` in `{body}`"))?;
                tokens.push(Token::Num(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected `{other}` in `{body}`")),
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    contexts: &'a Value,
    status: Status,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &Token) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected {token:?}, found {:?}", self.peek()))
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut left = self.and()?;
        while self.eat(&Token::Op("||")) {
            let right = self.and()?;
            if !truthy(&left) {
                left = right;
            }
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut left = self.comparison()?;
        while self.eat(&Token::Op("&&")) {
            let right = self.comparison()?;
            if truthy(&left) {
                left = right;
            }
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Value, String> {
        let left = self.unary()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(&Token::Op(op)) {
                let right = self.unary()?;
                return Ok(Value::Bool(compare(op, &left, &right)));
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat(&Token::Op("!")) {
            return Ok(Value::Bool(!truthy(&self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Value, String> {
        let token = self
            .peek()
            .cloned()
            .ok_or_else(|| "unexpected end of expression".to_owned())?;
        self.at += 1;
        let mut value = match token {
            Token::Str(s) => Value::String(s),
            Token::Num(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Token::Open => {
                let inner = self.or()?;
                self.expect(&Token::Close)?;
                inner
            }
            Token::Ident(name) if self.peek() == Some(&Token::Open) => {
                self.at += 1;
                let mut args = Vec::new();
                if !self.eat(&Token::Close) {
                    loop {
                        args.push(self.or()?);
                        if self.eat(&Token::Close) {
                            break;
                        }
                        self.expect(&Token::Comma)?;
                    }
                }
                call(&name, &args, self.status, self.contexts)?
            }
            Token::Ident(name) => match name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => self.contexts.get(&name).cloned().unwrap_or(Value::Null),
            },
            other => return Err(format!("unexpected {other:?}")),
        };
        loop {
            if self.eat(&Token::Dot) {
                match self.peek().cloned() {
                    Some(Token::Ident(key)) => {
                        self.at += 1;
                        value = property(&value, &key);
                    }
                    Some(Token::Star) => {
                        self.at += 1;
                        value = match value {
                            Value::Object(map) => Value::Array(map.into_values().collect()),
                            Value::Array(items) => Value::Array(items),
                            _ => Value::Array(Vec::new()),
                        };
                    }
                    other => return Err(format!("expected a property after `.`, found {other:?}")),
                }
            } else if self.eat(&Token::IndexOpen) {
                let index = self.or()?;
                self.expect(&Token::IndexClose)?;
                value = match (&value, &index) {
                    (Value::Array(items), Value::Number(n)) => n
                        .as_f64()
                        .and_then(|f| items.get(f as usize))
                        .cloned()
                        .unwrap_or(Value::Null),
                    (_, key) => property(&value, &to_text(key)),
                };
            } else {
                return Ok(value);
            }
        }
    }
}

/// Property access: case-insensitive, like GitHub's contexts.
fn property(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => map
            .get(key)
            .or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if s.trim().is_empty() => 0.0,
        Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn compare(op: &str, left: &Value, right: &Value) -> bool {
    let equal = match (left, right) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Null, Value::Null) => true,
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            left == right
        }
        _ => number(left) == number(right),
    };
    match op {
        "==" => equal,
        "!=" => !equal,
        _ => {
            let (a, b) = (number(left), number(right));
            match op {
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                _ => a >= b,
            }
        }
    }
}

fn call(name: &str, args: &[Value], status: Status, contexts: &Value) -> Result<Value, String> {
    let text = |i: usize| args.get(i).map(to_text).unwrap_or_default();
    Ok(match name.to_ascii_lowercase().as_str() {
        "success" => Value::Bool(!status.failed),
        "failure" => Value::Bool(status.failed),
        "always" => Value::Bool(true),
        "cancelled" => Value::Bool(false),
        "contains" => Value::Bool(match args.first() {
            Some(Value::Array(items)) => items
                .iter()
                .any(|item| compare("==", item, args.get(1).unwrap_or(&Value::Null))),
            _ => text(0).to_lowercase().contains(&text(1).to_lowercase()),
        }),
        "startswith" => Value::Bool(text(0).to_lowercase().starts_with(&text(1).to_lowercase())),
        "endswith" => Value::Bool(text(0).to_lowercase().ends_with(&text(1).to_lowercase())),
        "format" => {
            let mut out = text(0);
            for (i, arg) in args.iter().enumerate().skip(1) {
                out = out.replace(&format!("{{{}}}", i - 1), &to_text(arg));
            }
            Value::String(out.replace("{{", "{").replace("}}", "}"))
        }
        "join" => match args.first() {
            Some(Value::Array(items)) => {
                let separator = if args.len() > 1 {
                    text(1)
                } else {
                    ",".to_owned()
                };
                Value::String(
                    items
                        .iter()
                        .map(to_text)
                        .collect::<Vec<_>>()
                        .join(&separator),
                )
            }
            _ => Value::String(text(0)),
        },
        "tojson" => Value::String(
            serde_json::to_string_pretty(args.first().unwrap_or(&Value::Null)).unwrap_or_default(),
        ),
        "fromjson" => serde_json::from_str(&text(0)).map_err(|e| format!("fromJSON: {e}"))?,
        "hashfiles" => Value::String(hash_files(
            contexts["github"]["workspace"].as_str().unwrap_or_default(),
            &args.iter().map(to_text).collect::<Vec<_>>(),
        )?),
        other => return Err(format!("unknown function `{other}`")),
    })
}

/// `hashFiles(patterns)`: the SHA-256 of the SHA-256s of the files under `workspace` that
/// match a pattern (`**` any folders; `!pattern` excludes), in path order; `''` when none
/// match, as GitHub documents it. Python's `glob` does the matching.
fn hash_files(workspace: &str, patterns: &[String]) -> Result<String, String> {
    let script = r#"
import glob, hashlib, os, sys
root, patterns = sys.argv[1], sys.argv[2:]
keep, drop = set(), set()
for pattern in patterns:
    target = drop if pattern.startswith("!") else keep
    target.update(glob.glob(pattern.lstrip("!"), root_dir=root, recursive=True))
files = sorted(f for f in keep - drop if os.path.isfile(os.path.join(root, f)))
if files:
    total = hashlib.sha256()
    for f in files:
        total.update(hashlib.sha256(open(os.path.join(root, f), "rb").read()).digest())
    print(total.hexdigest(), end="")
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(workspace)
        .args(patterns)
        .output()
        .map_err(|e| format!("hashFiles: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "hashFiles: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contexts() -> Value {
        json!({
            "github": {"ref": "refs/heads/main", "event_name": "push", "event": {"ref": "feature-x", "ref_type": "branch"}, "workflow": "Pipeline"},
            "steps": {"branch": {"outputs": {"feature": "true"}}},
        })
    }

    #[test]
    fn evaluates_what_generated_workflows_use() {
        let c = contexts();
        let ok = Status::default();
        assert!(condition(
            "github.ref == 'refs/heads/main' && github.event_name != 'delete'",
            &c,
            ok
        )
        .unwrap());
        assert!(!condition(
            "github.event_name == 'delete' && github.event.ref_type == 'branch'",
            &c,
            ok
        )
        .unwrap());
        assert!(condition("steps.branch.outputs.feature == 'true'", &c, ok).unwrap());
        assert!(!condition("steps.missing.outputs.feature == 'true'", &c, ok).unwrap());
        assert_eq!(
            interpolate(
                "${{ format('{0}-{1}', github.workflow, github.event.ref) }}",
                &c,
                ok
            )
            .unwrap(),
            "Pipeline-feature-x"
        );
        assert!(condition("${{ !startsWith(github.ref, 'refs/tags/') }}", &c, ok).unwrap());
    }

    #[test]
    fn status_functions_and_failures() {
        let c = contexts();
        let failed = Status { failed: true };
        assert!(!condition("github.ref == 'refs/heads/main'", &c, failed).unwrap());
        assert!(condition("always()", &c, failed).unwrap());
        assert!(condition("failure()", &c, failed).unwrap());
        assert!(evaluate("github.ref ==", &c, Status::default()).is_err());
        assert!(evaluate("nosuch(1)", &c, Status::default()).is_err());
    }
}
