//! A model → the `infra.rs` a person would have written: the public builder API, one `fn` per
//! service, only what differs from the defaults, formatted with prettyplease.

use escala_core::prelude::*;
use escala_core::{ConfigSource, Probe, SecretSource};

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn fn_name(service: &str) -> String {
    let mut n = service.replace('-', "_");
    if n.starts_with(|c: char| c.is_ascii_digit())
        || matches!(
            n.as_str(),
            "main"
                | "system"
                | "fn"
                | "type"
                | "use"
                | "mod"
                | "move"
                | "loop"
                | "match"
                | "ref"
                | "self"
                | "static"
                | "struct"
                | "trait"
                | "where"
                | "while"
                | "async"
                | "await"
                | "dyn"
                | "impl"
                | "let"
                | "const"
                | "crate"
                | "enum"
                | "extern"
                | "false"
                | "true"
                | "for"
                | "if"
                | "else"
                | "in"
                | "mut"
                | "pub"
                | "return"
                | "super"
                | "unsafe"
                | "break"
                | "continue"
                | "as"
        )
    {
        n = format!("service_{n}");
    }
    n
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
    )
}

fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("Duration::mins({})", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("Duration::secs({})", ms / 1000)
    } else {
        format!("Duration::millis({ms})")
    }
}

fn cpu(c: Cpu) -> String {
    if c.as_millis().is_multiple_of(1000) {
        format!("Cpu::cores({})", c.as_millis() / 1000)
    } else {
        format!("Cpu::millis({})", c.as_millis())
    }
}

fn bytes(b: ByteSize) -> String {
    let n = b.as_bytes();
    const MIB: u64 = 1024 * 1024;
    if n.is_multiple_of(1024 * MIB) && n > 0 {
        format!("ByteSize::gib({})", n / (1024 * MIB))
    } else if n.is_multiple_of(MIB) && n > 0 {
        format!("ByteSize::mib({})", n / MIB)
    } else {
        format!("ByteSize::bytes({n})")
    }
}

fn port(p: &Port) -> String {
    let mut s = match p.protocol {
        Protocol::Tcp => format!("Port::tcp({})", p.container),
        Protocol::Udp => format!("Port::udp({})", p.container),
    };
    if let Some(n) = &p.name {
        s.push_str(&format!(".named({})", lit(n)));
    }
    if let Some(h) = p.publish {
        s.push_str(&format!(".publish({h})"));
    }
    s
}

fn mount(m: &Mount) -> String {
    let base = match &m.source {
        MountSource::Volume(v) => format!("Mount::volume({}, {})", lit(v.as_str()), lit(&m.target)),
        MountSource::Bind(p) => format!("Mount::bind({}, {})", lit(p), lit(&m.target)),
        MountSource::Tmpfs { size: None } => format!("Mount::tmpfs({})", lit(&m.target)),
        MountSource::Tmpfs { size: Some(s) } => format!(
            "Mount {{ source: MountSource::Tmpfs {{ size: Some({}) }}, ..Mount::tmpfs({}) }}",
            bytes(*s),
            lit(&m.target)
        ),
    };
    let mut out = base;
    if let Some(sub) = &m.sub_path {
        out.push_str(&format!(".sub_path({})", lit(sub)));
    }
    if m.read_only {
        out.push_str(".read_only()");
    }
    out
}

fn health(h: &HealthCheck) -> String {
    let mut s = match &h.probe {
        Probe::Http { path, port } => format!("HealthCheck::http({}, {port})", lit(path)),
        Probe::Tcp { port } => format!("HealthCheck::tcp({port})"),
        Probe::Command(args) => format!("HealthCheck::command({})", list(args)),
    };
    let d = HealthCheck::tcp(0);
    if h.interval != d.interval {
        s.push_str(&format!(".interval({})", duration(h.interval)));
    }
    if h.timeout != d.timeout {
        s.push_str(&format!(".timeout({})", duration(h.timeout)));
    }
    if h.retries != d.retries {
        s.push_str(&format!(".retries({})", h.retries));
    }
    if h.start_period != d.start_period {
        s.push_str(&format!(".start_period({})", duration(h.start_period)));
    }
    s
}

