//! The database plan: what PostgreSQL and Citus would reject at migration time, caught before
//! any SQL is written. The messages quote the server's own errors (observed on Citus 13.2 /
//! PostgreSQL 15, see `../shared/reference/citus-sql.md`).

use foldhash::HashSet;
use foldhash::HashSetExt;
use std::collections::BTreeMap;

use super::unknown;
use crate::codes::{
    DB_CLUSTER, DB_COLOCATION, DB_DISTRIBUTION, DB_DISTRIBUTION_KEY, DB_FOREIGN_KEY, DB_IDENTITY,
    DB_NAME, DB_NO_CITUS, DB_PARTITIONING, DB_PARTITION_KEY, DB_RANGES, DB_UNKNOWN, DB_UPKEEP,
};
use crate::{Action, Database, Diagnostics, Distribution, Ident, SqlType, System, Table};

pub(super) fn check(system: &System, diags: &mut Diagnostics) {
    let Some(db) = &system.database else { return };
    let services: Vec<_> = system.services.iter().map(|s| &s.name).collect();
    if !services.contains(&&db.service) {
        unknown(
            diags,
            "database.service".into(),
            "service",
            &db.service,
            services.iter().copied(),
            "System::service",
        );
    }
    ident(&db.schema, "database.schema".into(), diags);
    if let Some(k) = &db.tenant_key {
        ident(k, "database.tenant_key".into(), diags);
    }
    let mut seen = HashSet::new();
    for (i, t) in db.tables.iter().enumerate() {
        let at = format!("database.tables.{}", t.name);
        ident(&t.name, format!("database.tables[{i}].name"), diags);
        if !seen.insert(&t.name) {
            diags
                .error(
                    DB_NAME,
                    format!("database.tables[{i}]"),
                    format!("table `{}` is declared twice", t.name),
                )
                .help("rename or remove one of them");
        }
        table(db, t, &at, diags);
    }
    colocation(db, diags);
    for t in &db.tables {
        for (i, fk) in t.foreign_keys.iter().enumerate() {
            foreign_key(db, t, i, fk, diags);
        }
    }
    let citus = system.phases.iter().find(|p| p.database.distribution);
    if let (Some(phase), Some(svc)) = (citus, system.find_service(&db.service)) {
        // In a phase with a cluster, the cluster's image runs the coordinator.
        let (image, path) = match (&db.cluster, phase.database.single_node_citus) {
            (Some(c), false) => (c.image.as_str(), "database.cluster.image".to_owned()),
            _ => (
                svc.image.as_deref().unwrap_or_default(),
                format!("services.{}.image", svc.name),
            ),
        };
        if !image.contains("citus") {
            diags
                .warning(DB_NO_CITUS, path, format!("phase `{}` distributes tables with Citus, but image `{image}` has no Citus", phase.name))
                .help("declare the cluster, `.citus_cluster(CitusCluster::workers(2))`, on a Citus image (`citusdata/citus:13.2` for PostgreSQL 15–17; PostgreSQL 18, as in `pgvector/pgvector:pg18`, needs Citus 14)")
                .origin(svc.origin.as_ref());
        }
    }
    if let Some(cluster) = &db.cluster {
        cluster_rules(system, db, cluster, diags);
    }
}

fn cluster_rules(
    system: &System,
    db: &Database,
    cluster: &crate::CitusCluster,
    diags: &mut Diagnostics,
) {
    if cluster.workers == 0 {
        diags
            .error(DB_CLUSTER, "database.cluster.workers", "the Citus cluster has no worker: distributed tables would have nowhere to put their shards")
            .help("give it workers, e.g. `CitusCluster::workers(2)`, or use `Phase::citus_single_node()` for one machine");
    }
    if !system
        .phases
        .iter()
        .any(|p| p.database.distribution && !p.database.single_node_citus)
    {
        diags
            .warning(DB_CLUSTER, "database.cluster", "a Citus cluster is declared, but no phase distributes tables on several machines, so none runs it")
            .help("turn Citus on in a phase with `Phase::citus()`, or drop the cluster");
    }
    let mut taken: Vec<crate::Name> = (1..=cluster.workers)
        .map(|n| crate::cluster::worker_name(&db.service, n))
        .collect();
    taken.push(crate::cluster::NODES_JOB.into());
    for s in &system.services {
        if taken.contains(&s.name) {
            diags
                .error(
                    DB_CLUSTER,
                    format!("services.{}", s.name),
                    format!(
                        "service `{}` has the name of a node or the job of the Citus cluster",
                        s.name
                    ),
                )
                .help("rename the service")
                .origin(s.origin.as_ref());
        }
    }
}

