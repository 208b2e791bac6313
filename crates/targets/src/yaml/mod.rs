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

mod emit;
#[cfg(test)]
mod reference;

/// Serializes `value` as a YAML document (without `---`), straight from its `Serialize`
/// implementation into the text.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    to_string_after("", value)
}

/// [`to_string`] written after `prefix` (a file's header) in the same buffer, so the file's
/// text is built once rather than copied behind its header.
pub fn to_string_after<T: Serialize>(prefix: &str, value: &T) -> Result<String, serde_json::Error> {
    to_string_sized(prefix, value, prefix.len() + 1024)
}

/// The newtype name by which a [`Fragment`] tells the writer that its text is already YAML.
const FRAGMENT: &str = "$escala::yaml::Fragment";

/// A value already written as YAML, for the value of a mapping entry whose key starts at a
/// known column: a file with thousands of services renders each as it is made and lets the
/// typed object go, rather than holding every service's typed object until the whole file is
/// written. Serialized by this module's writer, it is written as it is, giving the same bytes
/// as the value itself, and its own text is let go at once; written anywhere else than where
/// it was rendered for, or a second time, it is an error.
#[derive(Debug)]
pub(crate) struct Fragment(std::cell::RefCell<FragmentText>);

#[derive(Debug, Default)]
enum FragmentText {
    Ready(String),
    Failed(String),
    #[default]
    Written,
}

/// `value`, written as the value of an entry whose key starts at `column` (2 for the
/// services of a compose file: `services:` → `  api:` → the service).
pub(crate) fn fragment<T: Serialize>(value: &T, column: usize) -> Fragment {
    let mut em = emit::Emitter::at_entry(column);
    let text = match value.serialize(&mut em) {
        Ok(()) => {
            em.out.shrink_to_fit();
            FragmentText::Ready(em.out)
        }
        Err(e) => FragmentText::Failed(e.to_string()),
    };
    Fragment(std::cell::RefCell::new(text))
}

impl Fragment {
    /// The length of its text (0 once written).
    pub(crate) fn len(&self) -> usize {
        match &*self.0.borrow() {
            FragmentText::Ready(text) => text.len(),
            FragmentText::Failed(_) | FragmentText::Written => 0,
        }
    }
}

impl Serialize for Fragment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let text = self
            .0
            .try_borrow_mut()
            .map(|mut t| std::mem::take(&mut *t))
            .map_err(S::Error::custom)?;
        match text {
            FragmentText::Ready(text) => {
                serializer.serialize_newtype_struct(FRAGMENT, text.as_str())
            }
            FragmentText::Failed(e) => Err(S::Error::custom(e)),
            FragmentText::Written => Err(S::Error::custom("a YAML fragment written twice")),
        }
    }
}

/// [`to_string_after`] into a buffer of `capacity` bytes, for a caller that knows about how
/// long the text will be (a file of many fragments): the text is not copied as it grows.
pub fn to_string_sized<T: Serialize>(
    prefix: &str,
    value: &T,
    capacity: usize,
) -> Result<String, serde_json::Error> {
    let mut em = emit::Emitter::new(capacity.max(prefix.len() + 1024));
    em.out.push_str(prefix);
    value.serialize(&mut em)?;
    Ok(em.out)
}

/// Whether a literal block scalar reads back as exactly `s`: several lines of printable
/// characters (no tabs or control characters), no trailing spaces (a line of spaces would
/// be read as empty), a first line that does not start with a space (it sets the block's
/// indentation) and at most one final line break (`|` keeps one, `|-` none).
pub(crate) fn literal_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && s.chars().all(|c| c == '\n' || passes_unescaped(c))
        && s.split('\n').all(|line| !line.ends_with(' '))
}

/// Characters a double-quoted scalar writes as they are.
pub(crate) fn passes_unescaped(c: char) -> bool {
    match c {
        ' '..='~' => true,
        '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => {
            !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
        }
        _ => false,
    }
}

/// Whether `s` is printable ASCII without `"` or `\\`: quoted as it is, and never a literal
/// block (it has no line break).
pub(crate) fn is_plain_ascii(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
}

