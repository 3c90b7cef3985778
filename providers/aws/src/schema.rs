//! The provider's resource types. Names follow Terraform's `aws` provider (`aws_eks_cluster`,
//! `aws_eks_node_group`, `aws_db_instance`) so that its users' configurations carry over.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

pub const EKS_CLUSTER: &str = "aws_eks_cluster";
pub const EKS_NODE_GROUP: &str = "aws_eks_node_group";
pub const DB_INSTANCE: &str = "aws_db_instance";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema.resources.insert(EKS_CLUSTER.into(), eks_cluster());
    schema
        .resources
        .insert(EKS_NODE_GROUP.into(), eks_node_group());
    schema.resources.insert(DB_INSTANCE.into(), db_instance());
    schema
}

/// The schema of one resource type.
pub(crate) fn resource(type_name: &str) -> Option<ResourceSchema> {
    provider_schema().resources.remove(type_name)
}

fn string() -> Type {
    Type::String
}

fn strings() -> Type {
    Type::list(Type::String)
}

fn single(block: BlockSchema) -> NestedBlock {
    NestedBlock {
        nesting: Nesting::Single,
        min_items: 1,
        max_items: Some(1),
        force_new: false,
        block,
    }
}

fn provider_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "region",
            Attribute::optional(string()).describe(
                "The region; defaults to $AWS_REGION, then $AWS_DEFAULT_REGION, then the profile's region.",
            ),
        )
        .attr(
            "endpoint",
            Attribute::optional(string()).describe(
                "One base URL for every service (an AWS-compatible endpoint). Plain http:// only on loopback.",
            ),
        )
        .block(
            "endpoints",
            NestedBlock {
                nesting: Nesting::Single,
                min_items: 0,
                max_items: Some(1),
                force_new: false,
                block: BlockSchema::default()
                    .attr(
                        "eks",
                        Attribute::optional(string())
                            .describe("The EKS endpoint; defaults to $AWS_ENDPOINT_URL_EKS."),
                    )
                    .attr(
                        "rds",
                        Attribute::optional(string())
                            .describe("The RDS endpoint; defaults to $AWS_ENDPOINT_URL_RDS."),
                    ),
            },
        )
}

fn eks_cluster() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "An Amazon EKS cluster (its control plane).".into(),
        block: BlockSchema::default()
            .attr(
                "name",
                Attribute::required(string())
                    .force_new()
                    .describe("Unique in the account and region: letters, digits, - and _."),
            )
            .attr(
                "role_arn",
                Attribute::required(string())
                    .force_new()
                    .describe("The IAM role the control plane uses (trusting eks.amazonaws.com)."),
            )
            .attr(
                "version",
                Attribute::optional_computed(string()).describe(
                    "The Kubernetes minor version (1.31); raising it by one upgrades in place.",
                ),
            )
            .attr(
                "tags",
                Attribute::optional(Type::map(string())).describe("Changed in place."),
            )
            .block(
                "vpc_config",
                single(
                    BlockSchema::default()
                        .attr(
                            "subnet_ids",
                            Attribute::required(strings())
                                .force_new()
                                .describe("At least two subnets in different availability zones."),
                        )
                        .attr(
                            "security_group_ids",
                            Attribute::optional(strings())
                                .describe("Extra security groups for the control plane's network interfaces; changed in place."),
                        )
                        .attr(
                            "endpoint_public_access",
                            Attribute::optional_computed(Type::Bool)
                                .describe("Whether the API server is reachable from the internet (default true); changed in place."),
                        )
                        .attr(
                            "endpoint_private_access",
                            Attribute::optional_computed(Type::Bool)
                                .describe("Whether the API server is reachable from inside the VPC (default false); changed in place."),
                        )
                        .attr(
                            "cluster_security_group_id",
                            Attribute::computed(string()),
                        )
                        .attr("vpc_id", Attribute::computed(string())),
                ),
            )
            .attr("id", Attribute::computed(string()).describe("The cluster's name."))
            .attr("arn", Attribute::computed(string()))
            .attr(
                "endpoint",
                Attribute::computed(string()).describe("The URL of the Kubernetes API server."),
            )
            .attr(
                "status",
                Attribute::computed(string())
                    .describe("CREATING, ACTIVE, UPDATING, DELETING, FAILED, ..."),
            )
            .attr("platform_version", Attribute::computed(string()))
            .attr("created_at", Attribute::computed(string()))
            .attr(
                "certificate_authority",
                Attribute::computed(Type::list(Type::map(string()))).describe(
                    "One element whose `data` is the base64 PEM of the cluster's certificate authority.",
                ),
            )
            .attr(
                "kubeconfig",
                Attribute::computed(string()).sensitive().describe(
                    "A kubeconfig (YAML) authenticating with a short-lived EKS token (15 minutes), signed at read time.",
                ),
            ),
    }
}

