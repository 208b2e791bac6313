//! The database plan: tables, keys, indexes, partitioning by date and Citus distribution.
//!
//! A [`Database`] belongs to the system and names the service that runs it. Which phase
//! turns partitioning and distribution on is part of the phase ([`DatabaseStage`]), like
//! replicas: the same tables are plain in one phase, partitioned in the next, sharded with
//! Citus in the one after.
//!
//! The check enforces what PostgreSQL and Citus would otherwise reject at migration time
//! (keys that omit the partition or distribution column, foreign keys Citus cannot enforce,
//! colocated tables whose distribution columns differ…), see the book's "Database growth".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Name;

/// A SQL identifier: lowercase letters, digits and `_`, not starting with a digit, at most
/// 63 bytes (PostgreSQL's limit), so it never needs quoting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Ident(String);

impl Ident {
    /// Whether this is a valid identifier; `Err` says why not.
    pub fn validate(&self) -> Result<(), &'static str> {
        let s = self.0.as_str();
        if s.is_empty() || s.len() > 63 {
            return Err("must have 1 to 63 characters");
        }
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err("must not start with a digit");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err("may hold only lowercase letters, digits and `_`");
        }
        Ok(())
    }
    /// The identifier as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Ident {
    fn from(s: &str) -> Self {
        Ident(s.to_owned())
    }
}

impl From<String> for Ident {
    fn from(s: String) -> Self {
        Ident(s)
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A column type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SqlType {
    /// `uuid`.
    Uuid,
    /// `bigint`.
    BigInt,
    /// `integer`.
    Int,
    /// `text`.
    Text,
    /// `varchar(n)`.
    Varchar(u32),
    /// `char(n)`.
    Char(u32),
    /// `numeric(precision, scale)`.
    Numeric(u32, u32),
    /// `boolean`.
    Boolean,
    /// `date`.
    Date,
    /// `timestamp` (without time zone).
    Timestamp,
    /// `timestamptz`.
    Timestamptz,
    /// `jsonb`.
    Jsonb,
    /// Any other type, written as is (`vector(384)` with pgvector, an enum…).
    Other(String),
}

impl SqlType {
    /// The type as PostgreSQL spells it.
    pub fn to_sql(&self) -> String {
        match self {
            SqlType::Uuid => "uuid".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Int => "integer".into(),
            SqlType::Text => "text".into(),
            SqlType::Varchar(n) => format!("varchar({n})"),
            SqlType::Char(n) => format!("char({n})"),
            SqlType::Numeric(p, s) => format!("numeric({p},{s})"),
            SqlType::Boolean => "boolean".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp".into(),
            SqlType::Timestamptz => "timestamptz".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::Other(s) => s.clone(),
        }
    }
    /// The base type Citus compares when colocating (`varchar(20)` and `varchar(50)` match).
    pub fn base(&self) -> String {
        match self {
            SqlType::Varchar(_) => "varchar".into(),
            SqlType::Char(_) => "char".into(),
            SqlType::Numeric(..) => "numeric".into(),
            other => other.to_sql(),
        }
    }
    /// Whether a range partition can use it as its key (a date or a timestamp).
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
        )
    }
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Column {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: SqlType,
    /// Whether it may hold NULL.
    #[serde(default)]
    pub nullable: bool,
    /// A default expression, written as is (`gen_random_uuid()`, `now()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Column {
    /// A `NOT NULL` column.
    pub fn new(name: impl Into<Ident>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
        }
    }
    /// Allows NULL.
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    /// Sets a default expression.
    pub fn default(mut self, expr: impl Into<String>) -> Self {
        self.default = Some(expr.into());
        self
    }
}

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `NO ACTION` (the default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl Action {
    /// The SQL words.
    pub fn to_sql(self) -> &'static str {
        match self {
            Action::NoAction => "NO ACTION",
            Action::Restrict => "RESTRICT",
            Action::Cascade => "CASCADE",
            Action::SetNull => "SET NULL",
            Action::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ForeignKey {
    /// The referencing columns.
    pub columns: Vec<Ident>,
    /// The referenced table.
    pub table: Ident,
    /// The referenced columns (a primary key or unique constraint of that table).
    pub references: Vec<Ident>,
    /// On delete.
    #[serde(default)]
    pub on_delete: Action,
    /// On update.
    #[serde(default)]
    pub on_update: Action,
}

impl ForeignKey {
    /// `columns` reference `references` of `table`.
    pub fn new<I: Into<Ident>>(
        columns: impl IntoIterator<Item = I>,
        table: impl Into<Ident>,
        references: impl IntoIterator<Item = I>,
    ) -> Self {
        ForeignKey {
            columns: columns.into_iter().map(Into::into).collect(),
            table: table.into(),
            references: references.into_iter().map(Into::into).collect(),
            on_delete: Action::NoAction,
            on_update: Action::NoAction,
        }
    }
    /// Sets the delete action.
    pub fn on_delete(mut self, action: Action) -> Self {
        self.on_delete = action;
        self
    }
    /// Sets the update action.
    pub fn on_update(mut self, action: Action) -> Self {
        self.on_update = action;
        self
    }
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Index {
    /// Indexed columns, in order.
    pub columns: Vec<Ident>,
    /// A unique index.
    #[serde(default)]
    pub unique: bool,
}

/// A calendar date (proleptic Gregorian), `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// `year-month-day`, if it exists.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }
    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }
    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }
    /// The day of the month.
    pub fn day(self) -> u32 {
        self.day
    }
    /// The first day of the next period of `every`.
    pub fn next(self, every: Every) -> Option<Date> {
        match every {
            Every::Year => Date::new(self.year + 1, 1, 1),
            Every::Month if self.month == 12 => Date::new(self.year + 1, 1, 1),
            Every::Month => Date::new(self.year, self.month + 1, 1),
            Every::Day => {
                Date::new(self.year, self.month, self.day + 1).or_else(|| self.next(Every::Month))
            }
        }
    }
    /// Whether the date starts a period of `every` (1 January, the 1st, any day).
    pub fn starts(self, every: Every) -> bool {
        match every {
            Every::Year => self.month == 1 && self.day == 1,
            Every::Month => self.day == 1,
            Every::Day => true,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("`{s}` is not a date like `2024-01-01`");
        let mut parts = s.splitn(3, '-');
        let mut next = || parts.next().ok_or_else(err);
        let (y, m, d) = (next()?, next()?, next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(err());
        }
        let n = |p: &str| p.parse::<u32>().map_err(|_| err());
        let year = i32::try_from(n(y)?).map_err(|_| err())?;
        Date::new(year, n(m)?, n(d)?).ok_or_else(err)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Date {
    fn schema_name() -> String {
        "Date".to_owned()
    }
    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(gen)
    }
}

/// The length of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Every {
    /// One partition a year (`facturas_2024`).
    Year,
    /// One a month (`facturas_2024_01`).
    Month,
    /// One a day (`facturas_2024_01_31`).
    Day,
}

/// Consecutive partitions of one length covering `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Span {
    /// First day covered (must start a period).
    pub from: Date,
    /// First day no longer covered (must start a period).
    pub to: Date,
    /// The length of each partition.
    pub every: Every,
}

/// Range partitioning on a date or timestamp column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Partitioning {
    /// The partition key.
    pub column: Ident,
    /// The partitions, as spans of equal-length ranges; together they must neither overlap
    /// nor leave gaps.
    pub spans: Vec<Span>,
    /// Also create a DEFAULT partition for rows outside every range.
    #[serde(default)]
    pub default_partition: bool,
}

