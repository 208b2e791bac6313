//! Changes between two builds of a compose or stack file that the engine cannot apply to what
//! is running: a network's options and a volume's driver or options. Both are accepted and
//! ignored — `docker stack deploy` exits 0 and the network or volume keeps what it was created
//! with (seen on Docker Engine 20.10: an overlay made `encrypted`, a volume given
//! `driver_opts`); `docker compose up` reuses the existing network and volume as they are
//! (docker/compose#9203 and #10060). Each comes with what to do instead.

use serde_yaml::Value;

use escala_core::Unappliable;

use super::Dialect;

/// The network and volume changes of a compose or stack file that cannot be applied in place.
pub(crate) fn unappliable(old: &str, new: &str, dialect: Dialect) -> Vec<Unappliable> {
    let (Ok(old), Ok(new)) = (
        serde_yaml::from_str::<Value>(old),
        serde_yaml::from_str::<Value>(new),
    ) else {
        return Vec::new();
    };
    let (engine, network_instead, volume_on) = match dialect {
        Dialect::Swarm => (
            "Swarm cannot change a network in place, and `docker stack deploy` keeps the existing one as it is, silently",
            "remove the stack (`docker stack rm <stack>`; volumes and external secrets stay), wait until `docker network ls` no longer lists",
            "on every node that has it",
        ),
        Dialect::Compose => (
            "`docker compose up` keeps using the existing network as it was created, silently",
            "stop the project (`docker compose down`; named volumes stay), check that `docker network ls` no longer lists",
            "on the host",
        ),
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
                    "network `{name}`: `{}` changes; {engine}",
                    fields.join("`, `")
                ),
                instead: format!(
                    "{network_instead} `{name}`, then deploy again — or give the network a new name"
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
                    "volume `{key}`: `{}` changes; an existing volume keeps the driver and options it was created with, so the change is silently ignored {volume_on}",
                    fields.join("`, `")
                ),
                instead: format!("back the volume up, stop what mounts it, `docker volume rm` it {volume_on}, and deploy again (it is recreated empty: restore the backup) — or give the volume a new name and copy the data"),
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
        let found = unappliable(&plain, &encrypted, Dialect::Swarm);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].what.contains("network `shop_back`: `driver_opts`"),
            "{}",
            found[0].what
        );
        assert!(found[0].instead.contains("docker stack rm"));
        let internal = stack("    internal: true\n", "");
        assert!(unappliable(&plain, &internal, Dialect::Swarm)[0]
            .what
            .contains("`internal`"));
        assert!(unappliable(&plain, &plain, Dialect::Swarm).is_empty());
    }

    #[test]
    fn a_volume_with_a_new_driver_keeps_its_old_one() {
        let local = stack("", "");
        let nfs = stack("", "    driver: local\n    driver_opts:\n      type: nfs\n");
        let found = unappliable(&local, &nfs, Dialect::Swarm);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].what.contains("silently ignored"),
            "{}",
            found[0].what
        );
    }

    #[test]
    fn compose_says_what_compose_does() {
        let plain = stack("", "");
        let internal = stack("    internal: true\n", "");
        let found = unappliable(&plain, &internal, Dialect::Compose);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].what.contains("`docker compose up` keeps"));
        assert!(found[0].instead.contains("docker compose down"));
        let nfs = stack("", "    driver_opts:\n      type: nfs\n");
        assert!(unappliable(&plain, &nfs, Dialect::Compose)[0]
            .instead
            .contains("on the host"));
    }
}