fn eks_node_group() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A managed node group of an EKS cluster.".into(),
        block: BlockSchema::default()
            .attr("cluster_name", Attribute::required(string()).force_new())
            .attr("node_group_name", Attribute::required(string()).force_new())
            .attr(
                "node_role_arn",
                Attribute::required(string())
                    .force_new()
                    .describe("The IAM role of the nodes (trusting ec2.amazonaws.com)."),
            )
            .attr("subnet_ids", Attribute::required(strings()).force_new())
            .attr(
                "instance_types",
                Attribute::optional_computed(strings())
                    .force_new()
                    .describe("EC2 instance types; t3.medium when unset."),
            )
            .attr(
                "disk_size",
                Attribute::optional_computed(Type::Number)
                    .force_new()
                    .describe("Root volume size in GiB; 20 when unset."),
            )
            .attr(
                "ami_type",
                Attribute::optional_computed(string())
                    .force_new()
                    .describe("AL2023_x86_64_STANDARD, BOTTLEROCKET_x86_64, ..."),
            )
            .attr(
                "capacity_type",
                Attribute::optional_computed(string())
                    .force_new()
                    .describe("ON_DEMAND (default) or SPOT."),
            )
            .attr(
                "version",
                Attribute::optional_computed(string()).describe(
                    "The nodes' Kubernetes version, at most the cluster's; upgraded in place.",
                ),
            )
            .attr(
                "release_version",
                Attribute::optional_computed(string())
                    .describe("The AMI release; upgraded in place."),
            )
            .attr(
                "labels",
                Attribute::optional(Type::map(string()))
                    .describe("Kubernetes labels of the nodes; changed in place."),
            )
            .attr(
                "tags",
                Attribute::optional(Type::map(string())).describe("Changed in place."),
            )
            .block(
                "scaling_config",
                single(
                    BlockSchema::default()
                        .attr(
                            "desired_size",
                            Attribute::required(Type::Number)
                                .describe("Nodes wanted now; changed in place."),
                        )
                        .attr(
                            "min_size",
                            Attribute::required(Type::Number).describe("Changed in place."),
                        )
                        .attr(
                            "max_size",
                            Attribute::required(Type::Number).describe("Changed in place."),
                        ),
                ),
            )
            .attr(
                "id",
                Attribute::computed(string()).describe("CLUSTER:NODE_GROUP, as Terraform's."),
            )
            .attr("arn", Attribute::computed(string()))
            .attr(
                "status",
                Attribute::computed(string())
                    .describe("CREATING, ACTIVE, UPDATING, DELETING, CREATE_FAILED, DEGRADED, ..."),
            ),
    }
}

