//! The names of what a phase adds to the model: the jobs, the pooler, the read replica and
//! the Citus nodes the database plan implies, each init step's own compose service, and the
//! volumes a replica or a Citus worker gets. Each family's own rule names the clashes it
//! knows; this one catches any other, so that no engine's file ever holds one name twice
//! (where one of the two would silently replace the other).

use foldhash::{HashMap, HashSet};
use foldhash::{HashMapExt, HashSetExt};

use crate::codes::NAME_DUPLICATE;
use crate::{Diagnostics, Engine, InPhase, System};

pub(super) fn check(system: &System, services: &[Vec<InPhase<'_>>], diags: &mut Diagnostics) {
    // What another rule already refused is not reported twice.
    let reported: HashSet<String> = diags
        .iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .map(|d| d.path.clone())
        .collect();
    let mut named: HashSet<String> = HashSet::new();
    // Names the model itself gives twice: the names rule reports those.
    let mut in_model: HashMap<&str, usize> = HashMap::new();
    for s in &system.services {
        *in_model.entry(s.name.as_str()).or_default() += 1;
    }
    let mut volumes_in_model: HashMap<&str, usize> = HashMap::new();
    for v in &system.volumes {
        *volumes_in_model.entry(v.name.as_str()).or_default() += 1;
    }
    for (phase, running) in system.phases.iter().zip(services) {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(running.len());
        for s in running {
            *seen.entry(s.name.as_str()).or_default() += 1;
        }
        // On compose, an init step is a service of its own, `<service>-<step>`.
        let steps: Vec<(String, String)> = if phase.engine == Engine::Compose {
            running
                .iter()
                .flat_map(|s| {
                    s.init_steps.iter().map(move |step| {
                        (
                            format!("{}-{}", s.name, step.name),
                            format!("services.{}.init_steps", s.name),
                        )
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        for (i, s) in system.services.iter().enumerate() {
            let twice = seen.get(s.name.as_str()).is_some_and(|n| *n > 1)
                && in_model.get(s.name.as_str()) == Some(&1);
            if !twice {
                continue;
            }
            let path = format!("services.{}", s.name);
            if !reported.contains(&path) && named.insert(path.clone()) {
                diags
                    .error(
                        NAME_DUPLICATE,
                        &path,
                        format!(
                            "in phase `{}`, service `{}` has the name of a service escala adds to the phase (a backup or upkeep job, the pooler, the read replica or a Citus node)",
                            phase.name, s.name
                        ),
                    )
                    .help("rename the service")
                    .origin(system.services[i].origin.as_ref());
            }
        }
        // Two services escala adds, under one name (a volume `database` with a backup would
        // make a second `backup-database`).
        let mut clashes: Vec<&str> = seen
            .iter()
            .filter(|(name, n)| **n > 1 && !in_model.contains_key(*name))
            .map(|(name, _)| *name)
            .collect();
        clashes.sort_unstable();
        for name in clashes {
            let path = format!("phases.{}", phase.name);
            if named.insert(format!("{path}/{name}")) {
                diags
                    .error(
                        NAME_DUPLICATE,
                        &path,
                        format!(
                            "phase `{}` would run two services named `{name}`: escala derives that name twice (from a volume's or a service's name)",
                            phase.name
                        ),
                    )
                    .help("rename the volume or the service the name comes from");
            }
        }
        for (step, path) in &steps {
            if seen.contains_key(step.as_str())
                && !reported.contains(path)
                && named.insert(path.clone())
            {
                diags
                    .error(
                        NAME_DUPLICATE,
                        path,
                        format!(
                            "in phase `{}`, the compose service `{step}` of an init step has the name of a service of the phase",
                            phase.name
                        ),
                    )
                    .help("rename the step or the service");
            }
        }
        let phase_volumes = crate::checked::phase_volumes(system, phase);
        let mut volumes: HashMap<&str, usize> = HashMap::new();
        for v in &phase_volumes {
            *volumes.entry(v.name.as_str()).or_default() += 1;
        }
        for (i, v) in system.volumes.iter().enumerate() {
            if !(volumes.get(v.name.as_str()).is_some_and(|n| *n > 1)
                && volumes_in_model.get(v.name.as_str()) == Some(&1))
            {
                continue;
            }
            let path = format!("volumes[{i}]");
            if !reported.contains(&path) && named.insert(path.clone()) {
                diags
                    .error(
                        NAME_DUPLICATE,
                        &path,
                        format!(
                            "in phase `{}`, volume `{}` has the name of a volume escala adds to the phase (a Citus worker's or the read replica's copy)",
                            phase.name, v.name
                        ),
                    )
                    .help("rename the volume");
            }
        }
    }
}
