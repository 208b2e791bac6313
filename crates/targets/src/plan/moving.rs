//! The move from the previous phase: what changes, which data must move and how, what to
//! create on the new engine, and the checklist of the migration weekend, in order.

use escala_core::checked::phase_services;
use escala_core::{Engine, MountSource, Phase, PhasePlan, Service, Workload};

fn shape(s: &Service) -> String {
    match &s.autoscale {
        Some(a) => format!("{}–{} (autoscaled)", a.min, a.max),
        None if s.workload == Workload::PerNode => "one per node".into(),
        None if matches!(s.workload, Workload::Scheduled { .. }) => "scheduled".into(),
        None => s.replicas.to_string(),
    }
}

/// `docker node update` / `kubectl label node` lines for every node label of the phase.
pub(crate) fn label_commands(phase: &Phase) -> Vec<String> {
    let mut out = Vec::new();
    for n in &phase.nodes {
        for (k, v) in &n.labels {
            out.push(match phase.engine {
                Engine::Swarm => format!("docker node update --label-add {k}={v} {}", n.name),
                Engine::Kubernetes => format!("kubectl label node {} {k}={v} --overwrite", n.name),
                Engine::Compose => continue,
            });
        }
    }
    out
}

/// The secrets to create before the first deploy on the phase's engine (on Kubernetes, after
/// the namespace they live in).
pub(crate) fn secret_commands(plan: &PhasePlan<'_>) -> Vec<String> {
    match plan.phase().engine {
        #[cfg(feature = "swarm")]
        Engine::Swarm => crate::swarm::secret_commands(plan),
        #[cfg(feature = "kubernetes")]
        Engine::Kubernetes => {
            let mut commands = crate::kubernetes::secret_commands(plan);
            if !commands.is_empty() {
                let dir = format!("deploy/{}/kubernetes", plan.phase().name);
                if let Some(ns) = crate::kubernetes::namespace(plan, false) {
                    commands.insert(0, crate::kubernetes::namespace_command(&ns, &dir));
                }
            }
            commands
        }
        _ => Vec::new(),
    }
}

fn ports(engine: Engine) -> &'static str {
    match engine {
        Engine::Swarm => "Between the nodes only (never to the internet): 2377/tcp to the managers (cluster management), 7946/tcp and 7946/udp (node discovery), 4789/udp (overlay traffic). From the internet: 80/tcp and 443/tcp.",
        Engine::Kubernetes => "Between the nodes only (never to the internet): 6443/tcp to the K3s servers (API), 8472/udp (flannel VXLAN), 10250/tcp (kubelet). From the internet: 80/tcp and 443/tcp.",
        Engine::Compose => "From the internet: 80/tcp and 443/tcp (and 22/tcp for you). Nothing else.",
    }
}

fn deploy(plan: &PhasePlan<'_>) -> String {
    let p = &plan.phase().name;
    match plan.phase().engine {
        Engine::Swarm => format!("`docker stack deploy -c deploy/{p}/swarm/stack.yml {}` on a manager, with the variables of `stack.env.example` exported", plan.system().name),
        Engine::Kubernetes => format!("`kubectl apply -k deploy/{p}/kubernetes`"),
        Engine::Compose => format!("`docker compose -f deploy/{p}/compose/docker-compose.yml up -d` (or Dokploy, with the variables of `.env.example`)"),
    }
}

/// The stateful services of a phase and the volumes they write.
fn stateful<'s>(services: &'s [std::borrow::Cow<'_, Service>]) -> Vec<(&'s Service, Vec<String>)> {
    services
        .iter()
        .map(|s| &**s)
        .filter(|s| s.workload == Workload::Stateful)
        .map(|s| {
            let vols = s
                .mounts
                .iter()
                .filter(|m| !m.read_only)
                .filter_map(|m| match &m.source {
                    MountSource::Volume(v) => Some(v.to_string()),
                    _ => None,
                })
                .collect();
            (s, vols)
        })
        .filter(|(_, v): &(&Service, Vec<String>)| !v.is_empty())
        .collect()
}

