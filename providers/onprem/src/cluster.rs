//! The `onprem_k3s_cluster` lifecycle: install servers then agents, one host at a time, read
//! back what runs, roll upgrades and membership changes, and uninstall.
//!
//! Progress is recorded per host in the `installed` attribute (address → role and version).
//! When a host fails, the error names it and the step, and carries the object as far as it got
//! ([`ProviderError::with_partial`]); the next apply resumes with the hosts still to do.

use std::path::Path;
use std::time::Instant;

use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

use crate::commands::{self, Privilege};
use crate::secret::{redact, Secret};
use crate::settings::Settings;
use crate::spec::{
    installed_value, ClusterSpec, HostSpec, Install, Installed, InstalledHost, Role,
};
use crate::ssh::{Connection, HostCheck, KeySource, Output, SshError, Target};
use crate::ssh_config::{expand_home, SshConfig};

/// Works on the hosts of one cluster.
pub(crate) struct Hosts<'a> {
    settings: &'a Settings,
    ssh_config: Option<SshConfig>,
    spec: &'a ClusterSpec,
    token: Secret,
    ctx: &'a OperationContext,
}

/// An open session with one host, and how it gets root.
struct Session<'h> {
    host: &'h HostSpec,
    conn: Connection,
    privilege: Privilege,
}

