//! The partition upkeep file: partitions made ahead of time, old ones retired.
//!
//! Declared partitions are a fixed list; time is not. This file creates, in the plan's schema,
//! `escala_partition_upkeep(at timestamptz DEFAULT now())`, which for every partitioned table
//! creates the partitions from the end of the declared spans up to `premake` periods after the
//! one `at` falls in, and retires (drops or detaches) those older than the retention. It
//! returns one line per action and does nothing when there is nothing to do. The clock is an
//! argument, so a test (or a team rehearsing next year) can move it forward.
//!
//! Why a generated function rather than pg_partman or Citus's `create_time_partitions`: it
//! runs the same on plain PostgreSQL and on Citus (partitions created on a distributed parent
//! are distributed with it), needs no extension that the seed's images lack (Debian ships
//! pg_partman 4.7, whose API differs from 5.x), names partitions exactly as the tables file
//! does (`facturas_2028`), and can move rows out of the DEFAULT partition when a new range
//! needs them, which a plain `CREATE TABLE … PARTITION OF` refuses (`updated partition
//! constraint for default partition … would be violated by some row`).

use escala_core::{Database, Every, Phase};

use super::text::{bound_suffix, intro, key_type, literal, suffix_format, SESSION};

/// The name of the upkeep function, schema-qualified.
pub(crate) fn function(schema: &str) -> String {
    format!("{schema}.escala_partition_upkeep")
}

fn unit(every: Every) -> (&'static str, &'static str) {
    match every {
        Every::Year => ("year", "1 year"),
        Every::Month => ("month", "1 month"),
        Every::Day => ("day", "1 day"),
    }
}

/// Creates one partition, moving the rows the DEFAULT partition holds for its range. Moving
/// needs the default detached, which PostgreSQL refuses while foreign keys reference its rows:
/// those keys are dropped and added back, validated, in the same transaction.
fn add_partition(schema: &str) -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {schema}.escala_add_partition(parent regclass, part text, key text, lo text, hi text)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  spec text := format('FOR VALUES FROM (%L) TO (%L)', lo, hi);
  nsp text := (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = parent);
  current text;
  def regclass;
  waiting bigint := 0;
  fk record;
  readd text[] := '{{}}';
  stmt text;
BEGIN
  SELECT pg_get_expr(c.relpartbound, c.oid) INTO current
    FROM pg_class c WHERE c.relnamespace = nsp::regnamespace AND c.relname = part;
  IF FOUND THEN
    IF current IS DISTINCT FROM spec THEN
      RAISE EXCEPTION 'partition %.% exists with bounds %, not %', nsp, part, current, spec;
    END IF;
    RETURN NULL;
  END IF;
  SELECT i.inhrelid::regclass INTO def
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
  IF def IS NOT NULL THEN
    EXECUTE format('SELECT count(*) FROM %s WHERE %I >= %L AND %I < %L', def, key, lo, key, hi) INTO waiting;
  END IF;
  IF waiting = 0 THEN
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s %s', nsp, part, parent, spec);
    RETURN format('created %s.%s', nsp, part);
  END IF;
  FOR fk IN SELECT conrelid::regclass AS rel, conname, pg_get_constraintdef(oid) AS def
              FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid = parent
              ORDER BY conname
  LOOP
    readd := readd || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname, fk.def);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
  END LOOP;
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, def);
  EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s %s', nsp, part, parent, spec);
  EXECUTE format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM %s WHERE %I >= %L AND %I < %L', parent, def, key, lo, key, hi);
  EXECUTE format('DELETE FROM %s WHERE %I >= %L AND %I < %L', def, key, lo, key, hi);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s DEFAULT', parent, def);
  FOREACH stmt IN ARRAY readd LOOP
    EXECUTE stmt;
  END LOOP;
  RETURN format('created %s.%s and moved %s rows into it from %s', nsp, part, waiting, def);
END
$fn$;
"#
    )
}

