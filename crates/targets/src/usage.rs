//! Which objects of the system a phase actually uses (targets declare only those).

use escala_core::{MountSource, Name, PhasePlan};

/// Whether any service of the plan mounts the volume `name`.
pub(crate) fn mounts_volume(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.services().iter().any(|s| {
        s.mounts
            .iter()
            .any(|m| matches!(&m.source, MountSource::Volume(v) if v == name))
    })
}

/// Whether any service of the plan joins the network `name`.
pub(crate) fn joins_network(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.services().iter().any(|s| s.networks.contains(name))
}

/// Whether any service of the plan mounts the secret `name`.
pub(crate) fn mounts_secret(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.services().iter().any(|s| s.secrets.contains(name))
}

/// Whether any service of the plan mounts the config `name`.
pub(crate) fn mounts_config(plan: &PhasePlan<'_>, name: &Name) -> bool {
    plan.services()
        .iter()
        .any(|s| s.configs.iter().any(|c| &c.config == name))
}
