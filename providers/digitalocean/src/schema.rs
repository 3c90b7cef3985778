//! The provider's resource types. Names follow Terraform's `digitalocean` provider so that its
//! users' configurations carry over.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

pub const VPC: &str = "digitalocean_vpc";
pub const KUBERNETES_CLUSTER: &str = "digitalocean_kubernetes_cluster";
pub const KUBERNETES_NODE_POOL: &str = "digitalocean_kubernetes_node_pool";
pub const DATABASE_CLUSTER: &str = "digitalocean_database_cluster";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema.resources.insert(VPC.into(), vpc());
    schema
        .resources
        .insert(KUBERNETES_CLUSTER.into(), kubernetes_cluster());
    schema
        .resources
        .insert(KUBERNETES_NODE_POOL.into(), kubernetes_node_pool());
    schema
        .resources
        .insert(DATABASE_CLUSTER.into(), database_cluster());
    schema
}

/// The schema of one resource type.
pub(crate) fn resource(type_name: &str) -> Option<ResourceSchema> {
    provider_schema().resources.remove(type_name)
}

fn provider_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "token",
            Attribute::optional(Type::String).sensitive().describe(
                "The API token; defaults to $DIGITALOCEAN_TOKEN, then $DIGITALOCEAN_ACCESS_TOKEN.",
            ),
        )
        .attr(
            "endpoint",
            Attribute::optional(Type::String).describe(
                "The API's base URL; defaults to $DIGITALOCEAN_API_URL, then https://api.digitalocean.com. Plain http:// only on loopback.",
            ),
        )
}

fn string() -> Type {
    Type::String
}

fn vpc() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A VPC network: a private address range in one region.".into(),
        block: BlockSchema::default()
            .attr(
                "name",
                Attribute::required(string())
                    .describe("Unique in the account: letters, digits, dashes and periods."),
            )
            .attr("region", Attribute::required(string()).force_new())
            .attr(
                "ip_range",
                Attribute::optional_computed(string()).force_new().describe(
                    "An RFC 1918 range from /28 to /16; DigitalOcean picks a /20 when unset.",
                ),
            )
            .attr("description", Attribute::optional(string()))
            .attr("id", Attribute::computed(string()))
            .attr("urn", Attribute::computed(string()))
            .attr(
                "default",
                Attribute::computed(Type::Bool)
                    .describe("Whether this is the region's default VPC."),
            )
            .attr("created_at", Attribute::computed(string())),
    }
}

/// The attributes a node pool has both as a cluster's `node_pool` block and as a resource.
fn node_pool_attributes(block: BlockSchema) -> BlockSchema {
    block
        .attr(
            "node_count",
            Attribute::optional_computed(Type::Number)
                .describe("Nodes wanted; may be left out when auto_scale is set."),
        )
        .attr("auto_scale", Attribute::optional(Type::Bool))
        .attr("min_nodes", Attribute::optional(Type::Number))
        .attr("max_nodes", Attribute::optional(Type::Number))
        .attr("tags", Attribute::optional(Type::list(string())))
        .attr(
            "labels",
            Attribute::optional(Type::map(string()))
                .describe("Kubernetes labels applied to every node of the pool."),
        )
        .attr("id", Attribute::computed(string()))
        .attr(
            "actual_node_count",
            Attribute::computed(Type::Number)
                .describe("The number of nodes the pool has now (the autoscaler may change it)."),
        )
        .attr(
            "nodes",
            Attribute::computed(Type::list(Type::map(string()))).describe(
                "The pool's nodes: id, name, status, droplet_id, created_at, updated_at.",
            ),
        )
}

fn kubernetes_cluster() -> ResourceSchema {
    let node_pool = node_pool_attributes(
        BlockSchema::default()
            .attr("name", Attribute::required(string()))
            .attr("size", Attribute::required(string()).force_new()),
    );
    ResourceSchema {
        version: 0,
        description: "A DigitalOcean Kubernetes (DOKS) cluster with its default node pool."
            .into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(string()).force_new())
            .attr("region", Attribute::required(string()).force_new())
            .attr(
                "version",
                Attribute::required(string())
                    .describe("A version slug such as 1.31.1-do.4; changing it upgrades the cluster in place."),
            )
            .attr(
                "vpc_uuid",
                Attribute::optional_computed(string())
                    .force_new()
                    .describe("The VPC to place the cluster in; the region's default VPC when unset."),
            )
            .attr("tags", Attribute::optional(Type::list(string())))
            .attr("auto_upgrade", Attribute::optional_computed(Type::Bool))
            .attr("surge_upgrade", Attribute::optional_computed(Type::Bool))
            .attr(
                "ha",
                Attribute::optional_computed(Type::Bool)
                    .describe("A highly available control plane; it cannot be turned off once on."),
            )
            .attr("id", Attribute::computed(string()))
            .attr(
                "endpoint",
                Attribute::computed(string()).describe("The URL of the Kubernetes API server."),
            )
            .attr(
                "status",
                Attribute::computed(string())
                    .describe("provisioning, running, degraded, error, upgrading, deleting, ..."),
            )
            .attr("urn", Attribute::computed(string()))
            .attr("cluster_subnet", Attribute::computed(string()))
            .attr("service_subnet", Attribute::computed(string()))
            .attr("ipv4_address", Attribute::computed(string()))
            .attr("created_at", Attribute::computed(string()))
            .attr("updated_at", Attribute::computed(string()))
            .attr(
                "kubeconfig",
                Attribute::computed(string())
                    .sensitive()
                    .describe("A kubeconfig (YAML) with the cluster's credentials."),
            )
            .attr(
                "cluster_ca_certificate",
                Attribute::computed(string()).describe(
                    "The base64-encoded certificate of the cluster's certificate authority.",
                ),
            )
            .block(
                "node_pool",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 1,
                    max_items: Some(1),
                    force_new: false,
                    block: node_pool,
                },
            ),
    }
}

