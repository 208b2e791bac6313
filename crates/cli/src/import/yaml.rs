//! A YAML tree that remembers where every node is, for diagnostics that point into the file.
//!
//! Built on yaml-rust2's event parser (serde_yaml keeps no positions). Anchors and aliases are
//! resolved by copying; `<<` merge keys are applied as compose does (explicit keys win).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a file: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line.
    pub line: usize,
    /// Column.
    pub col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// A node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A mapping, in file order.
    Map(Vec<(String, Pos, Node)>, Pos),
    /// A sequence.
    Seq(Vec<Node>, Pos),
    /// A scalar; `plain` when it was not quoted (so `null`, numbers and booleans apply).
    Scalar(String, bool, Pos),
}

impl Node {
    /// Where the node starts.
    pub fn pos(&self) -> Pos {
        match self {
            Node::Map(_, p) | Node::Seq(_, p) | Node::Scalar(_, _, p) => *p,
        }
    }
    /// The value of `key`, in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    /// A scalar's text.
    pub fn str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s, _, _) => Some(s),
            _ => None,
        }
    }
    /// Whether this is an unquoted `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s, true, _) if s.is_empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    }
}

/// Why a file is not YAML.
#[derive(Debug, thiserror::Error)]
#[error("{message} at line {}, column {}", pos.line, pos.col)]
pub struct YamlError {
    /// What the parser said.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

/// The most nodes a file may expand to, aliases copied in: a compose file of 20,000
/// services is a few hundred thousand; an alias bomb (9 levels of 9) is billions.
pub const MAX_NODES: usize = 1_000_000;
/// The largest file the importer reads.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

enum Frame {
    Map(
        Vec<(String, Pos, Node)>,
        Pos,
        Option<(String, Pos)>,
        usize,
        usize,
    ),
    Seq(Vec<Node>, Pos, usize, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's node, and how many nodes it holds (what an alias to it adds).
    anchors: Vec<(usize, Node, usize)>,
    root: Option<Node>,
    error: Option<YamlError>,
    /// Nodes built so far, aliases counted as the nodes they copy.
    nodes: usize,
}

impl Builder {
    /// Counts `n` more nodes; false (and an error) once the file expands past [`MAX_NODES`].
    fn grow(&mut self, n: usize, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            self.error.get_or_insert(YamlError {
                message: format!("the file holds more than {MAX_NODES} YAML nodes (counting what each alias copies), more than any compose file holds (20,000 services are a few hundred thousand); split it into several files (`-f`), or look for aliases repeated inside aliases, which multiply"),
                pos,
            });
            return false;
        }
        true
    }

    fn push(&mut self, node: Node, anchor: usize, size: usize) {
        if self.error.is_some() {
            return;
        }
        if anchor > 0 {
            self.anchors.push((anchor, node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(items, _, _, _)) => items.push(node),
            Some(Frame::Map(entries, _, key, _, _)) => match key.take() {
                None => match node {
                    Node::Scalar(k, _, p) => *key = Some((k, p)),
                    other => {
                        // Complex keys do not occur in compose files; keep going with a marker.
                        *key = Some((String::from("<complex key>"), other.pos()));
                    }
                },
                Some((k, p)) => {
                    if k == "<<" {
                        let sources = match node {
                            Node::Seq(items, _) => items,
                            other => vec![other],
                        };
                        for src in sources {
                            if let Node::Map(merged, _) = src {
                                for (mk, mp, mv) in merged {
                                    if !entries.iter().any(|(e, _, _)| *e == mk) {
                                        entries.push((mk, mp, mv));
                                    }
                                }
                            }
                        }
                    } else if let Some(existing) = entries.iter_mut().find(|(e, _, _)| *e == k) {
                        // An explicit key overrides one merged in earlier.
                        *existing = (k, p, node);
                    } else {
                        entries.push((k, p, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::MappingStart(anchor, _) => {
                let start = self.nodes;
                self.stack
                    .push(Frame::Map(Vec::new(), mark.into(), None, anchor, start))
            }
            Event::SequenceStart(anchor, _) => {
                let start = self.nodes;
                self.stack
                    .push(Frame::Seq(Vec::new(), mark.into(), anchor, start))
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, pos, _, anchor, start)) = self.stack.pop() {
                    if self.grow(1, pos) {
                        let size = self.nodes - start;
                        self.push(Node::Map(entries, pos), anchor, size);
                    }
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, pos, anchor, start)) = self.stack.pop() {
                    if self.grow(1, pos) {
                        let size = self.nodes - start;
                        self.push(Node::Seq(items, pos), anchor, size);
                    }
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                let plain = style == TScalarStyle::Plain;
                if self.grow(1, mark.into()) {
                    self.push(Node::Scalar(value, plain, mark.into()), anchor, 1);
                }
            }
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _, _)| *a == id) {
                Some((_, _, size)) => {
                    // Counted before copying: a bomb stops here, not after the copy.
                    let size = *size;
                    if self.grow(size, mark.into()) {
                        let node = self
                            .anchors
                            .iter()
                            .rev()
                            .find(|(a, _, _)| *a == id)
                            .map(|(_, n, _)| n.clone());
                        if let Some(node) = node {
                            self.push(node, 0, size);
                        }
                    }
                }
                None => {
                    self.error.get_or_insert(YamlError {
                        message: "unknown alias".into(),
                        pos: mark.into(),
                    });
                }
            },
            _ => {}
        }
    }
}

/// Parses the first document of `text`. An empty file is an empty mapping. Files over
/// [`MAX_BYTES`], or expanding (aliases included) past [`MAX_NODES`], are errors.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    if text.len() > MAX_BYTES {
        return Err(YamlError {
            message: format!(
                "the file is {} bytes; the importer reads at most {MAX_BYTES}",
                text.len()
            ),
            pos: Pos { line: 1, col: 1 },
        });
    }
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|e| YamlError {
            message: e.info().to_owned(),
            pos: (*e.marker()).into(),
        })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder
        .root
        .unwrap_or(Node::Map(Vec::new(), Pos { line: 1, col: 1 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_anchors_and_merges() {
        let doc = parse("x-base: &base\n  image: nginx\n  restart: always\nservices:\n  web:\n    <<: *base\n    restart: \"no\"\n").unwrap();
        let web = doc.get("services").and_then(|s| s.get("web")).unwrap();
        assert_eq!(web.get("image").and_then(Node::str), Some("nginx"));
        assert_eq!(web.get("restart").and_then(Node::str), Some("no"));
        assert_eq!(
            web.get("restart").map(Node::pos),
            Some(Pos { line: 7, col: 14 })
        );
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("a: *nope\n").is_err());
    }
}
