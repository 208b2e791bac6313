//! Which objects of the system a phase actually uses (targets declare only those).

use escala_core::{Name, PhasePlan};

/// Whether any service of the plan mounts the volume `name`.
pub(crate) fn mounts_volume(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.mounts_volume(name)
}

/// Whether any service of the plan joins the network `name`.
pub(crate) fn joins_network(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.joins_network(name)
}

/// Whether any service of the plan mounts the secret `name`.
pub(crate) fn mounts_secret(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.mounts_secret(name)
}

/// Whether any service of the plan mounts the config `name`.
pub(crate) fn mounts_config(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.mounts_config(name)
}

/// How to fix an unreadable config file.
#[cfg(any(feature = "swarm", feature = "kubernetes"))]
pub(crate) const MISSING_FILE_HELP: &str =
    "create the file (paths are relative to the directory `cargo run` is started from), or fix the path";

/// The file configs the plan mounts whose file could not be read (the CLI reads them before
/// rendering): `(config name, path)`. Targets that need the content report them.
#[cfg(any(feature = "swarm", feature = "kubernetes"))]
pub(crate) fn unreadable_config_files<'a>(plan: &'a PhasePlan<'_>) -> Vec<(&'a Name, &'a str)> {
    plan.system()
        .configs
        .iter()
        // A sensitive one is read when deploying (`kubectl create secret`, a file secret).
        .filter(|c| !c.sensitive)
        .filter_map(|c| match &c.source {
            escala_core::ConfigSource::File(path)
                if plan.content(path).is_none() && mounts_config(plan, &c.name) =>
            {
                Some((&c.name, path.as_str()))
            }
            escala_core::ConfigSource::Dir(path)
                if plan.files_in(path).is_empty() && mounts_config(plan, &c.name) =>
            {
                Some((&c.name, path.as_str()))
            }
            _ => None,
        })
        .collect()
}

#[cfg(any(feature = "swarm", feature = "kubernetes"))]
fn content_len(c: escala_core::FileContent<'_>) -> usize {
    match c {
        escala_core::FileContent::Text(t) => t.len(),
        // Kubernetes stores it base64-encoded: 4 bytes for every 3.
        escala_core::FileContent::Binary(b) => b.len().div_ceil(3) * 4,
    }
}

/// The configs the phase mounts whose content is over `limit` bytes, with their size: an
/// engine's own ceiling (a Swarm config, a ConfigMap).
#[cfg(any(feature = "swarm", feature = "kubernetes"))]
pub(crate) fn oversized_configs<'a>(
    plan: &'a PhasePlan<'_>,
    limit: usize,
) -> Vec<(&'a Name, usize)> {
    plan.system()
        .configs
        .iter()
        .filter(|c| mounts_config(plan, &c.name) && !c.sensitive)
        .filter_map(|c| {
            let len = match &c.source {
                escala_core::ConfigSource::File(path) => content_len(plan.content(path)?),
                escala_core::ConfigSource::Dir(path) => plan
                    .files_in(path)
                    .iter()
                    .map(|(name, c)| name.len() + content_len(*c))
                    .sum(),
                escala_core::ConfigSource::Inline(text) => text.len(),
                escala_core::ConfigSource::Values(values) => {
                    values.iter().map(|(k, v)| k.len() + v.len()).sum()
                }
                escala_core::ConfigSource::AlertRules => return None,
            };
            (len > limit).then_some((&c.name, len))
        })
        .collect()
}
