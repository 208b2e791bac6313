//! Changes between two builds of a manifest that the API server cannot apply to the running
//! object: fields it refuses to update (a StatefulSet's volume claim templates, a selector, a
//! Service's cluster IP, most of a bare Pod), and one it accepts and ignores (a headless
//! Service made ClusterIP stays headless). Each comes with what to do instead.

use serde_json::Value;

use escala_core::Unappliable;

/// What a StatefulSet's spec may change after creation; everything else is refused (seen on
/// kube-apiserver v1.33.13: "updates to statefulset spec for fields other than 'replicas',
/// 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit',
/// 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden").
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn parse(text: &str) -> Option<Value> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    serde_json::to_value(yaml).ok()
}

/// The changes of one manifest file that cannot be applied in place.
pub(super) fn unappliable(old: &str, new: &str) -> Vec<Unappliable> {
    let (Some(old), Some(new)) = (parse(old), parse(new)) else {
        return Vec::new();
    };
    let Some(kind) = new["kind"]
        .as_str()
        .filter(|k| Some(*k) == old["kind"].as_str())
    else {
        return Vec::new();
    };
    let name = new["metadata"]["name"].as_str().unwrap_or_default();
    let ns = new["metadata"]["namespace"]
        .as_str()
        .map_or(String::new(), |n| format!("-n {n} "));
    let (o, n) = (&old["spec"], &new["spec"]);
    let recreate = |what: String| {
        Unappliable {
        what,
        instead: format!(
            "delete it, then apply again: `kubectl {ns}delete {} {name}` and `kubectl apply -k .` (its pods stop in between)",
            kind.to_lowercase()
        ),
    }
    };
    let mut out = Vec::new();
    match kind {
        "StatefulSet" => {
            if o["volumeClaimTemplates"] != n["volumeClaimTemplates"] {
                out.push(claim_templates(&ns, name, o, n));
            }
            let mut fields: Vec<&str> = changed_keys(o, n)
                .into_iter()
                .filter(|k| !STATEFULSET_MUTABLE.contains(k) && *k != "volumeClaimTemplates")
                .collect();
            fields.sort_unstable();
            if !fields.is_empty() {
                out.push(Unappliable {
                    what: format!(
                        "StatefulSet `{name}`: `spec.{}` changes, which Kubernetes refuses to update (only replicas, template, updateStrategy and a few others may change)",
                        fields.join("`, `spec.")
                    ),
                    instead: format!(
                        "delete the StatefulSet but keep its pods and claims, then apply again: `kubectl {ns}delete statefulset {name} --cascade=orphan` and `kubectl apply -k .`"
                    ),
                });
            }
        }
        "Deployment" | "DaemonSet" if o["selector"] != n["selector"] => {
            out.push(recreate(format!(
                "{kind} `{name}`: `spec.selector` changes, and a selector is immutable"
            )));
        }
        "Service" => {
            let headless = |s: &Value| s["clusterIP"].as_str() == Some("None");
            match (headless(o), headless(n)) {
                (true, false) => out.push(recreate(format!(
                    "Service `{name}` stops being headless: Kubernetes accepts the change and ignores it (the Service stays headless, `clusterIP: None`)"
                ))),
                (false, true) => out.push(recreate(format!(
                    "Service `{name}` becomes headless: `spec.clusterIP` may not change once set, so Kubernetes refuses it"
                ))),
                _ => {}
            }
        }
        "PersistentVolumeClaim" => {
            let fields: Vec<&str> = changed_keys(o, n)
                .into_iter()
                .filter(|k| *k != "resources")
                .collect();
            if !fields.is_empty() {
                out.push(Unappliable {
                    what: format!("PersistentVolumeClaim `{name}`: `spec.{}` changes; only a claim's requested size may change", fields.join("`, `spec.")),
                    instead: format!("copy the data to a new claim (a new volume name), or back it up, `kubectl {ns}delete pvc {name}` (deleting its data) and apply again"),
                });
            } else if let (Some(before), Some(after)) = (storage(o), storage(n)) {
                if after < before {
                    out.push(Unappliable {
                        what: format!("PersistentVolumeClaim `{name}` shrinks; Kubernetes never shrinks a claim"),
                        instead: "keep the size, or copy the data to a new, smaller claim (a new volume name)".into(),
                    });
                }
            }
        }
        "Pod" => {
            let (mut o, mut n) = (o.clone(), n.clone());
            // A bare Pod may change its containers' images; nearly nothing else.
            for spec in [&mut o, &mut n] {
                for key in ["containers", "initContainers"] {
                    if let Some(list) = spec[key].as_array_mut() {
                        for c in list {
                            c["image"] = Value::Null;
                        }
                    }
                }
            }
            if o != n {
                out.push(recreate(format!(
                    "Pod `{name}`: its spec changes, and a Pod's spec is immutable but for its images"
                )));
            }
        }
        _ => {}
    }
    out
}

