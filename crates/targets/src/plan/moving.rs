//! The move from the previous phase: what changes, which data must move and how, what to
//! create on the new engine, and the checklist of the migration weekend, in order.

use escala_core::{Engine, MountSource, Phase, PhasePlan, Service, Workload};
use foldhash::HashSetExt;
use std::fmt::Write as _;

fn shape(phase: &Phase, s: &Service) -> String {
    match escala_core::capacity::autoscale(phase, s) {
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

/// The firewall: what the engine needs between the nodes, and what the phase serves to the
/// internet — 80/tcp and 443/tcp when it has routes (its proxy's, or the platform's), and
/// every host port its services publish (compose and Swarm; Kubernetes publishes none).
fn ports(plan: &PhasePlan<'_>) -> String {
    let mut public: Vec<(u16, &str)> = Vec::new();
    if !plan.routes().is_empty() {
        public.extend([(80, "tcp"), (443, "tcp")]);
    }
    if plan.phase().engine != Engine::Kubernetes {
        // As the compose and stack files do: on Dokploy a routed service publishes no host
        // port (the platform's Traefik reaches it over the network).
        let dokploy = matches!(plan.phase().platform, escala_core::Platform::Dokploy { .. });
        let routed: foldhash::HashSet<&escala_core::Name> = if dokploy {
            plan.routes().into_iter().map(|r| &r.service).collect()
        } else {
            foldhash::HashSet::new()
        };
        let published = plan.services().iter().filter(|s| !routed.contains(&s.name));
        for p in published.flat_map(|s| &s.ports) {
            if let Some(host) = p.publish {
                let protocol = match p.protocol {
                    escala_core::Protocol::Tcp => "tcp",
                    escala_core::Protocol::Udp => "udp",
                };
                public.push((host, protocol));
            }
        }
    }
    public.sort_unstable();
    public.dedup();
    let public = match public.as_slice() {
        [] => "nothing".to_owned(),
        ports => {
            let each: Vec<String> = ports
                .iter()
                .map(|(p, proto)| format!("{p}/{proto}"))
                .collect();
            match each.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => each.join(""),
            }
        }
    };
    match plan.phase().engine {
        Engine::Swarm => format!("Between the nodes only (never to the internet): 2377/tcp to the managers (cluster management), 7946/tcp and 7946/udp (node discovery), 4789/udp (overlay traffic). From the internet: {public}."),
        Engine::Kubernetes => format!("Between the nodes only (never to the internet): 6443/tcp to the K3s servers (API), 8472/udp (flannel VXLAN), 10250/tcp (kubelet). From the internet: {public}."),
        Engine::Compose => format!("From the internet: {public} (and 22/tcp for you). Nothing else."),
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

/// The stateful services of a phase and the volumes they write, with where they are mounted.
fn stateful<'s>(
    services: &'s [escala_core::InPhase<'_>],
) -> Vec<(&'s Service, Vec<(String, String)>)> {
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
                    MountSource::Volume(v) => Some((v.to_string(), m.target.clone())),
                    _ => None,
                })
                .collect();
            (s, vols)
        })
        .filter(|(_, v): &(&Service, Vec<(String, String)>)| !v.is_empty())
        .collect()
}

/// The Kubernetes namespace of a phase, for `kubectl -n`.
fn kubectl(system: &escala_core::System, phase: &Phase) -> String {
    #[cfg(feature = "kubernetes")]
    if let Some(ns) = crate::kubernetes::namespace_of(system, phase, false) {
        return format!("kubectl -n {ns}");
    }
    let _ = (system, phase);
    "kubectl".to_owned()
}

/// The nodes a service of `phase` may run on, for "on the node that runs it".
fn nodes_of(phase: &Phase, s: &Service) -> String {
    let names: Vec<String> = escala_core::capacity::candidates(phase, s)
        .into_iter()
        .map(|i| phase.nodes[i].name.to_string())
        .collect();
    if names.is_empty() {
        "the node that runs it".to_owned()
    } else {
        format!("the node that runs it ({})", names.join(" or "))
    }
}

