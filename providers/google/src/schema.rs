//! The provider's resource types. Names follow Terraform's `google` provider
//! (`google_container_cluster`, `google_container_node_pool`, `google_sql_database_instance`)
//! so that its users' configurations carry over.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

pub const GKE_CLUSTER: &str = "google_gke_cluster";
pub const GKE_NODE_POOL: &str = "google_gke_node_pool";
pub const SQL_INSTANCE: &str = "google_sql_instance";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema.resources.insert(GKE_CLUSTER.into(), gke_cluster());
    schema
        .resources
        .insert(GKE_NODE_POOL.into(), gke_node_pool());
    schema.resources.insert(SQL_INSTANCE.into(), sql_instance());
    schema
}

fn s() -> Type {
    Type::String
}

fn single(block: BlockSchema) -> NestedBlock {
    NestedBlock {
        nesting: Nesting::Single,
        min_items: 0,
        max_items: Some(1),
        force_new: false,
        block,
    }
}

fn provider_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "project",
            Attribute::optional(s()).describe(
                "The default project; defaults to $GOOGLE_PROJECT, $GOOGLE_CLOUD_PROJECT, then $CLOUDSDK_CORE_PROJECT.",
            ),
        )
        .attr(
            "region",
            Attribute::optional(s()).describe("The default region; defaults to $GOOGLE_REGION."),
        )
        .attr(
            "location",
            Attribute::optional(s()).describe("Another name for region."),
        )
        .attr(
            "credentials",
            Attribute::optional(s()).sensitive().describe(
                "A service account key or authorized_user file, as a path or as its JSON; defaults to $GOOGLE_APPLICATION_CREDENTIALS, then the gcloud application default credentials file.",
            ),
        )
        .attr(
            "endpoint",
            Attribute::optional(s()).describe(
                "The GKE API's base URL; defaults to $GOOGLE_CONTAINER_CUSTOM_ENDPOINT, then https://container.googleapis.com. Plain http:// only on loopback.",
            ),
        )
        .attr(
            "sql_endpoint",
            Attribute::optional(s()).describe(
                "The Cloud SQL Admin API's base URL; defaults to $GOOGLE_SQL_CUSTOM_ENDPOINT, then https://sqladmin.googleapis.com. Plain http:// only on loopback.",
            ),
        )
}

fn gke_cluster() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A GKE Standard cluster: its control plane and, unless removed, a default node pool.".into(),
        block: BlockSchema::default()
            .attr(
                "name",
                Attribute::required(s()).force_new().describe(
                    "Unique in the project and location: lower-case letters, digits and dashes, at most 40.",
                ),
            )
            .attr(
                "location",
                Attribute::required(s())
                    .force_new()
                    .describe("A region (regional cluster) or a zone (zonal cluster)."),
            )
            .attr(
                "project",
                Attribute::optional_computed(s())
                    .force_new()
                    .describe("Defaults to the provider's project."),
            )
            .attr(
                "network",
                Attribute::optional_computed(s())
                    .force_new()
                    .describe("The VPC network; GKE uses `default` when unset."),
            )
            .attr(
                "subnetwork",
                Attribute::optional_computed(s()).force_new(),
            )
            .attr(
                "min_master_version",
                Attribute::optional(s()).describe(
                    "The control plane's minimum Kubernetes version; raising it upgrades the control plane in place.",
                ),
            )
            .attr(
                "initial_node_count",
                Attribute::optional(Type::Number)
                    .force_new()
                    .describe("Nodes per zone of the default node pool, at creation."),
            )
            .attr(
                "remove_default_node_pool",
                Attribute::optional(Type::Bool).describe(
                    "Delete the default node pool right after creation, to manage pools as google_gke_node_pool resources.",
                ),
            )
            .attr(
                "resource_labels",
                Attribute::optional(Type::map(s()))
                    .describe("Labels on the cluster's Google Cloud resources; changed in place."),
            )
            .block(
                "release_channel",
                single(BlockSchema::default().attr(
                    "channel",
                    Attribute::required(s()).describe(
                        "UNSPECIFIED, RAPID, REGULAR, STABLE or EXTENDED; changed in place.",
                    ),
                )),
            )
            .attr("id", Attribute::computed(s()).describe("projects/P/locations/L/clusters/N."))
            .attr("endpoint", Attribute::computed(s()).describe("The control plane's address."))
            .attr(
                "master_version",
                Attribute::computed(s()).describe("The control plane's current Kubernetes version."),
            )
            .attr(
                "cluster_ca_certificate",
                Attribute::computed(s()).describe("The cluster's CA certificate, base64-encoded PEM."),
            )
            .attr("self_link", Attribute::computed(s()))
            .attr("status", Attribute::computed(s()))
            .attr(
                "kubeconfig",
                Attribute::computed(s()).sensitive().describe(
                    "A kubeconfig whose user authenticates with a bearer token from the provider's Google credentials, fresh at every read (it lasts about an hour).",
                ),
            ),
    }
}

