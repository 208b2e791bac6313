//! Networks that services join.

use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::Name;

/// A network between services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[builder(doc)]
pub struct Network {
    /// The network's name.
    #[builder(setter(into))]
    pub name: Name,
    /// No route to the outside world.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "crate::service::is_false")]
    pub internal: bool,
    /// Encrypt traffic between nodes (Swarm overlay encryption).
    #[builder(default)]
    #[serde(default, skip_serializing_if = "crate::service::is_false")]
    pub encrypted: bool,
}
