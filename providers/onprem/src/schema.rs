//! The provider's schema: its block and the `onprem_k3s_cluster` resource.

use strata_core::schema::{
    Attribute, BlockSchema, NestedBlock, Nesting, ProviderSchema, ResourceSchema, Type,
};

/// A k3s cluster installed over SSH on hosts the user owns.
pub const K3S_CLUSTER: &str = "onprem_k3s_cluster";

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema {
        provider: BlockSchema::default()
            .attr(
                "ssh_config",
                Attribute::optional(Type::String)
                    .describe("An OpenSSH client configuration whose Host entries apply to host addresses ($STRATA_ONPREM_SSH_CONFIG)."),
            )
            .attr(
                "known_hosts",
                Attribute::optional(Type::String)
                    .describe("The known_hosts file host keys are checked against (default ~/.ssh/known_hosts, or $STRATA_ONPREM_KNOWN_HOSTS)."),
            )
            .attr(
                "connect_timeout_seconds",
                Attribute::optional(Type::Number)
                    .describe("How long a refused or dropped SSH connection is retried (default 30)."),
            ),
        ..ProviderSchema::default()
    };
    schema
        .resources
        .insert(K3S_CLUSTER.into(), cluster_schema());
    schema
}

fn host_block() -> BlockSchema {
    BlockSchema::default()
        .attr(
            "address",
            Attribute::required(Type::String)
                .describe("Host name, IP address or ssh_config alias; also the name other hosts join through."),
        )
        .attr("port", Attribute::optional(Type::Number).describe("SSH port (default 22, or the ssh_config Port)."))
        .attr("user", Attribute::optional(Type::String).describe("Login user (default root, or the ssh_config User); other users run commands through sudo -n."))
        .attr(
            "private_key",
            Attribute::optional(Type::String)
                .sensitive()
                .describe("The private key's text (OpenSSH or PEM)."),
        )
        .attr(
            "private_key_file",
            Attribute::optional(Type::String)
                .file_path()
                .describe("A private key file; without a key the ssh_config IdentityFile, the agent ($SSH_AUTH_SOCK) and ~/.ssh/id_* are tried."),
        )
        .attr("role", Attribute::required(Type::String).describe("server or agent."))
}

fn cluster_schema() -> ResourceSchema {
    let block = BlockSchema::default()
        .attr(
            "name",
            Attribute::required(Type::String)
                .force_new()
                .describe("The cluster's name, its id."),
        )
        .attr(
            "k3s_version",
            Attribute::required(Type::String)
                .describe("The pinned k3s release, e.g. v1.30.4+k3s1; changing it is a rolling upgrade."),
        )
        .attr(
            "token",
            Attribute::optional_computed(Type::String)
                .sensitive()
                .force_new()
                .describe("The join token; generated when not given."),
        )
        .attr(
            "install",
            Attribute::optional(Type::String)
                .describe("online (the get.k3s.io script, the default) or airgap (airgap_binary and airgap_script uploaded over SSH)."),
        )
        .attr(
            "airgap_binary",
            Attribute::optional(Type::String)
                .file_path()
                .describe("The k3s binary to upload for an air-gapped install."),
        )
        .attr(
            "airgap_script",
            Attribute::optional(Type::String)
                .file_path()
                .describe("The k3s install script (install.sh) to upload for an air-gapped install."),
        )
        .attr(
            "known_hosts",
            Attribute::optional(Type::String)
                .file_path()
                .describe("The known_hosts file for these hosts (default: the provider's)."),
        )
        .attr(
            "host_keys",
            Attribute::optional(Type::map(Type::String))
                .describe("Pinned host keys by address: `ssh-ed25519 AAAA…` or `SHA256:…`; they replace known_hosts for those hosts."),
        )
        .attr(
            "kubeconfig",
            Attribute::computed(Type::String)
                .sensitive()
                .describe("The cluster's admin kubeconfig, its API address rewritten to the first server."),
        )
        .attr(
            "api_endpoint",
            Attribute::computed(Type::String).describe("The Kubernetes API URL."),
        )
        .attr(
            "nodes",
            Attribute::computed(Type::list(Type::String)).describe("The names of the cluster's nodes."),
        )
        .attr(
            "installed",
            Attribute::computed(Type::Any)
                .describe("Per host address, the role and k3s version installed on it: what the next apply resumes from."),
        )
        .attr(
            "hosts",
            Attribute::optional(Type::list(Type::Any)).describe(
                "More hosts as a list of objects with the fields of a host block (private_key excepted), for lists built with for expressions.",
            ),
        )
        .block(
            "host",
            NestedBlock {
                nesting: Nesting::List,
                min_items: 0,
                max_items: None,
                force_new: false,
                block: host_block(),
            },
        );
    ResourceSchema {
        version: 0,
        description: "A k3s cluster installed over SSH: servers first, then agents.".into(),
        block,
    }
}