fn ident(id: &Ident, path: String, diags: &mut Diagnostics) {
    if let Err(why) = id.validate() {
        diags.error(DB_NAME, path, format!("`{id}` {why}")).help(
            "use lowercase snake_case identifiers, which never need quoting (`fecha_emision`)",
        );
    }
}

fn columns_exist(t: &Table, cols: &[Ident], path: &str, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    for (i, c) in cols.iter().enumerate() {
        if t.find_column(c).is_none() {
            ok = false;
            let hint =
                crate::suggest::closest(c.as_str(), t.columns.iter().map(|x| x.name.as_str()));
            let d = diags.error(
                DB_UNKNOWN,
                format!("{path}[{i}]"),
                format!("table `{}` has no column `{c}`", t.name),
            );
            match hint {
                Some(h) => d.help(format!("did you mean `{h}`?")),
                None => d.help("declare the column, or name an existing one"),
            };
        }
    }
    ok
}

fn table(db: &Database, t: &Table, at: &str, diags: &mut Diagnostics) {
    let mut names = HashSet::new();
    for (i, c) in t.columns.iter().enumerate() {
        ident(&c.name, format!("{at}.columns[{i}].name"), diags);
        if !names.insert(&c.name) {
            diags
                .error(
                    DB_NAME,
                    format!("{at}.columns[{i}]"),
                    format!("column `{}` is declared twice in `{}`", c.name, t.name),
                )
                .help("remove the duplicate");
        }
    }
    identity(t, at, diags);
    columns_exist(t, &t.primary_key, &format!("{at}.primary_key"), diags);
    for (i, u) in t.unique.iter().enumerate() {
        columns_exist(t, u, &format!("{at}.unique[{i}]"), diags);
    }
    for (i, ix) in t.indexes.iter().enumerate() {
        columns_exist(t, &ix.columns, &format!("{at}.indexes[{i}]"), diags);
    }
    let keys = || {
        std::iter::once(("primary key", &t.primary_key, format!("{at}.primary_key")))
            .filter(|(_, k, _)| !k.is_empty())
            .chain(
                t.unique
                    .iter()
                    .enumerate()
                    .map(|(i, u)| ("unique constraint", u, format!("{at}.unique[{i}]"))),
            )
            .chain(
                t.indexes
                    .iter()
                    .enumerate()
                    .filter(|(_, ix)| ix.unique)
                    .map(|(i, ix)| ("unique index", &ix.columns, format!("{at}.indexes[{i}]"))),
            )
    };

    if let Some(p) = &t.partitioning {
        let pat = format!("{at}.partitioning");
        match t.find_column(&p.column) {
            None => {
                columns_exist(
                    t,
                    std::slice::from_ref(&p.column),
                    &format!("{pat}.column"),
                    diags,
                );
            }
            Some(c) if !c.ty.is_temporal() => {
                diags
                    .error(DB_PARTITIONING, format!("{pat}.column"), format!("`{}` is `{}`; range partitions by date need a `date`, `timestamp` or `timestamptz` column", c.name, c.ty.to_sql()))
                    .help("partition on the date the rows are queried by (`fecha_emision`)");
            }
            Some(c) if c.nullable => {
                diags
                    .error(DB_PARTITIONING, format!("{pat}.column"), format!("partition column `{}` may be NULL; such rows fit no range partition (`no partition of relation \"{}\" found for row`)", c.name, t.name))
                    .help("declare it NOT NULL (drop `.nullable()`)");
            }
            Some(_) => {}
        }
        for (kind, key, path) in keys() {
            if !key.contains(&p.column) {
                diags
                    .error(DB_PARTITION_KEY, path, format!("the {kind} ({}) of partitioned table `{}` lacks the partition column `{}`; PostgreSQL refuses it: `unique constraint on partitioned table must include all partitioning columns`", join(key), t.name, p.column))
                    .help(format!("add `{}` to it, e.g. ({}, {})", p.column, join(key), p.column));
            }
        }
        if let Some(r) = &p.retention {
            if r.keep == 0 {
                diags
                    .error(DB_UPKEEP, format!("{pat}.retention.keep"), format!("the retention of `{}` keeps 0 periods: the upkeep would drop the partition rows are written to", t.name))
                    .help("keep at least 1 period before the current one, e.g. `.drop_after(3)`");
            }
        }
        if p.premake > 1000 {
            diags
                .error(DB_UPKEEP, format!("{pat}.premake"), format!("`{}` asks for {} partitions ahead; the upkeep would create them all at once", t.name, p.premake))
                .help("a few periods ahead are enough when the upkeep runs daily, e.g. `.premake(3)`");
        }
        if p.spans.is_empty() && !p.default_partition {
            diags
                .error(
                    DB_PARTITIONING,
                    pat.clone(),
                    format!(
                        "partitioned table `{}` declares no partition; every insert would fail",
                        t.name
                    ),
                )
                .help("add a span, e.g. `.yearly(\"2024-01-01\", \"2027-01-01\")`");
        }
        for (i, s) in p.spans.iter().enumerate() {
            if s.from >= s.to || s.from.year() == 1 || s.to.year() == 1 {
                diags
                    .error(
                        DB_PARTITIONING,
                        format!("{pat}.spans[{i}]"),
                        format!(
                            "span {}..{} is empty or not a pair of dates like `2024-01-01`",
                            s.from, s.to
                        ),
                    )
                    .help("give `from` before `to`, both as `YYYY-MM-DD`");
            } else if !s.from.starts(s.every) || !s.to.starts(s.every) {
                diags
                    .error(DB_PARTITIONING, format!("{pat}.spans[{i}]"), format!("span {}..{} does not start and end on {:?} boundaries", s.from, s.to, s.every).to_lowercase())
                    .help("yearly spans go from 1 January to 1 January, monthly ones from a 1st to a 1st");
            }
        }
        let mut spans: Vec<_> = p
            .spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.from < s.to)
            .collect();
        spans.sort_by_key(|(_, s)| s.from);
        for pair in spans.windows(2) {
            let ((_, a), (j, b)) = (pair[0], pair[1]);
            if b.from < a.to {
                diags
                    .error(DB_RANGES, format!("{pat}.spans[{j}]"), format!("span {}..{} overlaps {}..{}; PostgreSQL refuses it: `partition … would overlap partition …`", b.from, b.to, a.from, a.to))
                    .help("make each span start where the previous one ends");
            } else if b.from > a.to {
                diags
                    .error(
                        DB_RANGES,
                        format!("{pat}.spans[{j}]"),
                        format!(
                            "spans leave a gap from {} to {}: rows dated there fit no partition",
                            a.to, b.from
                        ),
                    )
                    .help(format!(
                        "start this span at {} (or cover the gap with another span)",
                        a.to
                    ));
            }
        }
    }

    match &t.distribution {
        Distribution::Local => {}
        Distribution::Reference => {
            if t.partitioning.is_some() {
                diags
                    .error(DB_DISTRIBUTION, format!("{at}.distribution"), format!("`{}` is partitioned and cannot be a reference table (`distributing partitioned tables in only supported for hash-distributed tables`)", t.name))
                    .help("distribute it by the tenant key, or drop its partitioning");
            }
        }
        Distribution::Distributed {
            column,
            colocate_with,
            shard_count,
        } => {
            let dat = format!("{at}.distribution");
            match t.find_column(column) {
                None => {
                    columns_exist(
                        t,
                        std::slice::from_ref(column),
                        &format!("{dat}.column"),
                        diags,
                    );
                }
                Some(c) => {
                    let hashable = matches!(
                        c.ty,
                        SqlType::Uuid
                            | SqlType::BigInt
                            | SqlType::Int
                            | SqlType::Text
                            | SqlType::Varchar(_)
                    );
                    if !hashable {
                        diags
                            .error(DB_DISTRIBUTION, format!("{dat}.column"), format!("`{}` is `{}`; distribute by a `uuid`, `bigint`, `integer`, `text` or `varchar` column", c.name, c.ty.to_sql()))
                            .help("distribute by the tenant id");
                    }
                    if c.nullable {
                        diags
                            .error(DB_DISTRIBUTION, format!("{dat}.column"), format!("distribution column `{}` may be NULL; Citus refuses such rows (`cannot perform an INSERT with NULL in the partition column`)", c.name))
                            .help("declare it NOT NULL");
                    }
                }
            }
            if let Some(k) = &db.tenant_key {
                if k != column {
                    diags
                        .error(
                            DB_DISTRIBUTION,
                            format!("{dat}.column"),
                            format!(
                                "`{}` is distributed by `{column}`, but the tenant key is `{k}`",
                                t.name
                            ),
                        )
                        .help(format!("distribute every tenant table by `{k}`"));
                }
            }
            if let (Some(_), Some(n)) = (colocate_with, shard_count) {
                diags
                    .error(DB_DISTRIBUTION, format!("{dat}.shard_count"), format!("`{}` sets {n} shards and colocates with a table; Citus refuses both at once", t.name))
                    .help("set the shard count on the group's first table only");
            }
            if let Some(n) = shard_count {
                if !(1..=64000).contains(n) {
                    diags
                        .error(
                            DB_DISTRIBUTION,
                            format!("{dat}.shard_count"),
                            format!("{n} is outside Citus' shard count range 1..64000"),
                        )
                        .help("32 is Citus' default");
                }
            }
            for (kind, key, path) in keys() {
                if !key.contains(column) {
                    diags
                        .error(DB_DISTRIBUTION_KEY, path, format!("the {kind} ({}) of distributed table `{}` lacks the distribution column `{column}`; Citus refuses it: `Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do not include the partition column`", join(key), t.name))
                        .help(format!("add `{column}` to it, e.g. ({column}, {})", join(key)));
                }
            }
        }
    }
}

