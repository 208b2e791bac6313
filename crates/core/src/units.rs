//! Quantities with units: CPU, bytes (memory and storage) and durations.
//!
//! Each is a newtype over an integer in the smallest unit any target needs, so that it can
//! never hold an invalid value and renders exactly in every target's dialect:
//!
//! | type | Kubernetes | compose / Swarm | raw |
//! |------|------------|-----------------|-----|
//! | [`Cpu`] | `500m`, `2` | `"0.5"`, `"2"` | nanoCPUs |
//! | [`ByteSize`] | `512Mi` | `512M` (docker's units are binary) | bytes |
//! | [`Duration`] | seconds (probes) | `10s`, `1m30s` (Go syntax) | nanoseconds |
//!
//! Build them with the typed constructors (`Cpu::millis(500)`, `ByteSize::mib(512)`,
//! `Duration::secs(10)`), or parse the Kubernetes spelling with [`str::parse`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a quantity string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{input}`: {expected}")]
pub struct UnitError {
    kind: &'static str,
    input: String,
    expected: &'static str,
}

macro_rules! string_serde {
    ($ty:ty, $schema_name:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> String {
                $schema_name.to_owned()
            }
            fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                String::json_schema(gen)
            }
        }
    };
}

/// An amount of CPU, stored in millicores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(u64);

impl Cpu {
    /// `n` thousandths of a core (`Cpu::millis(500)` is half a core).
    pub const fn millis(n: u64) -> Self {
        Cpu(n)
    }
    /// `n` whole cores.
    pub const fn cores(n: u64) -> Self {
        Cpu(n.saturating_mul(1000))
    }
    /// Millicores.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// NanoCPUs, the unit of the Docker Engine API.
    pub const fn as_nanos(self) -> u64 {
        self.0.saturating_mul(1_000_000)
    }
    /// Kubernetes quantity: `500m`, or `2` for whole cores.
    pub fn to_kubernetes(self) -> String {
        if self.0.is_multiple_of(1000) {
            (self.0 / 1000).to_string()
        } else {
            format!("{}m", self.0)
        }
    }
    /// Decimal cores as compose and Swarm want them: `0.5`, `1.25`, `2`.
    pub fn to_decimal(self) -> String {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            whole.to_string()
        } else {
            let f = format!("{frac:03}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kubernetes())
    }
}

impl FromStr for Cpu {
    type Err = UnitError;
    /// Parses `500m`, `0.5` or `2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError {
            kind: "cpu",
            input: s.to_owned(),
            expected: "expected millicores like `500m` or cores like `0.5` or `2`",
        };
        if let Some(m) = s.strip_suffix('m') {
            return m.parse::<u64>().map(Cpu).map_err(|_| err());
        }
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 3 {
            return Err(err());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err())?
        };
        let frac_m: u64 = if frac.is_empty() {
            0
        } else {
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            format!("{frac:0<3}").parse().map_err(|_| err())?
        };
        whole
            .checked_mul(1000)
            .and_then(|w| w.checked_add(frac_m))
            .map(Cpu)
            .ok_or_else(err)
    }
}

string_serde!(Cpu, "Cpu");

/// An amount of memory or storage, stored in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

const KI: u64 = 1024;
const BINARY: [(&str, &str, u64); 4] = [
    ("Ti", "T", KI * KI * KI * KI),
    ("Gi", "G", KI * KI * KI),
    ("Mi", "M", KI * KI),
    ("Ki", "K", KI),
];

impl ByteSize {
    /// `n` bytes.
    pub const fn bytes(n: u64) -> Self {
        ByteSize(n)
    }
    /// `n` kibibytes.
    pub const fn kib(n: u64) -> Self {
        ByteSize(n.saturating_mul(KI))
    }
    /// `n` mebibytes.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n.saturating_mul(KI * KI))
    }
    /// `n` gibibytes.
    pub const fn gib(n: u64) -> Self {
        ByteSize(n.saturating_mul(KI * KI * KI))
    }
    /// The size in bytes.
    pub const fn as_bytes(self) -> u64 {
        self.0
    }
    /// Kubernetes quantity with the largest exact binary suffix: `512Mi`, `50Gi`, `1000`.
    pub fn to_kubernetes(self) -> String {
        self.suffixed(false)
    }
    /// Docker's spelling (binary units, one letter): `512M`, `2G`, `1000`.
    pub fn to_docker(self) -> String {
        self.suffixed(true)
    }
    fn suffixed(self, docker: bool) -> String {
        for (k8s, dock, size) in BINARY {
            if self.0 != 0 && self.0.is_multiple_of(size) {
                return format!("{}{}", self.0 / size, if docker { dock } else { k8s });
            }
        }
        self.0.to_string()
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kubernetes())
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;
    /// Parses Kubernetes quantities: `512Mi` (binary), `500M` (decimal) or plain bytes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError {
            kind: "size",
            input: s.to_owned(),
            expected: "expected bytes or a Kubernetes quantity like `512Mi`, `50Gi` or `500M`",
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num.parse().map_err(|_| err())?;
        let mult: u64 = match unit {
            "" => 1,
            "Ki" => KI,
            "Mi" => KI.pow(2),
            "Gi" => KI.pow(3),
            "Ti" => KI.pow(4),
            "k" => 1000,
            "M" => 1000u64.pow(2),
            "G" => 1000u64.pow(3),
            "T" => 1000u64.pow(4),
            _ => return Err(err()),
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(err)
    }
}

