//! The provider's resource types. Attribute names follow Terraform's `azurerm` provider
//! (`azurerm_kubernetes_cluster`, `azurerm_kubernetes_cluster_node_pool`,
//! `azurerm_postgresql_flexible_server`) so that its users' configurations carry over.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

pub const RESOURCE_GROUP: &str = "azure_resource_group";
pub const AKS_CLUSTER: &str = "azure_aks_cluster";
pub const AKS_NODE_POOL: &str = "azure_aks_node_pool";
pub const POSTGRES_FLEXIBLE_SERVER: &str = "azure_postgres_flexible_server";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema
        .resources
        .insert(RESOURCE_GROUP.into(), resource_group());
    schema.resources.insert(AKS_CLUSTER.into(), aks_cluster());
    schema
        .resources
        .insert(AKS_NODE_POOL.into(), aks_node_pool());
    schema
        .resources
        .insert(POSTGRES_FLEXIBLE_SERVER.into(), postgres_flexible_server());
    schema
}

/// The schema of one resource type.
pub(crate) fn resource(type_name: &str) -> Option<ResourceSchema> {
    provider_schema().resources.remove(type_name)
}

fn provider_block() -> BlockSchema {
    let s = || Attribute::optional(Type::String);
    BlockSchema::default()
        .attr(
            "subscription_id",
            s().describe("The subscription; defaults to $AZURE_SUBSCRIPTION_ID, then $ARM_SUBSCRIPTION_ID."),
        )
        .attr(
            "tenant_id",
            s().describe("The Microsoft Entra tenant; defaults to $AZURE_TENANT_ID, then $ARM_TENANT_ID."),
        )
        .attr(
            "client_id",
            s().describe("The service principal's application id; defaults to $AZURE_CLIENT_ID, then $ARM_CLIENT_ID."),
        )
        .attr(
            "client_secret",
            s().sensitive().describe(
                "The service principal's secret; defaults to $AZURE_CLIENT_SECRET, then $ARM_CLIENT_SECRET.",
            ),
        )
        .attr(
            "endpoint",
            s().describe("ARM's base URL; defaults to $AZURE_RESOURCE_MANAGER_ENDPOINT, then https://management.azure.com. Plain http:// only on loopback."),
        )
        .attr(
            "authority_host",
            s().describe("The Microsoft Entra authority; defaults to $AZURE_AUTHORITY_HOST, then https://login.microsoftonline.com. Plain http:// only on loopback."),
        )
}

fn string() -> Type {
    Type::String
}

fn tags() -> Attribute {
    Attribute::optional(Type::map(string())).describe("Azure tags; changed in place.")
}

fn resource_group() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A resource group: the container of the other resources.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(string()).force_new())
            .attr(
                "location",
                Attribute::required(string())
                    .force_new()
                    .describe("An Azure region such as westeurope."),
            )
            .attr("tags", tags())
            .attr("id", Attribute::computed(string())),
    }
}

/// The attributes a node pool has both as a cluster's `default_node_pool` and as a resource.
fn pool_attributes(block: BlockSchema) -> BlockSchema {
    block
        .attr(
            "name",
            Attribute::required(string())
                .force_new()
                .describe("Lowercase letters and digits, at most 12 characters."),
        )
        .attr(
            "vm_size",
            Attribute::required(string())
                .force_new()
                .describe("A VM size such as Standard_B2s."),
        )
        .attr(
            "node_count",
            Attribute::optional_computed(Type::Number)
                .describe("Nodes wanted; with autoscaling, the autoscaler moves it between min_count and max_count."),
        )
        .attr("enable_auto_scaling", Attribute::optional(Type::Bool))
        .attr("min_count", Attribute::optional(Type::Number))
        .attr("max_count", Attribute::optional(Type::Number))
        .attr(
            "node_labels",
            Attribute::optional(Type::map(string()))
                .describe("Kubernetes labels on every node of the pool."),
        )
        .attr(
            "orchestrator_version",
            Attribute::optional_computed(string())
                .describe("The pool's Kubernetes version; raising it upgrades the pool in place."),
        )
        .attr("tags", tags())
}

