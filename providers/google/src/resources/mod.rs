//! One module per resource type: create, read, update, delete and find.

pub(crate) mod cluster;
pub(crate) mod node_pool;
pub(crate) mod sql_instance;

use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};

/// `projects/P/locations/L/clusters/N` split into its parts.
pub(crate) fn cluster_parts(id: &str) -> ProviderResult<(String, String, String)> {
    match id.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, "locations", l, "clusters", n, ..] => {
            Ok((p.to_string(), l.to_string(), n.to_string()))
        }
        _ => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{id:?} is not a GKE cluster id (projects/P/locations/L/clusters/NAME)"),
        )),
    }
}

/// The parent of a cluster's operations.
pub(crate) fn operation_name(project: &str, location: &str, op: &str) -> String {
    // Operations answered by the API may carry their full name already.
    if op.starts_with("projects/") {
        return op.to_string();
    }
    format!("projects/{project}/locations/{location}/operations/{op}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_split_and_bad_ones_are_named() {
        assert_eq!(
            cluster_parts("projects/p/locations/europe-west1/clusters/c").unwrap(),
            ("p".into(), "europe-west1".into(), "c".into())
        );
        let e = cluster_parts("c").unwrap_err();
        assert!(e.message.contains("\"c\""), "{e}");
        assert_eq!(
            operation_name("p", "l", "operation-1"),
            "projects/p/locations/l/operations/operation-1"
        );
    }
}