/// The commands that archive a volume of a stopped service on the phase it leaves.
fn take_out(
    system: &escala_core::System,
    from: &Phase,
    s: &Service,
    (volume, mount): (&str, &str),
) -> Vec<String> {
    let image = "busybox:1.37";
    match from.engine {
        Engine::Compose => vec![
            format!("docker compose -f deploy/{}/compose/docker-compose.yml stop {}", from.name, s.name),
            format!("docker run --rm -v \"$(docker volume ls -q --filter label=com.docker.compose.volume={volume})\":/v -v \"$PWD\":/out {image} tar -C /v -czf /out/{volume}.tar.gz ."),
        ],
        Engine::Swarm => vec![
            format!("docker service scale {}_{}=0", system.name, s.name),
            format!("# on {}:", nodes_of(from, s)),
            format!("docker run --rm -v {}_{volume}:/v -v \"$PWD\":/out {image} tar -C /v -czf /out/{volume}.tar.gz .", system.name),
        ],
        Engine::Kubernetes => vec![format!(
            "{} exec {}-0 -- tar -C {mount} -czf - . > {volume}.tar.gz",
            kubectl(system, from),
            s.name
        )],
    }
}

/// The commands that unpack an archive into a volume of a service of the new phase, stopped
/// while its data changes under it.
fn put_in(plan: &PhasePlan<'_>, s: &Service, volume: &str) -> Vec<String> {
    let (system, to) = (plan.system(), plan.phase());
    let image = "busybox:1.37";
    match to.engine {
        Engine::Compose => {
            let file = format!("deploy/{}/compose/docker-compose.yml", to.name);
            vec![
                format!("docker compose -f {file} stop {}", s.name),
                format!("docker run --rm -v \"$(docker volume ls -q --filter label=com.docker.compose.volume={volume})\":/v -v \"$PWD\":/in {image} tar -C /v -xzf /in/{volume}.tar.gz"),
                format!("docker compose -f {file} start {}", s.name),
            ]
        }
        Engine::Swarm => vec![
            format!("docker service scale {}_{}=0", system.name, s.name),
            format!("# on {}:", nodes_of(to, s)),
            format!("docker run --rm -v {}_{volume}:/v -v \"$PWD\":/in {image} tar -C /v -xzf /in/{volume}.tar.gz", system.name),
            format!("docker service scale {}_{}=1", system.name, s.name),
        ],
        Engine::Kubernetes => {
            let k = kubectl(system, to);
            let pod = format!("restore-{volume}");
            let claim = format!("{volume}-{}-0", s.name);
            vec![
                format!("{k} scale statefulset/{} --replicas=0", s.name),
                format!("{k} run {pod} --image={image} --restart=Never --overrides='{{\"spec\":{{\"containers\":[{{\"name\":\"restore\",\"image\":\"{image}\",\"command\":[\"sleep\",\"3600\"],\"volumeMounts\":[{{\"name\":\"v\",\"mountPath\":\"/v\"}}]}}],\"volumes\":[{{\"name\":\"v\",\"persistentVolumeClaim\":{{\"claimName\":\"{claim}\"}}}}]}}}}'"),
                format!("{k} wait --for=condition=Ready pod/{pod}"),
                format!("{k} cp {volume}.tar.gz {pod}:/tmp/{volume}.tar.gz"),
                format!("{k} exec {pod} -- tar -C /v -xzf /tmp/{volume}.tar.gz"),
                format!("{k} delete pod {pod}"),
                format!("{k} scale statefulset/{} --replicas=1", s.name),
            ]
        }
    }
}

/// Commands as an indented shell block inside a list item.
fn block(lines: &[String], indent: &str) -> String {
    let mut out = format!("\n\n{indent}```sh\n");
    for l in lines {
        let _ = writeln!(out, "{indent}{l}");
    }
    let _ = writeln!(out, "{indent}```");
    out
}

