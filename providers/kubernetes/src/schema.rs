//! The provider block and the two resource types.

use strata_core::schema::{Attribute, BlockSchema, ProviderSchema, ResourceSchema, Type};

pub const MANIFEST: &str = "kubernetes_manifest";
pub const MANIFESTS: &str = "kubernetes_manifests";

/// How long a rollout may take unless `timeout_seconds` says otherwise.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema.resources.insert(MANIFEST.into(), manifest());
    schema.resources.insert(MANIFESTS.into(), manifests());
    schema
}

fn provider_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "kubeconfig",
            Attribute::optional(Type::String).sensitive().describe(
                "The kubeconfig's YAML text (typically dependency.base.outputs.kubeconfig); without it, $KUBECONFIG or ~/.kube/config.",
            ),
        )
        .attr(
            "context",
            Attribute::optional(Type::String)
                .describe("The kubeconfig context to use; defaults to its current-context."),
        )
        .attr(
            "endpoint",
            Attribute::optional(Type::String)
                .describe("Overrides the API server URL of the kubeconfig's cluster."),
        )
}

/// Attributes both resource types share: how to wait for workloads.
fn with_rollout(block: BlockSchema) -> BlockSchema {
    block
        .attr(
            "wait_for_rollout",
            Attribute::optional(Type::Bool).describe(
                "Wait until Deployments and StatefulSets have every replica ready (default true).",
            ),
        )
        .attr(
            "timeout_seconds",
            Attribute::optional(Type::Number).describe(format!(
                "How long a rollout may take before the apply fails (default {DEFAULT_TIMEOUT_SECONDS})."
            )),
        )
        .attr("id", Attribute::computed(Type::String))
}

fn manifest() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "One Kubernetes object, applied with server-side apply.".into(),
        block: with_rollout(
            BlockSchema::default()
                .attr(
                    "manifest",
                    Attribute::required(Type::Any).describe(
                        "The object as a map, e.g. yamldecode(file(\"deployment.yaml\")).",
                    ),
                )
                .attr(
                    "object",
                    Attribute::computed(Type::Any).describe(
                        "The object as the cluster holds it, without status and bookkeeping metadata.",
                    ),
                )
                .attr("uid", Attribute::computed(Type::String)),
        ),
    }
}

fn manifests() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "Every YAML document of a folder, applied in dependency order; objects removed from the folder are deleted.".into(),
        block: with_rollout(
            BlockSchema::default()
                .attr(
                    "path",
                    Attribute::required(Type::String)
                        .file_path()
                        .describe("The folder of *.yaml / *.yml files, relative to the stack."),
                )
                .attr(
                    "objects",
                    Attribute::computed(Type::list(Type::String)).describe(
                        "The applied objects as \"apiVersion/kind/namespace/name\".",
                    ),
                )
                .attr(
                    "digest",
                    Attribute::computed(Type::String)
                        .describe("sha256 of the folder's documents: any edit shows as a change."),
                ),
        ),
    }
}
