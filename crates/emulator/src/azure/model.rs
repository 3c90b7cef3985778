//! What the emulated ARM keeps: resource groups, managed clusters with their agent pools,
//! flexible servers, and the status monitors of long-running operations.
//!
//! Resources keep their `properties` as the JSON the client sent (minus read-only fields the
//! emulator computes), so that a field this emulator does not know still round-trips, as it
//! does on the real ARM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A state a resource is in until a deadline (`Creating`, `Updating`, `Deleting`); after the
/// deadline the resource is `Succeeded`, or gone for `Deleting`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Transition {
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// One tracked ARM resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resource {
    /// The canonical resource id (`/subscriptions/…/resourceGroups/…/providers/…`).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub transition: Option<Transition>,
}

impl Resource {
    pub fn new(id: String, name: &str, location: &str, now: OffsetDateTime) -> Resource {
        Resource {
            id,
            name: name.to_string(),
            location: location.to_string(),
            tags: BTreeMap::new(),
            properties: Map::new(),
            sku: None,
            identity: None,
            created_at: now,
            transition: None,
        }
    }

    /// `provisioningState` as ARM reports it now.
    pub fn provisioning_state(&self, now: OffsetDateTime) -> &str {
        match &self.transition {
            Some(t) if now < t.until => &t.state,
            _ => "Succeeded",
        }
    }

    /// True once a delete has run its course: the resource no longer exists.
    pub fn is_gone(&self, now: OffsetDateTime) -> bool {
        self.transition
            .as_ref()
            .is_some_and(|t| t.state == "Deleting" && now >= t.until)
    }

    /// True while a delete is under way.
    pub fn is_deleting(&self) -> bool {
        self.transition
            .as_ref()
            .is_some_and(|t| t.state == "Deleting")
    }

    pub fn is(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
    }

    /// The resource group this resource lives in, from its id.
    pub fn resource_group(&self) -> &str {
        resource_group_of(&self.id)
    }
}

/// The resource group segment of a resource id.
pub(crate) fn resource_group_of(id: &str) -> &str {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next().unwrap_or("");
        }
    }
    ""
}

/// A managed cluster and what belongs to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    #[serde(flatten)]
    pub resource: Resource,
    /// Identifies the cluster's emulated Kubernetes API (`/k8s/{uid}`).
    pub uid: String,
    /// The bearer token its Kubernetes API accepts.
    pub kube_token: String,
    #[serde(default)]
    pub pools: Vec<Resource>,
}

impl Cluster {
    pub fn pool(&self, name: &str) -> Option<&Resource> {
        self.pools
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// The status monitor of one long-running operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Operation {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}