/// The keys of two objects whose values differ (present in one only included).
fn changed_keys<'a>(o: &'a Value, n: &'a Value) -> Vec<&'a str> {
    let mut keys: Vec<&str> = Vec::new();
    for side in [o, n] {
        if let Some(map) = side.as_object() {
            for k in map.keys() {
                if o.get(k) != n.get(k) && !keys.contains(&k.as_str()) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

/// A claim spec's requested storage, in bytes, when it is a plain binary or decimal size.
fn storage(spec: &Value) -> Option<u128> {
    let q = spec["resources"]["requests"]["storage"].as_str()?;
    let (digits, unit) = q.split_at(q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len()));
    let n: u128 = digits.parse().ok()?;
    let factor: u128 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    };
    Some(n * factor)
}

/// A StatefulSet whose volume claim templates change: the claims of its running pods keep
/// their old spec, and the StatefulSet itself refuses the update.
fn claim_templates(ns: &str, name: &str, o: &Value, n: &Value) -> Unappliable {
    let replicas = n["replicas"].as_u64().unwrap_or(1);
    let mut grown = Vec::new();
    let mut other = false;
    for new_tpl in n["volumeClaimTemplates"].as_array().into_iter().flatten() {
        let tpl = new_tpl["metadata"]["name"].as_str().unwrap_or_default();
        let old_tpl = o["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["metadata"]["name"] == new_tpl["metadata"]["name"]);
        let Some(old_tpl) = old_tpl else {
            other = true;
            continue;
        };
        let (os, ns_) = (&old_tpl["spec"], &new_tpl["spec"]);
        if os == ns_ {
            continue;
        }
        let only_size = changed_keys(os, ns_) == ["resources"];
        match (only_size, storage(os), storage(ns_)) {
            (true, Some(before), Some(after)) if after > before => {
                let size = ns_["resources"]["requests"]["storage"]
                    .as_str()
                    .unwrap_or_default();
                for i in 0..replicas {
                    grown.push(format!(
                        "`kubectl {ns}patch pvc {tpl}-{name}-{i} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{size}\"}}}}}}}}'`"
                    ));
                }
            }
            _ => other = true,
        }
    }
    let what = format!(
        "StatefulSet `{name}`: `spec.volumeClaimTemplates` changes, which Kubernetes refuses to update; the claims of its pods would keep their old spec anyway"
    );
    let recreate = format!(
        "`kubectl {ns}delete statefulset {name} --cascade=orphan` (its pods and claims stay) and `kubectl apply -k .`"
    );
    let instead = if !grown.is_empty() && !other {
        format!(
            "grow each claim first (its StorageClass must allow volume expansion): {}; then {recreate}",
            grown.join(", ")
        )
    } else {
        format!("the existing claims cannot take this change: copy the data to new claims (a new volume name), or back up and recreate them; then {recreate}")
    };
    Unappliable { what, instead }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(storage: &str, selector: &str) -> String {
        format!(
            "kind: StatefulSet\nmetadata:\n  name: postgres\n  namespace: shop\nspec:\n  replicas: 2\n  serviceName: {selector}\n  selector:\n    matchLabels:\n      app: {selector}\n  volumeClaimTemplates:\n    - metadata:\n        name: pgdata\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: {storage}\n"
        )
    }

    #[test]
    fn a_grown_claim_template_says_how_to_grow_the_claims() {
        let found = unappliable(&sts("50Gi", "postgres"), &sts("100Gi", "postgres"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].what.contains("volumeClaimTemplates"));
        for i in 0..2 {
            assert!(
                found[0]
                    .instead
                    .contains(&format!("patch pvc pgdata-postgres-{i}")),
                "{}",
                found[0].instead
            );
        }
        assert!(found[0].instead.contains("--cascade=orphan"));
        // A shrink has no in-place way.
        let found = unappliable(&sts("100Gi", "postgres"), &sts("50Gi", "postgres"));
        assert!(found[0].instead.contains("cannot take this change"));
        // Nothing changed, nothing to say; a template change (replicas) is fine.
        assert!(unappliable(&sts("50Gi", "postgres"), &sts("50Gi", "postgres")).is_empty());
        let more = sts("50Gi", "postgres").replace("replicas: 2", "replicas: 3");
        assert!(unappliable(&sts("50Gi", "postgres"), &more).is_empty());
    }

    #[test]
    fn other_immutable_statefulset_fields_are_named() {
        let found = unappliable(&sts("50Gi", "postgres"), &sts("50Gi", "pg"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .what
                .contains("`spec.selector`, `spec.serviceName`"),
            "{}",
            found[0].what
        );
    }

    #[test]
    fn services_that_change_headlessness_are_recreated() {
        let svc = |ip: &str| {
            format!("kind: Service\nmetadata:\n  name: db\nspec:\n  {ip}ports:\n    - port: 5432\n")
        };
        let to_plain = unappliable(&svc("clusterIP: None\n  "), &svc(""));
        assert!(to_plain[0].what.contains("ignores it"), "{:?}", to_plain);
        let to_headless = unappliable(&svc(""), &svc("clusterIP: None\n  "));
        assert!(to_headless[0].what.contains("refuses"), "{:?}", to_headless);
        assert!(to_headless[0].instead.contains("delete service db"));
        assert!(unappliable(&svc(""), &svc("")).is_empty());
    }

    #[test]
    fn a_deployment_selector_and_a_pod_spec_are_immutable() {
        let dep = |app: &str, image: &str| {
            format!("kind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    spec:\n      containers:\n        - name: api\n          image: {image}\n")
        };
        assert!(unappliable(&dep("api", "a:1"), &dep("api", "a:2")).is_empty());
        assert_eq!(unappliable(&dep("api", "a:1"), &dep("web", "a:1")).len(), 1);
        let pod = |image: &str, cmd: &str| {
            format!("kind: Pod\nmetadata:\n  name: job\nspec:\n  containers:\n    - name: job\n      image: {image}\n      args: [{cmd}]\n")
        };
        assert!(unappliable(&pod("a:1", "x"), &pod("a:2", "x")).is_empty());
        assert_eq!(unappliable(&pod("a:1", "x"), &pod("a:1", "y")).len(), 1);
    }
}
