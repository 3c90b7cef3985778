//! Every command the provider runs on a host, in one place (the provider's documentation lists
//! them). None carries a secret: the token travels on standard input into a root-only file,
//! and k3s reads it from there (`--token-file`).

use crate::spec::Role;

/// Where the join token is kept on every host (mode 600, root only).
pub(crate) const TOKEN_FILE: &str = "/etc/rancher/k3s/cluster-token";
pub(crate) const K3S_BINARY: &str = "/usr/local/bin/k3s";
pub(crate) const INSTALL_SCRIPT: &str = "/usr/local/bin/k3s-install.sh";
pub(crate) const KUBECONFIG: &str = "/etc/rancher/k3s/k3s.yaml";

/// How commands get root: directly as root, else through `sudo -n` (never prompting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Privilege {
    Root,
    Sudo,
}

impl Privilege {
    pub fn for_user(user: &str) -> Privilege {
        if user == "root" {
            Privilege::Root
        } else {
            Privilege::Sudo
        }
    }

    /// `script` run by `sh` with root rights.
    pub fn shell(self, script: &str) -> String {
        let quoted = format!("'{}'", script.replace('\'', "'\\''"));
        match self {
            Privilege::Root => format!("sh -c {quoted}"),
            Privilege::Sudo => format!("sudo -n sh -c {quoted}"),
        }
    }

    /// A single command with root rights.
    pub fn root(self, command: &str) -> String {
        match self {
            Privilege::Root => command.to_string(),
            Privilege::Sudo => format!("sudo -n {command}"),
        }
    }
}

/// Stores standard input (the token) in [`TOKEN_FILE`].
pub(crate) fn write_token(p: Privilege) -> String {
    p.shell(&format!(
        "umask 077 && mkdir -p /etc/rancher/k3s && cat > {TOKEN_FILE}"
    ))
}

/// Stores standard input in `path`, executable (the air-gapped binary and script).
pub(crate) fn upload_executable(p: Privilege, path: &str) -> String {
    p.shell(&format!(
        "mkdir -p /usr/local/bin && cat > {path} && chmod 755 {path}"
    ))
}

/// What k3s is told: its role, and how it joins (`join` is the first server's address; `None`
/// for the first server, which initialises the cluster).
fn k3s_args(role: Role, join: Option<&str>) -> String {
    let mut args = role.as_str().to_string();
    match join {
        None => args.push_str(" --cluster-init"),
        Some(server) => args.push_str(&format!(" --server https://{server}:6443")),
    }
    args.push_str(&format!(" --token-file {TOKEN_FILE}"));
    args
}

/// Installs (or upgrades to) `version` with the get.k3s.io script.
pub(crate) fn install_online(
    p: Privilege,
    version: &str,
    role: Role,
    join: Option<&str>,
) -> String {
    p.shell(&format!(
        "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION={version} sh -s - {}",
        k3s_args(role, join)
    ))
}

/// Installs (or upgrades to) `version` from the uploaded binary and script.
pub(crate) fn install_airgap(
    p: Privilege,
    version: &str,
    role: Role,
    join: Option<&str>,
) -> String {
    p.shell(&format!(
        "INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_VERSION={version} sh {INSTALL_SCRIPT} {}",
        k3s_args(role, join)
    ))
}

pub(crate) const HOSTNAME: &str = "hostname";

pub(crate) fn is_active(role: Role) -> String {
    format!("systemctl is-active {}", role.service())
}

pub(crate) const VERSION: &str = "k3s --version";

pub(crate) fn read_kubeconfig(p: Privilege) -> String {
    p.root(&format!("cat {KUBECONFIG}"))
}

/// Where a server keeps the join token, as `K10<ca hash>::server:<token>`.
pub(crate) const NODE_TOKEN: &str = "/var/lib/rancher/k3s/server/node-token";

pub(crate) fn read_node_token(p: Privilege) -> String {
    p.root(&format!("cat {NODE_TOKEN}"))
}

/// The token part of a server's `node-token` file.
pub(crate) fn parse_node_token(text: &str) -> Option<String> {
    let token = text.trim().rsplit_once("::server:")?.1;
    (!token.is_empty()).then(|| token.to_string())
}

pub(crate) fn get_nodes(p: Privilege) -> String {
    p.root("k3s kubectl get nodes --no-headers")
}

pub(crate) fn drain(p: Privilege, node: &str) -> String {
    p.root(&format!(
        "k3s kubectl drain {node} --ignore-daemonsets --delete-emptydir-data --timeout=300s"
    ))
}

pub(crate) fn delete_node(p: Privilege, node: &str) -> String {
    p.root(&format!("k3s kubectl delete node {node}"))
}

pub(crate) fn uninstall_script(role: Role) -> &'static str {
    match role {
        Role::Server => "/usr/local/bin/k3s-uninstall.sh",
        Role::Agent => "/usr/local/bin/k3s-agent-uninstall.sh",
    }
}

pub(crate) fn has_uninstall(role: Role) -> String {
    format!("test -x {}", uninstall_script(role))
}

pub(crate) fn uninstall(p: Privilege, role: Role) -> String {
    p.root(uninstall_script(role))
}

/// One line of `k3s kubectl get nodes --no-headers`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub name: String,
    pub ready: bool,
    pub version: String,
}

pub(crate) fn parse_nodes(text: &str) -> Vec<Node> {
    text.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols.len() >= 5).then(|| Node {
                name: cols[0].to_string(),
                ready: cols[1] == "Ready",
                version: cols[4].to_string(),
            })
        })
        .collect()
}

/// The version in `k3s version v1.30.4+k3s1 (abcdef)`.
pub(crate) fn parse_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    line.split_whitespace()
        .nth(2)
        .filter(|v| v.starts_with('v'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_for_sh_and_never_carry_the_token() {
        let c = install_online(Privilege::Sudo, "v1.30.4+k3s1", Role::Agent, Some("node-1"));
        assert_eq!(
            c,
            "sudo -n sh -c 'curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.30.4+k3s1 sh -s - agent --server https://node-1:6443 --token-file /etc/rancher/k3s/cluster-token'"
        );
        assert_eq!(
            Privilege::Root.shell("echo 'x'"),
            "sh -c 'echo '\\''x'\\'''"
        );
        assert_eq!(
            uninstall(Privilege::Root, Role::Agent),
            "/usr/local/bin/k3s-agent-uninstall.sh"
        );
    }

    #[test]
    fn the_token_is_read_back_from_node_token() {
        assert_eq!(
            parse_node_token("K10abc::server:s3cret\n").as_deref(),
            Some("s3cret")
        );
        assert_eq!(parse_node_token("garbage"), None);
    }

    #[test]
    fn node_lists_and_versions_parse() {
        let nodes = parse_nodes(
            "node-1   Ready      control-plane,etcd,master   5m   v1.30.4+k3s1\nnode-2   NotReady   <none>   1m   v1.30.4+k3s1\n",
        );
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].ready && !nodes[1].ready);
        assert_eq!(nodes[1].version, "v1.30.4+k3s1");
        assert_eq!(
            parse_version("k3s version v1.30.4+k3s1 (98262b5d)\ngo version go1.22.5").as_deref(),
            Some("v1.30.4+k3s1")
        );
    }
}
