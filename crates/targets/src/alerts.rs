//! The system's alert thresholds as Prometheus alerting rules.
//!
//! One definition, two wrappings: a plain Prometheus rules file (compose and Swarm phases,
//! loaded with `rule_files`) and a `PrometheusRule` object (Kubernetes, for the Prometheus
//! Operator). Each threshold gives a `warning` and a `critical` rule.
//!
//! Expressions assume the usual exporters: node_exporter for CPU, memory and disk, an HTTP
//! histogram `http_request_duration_seconds` and a counter `http_requests_total{status}` from
//! the services, and kube-state-metrics for pod restarts on Kubernetes.

use serde::Serialize;

use escala_core::{System, Threshold};

/// A group of rules (the `groups[]` entries of a rules file).
#[derive(Debug, Serialize)]
pub(crate) struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// One alerting rule.
#[derive(Debug, Serialize)]
pub(crate) struct Rule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

fn number(v: f64) -> String {
    // Thresholds are small decimals; print them without float noise (65, 0.5, 0.15).
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn pair(
    rules: &mut Vec<Rule>,
    name: &str,
    expr: &dyn Fn(&str) -> String,
    t: (String, String),
    for_: &str,
    what: &str,
) {
    for (severity, level) in [("warning", &t.0), ("critical", &t.1)] {
        let title = format!(
            "{name}{}",
            if severity == "critical" {
                "Critical"
            } else {
                ""
            }
        );
        rules.push(Rule {
            alert: title,
            expr: expr(level),
            for_: for_.to_owned(),
            labels: [("severity".to_owned(), severity.to_owned())].into(),
            annotations: [("summary".to_owned(), format!("{what} above {level}"))].into(),
        });
    }
}

fn levels(t: &Threshold<f64>) -> (String, String) {
    (number(t.warning), number(t.critical))
}

/// The rule groups for `system`; `kubernetes` adds pod-restart rules for its namespace.
pub(crate) fn groups(system: &System, kubernetes: bool) -> Vec<RuleGroup> {
    let a = &system.alerts;
    let mut rules = Vec::new();
    pair(
        &mut rules,
        "HostHighCpu",
        &|l| {
            format!("100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[5m]))) > {l}")
        },
        levels(&a.cpu_percent),
        "10m",
        "CPU use (%)",
    );
    pair(
        &mut rules,
        "HostHighMemory",
        &|l| {
            format!("100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > {l}")
        },
        levels(&a.memory_percent),
        "10m",
        "memory use (%)",
    );
    pair(
        &mut rules,
        "HostHighDisk",
        &|l| {
            format!("100 * (1 - node_filesystem_avail_bytes{{fstype!~\"tmpfs|overlay\"}} / node_filesystem_size_bytes{{fstype!~\"tmpfs|overlay\"}}) > {l}")
        },
        levels(&a.disk_percent),
        "15m",
        "disk use (%)",
    );
    let secs = |d: escala_core::Duration| number(d.as_millis() as f64 / 1000.0);
    pair(
        &mut rules,
        "HighLatencyP95",
        &|l| {
            format!("histogram_quantile(0.95, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m]))) > {l}")
        },
        (secs(a.p95_latency.warning), secs(a.p95_latency.critical)),
        "10m",
        "p95 request latency (s)",
    );
    pair(
        &mut rules,
        "HighErrorRate",
        &|l| {
            format!("100 * sum by (job) (rate(http_requests_total{{status=~\"5..\"}}[5m])) / sum by (job) (rate(http_requests_total[5m])) > {l}")
        },
        levels(&a.error_rate_percent),
        "5m",
        "share of failing requests (%)",
    );
    if kubernetes {
        let ns = system.name.as_str();
        rules.push(Rule {
            alert: "PodRestarting".into(),
            expr: format!(
                "increase(kube_pod_container_status_restarts_total{{namespace=\"{ns}\"}}[15m]) > 3"
            ),
            for_: "0m".into(),
            labels: [("severity".to_owned(), "warning".to_owned())].into(),
            annotations: [(
                "summary".to_owned(),
                "a container restarted more than 3 times in 15 minutes".to_owned(),
            )]
            .into(),
        });
    }
    vec![RuleGroup {
        name: format!("{}.rules", system.name),
        rules,
    }]
}

/// A plain Prometheus rules file (`rule_files:`): compose and Swarm phases write it beside
/// their file, and `Config::alert_rules` mounts it on every engine. `kubernetes` adds the
/// pod-restart rules, as in [`groups`].
pub(crate) fn rules_file(
    target: &str,
    system: &System,
    kubernetes: bool,
) -> Result<String, escala_core::TargetError> {
    #[derive(Serialize)]
    struct File {
        groups: Vec<RuleGroup>,
    }
    let yaml = crate::yaml::to_string(&File {
        groups: groups(system, kubernetes),
    })
    .map_err(|e| escala_core::TargetError::Serialize {
        target: "alerts",
        path: RULES_FILE.into(),
        message: e.to_string(),
    })?;
    let target_header = escala_core::header(target);
    Ok(format!("{target_header}# Alerting rules from the system's thresholds. Prometheus loads them when its\n# configuration's `rule_files` names the path where they are mounted.\n{yaml}"))
}

/// The name of the rules file compose and Swarm phases get.
pub(crate) const RULES_FILE: &str = "alerts.rules.yml";

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(number(65.0), "65");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.15), "0.15");
    }
}