string_serde!(ByteSize, "ByteSize");

/// A span of time, stored in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Duration {
    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Self {
        Duration(n)
    }
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        Duration(n.saturating_mul(1000))
    }
    /// `n` minutes.
    pub const fn mins(n: u64) -> Self {
        Duration(n.saturating_mul(60_000))
    }
    /// Milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Whole seconds, rounded up (Kubernetes probe fields take integer seconds).
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }
    /// Nanoseconds (the Docker Engine API unit).
    pub const fn as_nanos(self) -> u64 {
        self.0.saturating_mul(1_000_000)
    }
    /// Go duration syntax as compose and Swarm want it: `10s`, `1m30s`, `1h`, `500ms`.
    pub fn to_go(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Duration {
    /// Go's form, as [`Duration::to_go`] describes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let (h, rest) = (self.0 / 3_600_000, self.0 % 3_600_000);
        let (m, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        for (v, u) in [(h, "h"), (m, "m"), (s, "s"), (ms, "ms")] {
            if v != 0 {
                write!(f, "{v}{u}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = UnitError;
    /// Parses Go-style durations made of `h`, `m`, `s` and `ms` parts: `1m30s`, `500ms`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnitError {
            kind: "duration",
            input: s.to_owned(),
            expected: "expected a duration like `10s`, `1m30s` or `500ms`",
        };
        if s.is_empty() {
            return Err(err());
        }
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
            let (num, tail) = rest.split_at(split);
            let n: u64 = num.parse().map_err(|_| err())?;
            let (mult, tail) = if let Some(t) = tail.strip_prefix("ms") {
                (1, t)
            } else if let Some(t) = tail.strip_prefix('h') {
                (3_600_000, t)
            } else if let Some(t) = tail.strip_prefix('m') {
                (60_000, t)
            } else if let Some(t) = tail.strip_prefix('s') {
                (1000, t)
            } else {
                return Err(err());
            };
            total = n
                .checked_mul(mult)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(err)?;
            rest = tail;
        }
        Ok(Duration(total))
    }
}

string_serde!(Duration, "Duration");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_renders_per_dialect() {
        assert_eq!(Cpu::millis(500).to_kubernetes(), "500m");
        assert_eq!(Cpu::millis(500).to_decimal(), "0.5");
        assert_eq!(Cpu::millis(1250).to_decimal(), "1.25");
        assert_eq!(Cpu::millis(5).to_decimal(), "0.005");
        assert_eq!(Cpu::cores(2).to_kubernetes(), "2");
        assert_eq!(Cpu::cores(2).to_decimal(), "2");
        assert_eq!(Cpu::millis(500).as_nanos(), 500_000_000);
    }

    #[test]
    fn cpu_parses() {
        assert_eq!("500m".parse(), Ok(Cpu::millis(500)));
        assert_eq!("0.5".parse(), Ok(Cpu::millis(500)));
        assert_eq!(".25".parse(), Ok(Cpu::millis(250)));
        assert_eq!("2".parse(), Ok(Cpu::cores(2)));
        assert!("0.0005".parse::<Cpu>().is_err());
        assert!("half".parse::<Cpu>().is_err());
        assert!(".".parse::<Cpu>().is_err());
    }

    #[test]
    fn bytes_render_per_dialect() {
        assert_eq!(ByteSize::mib(512).to_kubernetes(), "512Mi");
        assert_eq!(ByteSize::mib(512).to_docker(), "512M");
        assert_eq!(ByteSize::gib(50).to_kubernetes(), "50Gi");
        assert_eq!(ByteSize::mib(1536).to_docker(), "1536M");
        assert_eq!(ByteSize::bytes(1000).to_docker(), "1000");
        assert_eq!(ByteSize::bytes(0).to_kubernetes(), "0");
    }

    #[test]
    fn bytes_parse_kubernetes_units() {
        assert_eq!("512Mi".parse(), Ok(ByteSize::mib(512)));
        assert_eq!("1G".parse(), Ok(ByteSize::bytes(1_000_000_000)));
        assert_eq!("42".parse(), Ok(ByteSize::bytes(42)));
        assert!("12MB".parse::<ByteSize>().is_err());
        assert!("99999999999999Ti".parse::<ByteSize>().is_err());
    }

    #[test]
    fn durations_render_go_syntax() {
        assert_eq!(Duration::secs(10).to_go(), "10s");
        assert_eq!(Duration::secs(90).to_go(), "1m30s");
        assert_eq!(Duration::millis(500).to_go(), "500ms");
        assert_eq!(Duration::secs(3600).to_go(), "1h");
        assert_eq!(Duration::millis(0).to_go(), "0s");
        assert_eq!(Duration::millis(1500).as_secs_ceil(), 2);
        assert_eq!(Duration::secs(1).as_nanos(), 1_000_000_000);
    }

    #[test]
    fn durations_parse() {
        assert_eq!("1m30s".parse(), Ok(Duration::secs(90)));
        assert_eq!("250ms".parse(), Ok(Duration::millis(250)));
        assert!("30".parse::<Duration>().is_err());
        assert!("1 minute".parse::<Duration>().is_err());
    }
}