/// The data section: how each stateful service's data gets to the new phase.
fn data(plan: &PhasePlan<'_>, from: &Phase, before: &[escala_core::InPhase<'_>]) -> String {
    let system = plan.system();
    let to = plan.phase();
    let moves = from.engine != to.engine || !same_nodes(from, to);
    let mut out = String::from("### Data\n\n");
    let db = system.database.as_ref();
    let old: foldhash::HashMap<&escala_core::Name, &Service> = stateful(before)
        .into_iter()
        .map(|(s, _)| (&s.name, s))
        .collect();
    let declared: foldhash::HashSet<&escala_core::Name> =
        system.services.iter().map(|s| &s.name).collect();
    if moves {
        out.push_str("The applications are held while their data moves (see the checklist); each service below is stopped while its volume is copied, on both sides.\n\n");
    }
    for (s, volumes) in stateful(plan.services()) {
        let Some(was) = old.get(&s.name) else {
            continue; // new in this phase: it starts empty
        };
        // The model's own copies (a read replica, Citus workers) are rebuilt, not moved.
        if !declared.contains(&s.name) {
            continue;
        }
        let names: Vec<&str> = volumes.iter().map(|(v, _)| v.as_str()).collect();
        let is_db = db.is_some_and(|d| d.service == s.name);
        if is_db {
            let migration = format!("deploy/{}/sql/from-{}", to.name, from.name);
            let has_migration = db.is_some_and(|d| {
                !from.database.partitioning
                    && to.database.partitioning
                    && d.tables.iter().any(|t| t.partitioning.is_some())
            });
            if !moves {
                let _ = writeln!(out, "- **{}** stays where it is. Grow its database in place: run `{migration}/*.sql` (online, see the book's \"Database growth\") and then `deploy/{}/sql/*.sql`, each with `psql -v ON_ERROR_STOP=1 -f FILE \"$DATABASE_URL\"`.", s.name, to.name);
            } else if system
                .backups
                .as_ref()
                .is_some_and(|b| b.database_url.is_some())
            {
                let _ = writeln!(out, "- **{}** moves to the new engine (volumes {}). Stop writes (the applications), take a last backup with the backup job, then, with `DATABASE_URL` set to the new, empty database{}, run `sh deploy/{}/sql/restore.sh`: it rebuilds the tables in this phase's shape, loads their rows and everything of the application outside the plan's schema, stops if the plan's schema holds a table the plan does not declare, and prints the counts to compare with the old database.", s.name, names.join(", "), if to.database.distribution { " (Citus nodes registered by the `citus-nodes` job)" } else { "" }, to.name);
            } else {
                let _ = writeln!(out, "- **{}** moves to the new engine (volumes {}). Stop writes, then `pg_dump -Fc --load-via-partition-root \"$OLD_DATABASE_URL\" -f {}.dump`, and on the new, empty database `pg_restore --no-owner --exit-on-error -d \"$DATABASE_URL\" {}.dump`{}, then `deploy/{}/sql/*.sql` in order.", s.name, names.join(", "), s.name, s.name, if has_migration { format!(", the files of `{migration}/`") } else { String::new() }, to.name);
            }
            continue;
        }
        if !moves {
            let _ = writeln!(
                out,
                "- **{}** ({}) stays where it is.",
                s.name,
                names.join(", ")
            );
            continue;
        }
        let image = s.image.as_deref().unwrap_or_default();
        let what = if image.contains("redis") {
            " Its snapshot and append-only files travel in the archive, so Redis starts with the same keys."
        } else {
            ""
        };
        for (v, mount) in &volumes {
            // The old service may have mounted the volume elsewhere.
            let old_mount = was
                .mounts
                .iter()
                .find(|m| matches!(&m.source, MountSource::Volume(o) if o.as_str() == v))
                .map_or(mount.as_str(), |m| m.target.as_str());
            let side = |p: &Phase| match p.engine.as_str() {
                engine if engine == p.name.as_str() => engine.to_owned(),
                engine => format!("{} ({engine})", p.name),
            };
            let mut lines = vec![format!("# {}:", side(from))];
            lines.extend(take_out(system, from, was, (v, old_mount)));
            lines.push(format!(
                "# {}, with {v}.tar.gz in the current folder:",
                side(to)
            ));
            lines.extend(put_in(plan, s, v));
            let _ = write!(out,
                "- **{}** ({v}): archive the old volume with the service stopped, copy the archive to the new side, and unpack it into the new volume.{what}{}",
                s.name,
                block(&lines, "  ")
            );
        }
    }
    if out.ends_with("### Data\n\n") || !out.contains("- **") {
        out = String::from("### Data\n\nNo data moves.\n");
    }
    out.push('\n');
    out
}

/// The services of the phase the move starts from, as the check worked them out (or worked
/// out again, for a phase that is not the system's: a caller's own).
fn previous<'p, 'a>(
    plan: &'p PhasePlan<'a>,
    from: &Phase,
) -> std::borrow::Cow<'p, [escala_core::InPhase<'a>]> {
    match plan.services_of(from.name.as_str()) {
        Some(services) => std::borrow::Cow::Borrowed(services),
        None => std::borrow::Cow::Owned(escala_core::checked::phase_services(plan.system(), from)),
    }
}

/// Whether a stateful service of the previous phase carries its data into this one.
fn carries_data(plan: &PhasePlan<'_>, from: &Phase) -> bool {
    let before = previous(plan, from);
    let old: foldhash::HashSet<&escala_core::Name> = stateful(&before)
        .into_iter()
        .map(|(s, _)| &s.name)
        .collect();
    let model: foldhash::HashSet<&escala_core::Name> =
        plan.system().services.iter().map(|d| &d.name).collect();
    stateful(plan.services())
        .iter()
        .any(|(s, _)| old.contains(&s.name) && model.contains(&s.name))
}