impl<'a> Hosts<'a> {
    pub fn new(
        settings: &'a Settings,
        spec: &'a ClusterSpec,
        token: Secret,
        ctx: &'a OperationContext,
    ) -> ProviderResult<Hosts<'a>> {
        let ssh_config = match &settings.ssh_config {
            Some(path) => Some(SshConfig::load(path).map_err(|e| {
                ProviderError::new(ErrorKind::InvalidConfig, e).with_hint(
                    "fix ssh_config in provider \"onprem\" (or $STRATA_ONPREM_SSH_CONFIG)",
                )
            })?),
            None => None,
        };
        Ok(Hosts {
            settings,
            ssh_config,
            spec,
            token,
            ctx,
        })
    }

    /// The first server, which a configuration always has (a recorded object may not).
    fn first(&self) -> ProviderResult<&'a HostSpec> {
        self.spec.first_server().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{} lists no server host", self.spec.name),
            )
            .with_hint("add a host with role = \"server\"")
        })
    }

    fn report(&self, host: &HostSpec, step: &str) {
        self.ctx.report(&format!("{}: {step}", host.address));
    }

    /// Where `host` is, after `ssh_config`, and how its key is checked.
    fn target(&self, host: &HostSpec) -> Target {
        let from_config = self
            .ssh_config
            .as_ref()
            .map(|c| c.host(&host.address))
            .unwrap_or_default();
        let mut keys = Vec::new();
        if let Some(k) = &host.private_key {
            keys.push(KeySource::Inline(k.clone()));
        }
        if let Some(f) = &host.private_key_file {
            keys.push(KeySource::File {
                path: f.clone(),
                required: true,
            });
        }
        for f in &from_config.identity_files {
            keys.push(KeySource::File {
                path: f.clone(),
                required: false,
            });
        }
        if keys.is_empty() {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                keys.push(KeySource::File {
                    path: expand_home(&format!("~/.ssh/{name}")),
                    required: false,
                });
            }
        }
        let host_check = match self.spec.host_keys.get(&host.address) {
            Some(pin) => HostCheck::Pinned(pin.clone()),
            None => HostCheck::KnownHosts(
                self.spec
                    .known_hosts
                    .clone()
                    .or_else(|| self.settings.known_hosts.clone())
                    .or(from_config.known_hosts)
                    .unwrap_or_else(|| expand_home("~/.ssh/known_hosts")),
            ),
        };
        Target {
            address: host.address.clone(),
            host: from_config
                .host_name
                .unwrap_or_else(|| host.address.clone()),
            port: host.port.or(from_config.port).unwrap_or(22),
            user: host
                .user
                .clone()
                .or(from_config.user)
                .unwrap_or_else(|| "root".into()),
            keys,
            host_check,
        }
    }

    fn error(&self, host: &HostSpec, step: &str, e: SshError) -> ProviderError {
        let (kind, hint) = match &e {
            SshError::Unreachable(_) => (
                ErrorKind::Unavailable,
                "check that the host is up and that its SSH port is open to this machine".to_string(),
            ),
            SshError::HostKey { hint, .. } => (ErrorKind::Credentials, hint.clone()),
            SshError::Auth(_) => (
                ErrorKind::Credentials,
                "set private_key_file (or private_key) for the host, or load the key into the agent".into(),
            ),
            SshError::Timeout(_) => (ErrorKind::Timeout, "look at the host's logs (journalctl -u k3s)".into()),
            SshError::Protocol(_) => (ErrorKind::Unavailable, "retry; if it persists, check sshd's logs on the host".into()),
        };
        let message = redact(
            &format!("host {}: {step}: {e}", host.address),
            &[&self.token],
        );
        ProviderError::new(kind, message).with_hint(hint)
    }

    async fn open<'h>(&self, host: &'h HostSpec, step: &str) -> ProviderResult<Session<'h>> {
        let target = self.target(host);
        let privilege = Privilege::for_user(&target.user);
        let conn = Connection::open(&target, &self.settings.timeouts())
            .await
            .map_err(|e| self.error(host, step, e))?;
        Ok(Session {
            host,
            conn,
            privilege,
        })
    }

    /// Runs a command that may exit non-zero.
    async fn try_run(
        &self,
        s: &Session<'_>,
        step: &str,
        command: &str,
        stdin: &[u8],
    ) -> ProviderResult<Output> {
        tracing::debug!(host = %s.host.address, %step, %command, "running");
        s.conn
            .run(command, stdin)
            .await
            .map_err(|e| self.error(s.host, step, e))
    }

    /// Runs a command that must succeed.
    async fn run(
        &self,
        s: &Session<'_>,
        step: &str,
        command: &str,
        stdin: &[u8],
    ) -> ProviderResult<Output> {
        let out = self.try_run(s, step, command, stdin).await?;
        if out.status == 0 {
            return Ok(out);
        }
        let said = if out.stderr.trim().is_empty() {
            &out.stdout
        } else {
            &out.stderr
        };
        let tail: Vec<&str> = said.trim().lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let message = redact(
            &format!(
                "host {}: {step} failed (exit status {}): {}",
                s.host.address,
                out.status,
                tail.join(" | ")
            ),
            &[&self.token],
        );
        Err(
            ProviderError::new(ErrorKind::Api, message).with_hint(format!(
                "run `{command}` on {} to see the whole output",
                s.host.address
            )),
        )
    }

    /// Installs (or upgrades) k3s on `host` with its role and the cluster's version, waits
    /// until it runs at that version, and returns its node's name. Only `host` is touched.
    async fn ensure(&self, host: &HostSpec, upgrade: bool) -> ProviderResult<String> {
        let spec = self.spec;
        let first = self.first()?;
        let join = (host.address != first.address).then_some(first.address.as_str());
        self.report(host, "connecting");
        let s = self.open(host, "connecting").await?;
        self.run(
            &s,
            "writing the join token",
            &commands::write_token(s.privilege),
            self.token.expose().as_bytes(),
        )
        .await?;
        let install = match &spec.install {
            Install::Online => {
                commands::install_online(s.privilege, &spec.version, host.role, join)
            }
            Install::Airgap { binary, script } => {
                for (file, remote) in [
                    (binary, commands::K3S_BINARY),
                    (script, commands::INSTALL_SCRIPT),
                ] {
                    let step = format!("uploading {} to {remote}", file.display());
                    self.report(host, &step);
                    let bytes = read_local(file)?;
                    self.run(
                        &s,
                        &step,
                        &commands::upload_executable(s.privilege, remote),
                        &bytes,
                    )
                    .await?;
                }
                commands::install_airgap(s.privilege, &spec.version, host.role, join)
            }
        };
        let step = format!(
            "{} k3s {} as {}",
            if upgrade {
                "upgrading to"
            } else {
                "installing"
            },
            spec.version,
            host.role.as_str()
        );
        self.report(host, &step);
        self.run(&s, &step, &install, &[]).await?;
        let node = self
            .run(&s, "reading the host name", commands::HOSTNAME, &[])
            .await?;
        let node = node.stdout.trim().to_string();
        self.wait_ready(&s, &node).await?;
        s.conn.close().await;
        Ok(node)
    }

    /// Polls `s`'s host until k3s runs there at the cluster's version: a server until its
    /// node is Ready in `kubectl get nodes`, an agent until its service is active.
    async fn wait_ready(&self, s: &Session<'_>, node: &str) -> ProviderResult<()> {
        let host = s.host;
        let step = format!("waiting for node {node} to be ready");
        self.report(host, &step);
        let started = Instant::now();
        loop {
            let ready = match host.role {
                Role::Server => {
                    let out = self
                        .try_run(s, &step, &commands::get_nodes(s.privilege), &[])
                        .await?;
                    commands::parse_nodes(&out.stdout)
                        .into_iter()
                        .any(|n| n.name == node && n.ready && n.version == self.spec.version)
                }
                Role::Agent => {
                    let active = self
                        .try_run(s, &step, &commands::is_active(host.role), &[])
                        .await?;
                    let version = self.try_run(s, &step, commands::VERSION, &[]).await?;
                    active.status == 0
                        && commands::parse_version(&version.stdout).as_deref()
                            == Some(self.spec.version.as_str())
                }
            };
            if ready {
                return Ok(());
            }
            if started.elapsed() > self.settings.ready_timeout {
                return Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!(
                        "host {}: {step}: not ready at {} after {}s",
                        host.address,
                        self.spec.version,
                        self.settings.ready_timeout.as_secs()
                    ),
                )
                .with_hint(format!(
                    "look at `journalctl -u {}` on {}",
                    host.role.service(),
                    host.address
                )));
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    /// Drains and deletes the node of `host`, then uninstalls k3s from it.
    async fn remove(&self, host: &HostSpec, role: Role) -> ProviderResult<()> {
        self.report(host, "connecting to remove it");
        let s = self.open(host, "connecting to remove it").await?;
        let node = self
            .run(&s, "reading the host name", commands::HOSTNAME, &[])
            .await?;
        let node = node.stdout.trim().to_string();
        let first = self
            .spec
            .first_server()
            .filter(|f| f.address != host.address);
        if let Some(first) = first {
            let step = format!("draining node {node}");
            self.report(host, &step);
            let f = self.open(first, &step).await?;
            self.run(&f, &step, &commands::drain(f.privilege, &node), &[])
                .await?;
            let step = format!("deleting node {node}");
            self.run(&f, &step, &commands::delete_node(f.privilege, &node), &[])
                .await?;
            f.conn.close().await;
        }
        self.uninstall(&s, role).await?;
        s.conn.close().await;
        Ok(())
    }

    async fn uninstall(&self, s: &Session<'_>, role: Role) -> ProviderResult<()> {
        let check = self
            .try_run(s, "looking for k3s", &commands::has_uninstall(role), &[])
            .await?;
        if check.status == 0 {
            let step = format!("running {}", commands::uninstall_script(role));
            self.report(s.host, &step);
            self.run(s, &step, &commands::uninstall(s.privilege, role), &[])
                .await?;
        }
        Ok(())
    }

    /// Brings every host to the specification, one at a time: the first server, the other
    /// servers, the agents, then removes hosts no longer listed (`known` gives their
    /// connection settings). `installed` is updated after each host. Returns whether the first
    /// server was (re)installed.
    pub async fn converge(
        &self,
        installed: &mut Installed,
        known: &[HostSpec],
    ) -> ProviderResult<bool> {
        let spec = self.spec;
        let first = self.first()?;
        if installed.get(&first.address).map(|h| h.role) == Some(Role::Agent) {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!(
                    "host {} is the first server of the list but joined the cluster as an agent",
                    first.address
                ),
            )
            .with_hint("keep the server that initialised the cluster first among the servers, or replace the cluster"));
        }
        let mut order: Vec<&HostSpec> = vec![first];
        order.extend(
            spec.hosts
                .iter()
                .filter(|h| h.role == Role::Server && h.address != first.address),
        );
        order.extend(spec.hosts.iter().filter(|h| h.role == Role::Agent));
        let mut first_touched = false;
        for host in order {
            let node = match installed.get(&host.address) {
                Some(h) if h.role == host.role && h.version == spec.version => continue,
                Some(h) if h.role != host.role => {
                    let role = h.role;
                    self.remove(host, role).await?;
                    installed.remove(&host.address);
                    self.ensure(host, false).await?
                }
                Some(_) => self.ensure(host, true).await?,
                None => self.ensure(host, false).await?,
            };
            first_touched |= host.address == first.address;
            installed.insert(
                host.address.clone(),
                InstalledHost {
                    role: host.role,
                    version: spec.version.clone(),
                    node,
                },
            );
        }
        let mut leaving: Vec<(String, Role)> = installed
            .iter()
            .filter(|(a, _)| spec.host(a).is_none())
            .map(|(a, h)| (a.clone(), h.role))
            .collect();
        // Agents leave before servers, so the control plane is the last to shrink.
        leaving.sort_by_key(|(_, r)| *r == Role::Server);
        for (address, role) in leaving {
            let host = known
                .iter()
                .find(|h| h.address == address)
                .cloned()
                .unwrap_or_else(|| bare_host(&address, role));
            self.remove(&host, role).await?;
            installed.remove(&address);
        }
        Ok(first_touched)
    }

    /// The kubeconfig, its API address rewritten to the first server.
    pub async fn kubeconfig(&self) -> ProviderResult<Secret> {
        let first = self.first()?;
        let step = "reading the kubeconfig";
        let s = self.open(first, step).await?;
        let yaml = self
            .run(&s, step, &commands::read_kubeconfig(s.privilege), &[])
            .await?;
        s.conn.close().await;
        Ok(Secret::new(rewrite_server(&yaml.stdout, &first.address)))
    }

    /// The join token a running first server keeps, for adopting a cluster whose create was
    /// interrupted before its token was recorded.
    pub async fn recorded_token(&self) -> ProviderResult<Option<Secret>> {
        let first = self.first()?;
        let step = "reading the join token";
        let s = self.open(first, step).await?;
        let out = self
            .try_run(&s, step, &commands::read_node_token(s.privilege), &[])
            .await?;
        s.conn.close().await;
        Ok((out.status == 0)
            .then(|| commands::parse_node_token(&out.stdout))
            .flatten()
            .map(Secret::new))
    }

    /// The node names the first server's `kubectl get nodes` lists.
    pub async fn node_names(&self) -> ProviderResult<Vec<String>> {
        let first = self.first()?;
        let step = "listing the nodes";
        let s = self.open(first, step).await?;
        let out = self
            .run(&s, step, &commands::get_nodes(s.privilege), &[])
            .await?;
        s.conn.close().await;
        let mut names: Vec<String> = commands::parse_nodes(&out.stdout)
            .into_iter()
            .map(|n| n.name)
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// What runs on each host of `installed`: hosts whose service is not active are left out,
    /// versions and node names are the ones the hosts report.
    pub async fn observe(
        &self,
        installed: &Installed,
        known: &[HostSpec],
    ) -> ProviderResult<Installed> {
        let mut seen = Installed::new();
        for (address, recorded) in installed {
            let role = recorded.role;
            let host = known
                .iter()
                .find(|h| &h.address == address)
                .cloned()
                .unwrap_or_else(|| bare_host(address, role));
            let step = "reading its k3s service";
            let s = self.open(&host, step).await?;
            let active = self
                .try_run(&s, step, &commands::is_active(role), &[])
                .await?;
            if active.status == 0 {
                let out = self
                    .try_run(&s, "reading the k3s version", commands::VERSION, &[])
                    .await?;
                let node = self
                    .run(&s, "reading the host name", commands::HOSTNAME, &[])
                    .await?;
                if let Some(version) = commands::parse_version(&out.stdout) {
                    let node = node.stdout.trim().to_string();
                    seen.insert(
                        address.clone(),
                        InstalledHost {
                            role,
                            version,
                            node,
                        },
                    );
                }
            }
            s.conn.close().await;
        }
        Ok(seen)
    }

    /// Uninstalls k3s from every host: agents, then the other servers, then the first.
    pub async fn uninstall_all(&self, installed: &Installed) -> ProviderResult<()> {
        let mut hosts: Vec<HostSpec> = self.spec.hosts.clone();
        for (address, h) in installed {
            if self.spec.host(address).is_none() {
                hosts.push(bare_host(address, h.role));
            }
        }
        let first = self
            .spec
            .first_server()
            .map(|f| f.address.clone())
            .unwrap_or_default();
        hosts.sort_by_key(|h| (h.role == Role::Server, h.address == first));
        for host in &hosts {
            self.report(host, "connecting to uninstall k3s");
            let s = self.open(host, "connecting to uninstall k3s").await?;
            // The role may have changed since the install; both scripts are looked for.
            self.uninstall(&s, Role::Agent).await?;
            self.uninstall(&s, Role::Server).await?;
            s.conn.close().await;
        }
        Ok(())
    }
}

