//! The one place escala writes YAML.
//!
//! Targets build typed, `Serialize` structures; this module turns them into YAML text. It is
//! a small block-style emitter over `serde_json::Value` rather than serde_yaml's, because the
//! consumers disagree on YAML versions (docker's loaders read `0400` as octal and YAML 1.1
//! tools read `yes`/`on` as booleans), and the only reliable answer is to **quote every
//! string**, which serde_yaml cannot be told to do. Keeping all writing here means the
//! emitter can be swapped by measurement without touching any target.
//!
//! Rules: mappings and sequences in block style, two-space indent; strings double-quoted
//! with JSON escapes (a subset of YAML's double-quoted escapes), except multi-line text that
//! a literal block (`|`, `|-`) holds exactly — file contents in configs stay readable in a
//! review; keys plain when they cannot be misread, quoted otherwise; numbers, booleans and
//! null plain.

use serde::Serialize;
use serde_json::Value;

/// Serializes `value` as a YAML document (without `---`).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = String::new();
    match &value {
        Value::Object(map) if !map.is_empty() => mapping(map, 0, &mut out),
        Value::Array(seq) if !seq.is_empty() => sequence(seq, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    Ok(out)
}

fn indent(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn mapping(map: &serde_json::Map<String, Value>, at: usize, out: &mut String) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            indent(at, out);
        }
        out.push_str(&key(k));
        out.push(':');
        value_after(v, at, out);
    }
}

fn sequence(seq: &[Value], at: usize, out: &mut String) {
    for (i, v) in seq.iter().enumerate() {
        if i > 0 {
            indent(at, out);
        }
        out.push('-');
        match v {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                mapping(map, at + 2, out);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(' ');
                sequence(inner, at + 2, out);
            }
            other => {
                out.push(' ');
                scalar_after(other, at + 2, out);
            }
        }
    }
}

/// Writes a scalar after `key:` or `-` and ends the line: a literal block indented to `at`
/// for text it holds exactly, else a one-line scalar.
fn scalar_after(v: &Value, at: usize, out: &mut String) {
    match v {
        Value::String(s) if literal_safe(s) => {
            let body = s.strip_suffix('\n');
            out.push_str(if body.is_some() { "|\n" } else { "|-\n" });
            for line in body.unwrap_or(s).split('\n') {
                if !line.is_empty() {
                    indent(at, out);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// Whether a literal block scalar reads back as exactly `s`: several lines of printable
/// characters (no tabs or control characters), no trailing spaces (a line of spaces would
/// be read as empty), a first line that does not start with a space (it sets the block's
/// indentation) and at most one final line break (`|` keeps one, `|-` none).
fn literal_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && s.chars().all(|c| c == '\n' || passes_unescaped(c))
        && s.split('\n').all(|line| !line.ends_with(' '))
}

/// Characters a double-quoted scalar writes as they are.
fn passes_unescaped(c: char) -> bool {
    match c {
        ' '..='~' => true,
        '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => {
            !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
        }
        _ => false,
    }
}

/// Writes what follows `key:` — a scalar on the same line, or a nested block below it.
fn value_after(v: &Value, at: usize, out: &mut String) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            indent(at + 2, out);
            mapping(map, at + 2, out);
        }
        Value::Array(seq) if !seq.is_empty() => {
            out.push('\n');
            indent(at + 2, out);
            sequence(seq, at + 2, out);
        }
        other => {
            out.push(' ');
            scalar_after(other, at + 2, out);
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A YAML double-quoted scalar. Everything outside YAML's printable set is escaped, and so
/// are the characters YAML 1.1 folds as line breaks (NEL, LS, PS) and the BOM.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if passes_unescaped(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Keys are plain when unambiguous in every YAML version, quoted otherwise.
fn key(k: &str) -> String {
    const RESERVED: [&str; 11] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "<<",
    ];
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && !RESERVED.contains(&k.to_ascii_lowercase().as_str());
    if plain {
        k.to_owned()
    } else {
        quoted(k)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_string;

    #[test]
    fn block_style_with_quoted_strings() {
        let v = json!({
            "services": {
                "web": {
                    "image": "nginx:1.27",
                    "environment": {"MODE": "0400", "ON": "yes"},
                    "ports": [{"target": 80, "protocol": "tcp"}],
                    "command": ["a", "b"],
                    "read_only": true,
                    "empty": {},
                }
            },
            "yes": [],
        });
        let text = to_string(&v).unwrap();
        assert_eq!(
            text,
            r#"services:
  web:
    image: "nginx:1.27"
    environment:
      MODE: "0400"
      "ON": "yes"
    ports:
      - target: 80
        protocol: "tcp"
    command:
      - "a"
      - "b"
    read_only: true
    empty: {}
"yes": []
"#
        );
    }

    #[test]
    fn control_and_line_break_characters_are_escaped() {
        let v = json!({"k": "a\u{7f}b\u{85}c\u{2028}d\u{feff}e\u{1}f\u{1F600}"});
        let text = to_string(&v).unwrap();
        assert_eq!(
            text,
            "k: \"a\\u007Fb\\u0085c\\u2028d\\uFEFFe\\u0001f\u{1F600}\"\n"
        );
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    proptest::proptest! {
        #[test]
        fn any_json_round_trips_through_the_emitter(v in json_value()) {
            let text = to_string(&v).unwrap();
            let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
            proptest::prop_assert_eq!(back, v);
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<String>().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn multi_line_text_is_a_literal_block() {
        let v = json!({
            "data": {"a.yml": "x: 1\n\n# c: \"d\"\n", "b": "one\ntwo"},
            "list": ["p\nq\n"],
            "kept": ["  lead\n", "trail \nx", "tab\t\nx", "two\n\n", "one line"],
        });
        let text = to_string(&v).unwrap();
        assert_eq!(
            text,
            "data:\n  a.yml: |\n    x: 1\n\n    # c: \"d\"\n  b: |-\n    one\n    two\nlist:\n  - |\n    p\n    q\nkept:\n  - \"  lead\\n\"\n  - \"trail \\nx\"\n  - \"tab\\t\\nx\"\n  - \"two\\n\\n\"\n  - \"one line\"\n"
        );
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_through_the_emitter(
            lines in proptest::collection::vec("[ -~\u{e9}\u{4e2d}]{0,12}", 1..6),
            end in proptest::sample::select(vec!["", "\n", "\n\n"]),
            nested in proptest::bool::ANY,
        ) {
            let text = format!("{}{end}", lines.join("\n"));
            let v = if nested { json!({"a": {"b": [text]}}) } else { json!({"k": text}) };
            let yaml = to_string(&v).unwrap();
            let back: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
            proptest::prop_assert_eq!(back, v);
        }
    }

    #[test]
    fn escapes_survive_a_yaml_parser() {
        let v = json!({"k": "line1\nline2 \"q\" \\ \t $$x", "1": [[1, 2], {"a": null}]});
        let text = to_string(&v).unwrap();
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
