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
    let mut em = emit::Emitter::new(prefix.len() + 1024);
    em.out.push_str(prefix);
    value.serialize(&mut em)?;
    Ok(em.out)
}

/// A YAML document written as it is made, for a file with thousands of entries in one
/// mapping (a compose file's services): each entry is written when it is made and its typed
/// value let go, rather than every typed value held until the whole file is written. The
/// bytes are those [`to_string`] writes for the same document: top-level entries in order,
/// one of them a mapping whose entries come one at a time.
#[cfg(any(feature = "compose", feature = "swarm"))]
#[derive(Debug)]
pub(crate) struct Streamed {
    out: String,
    /// The keys of the open mapping's entries so far (no key twice).
    open: Option<foldhash::HashSet<String>>,
    /// The first failure: a value that did not serialize, or a key written twice.
    error: Option<String>,
}

#[cfg(any(feature = "compose", feature = "swarm"))]
impl Streamed {
    /// A document that starts with `prefix` (a file's header).
    pub(crate) fn new(prefix: &str) -> Self {
        let mut out = String::with_capacity(prefix.len() + 4096);
        out.push_str(prefix);
        Streamed {
            out,
            open: None,
            error: None,
        }
    }

    /// `value` written at the end, after an entry's `key:` at `column`.
    fn value<T: Serialize>(&mut self, column: usize, value: &T) {
        let mut em = emit::Emitter::continuing(std::mem::take(&mut self.out), column);
        let written = value.serialize(&mut em);
        self.out = em.out;
        if let Err(e) = written {
            self.error.get_or_insert(e.to_string());
        }
    }

    fn close(&mut self) {
        if let Some(keys) = self.open.take() {
            if keys.is_empty() {
                self.out.push_str(" {}\n");
            }
        }
    }

    /// A top-level entry (closing the open mapping, if any).
    pub(crate) fn entry<T: Serialize>(&mut self, key: &str, value: &T) {
        self.close();
        key_into(key, &mut self.out);
        self.out.push(':');
        self.value(0, value);
    }

    /// A top-level entry whose value is a mapping, its entries to come with
    /// [`map_entry`](Streamed::map_entry).
    pub(crate) fn open_map(&mut self, key: &str) {
        self.close();
        key_into(key, &mut self.out);
        self.out.push(':');
        self.open = Some(foldhash::HashSet::default());
    }

    /// An entry of the open mapping.
    pub(crate) fn map_entry<T: Serialize>(&mut self, key: &str, value: &T) {
        let Some(keys) = self.open.as_mut() else {
            self.error
                .get_or_insert_with(|| format!("`{key}` written outside a mapping"));
            return;
        };
        if keys.is_empty() {
            self.out.push('\n');
        }
        if !keys.insert(key.to_owned()) {
            self.error
                .get_or_insert_with(|| format!("`{key}` written twice in one mapping"));
            return;
        }
        self.out.push_str("  ");
        key_into(key, &mut self.out);
        self.out.push(':');
        self.value(2, value);
    }

    /// The document, after the top-level entries of `rest` (a struct or a map, none of whose
    /// entries is written yet).
    pub(crate) fn finish<T: Serialize>(mut self, rest: &T) -> Result<String, serde_json::Error> {
        self.close();
        let before = self.out.len();
        let mut em = emit::Emitter::top(std::mem::take(&mut self.out));
        let written = rest.serialize(&mut em);
        self.out = em.out;
        if let Err(e) = written {
            self.error.get_or_insert(e.to_string());
        }
        if let Some(e) = self.error {
            return Err(serde::ser::Error::custom(e));
        }
        // A `rest` with no entry writes `{}` on its own line: nothing to add after entries.
        if before > 0 && &self.out[before..] == "{}\n" {
            self.out.truncate(before);
        }
        Ok(self.out)
    }
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

    #[cfg(any(feature = "compose", feature = "swarm"))]
    proptest::proptest! {
        /// A document written entry by entry has the bytes of the same document written at once.
        #[test]
        fn a_streamed_document_writes_as_the_whole(
            head in proptest::collection::btree_map("[a-zA-Z0-9]{1,5}", json_value(), 0..3),
            key in "[a-z]{1,8}",
            entries in proptest::collection::btree_map("[a-zA-Z0-9 .:-]{1,8}", json_value(), 0..5),
            rest in proptest::collection::btree_map("[A-Z]{1,5}", json_value(), 0..3),
        ) {
            // Head keys are distinct and end in a digit, the mapping's key is lowercase
            // letters, rest's keys uppercase letters: no key is given twice.
            let head: Vec<(String, serde_json::Value)> =
                head.into_iter().map(|(k, v)| (format!("{k}0"), v)).collect();
            let mut whole = serde_json::Map::new();
            for (k, v) in &head {
                whole.insert(k.clone(), v.clone());
            }
            whole.insert(key.clone(), serde_json::Value::Object(entries.clone().into_iter().collect()));
            for (k, v) in &rest {
                whole.insert(k.clone(), v.clone());
            }
            let expected = super::to_string_after("# head\n", &serde_json::Value::Object(whole)).unwrap();
            let mut doc = super::Streamed::new("# head\n");
            for (k, v) in &head {
                doc.entry(k, v);
            }
            doc.open_map(&key);
            for (k, v) in &entries {
                doc.map_entry(k, v);
            }
            proptest::prop_assert_eq!(doc.finish(&rest).unwrap(), expected);
        }
    }

    #[cfg(any(feature = "compose", feature = "swarm"))]
    #[test]
    fn a_streamed_document_refuses_a_key_twice() {
        let mut doc = super::Streamed::new("");
        doc.open_map("services");
        doc.map_entry("api", &json!({"image": "a"}));
        doc.map_entry("api", &json!({"image": "b"}));
        let err = doc.finish(&json!({})).unwrap_err().to_string();
        assert!(err.contains("`api` written twice"), "{err}");
        let mut doc = super::Streamed::new("");
        doc.map_entry("api", &json!(1));
        assert!(doc.finish(&json!({})).is_err());
        // Nothing after the mapping, and an empty mapping.
        let mut doc = super::Streamed::new("");
        doc.open_map("services");
        assert_eq!(doc.finish(&json!({})).unwrap(), "services: {}\n");
    }

    #[test]
    fn escapes_survive_a_yaml_parser() {
        let v = json!({"k": "line1\nline2 \"q\" \\ \t $$x", "1": [[1, 2], {"a": null}]});
        let text = to_string(&v).unwrap();
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
