//! The alert thresholds as a `PrometheusRule` (monitoring.coreos.com/v1, Prometheus Operator).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use escala_core::{PhasePlan, TargetError};

use super::{meta, Kubernetes, Manifest};
use crate::alerts::{self, RuleGroup};

/// The Operator's CRD has no k8s-openapi type; this is its shape, nothing more.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: Spec,
}

#[derive(Serialize)]
struct Spec {
    groups: Vec<RuleGroup>,
}

pub(super) fn prometheus_rule(
    k: &Kubernetes,
    plan: &PhasePlan<'_>,
) -> Result<Manifest, TargetError> {
    let name = format!("{}-alerts", plan.system().name);
    let mut metadata = meta(k, plan, &name, None);
    // kube-prometheus-stack selects rules by its release label by default.
    metadata.labels = Some(BTreeMap::from([(
        "release".to_owned(),
        "prometheus".to_owned(),
    )]));
    let rule = PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata,
        spec: Spec {
            groups: alerts::groups(plan.system(), true),
        },
    };
    Manifest::new(&name, "PrometheusRule", &rule)
}