fn db_instance() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "An Amazon RDS DB instance (PostgreSQL).".into(),
        block: BlockSchema::default()
            .attr(
                "identifier",
                Attribute::required(string())
                    .force_new()
                    .describe("Lower-case letters, digits and hyphens, starting with a letter."),
            )
            .attr(
                "engine",
                Attribute::required(string())
                    .force_new()
                    .describe("postgres."),
            )
            .attr(
                "engine_version",
                Attribute::optional_computed(string())
                    .describe("Such as 16.8; upgraded in place (a new major version too)."),
            )
            .attr(
                "instance_class",
                Attribute::required(string())
                    .describe("Such as db.t4g.micro; changed in place."),
            )
            .attr(
                "allocated_storage",
                Attribute::required(Type::Number)
                    .describe("GiB, 20 to 65536; grown in place (it cannot shrink)."),
            )
            .attr(
                "username",
                Attribute::required(string())
                    .force_new()
                    .describe("The master user's name."),
            )
            .attr(
                "password",
                Attribute::optional(string()).sensitive().describe(
                    "The master user's password (8 characters or more); changed in place. Not readable back.",
                ),
            )
            .attr(
                "db_name",
                Attribute::optional(string())
                    .force_new()
                    .describe("A database to create in the instance."),
            )
            .attr(
                "port",
                Attribute::optional_computed(Type::Number)
                    .force_new()
                    .describe("5432 when unset."),
            )
            .attr(
                "db_subnet_group_name",
                Attribute::optional(string()).force_new(),
            )
            .attr(
                "vpc_security_group_ids",
                Attribute::optional(strings()).force_new(),
            )
            .attr(
                "multi_az",
                Attribute::optional_computed(Type::Bool).force_new(),
            )
            .attr(
                "publicly_accessible",
                Attribute::optional_computed(Type::Bool).force_new(),
            )
            .attr(
                "storage_type",
                Attribute::optional_computed(string())
                    .force_new()
                    .describe("gp2 (default), gp3, io1, io2."),
            )
            .attr(
                "storage_encrypted",
                Attribute::optional_computed(Type::Bool).force_new(),
            )
            .attr(
                "deletion_protection",
                Attribute::optional_computed(Type::Bool)
                    .describe("While true the instance cannot be deleted; changed in place."),
            )
            .attr(
                "apply_immediately",
                Attribute::optional(Type::Bool).describe(
                    "Apply modifications now instead of in the next maintenance window (default false, as Terraform's).",
                ),
            )
            .attr(
                "skip_final_snapshot",
                Attribute::optional(Type::Bool).describe(
                    "Delete without a final snapshot (default false: final_snapshot_identifier is then needed).",
                ),
            )
            .attr(
                "final_snapshot_identifier",
                Attribute::optional(string())
                    .describe("The snapshot taken when the instance is deleted."),
            )
            .attr(
                "tags",
                Attribute::optional(Type::map(string()))
                    .force_new()
                    .describe("Set at creation; changing them replaces the instance."),
            )
            .attr(
                "id",
                Attribute::computed(string()).describe("The instance's identifier."),
            )
            .attr("arn", Attribute::computed(string()))
            .attr(
                "resource_id",
                Attribute::computed(string()).describe("The DbiResourceId (db-...)."),
            )
            .attr(
                "address",
                Attribute::computed(string()).describe("The host name to connect to."),
            )
            .attr(
                "endpoint",
                Attribute::computed(string()).describe("address:port."),
            )
            .attr("hosted_zone_id", Attribute::computed(string()))
            .attr(
                "status",
                Attribute::computed(string())
                    .describe("creating, available, modifying, deleting, ..."),
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::schema::Presence;
    use strata_core::Path;

    #[test]
    fn every_type_declares_a_computed_id_and_the_secrets_are_sensitive() {
        let schema = provider_schema();
        assert_eq!(schema.resources.len(), 3);
        for (name, r) in &schema.resources {
            assert!(name.starts_with("aws_"), "{name}");
            assert_eq!(r.block.attributes["id"].presence, Presence::Computed);
        }
        let at = |t: &str, p: &str| {
            resource(t)
                .unwrap()
                .block
                .attribute_at(&Path::parse(p).unwrap())
                .cloned()
                .unwrap()
        };
        assert!(at(EKS_CLUSTER, "kubeconfig").sensitive);
        assert!(at(DB_INSTANCE, "password").sensitive);
        assert!(!at(EKS_CLUSTER, "version").force_new);
        assert!(at(EKS_CLUSTER, "vpc_config.subnet_ids").force_new);
        assert!(!at(EKS_NODE_GROUP, "scaling_config.desired_size").force_new);
        assert!(at(EKS_NODE_GROUP, "instance_types").force_new);
        assert!(!at(DB_INSTANCE, "instance_class").force_new);
        assert!(at(DB_INSTANCE, "engine").force_new);
    }
}