fn aks_cluster() -> ResourceSchema {
    let default_pool = pool_attributes(BlockSchema::default());
    // The network of a cluster is fixed at creation.
    let network = BlockSchema::default()
        .attr(
            "network_plugin",
            Attribute::optional_computed(string())
                .force_new()
                .describe("azure, kubenet or none."),
        )
        .attr(
            "network_policy",
            Attribute::optional(string())
                .force_new()
                .describe("azure, calico or cilium."),
        )
        .attr(
            "service_cidr",
            Attribute::optional_computed(string()).force_new(),
        )
        .attr(
            "dns_service_ip",
            Attribute::optional_computed(string()).force_new(),
        )
        .attr(
            "pod_cidr",
            Attribute::optional_computed(string()).force_new(),
        )
        .attr(
            "load_balancer_sku",
            Attribute::optional_computed(string()).force_new(),
        );
    let identity = BlockSchema::default().attr(
        "type",
        Attribute::required(string())
            .describe("SystemAssigned (the only type this provider manages)."),
    );
    ResourceSchema {
        version: 0,
        description: "An AKS managed cluster with its system node pool.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(string()).force_new())
            .attr("resource_group_name", Attribute::required(string()).force_new())
            .attr("location", Attribute::required(string()).force_new())
            .attr(
                "dns_prefix",
                Attribute::required(string())
                    .force_new()
                    .describe("The prefix of the API server's DNS name."),
            )
            .attr(
                "kubernetes_version",
                Attribute::optional_computed(string()).describe(
                    "The control plane's version, such as 1.33; raising it upgrades in place (a pool that followed it is upgraded too).",
                ),
            )
            .attr("tags", tags())
            .attr("id", Attribute::computed(string()))
            .attr("fqdn", Attribute::computed(string()).describe("The API server's DNS name."))
            .attr(
                "host",
                Attribute::computed(string()).describe("The URL of the Kubernetes API server."),
            )
            .attr(
                "cluster_ca_certificate",
                Attribute::computed(string()).describe(
                    "The base64-encoded certificate of the cluster's certificate authority.",
                ),
            )
            .attr(
                "kube_config_raw",
                Attribute::computed(string())
                    .sensitive()
                    .describe("A kubeconfig (YAML) with the cluster user's credentials."),
            )
            .attr("node_resource_group", Attribute::computed(string()))
            .attr("current_kubernetes_version", Attribute::computed(string()))
            .block(
                "default_node_pool",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 1,
                    max_items: Some(1),
                    force_new: false,
                    block: default_pool,
                },
            )
            .block(
                "identity",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: Some(1),
                    force_new: true,
                    block: identity,
                },
            )
            .block(
                "network_profile",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: Some(1),
                    force_new: true,
                    block: network,
                },
            ),
    }
}

fn aks_node_pool() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "An additional node pool of an AKS cluster.".into(),
        block: pool_attributes(BlockSchema::default())
            .attr(
                "kubernetes_cluster_id",
                Attribute::required(string())
                    .force_new()
                    .describe("The id of the azure_aks_cluster."),
            )
            .attr(
                "mode",
                Attribute::optional_computed(string())
                    .describe("User (the default) or System; changed in place."),
            )
            .attr(
                "node_taints",
                Attribute::optional(Type::list(string()))
                    .describe("Taints such as workload=backend:NoSchedule."),
            )
            .attr("id", Attribute::computed(string())),
    }
}

fn postgres_flexible_server() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "An Azure Database for PostgreSQL flexible server.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(string()).force_new())
            .attr("resource_group_name", Attribute::required(string()).force_new())
            .attr("location", Attribute::required(string()).force_new())
            .attr(
                "version",
                Attribute::required(string())
                    .describe("The PostgreSQL major version, 12 to 17; raising it upgrades in place."),
            )
            .attr(
                "sku_name",
                Attribute::required(string()).describe(
                    "TIER_SIZE: B_Standard_B1ms (Burstable), GP_Standard_D2s_v3 (GeneralPurpose), MO_… (MemoryOptimized); resized in place.",
                ),
            )
            .attr(
                "storage_mb",
                Attribute::optional_computed(Type::Number).describe(
                    "32768 (32 GiB) to 33553408; grows in place, shrinking replaces the server.",
                ),
            )
            .attr("administrator_login", Attribute::required(string()).force_new())
            .attr(
                "administrator_password",
                Attribute::required(string())
                    .sensitive()
                    .describe("Changed in place; never read back from Azure."),
            )
            .attr(
                "backup_retention_days",
                Attribute::optional_computed(Type::Number).describe("7 to 35 days."),
            )
            .attr(
                "geo_redundant_backup_enabled",
                Attribute::optional(Type::Bool).force_new(),
            )
            .attr("tags", tags())
            .attr("id", Attribute::computed(string()))
            .attr("fqdn", Attribute::computed(string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::Path;

    #[test]
    fn replacement_and_secrets_follow_the_api() {
        let schema = provider_schema();
        assert_eq!(schema.resources.len(), 4);
        for (name, r) in &schema.resources {
            assert!(name.starts_with("azure_"), "{name}");
            assert!(r.block.attributes["id"].presence == strata_core::schema::Presence::Computed);
        }
        let at = |t: &str, p: &str| {
            resource(t)
                .unwrap()
                .block
                .attribute_at(&Path::parse(p).unwrap())
                .cloned()
                .unwrap()
        };
        assert!(at(AKS_CLUSTER, "kube_config_raw").sensitive);
        assert!(!at(AKS_CLUSTER, "kubernetes_version").force_new);
        assert!(at(AKS_CLUSTER, "default_node_pool[0].vm_size").force_new);
        assert!(!at(AKS_CLUSTER, "default_node_pool[0].max_count").force_new);
        assert!(at(AKS_CLUSTER, "network_profile[0].network_plugin").force_new);
        assert!(!at(AKS_NODE_POOL, "node_count").force_new);
        assert!(at(AKS_NODE_POOL, "vm_size").force_new);
        assert!(at(POSTGRES_FLEXIBLE_SERVER, "administrator_password").sensitive);
        assert!(!at(POSTGRES_FLEXIBLE_SERVER, "sku_name").force_new);
        assert!(provider_schema().provider.attributes["client_secret"].sensitive);
    }
}