/// A host known only by its address (one removed from the configuration): `ssh_config` and the
/// defaults say how to reach it.
fn bare_host(address: &str, role: Role) -> HostSpec {
    HostSpec {
        address: address.to_string(),
        port: None,
        user: None,
        private_key: None,
        private_key_file: None,
        role,
    }
}

fn read_local(path: &Path) -> ProviderResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "cannot read {} for the air-gapped install: {e}",
                path.display()
            ),
        )
        .with_hint("download the k3s binary and install.sh of the pinned version next to the stack")
    })
}

/// k3s writes its kubeconfig for use on the server itself (`https://127.0.0.1:6443`); from
/// elsewhere the API is reached through the first server's address.
pub(crate) fn rewrite_server(yaml: &str, address: &str) -> String {
    let mut out = yaml.to_string();
    for local in ["127.0.0.1", "localhost", "[::1]"] {
        out = out.replace(
            &format!("server: https://{local}:6443"),
            &format!("server: https://{address}:6443"),
        );
    }
    out
}

/// The API URL a kubeconfig points at.
pub(crate) fn api_endpoint(yaml: &str) -> Option<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).ok()?;
    doc.get("clusters")?
        .get(0)?
        .get("cluster")?
        .get("server")?
        .as_str()
        .map(str::to_string)
}

