//! Named volumes: persistent storage that outlives containers.

use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::{ByteSize, Name};

/// Who may mount a volume at the same time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// One writer on one node (a local disk; Kubernetes `ReadWriteOnce`). The default.
    #[default]
    SingleWriter,
    /// Many readers, no writer (`ReadOnlyMany`).
    ReadOnlyMany,
    /// Many writers on many nodes (network storage; `ReadWriteMany`).
    ReadWriteMany,
}

/// A named volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[builder(doc)]
pub struct Volume {
    /// The volume's name.
    #[builder(setter(into))]
    pub name: Name,
    /// Requested capacity (Kubernetes claims need one; compose ignores it).
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// Who may mount it at once.
    #[builder(default)]
    #[serde(default)]
    pub access: Access,
    /// Storage class (Kubernetes) or volume driver hint.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Whether the volume holds data that must be backed up.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "crate::service::is_false")]
    pub backup: bool,
}
