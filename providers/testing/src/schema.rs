//! The resource types of the testing cloud.
//!
//! They are shaped like the real things the engine must handle: a small object with in-place,
//! force-new and sensitive attributes (`testing_thing`), and a cluster with a nested list block
//! whose attributes are partly force-new (`testing_cluster`), plus one data source.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

pub const THING: &str = "testing_thing";
pub const CLUSTER: &str = "testing_cluster";
pub const LOOKUP: &str = "testing_lookup";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: provider_block(),
        ..ProviderSchema::default()
    };
    schema.resources.insert(THING.into(), thing());
    schema.resources.insert(CLUSTER.into(), cluster());
    schema.data_sources.insert(LOOKUP.into(), lookup());
    schema
}

fn provider_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "dir",
            Attribute::optional(Type::String)
                .describe("The folder that holds the objects; defaults to $STRATA_TESTING_DIR."),
        )
        .attr(
            "latency_ms",
            Attribute::optional(Type::Number).describe(
                "Milliseconds every create, update and delete takes; $STRATA_TESTING_LATENCY_MS overrides it.",
            ),
        )
        .attr(
            "fail_on",
            Attribute::optional(Type::list(Type::String)).describe(
                "Names of objects whose create or update fails; $STRATA_TESTING_FAIL_ON (comma separated) adds to it.",
            ),
        )
}

fn thing() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "A small object with in-place, force-new and sensitive attributes.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("size", Attribute::optional(Type::Number))
            .attr("tags", Attribute::optional(Type::map(Type::String)))
            .attr("password", Attribute::optional(Type::String).sensitive())
            .attr(
                "secret",
                Attribute::computed(Type::String)
                    .sensitive()
                    .describe("Generated on create."),
            )
            .attr("id", Attribute::computed(Type::String))
            .attr("created_at", Attribute::computed(Type::String)),
    }
}

fn cluster() -> ResourceSchema {
    let node_pool = BlockSchema::default()
        .attr("name", Attribute::required(Type::String))
        .attr("size", Attribute::required(Type::String).force_new())
        .attr("min_nodes", Attribute::optional(Type::Number))
        .attr("max_nodes", Attribute::optional(Type::Number))
        .attr("node_count", Attribute::optional(Type::Number));
    ResourceSchema {
        version: 0,
        description: "A cluster with node pools, some of whose attributes force replacement."
            .into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("region", Attribute::required(Type::String).force_new())
            .attr("version", Attribute::optional(Type::String))
            .attr("endpoint", Attribute::computed(Type::String))
            .attr("kubeconfig", Attribute::computed(Type::String).sensitive())
            .attr("id", Attribute::computed(Type::String))
            .block(
                "node_pool",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 1,
                    max_items: None,
                    force_new: false,
                    block: node_pool,
                },
            ),
    }
}

fn lookup() -> ResourceSchema {
    ResourceSchema {
        version: 0,
        description: "Returns \"value-of-<name>\" for any name.".into(),
        block: BlockSchema::default()
            .attr("name", Attribute::required(Type::String))
            .attr("value", Attribute::computed(Type::String)),
    }
}