impl Partitioning {
    /// Range partitioning on `column`, with no partition yet.
    pub fn range(column: impl Into<Ident>) -> Self {
        Partitioning {
            column: column.into(),
            spans: Vec::new(),
            default_partition: false,
        }
    }
    fn span(mut self, every: Every, from: &str, to: &str) -> Self {
        // An unparsable date becomes year 1 and is reported by the check as a bad span.
        let parse = |s: &str| {
            s.parse().unwrap_or(Date {
                year: 1,
                month: 1,
                day: 1,
            })
        };
        self.spans.push(Span {
            from: parse(from),
            to: parse(to),
            every,
        });
        self
    }
    /// One partition a year over `[from, to)` (`"2024-01-01"`, `"2027-01-01"`).
    pub fn yearly(self, from: &str, to: &str) -> Self {
        self.span(Every::Year, from, to)
    }
    /// One partition a month over `[from, to)`.
    pub fn monthly(self, from: &str, to: &str) -> Self {
        self.span(Every::Month, from, to)
    }
    /// One partition a day over `[from, to)`.
    pub fn daily(self, from: &str, to: &str) -> Self {
        self.span(Every::Day, from, to)
    }
    /// Adds a DEFAULT partition.
    pub fn with_default(mut self) -> Self {
        self.default_partition = true;
        self
    }
}

/// How Citus places a table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// A plain PostgreSQL table on the coordinator (the default).
    #[default]
    Local,
    /// A full copy on every node (lookup tables).
    Reference,
    /// Sharded by hash of one column.
    Distributed {
        /// The distribution column (the tenant key).
        column: Ident,
        /// Colocate with this distributed table (its group's root otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        colocate_with: Option<Ident>,
        /// Shards of a group's root (Citus' default is 32).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shard_count: Option<u32>,
    },
}

