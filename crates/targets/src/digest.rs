//! Short content digests. Swarm configs are immutable, so a config's name carries the digest
//! of its content and a changed file becomes a new config the services switch to; on
//! Kubernetes the digest of the configs a pod mounts is a pod-template annotation, so a
//! changed ConfigMap rolls the pods (a `subPath` mount never sees the update).

use sha2::{Digest, Sha256};

/// The first 10 hex digits of the SHA-256 of `content`: stable across runs and machines.
pub(crate) fn short(content: &str) -> String {
    let hash = Sha256::digest(content.as_bytes());
    hash.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn is_the_sha256_prefix() {
        // `printf abc | sha256sum` = ba7816bf8f01cfea414140de5dae2223…
        assert_eq!(short("abc"), "ba7816bf8f");
        assert_eq!(short(""), "e3b0c44298");
    }
}
