//! Alert thresholds as data; targets render them as rules for their monitoring stack.

use serde::{Deserialize, Serialize};

use crate::Duration;

/// A warning and a critical level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Threshold<T> {
    /// Worth a look.
    pub warning: T,
    /// Act now.
    pub critical: T,
}

/// The system's alerting thresholds. The defaults are the seed's scaling triggers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Alerts {
    /// CPU use, percent.
    pub cpu_percent: Threshold<f64>,
    /// Memory use, percent.
    pub memory_percent: Threshold<f64>,
    /// Disk use, percent.
    pub disk_percent: Threshold<f64>,
    /// 95th-percentile request latency.
    pub p95_latency: Threshold<Duration>,
    /// Share of requests that fail, percent.
    pub error_rate_percent: Threshold<f64>,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            cpu_percent: Threshold {
                warning: 65.0,
                critical: 80.0,
            },
            memory_percent: Threshold {
                warning: 70.0,
                critical: 85.0,
            },
            disk_percent: Threshold {
                warning: 60.0,
                critical: 75.0,
            },
            p95_latency: Threshold {
                warning: Duration::millis(150),
                critical: Duration::millis(300),
            },
            error_rate_percent: Threshold {
                warning: 0.5,
                critical: 2.0,
            },
        }
    }
}