impl Distribution {
    /// Sharded by `column`.
    pub fn by(column: impl Into<Ident>) -> Self {
        Distribution::Distributed {
            column: column.into(),
            colocate_with: None,
            shard_count: None,
        }
    }
    /// Colocates a distributed table with `table`.
    pub fn colocate_with(self, table: impl Into<Ident>) -> Self {
        match self {
            Distribution::Distributed {
                column,
                shard_count,
                ..
            } => Distribution::Distributed {
                column,
                colocate_with: Some(table.into()),
                shard_count,
            },
            other => other,
        }
    }
    /// Sets the shard count of a distributed table.
    pub fn shards(self, n: u32) -> Self {
        match self {
            Distribution::Distributed {
                column,
                colocate_with,
                ..
            } => Distribution::Distributed {
                column,
                colocate_with,
                shard_count: Some(n),
            },
            other => other,
        }
    }
    /// The distribution column, for a distributed table.
    pub fn column(&self) -> Option<&Ident> {
        match self {
            Distribution::Distributed { column, .. } => Some(column),
            _ => None,
        }
    }
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Table {
    /// Its name (within the database's schema).
    pub name: Ident,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// The primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<Ident>,
    /// Unique constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<Ident>>,
    /// Foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Range partitioning, in the phases that turn it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    /// Citus placement, in the phases that turn it on.
    #[serde(default)]
    pub distribution: Distribution,
}

impl Table {
    /// A table with no column yet.
    pub fn new(name: impl Into<Ident>) -> Self {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            partitioning: None,
            distribution: Distribution::Local,
        }
    }
    /// Adds a column.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }
    /// Sets the primary key.
    pub fn primary_key<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }
    /// Adds a unique constraint.
    pub fn unique<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.unique
            .push(columns.into_iter().map(Into::into).collect());
        self
    }
    /// Adds a foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }
    /// Adds an index.
    pub fn index<I: Into<Ident>>(mut self, columns: impl IntoIterator<Item = I>) -> Self {
        self.indexes.push(Index {
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
        });
        self
    }
    /// Partitions the table.
    pub fn partition_by(mut self, partitioning: Partitioning) -> Self {
        self.partitioning = Some(partitioning);
        self
    }
    /// Places the table with Citus.
    pub fn distribute(mut self, distribution: Distribution) -> Self {
        self.distribution = distribution;
        self
    }
    /// The column named `name`.
    pub fn find_column(&self, name: &Ident) -> Option<&Column> {
        self.columns.iter().find(|c| &c.name == name)
    }
}

/// The database plan of a system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Database {
    /// The service that runs PostgreSQL.
    pub service: Name,
    /// The schema every table lives in.
    pub schema: Ident,
    /// The tenant key, declared once: every distributed table is distributed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_key: Option<Ident>,
    /// Tables, in order.
    pub tables: Vec<Table>,
}

impl Database {
    /// A database run by `service`, with its tables in `schema`.
    pub fn new(service: impl Into<Name>, schema: impl Into<Ident>) -> Self {
        Database {
            service: service.into(),
            schema: schema.into(),
            tenant_key: None,
            tables: Vec::new(),
        }
    }
    /// Declares the tenant key.
    pub fn tenant_key(mut self, column: impl Into<Ident>) -> Self {
        self.tenant_key = Some(column.into());
        self
    }
    /// Adds a table.
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }
    /// The table named `name`.
    pub fn find_table(&self, name: &Ident) -> Option<&Table> {
        self.tables.iter().find(|t| &t.name == name)
    }
}

/// What a phase turns on in the database plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DatabaseStage {
    /// Range partitioning of the tables that declare it.
    #[serde(default)]
    pub partitioning: bool,
    /// Citus distribution of the tables that declare it.
    #[serde(default)]
    pub distribution: bool,
    /// Citus on one machine: the coordinator also holds the shards.
    #[serde(default)]
    pub single_node_citus: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            "2024-02-29".parse::<Date>().map(|d| d.to_string()),
            Ok("2024-02-29".into())
        );
        assert!("2023-02-29".parse::<Date>().is_err());
        assert!("2024-1-01".parse::<Date>().is_err());
        let d: Date = "2024-12-31".parse().unwrap();
        assert_eq!(d.next(Every::Day).unwrap().to_string(), "2025-01-01");
        assert_eq!(d.next(Every::Month).unwrap().to_string(), "2025-01-01");
        let j: Date = "2024-01-31".parse().unwrap();
        assert_eq!(j.next(Every::Day).unwrap().to_string(), "2024-02-01");
        assert!(!j.starts(Every::Month) && j.starts(Every::Day));
    }

    #[test]
    fn idents() {
        assert!(Ident::from("fecha_emision").validate().is_ok());
        assert!(Ident::from("Facturas").validate().is_err());
        assert!(Ident::from("1x").validate().is_err());
    }
}