fn gke_node_pool() -> ResourceSchema {
    let taint = BlockSchema::default()
        .attr("key", Attribute::required(s()))
        .attr("value", Attribute::optional(s()))
        .attr(
            "effect",
            Attribute::required(s()).describe("NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE."),
        );
    let node_config = BlockSchema::default()
        .attr(
            "machine_type",
            Attribute::optional_computed(s())
                .describe("e2-medium when unset; changed in place (the nodes are recreated)."),
        )
        .attr(
            "disk_size_gb",
            Attribute::optional_computed(Type::Number)
                .describe("100 when unset; changed in place."),
        )
        .attr(
            "labels",
            Attribute::optional(Type::map(s()))
                .describe("Kubernetes labels on every node; changed in place."),
        )
        .block(
            "taint",
            NestedBlock {
                nesting: Nesting::List,
                min_items: 0,
                max_items: None,
                force_new: false,
                block: taint,
            },
        );
    let autoscaling = BlockSchema::default()
        .attr("min_node_count", Attribute::required(Type::Number))
        .attr("max_node_count", Attribute::required(Type::Number));
    ResourceSchema {
        version: 0,
        description: "A node pool of a GKE cluster.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(s()).force_new())
            .attr(
                "cluster",
                Attribute::required(s())
                    .force_new()
                    .describe("The cluster's name or id (projects/P/locations/L/clusters/N)."),
            )
            .attr(
                "location",
                Attribute::optional_computed(s()).force_new().describe(
                    "The cluster's location; taken from an id in cluster, else required.",
                ),
            )
            .attr("project", Attribute::optional_computed(s()).force_new())
            .attr(
                "initial_node_count",
                Attribute::optional(Type::Number)
                    .force_new()
                    .describe("Nodes per zone at creation, when node_count is unset."),
            )
            .attr(
                "node_count",
                Attribute::optional_computed(Type::Number).describe(
                    "Nodes per zone; resized in place (setSize). Leave unset with autoscaling.",
                ),
            )
            .attr(
                "version",
                Attribute::optional_computed(s())
                    .describe("The nodes' Kubernetes version; upgraded in place."),
            )
            .block("autoscaling", single(autoscaling))
            .block("node_config", single(node_config))
            .attr("id", Attribute::computed(s()))
            .attr("status", Attribute::computed(s()))
            .attr("instance_group_urls", Attribute::computed(Type::list(s()))),
    }
}

fn sql_instance() -> ResourceSchema {
    let settings = BlockSchema::default()
        .attr(
            "tier",
            Attribute::required(s()).describe(
                "The machine tier, e.g. db-custom-2-7680 or db-f1-micro; changed in place.",
            ),
        )
        .attr(
            "disk_size",
            Attribute::optional_computed(Type::Number)
                .describe("GB of storage; may only grow, in place."),
        )
        .attr(
            "availability_type",
            Attribute::optional_computed(s())
                .describe("ZONAL or REGIONAL (high availability); changed in place."),
        )
        .attr("user_labels", Attribute::optional(Type::map(s())));
    ResourceSchema {
        version: 0,
        description: "A Cloud SQL instance (PostgreSQL).".into(),
        block: BlockSchema::default()
            .attr(
                "name",
                Attribute::required(s())
                    .force_new()
                    .describe("Unique in the project; a name cannot be reused for about a week after deletion."),
            )
            .attr(
                "database_version",
                Attribute::required(s())
                    .force_new()
                    .describe("POSTGRES_16, POSTGRES_15..."),
            )
            .attr(
                "region",
                Attribute::optional_computed(s())
                    .force_new()
                    .describe("Defaults to the provider's region."),
            )
            .attr("project", Attribute::optional_computed(s()).force_new())
            .attr(
                "deletion_protection",
                Attribute::optional(Type::Bool).describe(
                    "When true, Google refuses to delete the instance; set it false and apply before destroying.",
                ),
            )
            .attr(
                "root_password",
                Attribute::optional(s()).sensitive().describe(
                    "The password of the postgres user; changed in place.",
                ),
            )
            .block(
                "settings",
                NestedBlock {
                    min_items: 1,
                    ..single(settings)
                },
            )
            .attr("id", Attribute::computed(s()))
            .attr(
                "connection_name",
                Attribute::computed(s()).describe("PROJECT:REGION:NAME, for the Cloud SQL connectors."),
            )
            .attr(
                "public_ip_address",
                Attribute::computed(s()),
            )
            .attr(
                "private_ip_address",
                Attribute::computed(s()),
            )
            .attr("self_link", Attribute::computed(s()))
            .attr("state", Attribute::computed(s())),
    }
}