/// Identity columns: PostgreSQL's own rules, and Citus's on distributed tables.
fn identity(t: &Table, at: &str, diags: &mut Diagnostics) {
    for (i, c) in t.columns.iter().enumerate() {
        // `serial` types written as raw SQL: their sequences are not identity sequences,
        // so the migrations do not carry them (a grown database would keep the old
        // sequence's name), and an integer one fails on Citus workers.
        if let SqlType::Other(raw) = &c.ty {
            let kind = raw.trim().to_ascii_lowercase();
            if matches!(
                kind.as_str(),
                "serial" | "serial4" | "smallserial" | "serial2" | "bigserial" | "serial8"
            ) {
                diags
                    .error(DB_IDENTITY, format!("{at}.columns[{i}].ty"), format!("column `{}` is `{kind}`, a sequence escala does not model: the phase migrations carry identity sequences, not serial ones{}", c.name, if kind.starts_with("big") || kind == "serial8" { "" } else { ", and on a distributed table inserts through a worker fail for an integer sequence" }))
                    .help(format!("write `Column::new(\"{}\", SqlType::BigInt).identity()` (the modern `bigserial`)", c.name));
            }
        }
        if c.identity.is_none() {
            continue;
        }
        let path = format!("{at}.columns[{i}]");
        if !matches!(c.ty, SqlType::Int | SqlType::BigInt) {
            diags
                .error(DB_IDENTITY, format!("{path}.ty"), format!("identity column `{}` is `{}`; PostgreSQL refuses it: `identity column type must be smallint, integer, or bigint`", c.name, c.ty.to_sql()))
                .help("make it `SqlType::BigInt`");
        }
        if c.default.is_some() {
            diags
                .error(DB_IDENTITY, format!("{path}.default"), format!("identity column `{}` also has a default; PostgreSQL refuses it: `both default and identity specified`", c.name))
                .help("drop `.default(..)`: the sequence gives the values");
        }
        if c.nullable {
            diags
                .error(DB_IDENTITY, format!("{path}.nullable"), format!("identity column `{}` is declared nullable; identity columns are always NOT NULL", c.name))
                .help("drop `.nullable()`");
        }
        if c.ty == SqlType::Int && t.distribution.column().is_some() {
            diags
                .error(DB_IDENTITY, format!("{path}.ty"), format!("`{}` is distributed and its identity column `{}` is `integer`: inserts through a worker fail (Citus 13: `nextval(sequence) calls in worker nodes are not supported for column defaults of type int or smallint`)", t.name, c.name))
                .help("make it `SqlType::BigInt`: each node then draws from its own range of the sequence");
        }
    }
}

