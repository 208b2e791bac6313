//! Changes between two builds of a stack file that `docker stack deploy` cannot apply to a
//! running stack: a network's options and a volume's driver or options. Both are accepted and
//! ignored — the deploy exits 0 and the network or volume keeps what it was created with
//! (seen on Docker Engine 20.10: an overlay made `encrypted`, a volume given `driver_opts`).
//! Each comes with what to do instead.

use serde_yaml::Value;

use escala_core::Unappliable;

/// The network and volume changes of a stack file that cannot be applied in place.
pub(super) fn unappliable(old: &str, new: &str) -> Vec<Unappliable> {
    let (Ok(old), Ok(new)) = (
        serde_yaml::from_str::<Value>(old),
        serde_yaml::from_str::<Value>(new),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, spec) in entries(&new, "networks") {
        let Some(before) = old["networks"].get(key) else {
            continue;
        };
        let fields = changed(
            before,
            spec,
            &[
                "driver",
                "driver_opts",
                "internal",
                "attachable",
                "ipam",
                "labels",
            ],
        );
        if !fields.is_empty() {
            let name = spec["name"].as_str().unwrap_or(key);
            out.push(Unappliable {
                what: format!(
                    "network `{name}`: `{}` changes; Swarm cannot change a network in place, and `docker stack deploy` keeps the existing one as it is, silently",
                    fields.join("`, `")
                ),
                instead: format!(
                    "remove the stack (`docker stack rm <stack>`; volumes and external secrets stay), wait until `docker network ls` no longer lists `{name}`, then deploy again — or give the network a new name"
                ),
            });
        }
    }
    for (key, spec) in entries(&new, "volumes") {
        let Some(before) = old["volumes"].get(key) else {
            continue;
        };
        let fields = changed(before, spec, &["driver", "driver_opts", "external", "name"]);
        if !fields.is_empty() {
            out.push(Unappliable {
                what: format!(
                    "volume `{key}`: `{}` changes; an existing volume keeps the driver and options it was created with, so the change is silently ignored on every node that has it",
                    fields.join("`, `")
                ),
                instead: "back the volume up, stop what mounts it, `docker volume rm` it on each node, and deploy again (it is recreated empty: restore the backup) — or give the volume a new name and copy the data".into(),
            });
        }
    }
    out
}

/// The entries of the top-level section `section`, as (key, spec).
fn entries<'a>(doc: &'a Value, section: &str) -> Vec<(&'a str, &'a Value)> {
    doc[section]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?, v)))
        .collect()
}

/// Which of `fields` differ between two specs.
fn changed<'f>(before: &Value, after: &Value, fields: &[&'f str]) -> Vec<&'f str> {
    fields
        .iter()
        .copied()
        .filter(|f| before.get(*f) != after.get(*f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(net: &str, vol: &str) -> String {
        format!("services: {{}}\nnetworks:\n  back:\n    name: shop_back\n    driver: overlay\n{net}volumes:\n  data:\n{vol}    labels:\n      escala.backup: \"true\"\n")
    }

    #[test]
    fn a_network_with_new_options_cannot_be_deployed_over_the_old_one() {
        let plain = stack("", "");
        let encrypted = stack("    driver_opts:\n      encrypted: \"\"\n", "");
        let found = unappliable(&plain, &encrypted);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].what.contains("network `shop_back`: `driver_opts`"),
            "{}",
            found[0].what
        );
        assert!(found[0].instead.contains("docker stack rm"));
        let internal = stack("    internal: true\n", "");
        assert!(unappliable(&plain, &internal)[0]
            .what
            .contains("`internal`"));
        assert!(unappliable(&plain, &plain).is_empty());
    }

    #[test]
    fn a_volume_with_a_new_driver_keeps_its_old_one() {
        let local = stack("", "");
        let nfs = stack("", "    driver: local\n    driver_opts:\n      type: nfs\n");
        let found = unappliable(&local, &nfs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].what.contains("silently ignored"),
            "{}",
            found[0].what
        );
    }
}