/// A YAML double-quoted scalar. Everything outside YAML's printable set is escaped, and so
/// are the characters YAML 1.1 folds as line breaks (NEL, LS, PS) and the BOM.
pub(crate) fn quoted_into(s: &str, out: &mut String) {
    out.push('"');
    // Most strings are printable ASCII without quotes or backslashes: copied whole.
    if is_plain_ascii(s) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if passes_unescaped(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
}

/// Keys are plain when unambiguous in every YAML version, quoted otherwise.
pub(crate) fn key_into(k: &str, out: &mut String) {
    const RESERVED: [&str; 11] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "<<",
    ];
    // The bytes a plain key may hold, looked up rather than compared one class at a time:
    // every key of every object goes through here.
    const PLAIN: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 256 {
            let b = c as u8;
            t[c] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/');
            c += 1;
        }
        t
    };
    let bytes = k.as_bytes();
    let plain = bytes
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && bytes.iter().all(|c| PLAIN[usize::from(*c)])
        // Every reserved word that can be plain starts with one of these letters.
        && (k.len() > 5
            || !matches!(bytes[0].to_ascii_lowercase(), b't' | b'f' | b'n' | b'y' | b'o')
            || !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(k)));
    if plain {
        out.push_str(k);
    } else {
        quoted_into(k, out);
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
        fn the_serializer_writes_what_the_reference_emitter_writes(v in json_value()) {
            proptest::prop_assert_eq!(to_string(&v).unwrap(), super::reference::to_string(&v).unwrap());
        }

        #[test]
        fn typed_values_write_as_their_json_does(
            words in proptest::collection::vec("[a-z\n ]{0,8}", 0..4),
            n in proptest::option::of(proptest::num::i64::ANY),
            f in proptest::num::f64::ANY,
            nested in proptest::collection::btree_map("[a-zA-Z0-9_.]{1,6}", proptest::collection::vec(proptest::num::u16::ANY, 0..3), 0..4),
        ) {
            #[derive(serde::Serialize)]
            enum Kind { Unit, New(u8), Tuple(u8, String), Struct { a: Vec<String> } }
            #[derive(serde::Serialize)]
            struct Typed {
                words: Vec<String>,
                n: Option<i64>,
                f: f64,
                nested: std::collections::BTreeMap<String, Vec<u16>>,
                kinds: Vec<Kind>,
                unit: (),
                tuple: (u8, char),
                #[serde(skip_serializing_if = "Option::is_none")]
                skipped: Option<u8>,
                bytes: serde_bytes_like::Bytes,
            }
            mod serde_bytes_like {
                pub struct Bytes(pub Vec<u8>);
                impl serde::Serialize for Bytes {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        s.serialize_bytes(&self.0)
                    }
                }
            }
            let t = Typed {
                kinds: vec![Kind::Unit, Kind::New(1), Kind::Tuple(2, words.join("")), Kind::Struct { a: words.clone() }, Kind::Struct { a: vec![] }],
                words,
                n,
                f,
                nested,
                unit: (),
                tuple: (7, 'x'),
                skipped: None,
                bytes: serde_bytes_like::Bytes(vec![0, 255]),
            };
            proptest::prop_assert_eq!(to_string(&t).unwrap(), super::reference::to_string(&t).unwrap());
        }

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

    proptest::proptest! {
        /// A fragment is written exactly as the value it was made from, at any depth.
        #[test]
        fn a_fragment_writes_as_its_value(
            v in json_value(),
            keys in proptest::collection::vec("[a-z]{1,4}", 1..4),
            before in proptest::option::of(json_value()),
        ) {
            // The value sits under `keys`, each nesting one mapping deeper; `column` is the
            // column of the innermost key.
            let column = 2 * (keys.len() - 1);
            let nest = |leaf: serde_json::Value| {
                keys.iter().rev().fold(leaf, |inner, k| {
                    let mut m = serde_json::Map::new();
                    if let Some(b) = &before {
                        m.insert("0".into(), b.clone());
                    }
                    m.insert(k.clone(), inner);
                    serde_json::Value::Object(m)
                })
            };
            let expected = to_string(&nest(v.clone())).unwrap();
            // The same document with the innermost value replaced by its fragment: serialize
            // through a map whose leaf is a `Fragment`.
            #[derive(serde::Serialize)]
            #[serde(untagged)]
            enum Node {
                Json(serde_json::Value),
                Map(indexmap::IndexMap<String, Node>),
                Fragment(super::Fragment),
            }
            let mut node = Node::Fragment(super::fragment(&v, column));
            for k in keys.iter().rev() {
                let mut m = indexmap::IndexMap::new();
                if let Some(b) = &before {
                    m.insert("0".to_owned(), Node::Json(b.clone()));
                }
                m.insert(k.clone(), node);
                node = Node::Map(m);
            }
            proptest::prop_assert_eq!(to_string(&node).unwrap(), expected);
        }
    }

    #[test]
    fn a_fragment_written_elsewhere_is_an_error() {
        let f = || super::fragment(&json!({"a": 1}), 2);
        // At the top level, or under a key at column 0.
        assert!(to_string(&f()).is_err());
        let mut m = indexmap::IndexMap::new();
        m.insert("k", f());
        let err = to_string(&m).unwrap_err().to_string();
        assert!(err.contains("another column"), "{err}");
        // Written once: its text is let go.
        let mut m = indexmap::IndexMap::new();
        m.insert("k", super::fragment(&json!({"a": 1}), 0));
        assert_eq!(m["k"].len(), "\n  a: 1\n".len());
        assert_eq!(to_string(&m).unwrap(), "k:\n  a: 1\n");
        assert_eq!(m["k"].len(), 0);
        let again = to_string(&m).unwrap_err().to_string();
        assert!(again.contains("twice"), "{again}");
        // A one-line scalar fragment fits any entry; a literal block only its own column.
        let mut m = indexmap::IndexMap::new();
        m.insert("k", super::fragment(&"text", 6));
        assert_eq!(to_string(&m).unwrap(), "k: \"text\"\n");
        let mut m = indexmap::IndexMap::new();
        m.insert("k", super::fragment(&"two\nlines", 6));
        assert!(to_string(&m).is_err());
        let mut m = indexmap::IndexMap::new();
        m.insert("k", super::fragment(&"two\nlines", 0));
        assert_eq!(to_string(&m).unwrap(), "k: |-\n  two\n  lines\n");
    }

    #[test]
    fn escapes_survive_a_yaml_parser() {
        let v = json!({"k": "line1\nline2 \"q\" \\ \t $$x", "1": [[1, 2], {"a": null}]});
        let text = to_string(&v).unwrap();
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