fn join(cols: &[Ident]) -> String {
    cols.iter()
        .map(Ident::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The root of a distributed table's colocation group (following `colocate_with`).
pub(crate) fn group_root<'a>(db: &'a Database, t: &'a Table) -> Option<&'a Ident> {
    let mut current = t;
    for _ in 0..=db.tables.len() {
        match &current.distribution {
            Distribution::Distributed {
                colocate_with: Some(next),
                ..
            } => current = db.find_table(next)?,
            Distribution::Distributed {
                colocate_with: None,
                ..
            } => return Some(&current.name),
            _ => return None,
        }
    }
    None // a cycle
}

fn colocation(db: &Database, diags: &mut Diagnostics) {
    let types: BTreeMap<&Ident, Option<String>> = db
        .tables
        .iter()
        .filter_map(|t| {
            t.distribution
                .column()
                .map(|c| (&t.name, t.find_column(c).map(|c| c.ty.base())))
        })
        .collect();
    for t in &db.tables {
        let Distribution::Distributed {
            colocate_with: Some(target),
            ..
        } = &t.distribution
        else {
            continue;
        };
        let at = format!("database.tables.{}.distribution.colocate_with", t.name);
        match db.find_table(target) {
            None => {
                diags
                    .error(
                        DB_UNKNOWN,
                        at,
                        format!("`{}` colocates with unknown table `{target}`", t.name),
                    )
                    .help("name a distributed table of the plan");
            }
            Some(other) if other.distribution.column().is_none() => {
                diags
                    .error(DB_DISTRIBUTION, at, format!("`{}` colocates with `{target}`, which is not distributed (`relation {target} is not distributed`)", t.name))
                    .help("colocate with a table distributed by the same key");
            }
            Some(_) if group_root(db, t).is_none() => {
                diags
                    .error(
                        DB_DISTRIBUTION,
                        at,
                        format!("`colocate_with` of `{}` loops back to itself", t.name),
                    )
                    .help("make one table of the group the root, with no `colocate_with`");
            }
            Some(other) => {
                let (a, b) = (
                    types.get(&t.name).cloned().flatten(),
                    types.get(&other.name).cloned().flatten(),
                );
                if let (Some(a), Some(b)) = (a, b) {
                    if a != b {
                        diags
                            .error(DB_COLOCATION, at, format!("`{}` is distributed by a `{a}` column and `{target}` by a `{b}` one; Citus refuses to colocate them (`Distribution column types don't match`)", t.name))
                            .help("give both distribution columns the same type");
                    }
                }
            }
        }
    }
}

fn foreign_key(
    db: &Database,
    t: &Table,
    i: usize,
    fk: &crate::ForeignKey,
    diags: &mut Diagnostics,
) {
    let at = format!("database.tables.{}.foreign_keys[{i}]", t.name);
    if !columns_exist(t, &fk.columns, &format!("{at}.columns"), diags) {
        return;
    }
    let Some(target) = db.find_table(&fk.table) else {
        let hint =
            crate::suggest::closest(fk.table.as_str(), db.tables.iter().map(|x| x.name.as_str()));
        let d = diags.error(
            DB_UNKNOWN,
            format!("{at}.table"),
            format!(
                "foreign key of `{}` references unknown table `{}`",
                t.name, fk.table
            ),
        );
        match hint {
            Some(h) => d.help(format!("did you mean `{h}`?")),
            None => d.help("declare the table in the database plan"),
        };
        return;
    };
    if !columns_exist(target, &fk.references, &format!("{at}.references"), diags) {
        return;
    }
    if fk.columns.len() != fk.references.len() {
        diags
            .error(
                DB_FOREIGN_KEY,
                at,
                format!(
                    "the foreign key of `{}` has {} columns but references {}",
                    t.name,
                    fk.columns.len(),
                    fk.references.len()
                ),
            )
            .help("list as many referencing columns as referenced ones");
        return;
    }
    fn as_set(cols: &[Ident]) -> HashSet<&Ident> {
        cols.iter().collect()
    }
    let wanted = as_set(&fk.references);
    let matches_key = (!target.primary_key.is_empty() && as_set(&target.primary_key) == wanted)
        || target.unique.iter().any(|u| as_set(u) == wanted)
        || target
            .indexes
            .iter()
            .any(|ix| ix.unique && as_set(&ix.columns) == wanted);
    if !matches_key {
        diags
            .error(DB_FOREIGN_KEY, format!("{at}.references"), format!("({}) of `{}` is not its primary key or a unique constraint; PostgreSQL refuses it: `there is no unique constraint matching given keys for referenced table \"{}\"`", join(&fk.references), target.name, target.name))
            .help(format!("reference the whole primary key of `{}` ({}), carrying its partition and distribution columns too", target.name, join(&target.primary_key)));
    }
    use Distribution::{Distributed, Local, Reference};
    let msg: Option<(String, String)> = match (&t.distribution, &target.distribution) {
        (Distributed { column: a, .. }, Distributed { column: b, .. }) => {
            if group_root(db, t) != group_root(db, target) {
                Some((format!("`{}` and `{}` are distributed but not colocated; Citus refuses the foreign key (`relations are not colocated`)", t.name, target.name), format!("colocate `{}` with `{}`", t.name, target.name)))
            } else {
                let pos_a = fk.columns.iter().position(|c| c == a);
                let pos_b = fk.references.iter().position(|c| c == b);
                match (pos_a, pos_b) {
                    (Some(x), Some(y)) if x == y => None,
                    _ => Some((format!("the foreign key of `{}` must carry the distribution column at the same position on both sides (`{a}` ↔ `{b}`)", t.name), format!("start both column lists with the tenant key: ({a}, …) REFERENCES {} ({b}, …)", target.name))),
                }
            }
        }
        (Distributed { .. }, Local) => Some((format!("distributed `{}` references local table `{}`; Citus refuses it (`referenced table must be a distributed table or a reference table`)", t.name, target.name), format!("make `{}` a reference table, or distribute it", target.name))),
        (Reference, Distributed { .. }) => Some((format!("reference table `{}` references distributed `{}`; Citus refuses it", t.name, target.name), "reverse the reference, or distribute both tables".into())),
        (Local, Distributed { .. }) => Some((format!("local table `{}` references distributed `{}`: Citus accepts it but does not enforce it (deletes leave orphans)", t.name, target.name), format!("distribute `{}` by the tenant key too, or drop the foreign key", t.name))),
        _ => None,
    };
    if let Some((m, h)) = msg {
        diags.error(DB_FOREIGN_KEY, at.clone(), m).help(h);
    }
    if let Distributed { column, .. } = &t.distribution {
        if fk.columns.contains(column) {
            if matches!(fk.on_delete, Action::SetNull | Action::SetDefault) {
                diags
                    .error(DB_FOREIGN_KEY, format!("{at}.on_delete"), format!("ON DELETE {} would change the distribution column `{column}`; Citus refuses it", fk.on_delete.to_sql()))
                    .help("use CASCADE, RESTRICT or NO ACTION");
            }
            if matches!(
                fk.on_update,
                Action::SetNull | Action::SetDefault | Action::Cascade
            ) {
                diags
                    .error(DB_FOREIGN_KEY, format!("{at}.on_update"), format!("ON UPDATE {} would change the distribution column `{column}`; Citus refuses it", fk.on_update.to_sql()))
                    .help("use RESTRICT or NO ACTION");
            }
        }
    }
}