/// The data section: how each stateful service's data gets to the new phase.
fn data(plan: &PhasePlan<'_>, from: &Phase, before: &[std::borrow::Cow<'_, Service>]) -> String {
    let system = plan.system();
    let to = plan.phase();
    let moves = from.engine != to.engine || !same_nodes(from, to);
    let mut out = String::from("### Data\n\n");
    let db = system.database.as_ref();
    let old: std::collections::HashSet<&escala_core::Name> =
        stateful(before).iter().map(|(s, _)| &s.name).collect();
    let declared: std::collections::HashSet<&escala_core::Name> =
        system.services.iter().map(|s| &s.name).collect();
    for (s, volumes) in stateful(plan.services()) {
        if !old.contains(&s.name) {
            continue; // new in this phase: it starts empty
        }
        // The model's own copies (a read replica, Citus workers) are rebuilt, not moved.
        if !declared.contains(&s.name) {
            continue;
        }
        let is_db = db.is_some_and(|d| d.service == s.name);
        if is_db {
            let migration = format!("deploy/{}/sql/from-{}", to.name, from.name);
            let has_migration = db.is_some_and(|d| {
                !from.database.partitioning
                    && to.database.partitioning
                    && d.tables.iter().any(|t| t.partitioning.is_some())
            });
            if !moves {
                out.push_str(&format!("- **{}** stays where it is. Grow its database in place: run `{migration}/*.sql` (online, see the book's \"Database growth\") and then `deploy/{}/sql/*.sql`, each with `psql -v ON_ERROR_STOP=1 -f FILE \"$DATABASE_URL\"`.\n", s.name, to.name));
            } else if system
                .backups
                .as_ref()
                .is_some_and(|b| b.database_url.is_some())
            {
                out.push_str(&format!("- **{}** moves to the new engine (volumes {}). Stop writes (the applications), take a last backup with the backup job, then, with `DATABASE_URL` set to the new, empty database{}, run `sh deploy/{}/sql/restore.sh`: it rebuilds the tables in this phase's shape and loads the rows, and prints the counts to compare with the old database.\n", s.name, volumes.join(", "), if to.database.distribution { " (Citus nodes registered by the `citus-nodes` job)" } else { "" }, to.name));
            } else {
                out.push_str(&format!("- **{}** moves to the new engine (volumes {}). Stop writes, then `pg_dump -Fc --load-via-partition-root \"$OLD_DATABASE_URL\" -f {}.dump`, and on the new, empty database `pg_restore --no-owner --exit-on-error -d \"$DATABASE_URL\" {}.dump`{}, then `deploy/{}/sql/*.sql` in order.\n", s.name, volumes.join(", "), s.name, s.name, if has_migration { format!(", the files of `{migration}/`") } else { String::new() }, to.name));
            }
            continue;
        }
        if !moves {
            out.push_str(&format!(
                "- **{}** ({}) stays where it is.\n",
                s.name,
                volumes.join(", ")
            ));
            continue;
        }
        let image = s.image.as_deref().unwrap_or_default();
        if image.contains("redis") {
            out.push_str(&format!("- **{}** ({}): stop writers, `redis-cli -h {} --rdb dump.rdb` from the old one, and put `dump.rdb` in the new volume before it starts (`{}`).\n", s.name, volumes.join(", "), s.name, copy_in(to.engine, s.name.as_str(), "dump.rdb", "/data")));
        } else {
            for v in &volumes {
                out.push_str(&format!("- **{}** ({v}): stop it, archive the old volume (`docker run --rm -v {v}:/v -v \"$PWD\":/out busybox tar -C /v -czf /out/{v}.tar.gz .`, or the backup job's latest archive) and unpack it into the new one ({}).\n", s.name, match to.engine {
                    Engine::Kubernetes => format!("`kubectl cp {v}.tar.gz <pod>:/tmp/` then `tar -xzf` inside `{}`", s.name),
                    _ => "`docker run --rm -v VOLUME:/v -v \"$PWD\":/in busybox tar -C /v -xzf /in/ARCHIVE` on its node".to_owned(),
                }));
            }
        }
    }
    if out == "### Data\n\n" {
        out.push_str("No data moves.\n");
    }
    out.push('\n');
    out
}

fn copy_in(engine: Engine, service: &str, file: &str, dir: &str) -> String {
    match engine {
        Engine::Kubernetes => format!("kubectl cp {file} {service}-0:{dir}/{file}"),
        _ => format!("docker cp {file} <container of {service}>:{dir}/{file}"),
    }
}