/// Drops (or detaches) one partition. Before a drop, its rows are deleted through the parent's
/// foreign keys, so the rows that reference them follow their `ON DELETE` (and a `NO ACTION`
/// key that still has references stops the upkeep, as it should).
fn retire_partition(schema: &str) -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {schema}.escala_retire_partition(parent regclass, part regclass, detach_only boolean)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  named text := part::text;
BEGIN
  IF NOT detach_only AND EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid = parent) THEN
    EXECUTE format('DELETE FROM %s', part);
  END IF;
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part);
  IF detach_only THEN
    RETURN format('detached %s', named);
  END IF;
  EXECUTE format('DROP TABLE %s', named);
  RETURN format('dropped %s', named);
END
$fn$;
"#
    )
}

/// Whether the phase has anything to keep up.
pub(crate) fn needed(db: &Database, phase: &Phase) -> bool {
    phase.database.partitioning && db.tables.iter().any(|t| t.partitioning.is_some())
}

pub(crate) fn upkeep_sql(db: &Database) -> String {
    let schema = db.schema.as_str();
    let mut out = intro("Partition upkeep: partitions made ahead of time, old ones retired. Run it daily (the generated job does).");
    out.push_str(SESSION);
    out.push_str("BEGIN;\n\n");
    out.push_str(&add_partition(schema));
    out.push('\n');
    out.push_str(&retire_partition(schema));
    out.push('\n');
    let mut body = String::from(
        "  -- One connection per node on Citus: moving rows re-adds foreign keys to reference tables.\n  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN\n    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);\n  END IF;\n",
    );
    for t in &db.tables {
        let Some(p) = &t.partitioning else { continue };
        let (Some(every), Some(end)) = (p.every(), p.declared_end()) else {
            continue;
        };
        let (unit, step) = unit(every);
        let parent = literal(&format!("{schema}.{}", t.name));
        let suffix = bound_suffix(&key_type(t));
        body.push_str(&format!(
            "\n  -- {schema}.{}: one partition a {unit}, {} after the current one.\n  d := '{end}';\n  upto := (date_trunc('{unit}', at) + interval '{step}' * {})::date;\n  WHILE d < upto LOOP\n    done := {schema}.escala_add_partition({parent}, left({} || to_char(d, '{}'), 63), {},\n              d::text || '{suffix}', (d + interval '{step}')::date::text || '{suffix}');\n    IF done IS NOT NULL THEN\n      RETURN NEXT done;\n    END IF;\n    d := (d + interval '{step}')::date;\n  END LOOP;\n",
            t.name,
            p.premake,
            u64::from(p.premake) + 1,
            literal(&format!("{}_", t.name)),
            suffix_format(every),
            literal(p.column.as_str()),
        ));
        if let Some(r) = &p.retention {
            let action = if r.detach_only { "detached" } else { "dropped" };
            body.push_str(&format!(
                "  -- Partitions that end {} {unit}(s) or more before the current one are {action}.\n  FOR old IN SELECT c.oid::regclass AS part,\n                    substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)') AS hi\n               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid\n              WHERE i.inhparent = {parent}::regclass\n              ORDER BY 2\n  LOOP\n    IF old.hi IS NOT NULL AND old.hi::timestamptz <= date_trunc('{unit}', at) - interval '{step}' * {} THEN\n      RETURN NEXT {schema}.escala_retire_partition({parent}, old.part, {});\n    END IF;\n  END LOOP;\n",
                r.keep, r.keep, r.detach_only
            ));
        }
    }
    out.push_str(&format!(
        "CREATE OR REPLACE FUNCTION {}(at timestamptz DEFAULT now())\nRETURNS SETOF text LANGUAGE plpgsql\nSET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD'\nAS $fn$\nDECLARE\n  d date;\n  upto date;\n  done text;\n  old record;\nBEGIN\n{body}END\n$fn$;\n",
        function(schema)
    ));
    out.push_str(&format!(
        "\n-- Catch up now; the job runs it again every day.\nSELECT * FROM {}();\n",
        function(schema)
    ));
    out.push_str("\nCOMMIT;\n");
    out
}