/// The replicas a held application returns to: its autoscaler's floor, else its replicas.
fn resting(phase: &Phase, s: &Service) -> u32 {
    escala_core::capacity::autoscale(phase, s).map_or(s.replicas, |a| a.min)
}

/// Deploy with the applications held until their data is in, move it, then start them.
fn held_deploy(plan: &PhasePlan<'_>) -> Vec<String> {
    let (system, to) = (plan.system(), plan.phase());
    let apps: Vec<&Service> = plan
        .services()
        .iter()
        .map(|s| &**s)
        .filter(|s| s.workload == Workload::Stateless && !escala_core::capacity::one_shot(s))
        .collect();
    let holders: Vec<&str> = plan
        .services()
        .iter()
        .filter(|s| s.workload == Workload::Stateful)
        .map(|s| s.name.as_str())
        .collect();
    let mut steps = Vec::new();
    if apps.is_empty() && to.engine != Engine::Compose {
        steps.push(format!("Deploy: {}.", deploy(plan)));
        steps.push("Move the data (above).".into());
        return steps;
    }
    match to.engine {
        Engine::Compose => {
            let file = format!("deploy/{}/compose/docker-compose.yml", to.name);
            steps.push(format!("Deploy the services that hold data, without the applications: `docker compose -f {file} up -d --no-deps {}` (or Dokploy, with the variables of `.env.example`, and the applications stopped).", holders.join(" ")));
            steps.push("Move the data (above).".into());
            steps.push(format!(
                "Start the applications: `docker compose -f {file} up -d`."
            ));
        }
        Engine::Swarm => {
            let stack = &system.name;
            steps.push(format!(
                "Deploy: {}, and at once hold the applications (DNS still points at the old phase, so they see no traffic): `docker service scale {}`.",
                deploy(plan),
                apps.iter().map(|s| format!("{stack}_{}=0", s.name)).collect::<Vec<_>>().join(" ")
            ));
            steps.push("Move the data (above).".into());
            steps.push(format!(
                "Start the applications: `docker service scale {}`.",
                apps.iter()
                    .map(|s| format!("{stack}_{}={}", s.name, resting(to, s)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        Engine::Kubernetes => {
            let k = kubectl(system, to);
            steps.push(format!(
                "Deploy: {}, and at once hold the applications (DNS still points at the old phase, so they see no traffic; an autoscaler leaves a Deployment at 0 alone): `{k} scale deployment {} --replicas=0`.",
                deploy(plan),
                apps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" ")
            ));
            steps.push("Move the data (above).".into());
            steps.push(format!(
                "Start the applications:{}",
                block(
                    &apps
                        .iter()
                        .map(|s| format!(
                            "{k} scale deployment/{} --replicas={}",
                            s.name,
                            resting(to, s)
                        ))
                        .collect::<Vec<_>>(),
                    "   "
                )
                .trim_end()
            ));
        }
    }
    steps
}

/// The whole section, when there is a previous phase.
pub(crate) fn section(plan: &PhasePlan<'_>, from: &Phase) -> String {
    let to = plan.phase();
    let before = previous(plan, from);
    let mut out = format!("## Moving from `{}`\n\n", from.name);
    if from.engine != to.engine {
        let _ = write!(out,
            "The engine changes: {} → {}. Every service is deployed anew on the new engine; plan a window for the data below.\n\n",
            from.engine.as_str(),
            to.engine.as_str()
        );
    }
    out.push_str("### Services\n\n| service | before | after |\n|---|---|---|\n");
    let mut rows = 0;
    let by_name: foldhash::HashMap<&escala_core::Name, &escala_core::Service> =
        before.iter().map(|b| (&b.name, &**b)).collect();
    for s in plan.services() {
        let old = by_name.get(&s.name).copied();
        let (was, is) = (old.map_or("—".to_owned(), |o| shape(from, o)), shape(to, s));
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
        let _ = writeln!(out, "| {} | {was} | {note} |", s.name);
        rows += 1;
    }
    for b in before.iter().filter(|b| plan.service(&b.name).is_none()) {
        let _ = writeln!(out, "| {} | {} | removed |", b.name, shape(from, b));
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
            ports(plan)
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
    match from {
        Some(from)
            if (from.engine != to.engine || !same_nodes(from, to)) && carries_data(plan, from) =>
        {
            steps.extend(held_deploy(plan));
        }
        Some(from) => {
            steps.push(format!("Deploy: {}.", deploy(plan)));
            if from.engine == to.engine && same_nodes(from, to) && system.database.is_some() {
                steps.push("Grow the database in place (above).".into());
            }
        }
        None => steps.push(format!("Deploy: {}.", deploy(plan))),
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
        let _ = writeln!(out, "{}. {s}", i + 1);
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