/// The whole section, when there is a previous phase.
pub(crate) fn section(plan: &PhasePlan<'_>, from: &Phase) -> String {
    let system = plan.system();
    let to = plan.phase();
    let before = phase_services(system, from);
    let mut out = format!("## Moving from `{}`\n\n", from.name);
    if from.engine != to.engine {
        out.push_str(&format!(
            "The engine changes: {} → {}. Every service is deployed anew on the new engine; plan a window for the data below.\n\n",
            from.engine.as_str(),
            to.engine.as_str()
        ));
    }
    out.push_str("### Services\n\n| service | before | after |\n|---|---|---|\n");
    let mut rows = 0;
    let by_name: std::collections::HashMap<&escala_core::Name, &escala_core::Service> =
        before.iter().map(|b| (&b.name, &**b)).collect();
    for s in plan.services() {
        let old = by_name.get(&s.name).copied();
        let (was, is) = (old.map_or("—".to_owned(), shape), shape(s));
        let placement = old.is_some_and(|o| o.placement != s.placement);
        let resources = old.is_some_and(|o| o.resources != s.resources);
        if old.is_some() && was == is && !placement && !resources {
            continue;
        }
        let mut note = is;
        if placement {
            note.push_str(", placement changes");
        }
        if resources {
            note.push_str(", resources change");
        }
        out.push_str(&format!("| {} | {was} | {note} |\n", s.name));
        rows += 1;
    }
    for b in before.iter().filter(|b| plan.service(&b.name).is_none()) {
        out.push_str(&format!("| {} | {} | removed |\n", b.name, shape(b)));
        rows += 1;
    }
    if rows == 0 {
        out.push_str("| (no change) | | |\n");
    }
    out.push('\n');
    out.push_str(&data(plan, from, &before));
    out
}

/// The checklist, in order.
pub(crate) fn checklist(plan: &PhasePlan<'_>, from: Option<&Phase>) -> String {
    let system = plan.system();
    let to = plan.phase();
    let mut steps: Vec<String> = Vec::new();
    if from.is_some() {
        steps.push(match &system.backups {
            Some(_) => "A complete backup, verified: run the backup job and rehearse `restore.sh` into an empty database (the counts match).".into(),
            None => "A complete backup, verified: `pg_dump -Fc` of the database and a copy of every volume, restored once into an empty server.".into(),
        });
    }
    if !to.nodes.is_empty() {
        steps.push(format!(
            "Provision the nodes ({}), and their firewall: {}",
            to.nodes
                .iter()
                .map(|n| n.name.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            ports(to.engine)
        ));
    }
    match to.engine {
        Engine::Swarm => steps.push("Make the Swarm: `docker swarm init --advertise-addr <manager IP>` on the first manager, then `docker swarm join` on the others with the token it prints.".into()),
        Engine::Kubernetes => steps.push("Install K3s on the server and join the agents (`K3S_URL`, `K3S_TOKEN`); K3s brings Traefik as the ingress controller.".into()),
        Engine::Compose => {}
    }
    let labels = label_commands(to);
    if !labels.is_empty() {
        steps.push(format!(
            "Label the nodes:\n\n   ```sh\n{}\n   ```",
            labels
                .iter()
                .map(|l| format!("   {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    let secrets = secret_commands(plan);
    if !secrets.is_empty() {
        steps.push(format!(
            "Create the secrets (from the same variables as before; the values are never written down):\n\n   ```sh\n{}\n   ```",
            secrets.iter().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
        ));
    }
    steps.push(format!("Deploy: {}.", deploy(plan)));
    if let Some(from) = from {
        if from.engine != to.engine || !same_nodes(from, to) {
            steps.push("Move the data (above), then start the applications.".into());
        } else if system.database.is_some() {
            steps.push("Grow the database in place (above).".into());
        }
    }
    let hosts: Vec<String> = plan.routes().iter().map(|r| r.host.clone()).collect();
    if !hosts.is_empty() {
        let entry: Vec<String> = match to.engine {
            Engine::Compose => to
                .nodes
                .first()
                .map(|n| n.name.to_string())
                .into_iter()
                .collect(),
            _ => to
                .nodes
                .iter()
                .filter(|n| {
                    to.engine == Engine::Kubernetes || n.role == escala_core::NodeRole::Manager
                })
                .map(|n| n.name.to_string())
                .collect(),
        };
        steps.push(format!(
            "Point DNS at the new entry ({}): an A (and AAAA) record for {}. Lower the TTL a day before.",
            if entry.is_empty() { "the machine that runs the proxy".to_owned() } else { entry.join(", ") },
            hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
        ));
        steps.push(format!(
            "Validate TLS once DNS answers: {}.",
            hosts
                .iter()
                .map(|h| format!("`curl -sSI https://{h}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    steps.push("Watch the dashboards and alerts for a day (below) before removing the old phase's machines.".into());
    let mut out = String::from("## Checklist\n\n");
    for (i, s) in steps.iter().enumerate() {
        out.push_str(&format!("{}. {s}\n", i + 1));
    }
    out.push('\n');
    out
}

/// Whether two phases run on the same machines (where each was declared aside).
fn same_nodes(a: &Phase, b: &Phase) -> bool {
    let strip = |p: &Phase| -> Vec<escala_core::Node> {
        p.nodes
            .iter()
            .cloned()
            .map(|mut n| {
                n.origin = None;
                n
            })
            .collect()
    };
    strip(a) == strip(b)
}