fn placement(p: &Placement) -> String {
    let mut s = "Placement::anywhere()".to_owned();
    if let Some(r) = p.role {
        s.push_str(&format!(".role(NodeRole::{r:?})"));
    }
    for (k, v) in &p.labels {
        s.push_str(&format!(".label({}, {})", lit(k), lit(v)));
    }
    match &p.spread {
        Some(Spread::Nodes) => s.push_str(".spread(Spread::Nodes)"),
        Some(Spread::Label(l)) => s.push_str(&format!(".spread(Spread::Label({}.into()))", lit(l))),
        None => {}
    }
    s
}

fn service(s: &Service) -> String {
    let mut b = format!("Service::builder().name({})", lit(s.name.as_str()));
    if let Some(i) = &s.image {
        b.push_str(&format!(".image({})", lit(i)));
    }
    if let Some(build) = &s.build {
        let mut x = format!("Build::new({})", lit(&build.context));
        if let Some(d) = &build.dockerfile {
            x.push_str(&format!(".dockerfile({})", lit(d)));
        }
        for (k, v) in &build.args {
            x.push_str(&format!(".arg({}, {})", lit(k), lit(v)));
        }
        if let Some(t) = &build.target {
            x.push_str(&format!(".target({})", lit(t)));
        }
        b.push_str(&format!(".build_from({x})"));
    }
    if !s.entrypoint.is_empty() {
        b.push_str(&format!(".entrypoint({})", list(&s.entrypoint)));
    }
    if !s.command.is_empty() {
        b.push_str(&format!(".command({})", list(&s.command)));
    }
    if !s.env.is_empty() {
        let vars: Vec<String> = s
            .env
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Env::Literal(x) => format!("Env::literal({})", lit(x)),
                    Env::NotSecret(x) => format!("Env::not_secret({})", lit(x)),
                    Env::Config { config, key } => {
                        format!("Env::config({}, {})", lit(config.as_str()), lit(key))
                    }
                    Env::Secret(n) => format!("Env::secret({})", lit(n.as_str())),
                    Env::SecretFile(n) => format!("Env::secret_file({})", lit(n.as_str())),
                };
                format!("({}, {value})", lit(k))
            })
            .collect();
        b.push_str(&format!(".env([{}])", vars.join(", ")));
    }
    if !s.ports.is_empty() {
        b.push_str(&format!(
            ".ports([{}])",
            s.ports.iter().map(port).collect::<Vec<_>>().join(", ")
        ));
    }
    if !s.mounts.is_empty() {
        b.push_str(&format!(
            ".mounts([{}])",
            s.mounts.iter().map(mount).collect::<Vec<_>>().join(", ")
        ));
    }
    if !s.depends_on.is_empty() {
        let deps: Vec<String> = s
            .depends_on
            .iter()
            .map(|d| {
                let f = match d.condition {
                    Condition::Started => "started",
                    Condition::Healthy => "healthy",
                    Condition::Completed => "completed",
                };
                format!("Dependency::{f}({})", lit(d.service.as_str()))
            })
            .collect();
        b.push_str(&format!(".depends_on([{}])", deps.join(", ")));
    }
    if !s.networks.is_empty() {
        b.push_str(&format!(
            ".networks({})",
            list(&s.networks.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        ));
    }
    if !s.secrets.is_empty() {
        b.push_str(&format!(
            ".secrets({})",
            list(&s.secrets.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        ));
    }
    if !s.configs.is_empty() {
        let c: Vec<String> = s
            .configs
            .iter()
            .map(|c| {
                format!(
                    "ConfigMount::new({}, {})",
                    lit(c.config.as_str()),
                    lit(&c.target)
                )
            })
            .collect();
        b.push_str(&format!(".configs([{}])", c.join(", ")));
    }
    if let Some(h) = &s.health {
        b.push_str(&format!(".health({})", health(h)));
    }
    if let Some(h) = &s.readiness {
        b.push_str(&format!(".readiness({})", health(h)));
    }
    let r = &s.resources;
    if !r.is_empty() {
        let mut x = "Resources::new()".to_owned();
        match (r.cpu_request, r.cpu_limit) {
            (Some(q), Some(l)) => x.push_str(&format!(".cpu({}, {})", cpu(q), cpu(l))),
            (q, l) => {
                let mut inner = String::new();
                if let Some(q) = q {
                    inner.push_str(&format!("cpu_request: Some({}), ", cpu(q)));
                }
                if let Some(l) = l {
                    inner.push_str(&format!("cpu_limit: Some({}), ", cpu(l)));
                }
                if !inner.is_empty() {
                    x = format!("Resources {{ {inner}..{x} }}");
                }
            }
        }
        match (r.memory_request, r.memory_limit) {
            (Some(q), Some(l)) => x.push_str(&format!(".memory({}, {})", bytes(q), bytes(l))),
            (q, l) => {
                let mut inner = String::new();
                if let Some(q) = q {
                    inner.push_str(&format!("memory_request: Some({}), ", bytes(q)));
                }
                if let Some(l) = l {
                    inner.push_str(&format!("memory_limit: Some({}), ", bytes(l)));
                }
                if !inner.is_empty() {
                    x = format!("Resources {{ {inner}..{x} }}");
                }
            }
        }
        let mut inner = String::new();
        if let Some(q) = r.ephemeral_storage_request {
            inner.push_str(&format!("ephemeral_storage_request: Some({}), ", bytes(q)));
        }
        if let Some(l) = r.ephemeral_storage_limit {
            inner.push_str(&format!("ephemeral_storage_limit: Some({}), ", bytes(l)));
        }
        if !inner.is_empty() {
            x = format!("Resources {{ {inner}..{x} }}");
        }
        b.push_str(&format!(".resources({x})"));
    }
    if let Some(g) = s.fs_group {
        b.push_str(&format!(".fs_group({g})"));
    }
    if let Some(c) = &s.container_name {
        b.push_str(&format!(".container_name({})", lit(c)));
    }
    if let Some(h) = &s.network_of {
        b.push_str(&format!(".network_of({})", lit(h.as_str())));
    }
    if !s.init_steps.is_empty() {
        let steps: Vec<String> = s
            .init_steps
            .iter()
            .map(|st| {
                let command = if st.command.is_empty() {
                    "Vec::<String>::new()".to_owned()
                } else {
                    list(&st.command)
                };
                format!(
                    "InitStep::new({}, {}, {command})",
                    lit(st.name.as_str()),
                    lit(&st.image),
                )
            })
            .collect();
        b.push_str(&format!(".init_steps([{}])", steps.join(", ")));
    }
    if !s.groups.is_empty() {
        b.push_str(&format!(
            ".groups([{}])",
            s.groups
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(p) = s.pull_policy {
        b.push_str(&format!(".pull_policy(PullPolicy::{p:?})"));
    }
    match s.exposure {
        Exposure::Internal => {}
        Exposure::LoadBalancer { local_traffic } => b.push_str(&format!(
            ".exposure(Exposure::LoadBalancer {{ local_traffic: {local_traffic} }})"
        )),
        other => b.push_str(&format!(".exposure(Exposure::{other:?})")),
    }
    if s.replicas != 1 {
        b.push_str(&format!(".replicas({})", s.replicas));
    }
    if let Some(a) = &s.autoscale {
        let mut x = format!("Autoscale::between({}, {})", a.min, a.max);
        if let Some(c) = a.cpu_percent {
            x.push_str(&format!(".cpu({c})"));
        }
        if let Some(m) = a.memory_percent {
            x.push_str(&format!(".memory({m})"));
        }
        b.push_str(&format!(".autoscale({x})"));
    }
    if !s.placement.is_empty() {
        b.push_str(&format!(".placement({})", placement(&s.placement)));
    }
    match &s.workload {
        Workload::Stateless => {}
        Workload::Stateful => b.push_str(".workload(Workload::Stateful)"),
        Workload::PerNode => b.push_str(".workload(Workload::PerNode)"),
        Workload::Scheduled { schedule } => b.push_str(&format!(
            ".workload(Workload::Scheduled {{ schedule: {}.into() }})",
            lit(schedule)
        )),
    }
    match &s.restart {
        Restart::UnlessStopped => {}
        Restart::Always => b.push_str(".restart(Restart::Always)"),
        Restart::Never => b.push_str(".restart(Restart::Never)"),
        Restart::OnFailure { max_attempts } => b.push_str(&format!(
            ".restart(Restart::OnFailure {{ max_attempts: {max_attempts:?} }})"
        )),
    }
    if !s.labels.is_empty() {
        let l: Vec<String> = s
            .labels
            .iter()
            .map(|(k, v)| format!("({}, {})", lit(k), lit(v)))
            .collect();
        b.push_str(&format!(".labels([{}])", l.join(", ")));
    }
    if let Some(u) = &s.user {
        b.push_str(&format!(".user({})", lit(u)));
    }
    if s.read_only_root {
        b.push_str(".read_only_root(true)");
    }
    if !s.capabilities.is_empty() {
        b.push_str(&format!(".capabilities({})", list(&s.capabilities)));
    }
    runtime(s, &mut b);
    b.push_str(".build()");
    b
}

/// The runtime settings' builder calls.
fn runtime(s: &Service, b: &mut String) {
    if !s.drop_capabilities.is_empty() {
        b.push_str(&format!(
            ".drop_capabilities({})",
            list(&s.drop_capabilities)
        ));
    }
    if s.init {
        b.push_str(".init(true)");
    }
    if let Some(w) = &s.working_dir {
        b.push_str(&format!(".working_dir({})", lit(w)));
    }
    if let Some(d) = s.stop_grace_period {
        b.push_str(&format!(".stop_grace_period({})", duration(d)));
    }
    if let Some(size) = s.shm_size {
        b.push_str(&format!(".shm_size({})", bytes(size)));
    }
    fn pairs<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
        m.into_iter()
            .map(|(k, v)| format!("({}, {})", lit(k), lit(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
    if !s.extra_hosts.is_empty() {
        b.push_str(&format!(".extra_hosts([{}])", pairs(&s.extra_hosts)));
    }
    if !s.sysctls.is_empty() {
        b.push_str(&format!(".sysctls([{}])", pairs(&s.sysctls)));
    }
    if !s.annotations.is_empty() {
        b.push_str(&format!(".annotations([{}])", pairs(&s.annotations)));
    }
    if !s.ulimits.is_empty() {
        let l: Vec<String> = s
            .ulimits
            .iter()
            .map(|(k, u)| format!("({}, Ulimit::new({}, {}))", lit(k), u.soft, u.hard))
            .collect();
        b.push_str(&format!(".ulimits([{}])", l.join(", ")));
    }
}

/// The longest builder chain written as one expression.
const CHAIN: usize = 64;

/// `infra.rs` for `system`, formatted. `source` names the files it came from.
pub fn infra_rs(system: &System, source: &str) -> String {
    let start = format!("System::new({})", lit(system.name.as_str()));
    let mut calls: Vec<String> = Vec::new();
    for s in &system.services {
        calls.push(format!(".service({}())", fn_name(s.name.as_str())));
    }
    for v in &system.volumes {
        let mut x = format!("Volume::builder().name({})", lit(v.name.as_str()));
        if let Some(s) = v.size {
            x.push_str(&format!(".size({})", bytes(s)));
        }
        if v.backup {
            x.push_str(".backup(true)");
        }
        calls.push(format!(".volume({x}.build())"));
    }
    for n in &system.networks {
        let mut x = format!("Network::builder().name({})", lit(n.name.as_str()));
        if n.internal {
            x.push_str(".internal(true)");
        }
        if n.encrypted {
            x.push_str(".encrypted(true)");
        }
        calls.push(format!(".network({x}.build())"));
    }
    for s in &system.secrets {
        let x = match &s.source {
            SecretSource::Env(v) => {
                format!("Secret::from_env({}, {})", lit(s.name.as_str()), lit(v))
            }
            SecretSource::File(p) => {
                format!("Secret::from_file({}, {})", lit(s.name.as_str()), lit(p))
            }
            SecretSource::External(e) => {
                format!("Secret::external({}, {})", lit(s.name.as_str()), lit(e))
            }
        };
        calls.push(format!(".secret({x})"));
    }
    for c in &system.configs {
        let x = match &c.source {
            ConfigSource::File(p) => format!("Config::file({}, {})", lit(c.name.as_str()), lit(p)),
            ConfigSource::Dir(p) => format!("Config::dir({}, {})", lit(c.name.as_str()), lit(p)),
            ConfigSource::Inline(t) => {
                format!("Config::inline({}, {})", lit(c.name.as_str()), lit(t))
            }
            ConfigSource::AlertRules => format!("Config::alert_rules({})", lit(c.name.as_str())),
            ConfigSource::Values(v) => {
                let pairs: Vec<String> = v
                    .iter()
                    .map(|(k, v)| format!("({}, {})", lit(k), lit(v)))
                    .collect();
                format!(
                    "Config::values({}, [{}])",
                    lit(c.name.as_str()),
                    pairs.join(", ")
                )
            }
        };
        let x = if c.outside_project {
            format!("{x}.outside_project()")
        } else {
            x
        };
        let x = if c.sensitive {
            format!("{x}.sensitive()")
        } else {
            x
        };
        calls.push(format!(".config({x})"));
    }
    for r in &system.routes {
        let mut x = format!("Route::builder().host({})", lit(&r.host));
        if let Some(p) = &r.path {
            x.push_str(&format!(".path({})", lit(p)));
        }
        x.push_str(&format!(
            ".service({}).port({})",
            lit(r.service.as_str()),
            r.port
        ));
        match &r.tls {
            None => x.push_str(".tls(None)"),
            Some(t) if t.cert_resolver.is_some() || t.issuer.is_some() || t.secret.is_some() => {
                let mut tls = "Tls::auto()".to_owned();
                if let Some(res) = &t.cert_resolver {
                    tls.push_str(&format!(".resolver({})", lit(res)));
                }
                if let Some(i) = &t.issuer {
                    tls.push_str(&format!(".issuer({})", lit(i)));
                }
                if let Some(secret) = &t.secret {
                    tls.push_str(&format!(".secret({})", lit(secret)));
                }
                x.push_str(&format!(".tls(Some({tls}))"));
            }
            Some(_) => {}
        }
        if let Some(class) = &r.ingress_class {
            x.push_str(&format!(".ingress_class({})", lit(class)));
        }
        calls.push(format!(".route({x}.build())"));
    }
    for p in &system.phases {
        let engine = format!("{:?}", p.engine);
        let mut x = format!("Phase::new({}, Engine::{engine})", lit(p.name.as_str()));
        if let Platform::Dokploy { isolated } = p.platform {
            x.push_str(&format!(
                ".platform(Platform::Dokploy {{ isolated: {isolated} }})"
            ));
        }
        calls.push(format!(".phase({x})"));
    }
    // One chain reads best; a very long one is cut into statements of at most `CHAIN` calls,
    // because parsing and printing a method chain recurse once per call (20,000 services
    // overflowed the stack).
    let body = if calls.len() <= CHAIN {
        format!("{start}{}", calls.concat())
    } else {
        let mut b = format!("let system = {start};");
        for chunk in calls.chunks(CHAIN) {
            b.push_str(&format!("let system = system{};", chunk.concat()));
        }
        b.push_str("system");
        b
    };
    let mut src = format!(
        "//! The system imported from {source} by `escala import`. Edit it freely: it is yours now.\n\
         //! `cargo run -- build` writes every phase's files; `cargo run -- check` keeps them in sync.\n\
         use escala::prelude::*;\n\
         fn main() -> std::process::ExitCode {{ escala::run(system()) }}\n\
         /// The whole system: services, storage, secrets, routes and phases.\n\
         pub fn system() -> System {{ {body} }}\n"
    );
    for s in &system.services {
        src.push_str(&format!(
            "/// The `{}` service.\nfn {}() -> Service {{ {} }}\n",
            s.name,
            fn_name(s.name.as_str()),
            service(s)
        ));
    }
    let formatted = match syn::parse_file(&src) {
        Ok(file) => prettyplease::unparse(&file),
        // Never expected (the source is built from literals); keep it readable anyway.
        Err(_) => src,
    };
    // A blank line between top-level items, as a person would leave.
    let mut out = String::with_capacity(formatted.len() + 64);
    let mut prev = "";
    for line in formatted.lines() {
        let starts_item =
            line.starts_with("///") || line.starts_with("fn ") || line.starts_with("pub fn ");
        if starts_item && !prev.is_empty() && !prev.starts_with("///") {
            out.push('\n');
        }
        if line.starts_with("use ") && prev.starts_with("//!") {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        prev = line;
    }
    out
}
