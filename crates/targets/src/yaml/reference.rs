//! The first emitter, over `serde_json::Value`: kept as the reference the serializer in
//! `emit` is held to (property tests compare their output byte for byte).

use serde_json::Value;

use super::{key_into, literal_safe, quoted_into};

/// `value` as YAML, through a `serde_json::Value` tree.
pub(crate) fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
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

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quoted_into(s, &mut out);
    out
}

fn key(k: &str) -> String {
    let mut out = String::new();
    key_into(k, &mut out);
    out
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