/// A new join token: 48 random hex digits.
pub(crate) fn new_token() -> Secret {
    let bytes: [u8; 24] = rand::random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The object to record: the configuration, the token, what is installed (and the nodes it
/// makes), and the kubeconfig when it was read.
pub(crate) fn object(
    planned: &Value,
    spec: &ClusterSpec,
    token: &Secret,
    installed: &Installed,
    kubeconfig: Option<&Secret>,
) -> ResourceObject {
    let mut m = match without_unknowns(planned.clone()) {
        Value::Map(m) => m,
        _ => Default::default(),
    };
    m.insert("token".into(), Value::from(token.expose()).sensitive());
    m.insert("installed".into(), installed_value(installed));
    let mut nodes: Vec<&str> = installed.values().map(|h| h.node.as_str()).collect();
    nodes.sort_unstable();
    m.insert(
        "nodes".into(),
        Value::List(nodes.into_iter().map(Value::from).collect()),
    );
    if let Some(kubeconfig) = kubeconfig {
        m.insert(
            "api_endpoint".into(),
            api_endpoint(kubeconfig.expose())
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        m.insert(
            "kubeconfig".into(),
            Value::from(kubeconfig.expose()).sensitive(),
        );
    }
    m.insert("id".into(), Value::from(spec.name.as_str()));
    ResourceObject {
        id: spec.name.clone(),
        attributes: Value::Map(m),
    }
}

fn without_unknowns(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(without_unknowns).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, without_unknowns(v)))
                .collect(),
        ),
        Value::Sensitive(inner) => without_unknowns(*inner).sensitive(),
        v => v,
    }
}