fn kubernetes_node_pool() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "An additional node pool of a DigitalOcean Kubernetes cluster.".into(),
        block: node_pool_attributes(
            BlockSchema::default()
                .attr("cluster_id", Attribute::required(string()).force_new())
                .attr("name", Attribute::required(string()).force_new())
                .attr("size", Attribute::required(string()).force_new()),
        ),
    }
}

fn database_cluster() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A managed database cluster (PostgreSQL, MySQL, Valkey, ...).".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(string()).force_new())
            .attr(
                "engine",
                Attribute::required(string())
                    .force_new()
                    .describe("pg, mysql, valkey, mongodb, kafka, opensearch, ..."),
            )
            .attr(
                "version",
                Attribute::required(string())
                    .describe("The engine's major version; raising it upgrades in place."),
            )
            .attr(
                "size",
                Attribute::required(string())
                    .describe("A size slug such as db-s-1vcpu-1gb; resized in place."),
            )
            .attr("region", Attribute::required(string()).force_new())
            .attr(
                "node_count",
                Attribute::required(Type::Number).describe("1 to 3 nodes; resized in place."),
            )
            .attr(
                "private_network_uuid",
                Attribute::optional_computed(string()).force_new().describe(
                    "The VPC to place the cluster in; the region's default VPC when unset.",
                ),
            )
            .attr(
                "tags",
                Attribute::optional(Type::list(string()))
                    .force_new()
                    .describe("The database API cannot change tags of an existing cluster."),
            )
            .attr("id", Attribute::computed(string()))
            .attr("urn", Attribute::computed(string()))
            .attr("status", Attribute::computed(string()))
            .attr("created_at", Attribute::computed(string()))
            .attr("host", Attribute::computed(string()))
            .attr("private_host", Attribute::computed(string()))
            .attr("port", Attribute::computed(Type::Number))
            .attr("user", Attribute::computed(string()))
            .attr("database", Attribute::computed(string()))
            .attr("password", Attribute::computed(string()).sensitive())
            .attr("uri", Attribute::computed(string()).sensitive())
            .attr("private_uri", Attribute::computed(string()).sensitive()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::Path;

    #[test]
    fn every_type_is_named_after_the_provider_and_declares_an_id() {
        let schema = provider_schema();
        assert_eq!(schema.resources.len(), 4);
        for (name, r) in &schema.resources {
            assert!(name.starts_with("digitalocean_"), "{name}");
            assert!(r.block.attributes["id"].presence == strata_core::schema::Presence::Computed);
        }
    }

    #[test]
    fn secrets_are_sensitive_and_replacement_follows_the_api() {
        let cluster = resource(KUBERNETES_CLUSTER).unwrap().block;
        let at =
            |b: &BlockSchema, p: &str| b.attribute_at(&Path::parse(p).unwrap()).cloned().unwrap();
        assert!(at(&cluster, "kubeconfig").sensitive);
        assert!(at(&cluster, "node_pool[0].size").force_new);
        assert!(!at(&cluster, "node_pool[0].max_nodes").force_new);
        assert!(!at(&cluster, "version").force_new);
        assert_eq!(cluster.blocks["node_pool"].max_items, Some(1));

        let db = resource(DATABASE_CLUSTER).unwrap().block;
        for secret in ["password", "uri", "private_uri"] {
            assert!(at(&db, secret).sensitive, "{secret}");
        }
        assert!(!at(&db, "size").force_new && !at(&db, "node_count").force_new);
        assert!(at(&db, "engine").force_new);
        assert!(resource(VPC).unwrap().block.attributes["region"].force_new);
        assert!(schema_has_sensitive_token());
    }

    fn schema_has_sensitive_token() -> bool {
        provider_schema().provider.attributes["token"].sensitive
    }
}
