//! Did-you-mean suggestions for misspelled names.

/// The candidate closest to `wanted`, if it is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, c)| *score >= 0.8 && *c != wanted)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos() {
        let names = ["postgres", "redis", "backend"];
        assert_eq!(closest("postgress", names), Some("postgres"));
        assert_eq!(closest("reddis", names), Some("redis"));
        assert_eq!(closest("zzz", names), None);
    }
}
