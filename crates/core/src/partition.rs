//! Range partitioning by date: calendar dates, partition lengths, spans, the partitions kept
//! ahead of time and the retention of old ones.
//!
//! A [`Partitioning`] declares the partitions a table starts with (as [`Span`]s of equal
//! length) and how the generated upkeep keeps them going: `premake` partitions ahead of the
//! current period always exist, so rows never pile into the DEFAULT partition, and an optional
//! [`Retention`] detaches or drops partitions older than N periods.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Ident;

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
    /// How many partitions after the current period's the upkeep keeps created, so that
    /// rows never land in the DEFAULT partition (2 unless set).
    #[serde(default = "default_premake")]
    pub premake: u32,
    /// Old partitions the upkeep detaches or drops, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

fn default_premake() -> u32 {
    2
}

/// What the upkeep does with partitions older than a number of periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Retention {
    /// Partitions whose range ends at or before the start of the current period minus this
    /// many periods are retired (with yearly partitions and 3, in 2027: those ending by
    /// 2024-01-01).
    pub keep: u32,
    /// Detach them and keep them as plain tables (for an archive), instead of dropping them.
    #[serde(default)]
    pub detach_only: bool,
}

impl Partitioning {
    /// Range partitioning on `column`, with no partition yet.
    pub fn range(column: impl Into<Ident>) -> Self {
        Partitioning {
            column: column.into(),
            spans: Vec::new(),
            default_partition: false,
            premake: default_premake(),
            retention: None,
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
    /// Keeps `n` partitions after the current period's created ahead of time (2 unless set).
    pub fn premake(mut self, n: u32) -> Self {
        self.premake = n;
        self
    }
    /// Drops partitions older than `keep` periods before the current one (their rows go
    /// with them, and the rows that reference them follow their foreign keys' `ON DELETE`).
    pub fn drop_after(mut self, keep: u32) -> Self {
        self.retention = Some(Retention {
            keep,
            detach_only: false,
        });
        self
    }
    /// Detaches partitions older than `keep` periods and keeps them as plain tables.
    pub fn detach_after(mut self, keep: u32) -> Self {
        self.retention = Some(Retention {
            keep,
            detach_only: true,
        });
        self
    }
    /// The length of the partitions the upkeep adds: that of the last span.
    pub fn every(&self) -> Option<Every> {
        self.spans.iter().max_by_key(|s| s.to).map(|s| s.every)
    }
    /// The first day no declared span covers: where the upkeep starts adding partitions.
    pub fn declared_end(&self) -> Option<Date> {
        self.spans.iter().map(|s| s.to).max()
    }
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
}
