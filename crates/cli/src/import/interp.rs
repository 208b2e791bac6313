//! `.env` files and compose's `${VAR}` interpolation.

use std::collections::BTreeMap;

/// Parses a `.env` file: `KEY=value` lines, `#` comments, optional `export `, optional
/// single or double quotes around the value.
pub fn dotenv(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if (v.starts_with('"') && v.ends_with('"')
            || v.starts_with('\'') && v.ends_with('\''))
            && v.len() >= 2
        {
            &v[1..v.len() - 1]
        } else {
            v.split(" #").next().unwrap_or(v).trim_end()
        };
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    out
}

/// The result of interpolating one value.
#[derive(Debug, Default, PartialEq)]
pub struct Interpolated {
    /// The value.
    pub value: String,
    /// Variables that were unset and had no default (they became empty).
    pub missing: Vec<String>,
    /// `${VAR?message}` / `${VAR:?message}` whose variable was unset: (var, message).
    pub required: Vec<(String, String)>,
    /// Every variable the value names, in order.
    pub used: Vec<String>,
}

/// Interpolates `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?msg}`, `${VAR?msg}`,
/// `$VAR`, and `$$` (a literal `$`), as compose does.
pub fn interpolate(s: &str, env: &BTreeMap<String, String>) -> Interpolated {
    let mut out = Interpolated::default();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.value.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.value.push('$');
                i += 2;
            }
            Some('{') => {
                let Some(end) = chars[i + 2..].iter().position(|c| *c == '}') else {
                    out.value.extend(&chars[i..]);
                    break;
                };
                let inner: String = chars[i + 2..i + 2 + end].iter().collect();
                i += end + 3;
                let name_len = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                let (name, op) = inner.split_at(name_len);
                out.used.push(name.to_owned());
                let value = env.get(name);
                let set_nonempty = value.is_some_and(|v| !v.is_empty());
                if let Some(d) = op.strip_prefix(":-") {
                    out.value.push_str(if set_nonempty {
                        value.map_or("", |v| v)
                    } else {
                        d
                    });
                } else if let Some(d) = op.strip_prefix('-') {
                    out.value.push_str(value.map_or(d, |v| v));
                } else if let Some(m) = op.strip_prefix(":?") {
                    if set_nonempty {
                        out.value.push_str(value.map_or("", |v| v));
                    } else {
                        out.required.push((name.to_owned(), m.to_owned()));
                    }
                } else if let Some(m) = op.strip_prefix('?') {
                    match value {
                        Some(v) => out.value.push_str(v),
                        None => out.required.push((name.to_owned(), m.to_owned())),
                    }
                } else {
                    match value {
                        Some(v) => out.value.push_str(v),
                        None => out.missing.push(name.to_owned()),
                    }
                }
            }
            Some(n) if n.is_ascii_alphabetic() || *n == '_' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[start..j].iter().collect();
                out.used.push(name.clone());
                match env.get(&name) {
                    Some(v) => out.value.push_str(v),
                    None => out.missing.push(name),
                }
                i = j;
            }
            _ => {
                out.value.push('$');
                i += 1;
            }
        }
    }
    out
}

/// If the whole value is one variable reference (`${VAR}`, `${VAR:?…}`, `$VAR`…), its name.
pub fn whole_reference(s: &str) -> Option<&str> {
    let inner = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))?;
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(end);
    let simple = rest.is_empty() || rest.starts_with(":?") || rest.starts_with('?');
    (!name.is_empty() && simple && !s.starts_with("$$")).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_interpolation() {
        let env: BTreeMap<String, String> =
            [("A".into(), "1".into()), ("E".into(), String::new())].into();
        assert_eq!(interpolate("x${A}y$A$$z", &env).value, "x1y1$z");
        assert_eq!(interpolate("${E:-d}|${E-d}|${U-d}", &env).value, "d||d");
        let r = interpolate("${U:?must be set}", &env);
        assert_eq!(r.required, [("U".to_owned(), "must be set".to_owned())]);
        assert_eq!(interpolate("${U}", &env).missing, ["U"]);
        assert_eq!(whole_reference("${DB_PASSWORD}"), Some("DB_PASSWORD"));
        assert_eq!(whole_reference("${X:?X must be set}"), Some("X"));
        assert_eq!(whole_reference("${X:-d}"), None);
        assert_eq!(whole_reference("a${X}"), None);
    }

    #[test]
    fn dotenv_files() {
        let env = dotenv("# c\nA=1\nexport B=\"two words\"\nC='x' \nD=plain # comment\n");
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x"));
        assert_eq!(env.get("D").map(String::as_str), Some("plain"));
    }
}