/// `prior` with its host lists (`host` blocks and `hosts` objects) narrowed to the hosts
/// `installed` has with the same role.
pub(crate) fn hosts_present(prior: &Value, installed: &Installed) -> Value {
    let mut out = prior.clone();
    for key in ["host", "hosts"] {
        let Some(Value::List(items)) = prior.get(key).map(|v| v.unwrap_sensitive().clone()) else {
            continue;
        };
        let kept: Vec<Value> = items
            .into_iter()
            .filter(|item| {
                let address = item
                    .get("address")
                    .and_then(|a| a.as_str().map(str::to_string));
                let role = item
                    .get("role")
                    .and_then(|r| r.as_str().map(str::to_string));
                match (address, role) {
                    (Some(a), Some(r)) => installed.get(&a).is_some_and(|h| h.role.as_str() == r),
                    _ => false,
                }
            })
            .collect();
        if let Value::Map(m) = &mut out {
            m.insert(key.into(), Value::List(kept));
        }
    }
    out
}

/// The token of a prior or planned value.
pub(crate) fn token_of(v: &Value) -> Option<Secret> {
    v.get("token")
        .and_then(|t| t.as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

/// The kubeconfig a prior value holds.
pub(crate) fn kubeconfig_of(v: &Value) -> Option<Secret> {
    v.get("kubeconfig")
        .and_then(|t| t.as_str().map(str::to_string))
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_api_address_is_rewritten_and_others_are_kept() {
        let yaml = "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n";
        let out = rewrite_server(yaml, "10.0.0.5");
        assert_eq!(api_endpoint(&out).as_deref(), Some("https://10.0.0.5:6443"));
        let emulated =
            "clusters:\n- cluster:\n    server: http://127.0.0.1:4000/k8s/k3s-1\n  name: default\n";
        assert_eq!(rewrite_server(emulated, "node-1"), emulated);
    }

    #[test]
    fn tokens_are_long_and_fresh() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.expose().len(), 48);
        assert_ne!(a, b);
    }
}
