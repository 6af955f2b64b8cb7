//! Choosing and writing the style of one string scalar.
//!
//! The rule is "plain only if both a YAML 1.1 and a YAML 1.2 reader must read the same string
//! back"; anything doubtful is quoted. The checks are deliberately coarse (see [`looks_numeric`]):
//! a needlessly quoted string costs two characters, a wrongly plain one changes the template.

use std::fmt::Write as _;

/// How a string scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Plain,
    /// `'...'`, with `'` doubled.
    Single,
    /// `"..."` with backslash escapes; the only style that can hold any string on one line.
    Double,
    /// `|`, `|-` or `|+` block; only offered for multi-line text that survives it unchanged.
    Literal,
}

/// The style for `s`, in a flow sequence if `flow`. Keys and flow items map [`Kind::Literal`]
/// to [`Kind::Double`], since block scalars cannot appear there.
pub(super) fn kind(s: &str, flow: bool) -> Kind {
    // One pass over the bytes (this is the emitter's hot loop); only non-ASCII text gets a
    // second look, for the few non-ASCII characters that need escapes.
    let (mut newline, mut control, mut non_ascii, mut syntax, mut flow_indicator) =
        (false, false, false, false, false);
    let mut prev = 0;
    for &c in s.as_bytes() {
        match c {
            b'\n' => newline = true,
            0..=0x1f | 0x7f => control = true,
            b' ' if prev == b':' => syntax = true, // `: ` starts a mapping value
            b'#' if prev == b' ' => syntax = true, // ` #` starts a comment
            // These end a plain scalar only in flow context (`${AWS::Region}` is fine in a
            // block); PyYAML also ends one there at `?`.
            b',' | b'[' | b']' | b'{' | b'}' | b'?' => flow_indicator = true,
            0x80.. => non_ascii = true,
            _ => {}
        }
        prev = c;
    }
    let escape = control || (non_ascii && s.chars().any(|c| c > '\x7f' && needs_escape(c)));
    if newline {
        if !escape && literal_ok(s) {
            Kind::Literal
        } else {
            Kind::Double
        }
    } else if escape {
        Kind::Double
    } else if !(syntax || flow && flow_indicator) && plain_ok(s) {
        Kind::Plain
    } else {
        Kind::Single
    }
}

/// Characters that only a double-quoted scalar can carry unchanged: C0/C1 controls (tab and
/// newline included), DEL, the YAML 1.1 line breaks NEL/LS/PS (folded inside quotes), the BOM
/// and the non-characters YAML forbids.
fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// The checks on a single-line string that [`kind`]'s scan leaves: its ends and whole-string
/// patterns.
fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false; // empty reads as null
    };
    if first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    if b"?:,[]{}#&*!|>'\"%@`".contains(&first) || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if first == b'-' && b.get(1).is_none_or(|&c| c == b' ') {
        return false; // a sequence entry
    }
    !is_reserved_word(s) && !looks_numeric(s)
}

/// Null, bool and other special words of YAML 1.1 (PyYAML) or 1.2, in any letter case.
fn is_reserved_word(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "~", "null", "true", "false", "yes", "no", "y", "n", "on", "off", "=", "<<",
    ];
    WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// True for everything a 1.1 or 1.2 reader might take as an int, float, sexagesimal number or
/// timestamp, and for much else: after an optional sign, a digit (or `.` + digit/`_`) followed
/// only by hex digits, `._:+-xXoOtTzZ` and spaces.
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.eq_ignore_ascii_case(".inf") || t.eq_ignore_ascii_case(".nan") {
        return true;
    }
    let b = t.as_bytes();
    let starts = match b {
        [d, ..] if d.is_ascii_digit() => true,
        [b'.', d, ..] => d.is_ascii_digit() || *d == b'_',
        _ => false,
    };
    starts
        && b.iter()
            .all(|c| c.is_ascii_hexdigit() || b"._:+-xXoOtTzZ ".contains(c))
}

/// Multi-line text without escapes is written as a literal block only if the block reads back
/// identically: no trailing spaces (editors strip them), some content, and a first content line
/// that does not start with a space (it would be taken as indentation).
fn literal_ok(s: &str) -> bool {
    !s.split('\n').any(|line| line.ends_with(' '))
        && s.split('\n')
            .find(|line| !line.is_empty())
            .is_some_and(|line| !line.starts_with(' '))
}

/// Writes `s` in `kind`, which must come from [`kind`] (never `Literal`: see [`write_literal`]).
pub(super) fn write_flow(out: &mut String, s: &str, kind: Kind) {
    match kind {
        Kind::Plain => out.push_str(s),
        Kind::Single => {
            out.push('\'');
            for c in s.chars() {
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
        }
        Kind::Double | Kind::Literal => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if needs_escape(c) => {
                        let _ = write!(out, "\\u{:04X}", u32::from(c));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }
}

/// Writes a literal block for `s` (which [`kind`] classified as `Literal`) with its content at
/// `indent`. Empty lines get no indentation, so the output has no trailing spaces.
///
/// Returns true for `|+` (two or more final newlines): its trailing empty lines are content, so
/// the caller must not add a blank separator line right after it.
pub(super) fn write_literal(out: &mut String, s: &str, indent: usize) -> bool {
    let body = s.trim_end_matches('\n');
    let newlines = s.len() - body.len();
    out.push_str(match newlines {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            push_indent(out, indent);
            out.push_str(line);
        }
    }
    // The line break after the last line is written by whatever follows; these are the rest.
    for _ in 1..newlines {
        out.push('\n');
    }
    newlines > 1
}

pub(super) fn push_indent(out: &mut String, indent: usize) {
    const SPACES: &str = "                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}
