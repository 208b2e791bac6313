//! Validated names.
//!
//! Every object in a [`System`](crate::System) is named by a [`Name`]. A name is what the
//! targets use as a compose service key, a Swarm service name, a Kubernetes object name and a
//! DNS label inside the cluster, so it must be valid for all of them at once: a DNS-1123 label
//! (lowercase ASCII letters, digits and `-`, starting and ending with an alphanumeric, at most
//! 63 characters).
//!
//! Names can be built from any string so that a model reads naturally (`.name("backend")`);
//! an invalid name is then reported by [`System::check`](crate::System::check) together with
//! every other problem, instead of aborting the program at the first one. Use
//! [`Name::parse`] where you want the error straight away.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest name a DNS-1123 label allows.
pub const MAX_NAME_LEN: usize = 63;

/// A name for a service, volume, network, secret, config, phase, node or system.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Name(String);

/// Why a string is not a valid [`Name`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("name `{0}` is longer than 63 characters")]
    TooLong(String),
    /// The name holds a character outside `a-z`, `0-9` and `-`.
    #[error("name `{name}` contains `{ch}`; only lowercase letters, digits and `-` are allowed")]
    BadChar {
        /// The offending name.
        name: String,
        /// The first character that is not allowed.
        ch: char,
    },
    /// The name starts or ends with `-`.
    #[error("name `{0}` must start and end with a lowercase letter or a digit")]
    BadEdge(String),
}

impl Name {
    /// Parses and validates a name.
    ///
    /// ```
    /// use escala_core::Name;
    /// assert!(Name::parse("bullmq-worker").is_ok());
    /// assert!(Name::parse("Bullmq_Worker").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let name = Name(s.to_owned());
        name.validate()?;
        Ok(name)
    }

    /// Checks this name against the DNS-1123 label rules.
    pub fn validate(&self) -> Result<(), NameError> {
        let s = self.0.as_str();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(s.to_owned()));
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(NameError::BadChar {
                name: s.to_owned(),
                ch,
            });
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(NameError::BadEdge(s.to_owned()));
        }
        Ok(())
    }

    /// A valid name that is close to this one: lowercased, with `_`, `.` and spaces turned
    /// into `-`, other characters dropped. Used in help texts.
    pub fn suggestion(&self) -> String {
        let mut out: String = self
            .0
            .chars()
            .filter_map(|c| match c {
                'A'..='Z' => Some(c.to_ascii_lowercase()),
                'a'..='z' | '0'..='9' | '-' => Some(c),
                '_' | '.' | ' ' => Some('-'),
                _ => None,
            })
            .collect();
        out.truncate(MAX_NAME_LEN);
        out.trim_matches('-').to_owned()
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(s.to_owned())
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(s)
    }
}

impl From<&Name> for Name {
    fn from(n: &Name) -> Self {
        n.clone()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "backend", "bullmq-worker", "pg18", "0a"] {
            assert!(Name::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("Web"),
            Err(NameError::BadChar { ch: 'W', .. })
        ));
        assert!(matches!(
            Name::parse("my_app"),
            Err(NameError::BadChar { ch: '_', .. })
        ));
        assert!(matches!(Name::parse("-a"), Err(NameError::BadEdge(_))));
        assert!(matches!(Name::parse("a-"), Err(NameError::BadEdge(_))));
        assert!(matches!(
            Name::parse(&"a".repeat(64)),
            Err(NameError::TooLong(_))
        ));
        assert!(Name::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn suggests_a_valid_name() {
        assert_eq!(Name::from("My_App.v2").suggestion(), "my-app-v2");
    }
}
