//! The `onprem_k3s_cluster` attributes as typed values, checked once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::Value;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "server" => Some(Role::Server),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    /// The systemd unit k3s runs as.
    pub fn service(self) -> &'static str {
        match self {
            Role::Server => "k3s",
            Role::Agent => "k3s-agent",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HostSpec {
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key: Option<Secret>,
    pub private_key_file: Option<PathBuf>,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Install {
    Online,
    Airgap { binary: PathBuf, script: PathBuf },
}

#[derive(Debug, Clone)]
pub(crate) struct ClusterSpec {
    pub name: String,
    pub version: String,
    pub token: Option<Secret>,
    pub install: Install,
    pub known_hosts: Option<PathBuf>,
    pub host_keys: BTreeMap<String, String>,
    pub hosts: Vec<HostSpec>,
}

/// What is installed on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstalledHost {
    pub role: Role,
    pub version: String,
    /// Its node's name (the host name).
    pub node: String,
}

/// What is installed where, by host address.
pub(crate) type Installed = BTreeMap<String, InstalledHost>;

fn invalid(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

fn string(v: &Value, name: &str, at: &str) -> ProviderResult<Option<String>> {
    match v.get(name) {
        None => Ok(None),
        // A value not known yet (a token to be generated) is no value.
        Some(x) if x.is_null() || x.is_unknown() => Ok(None),
        Some(x) => x.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
            invalid(format!(
                "{at}.{name} must be a string, found {}",
                x.type_name()
            ))
        }),
    }
}

impl ClusterSpec {
    /// Reads a configuration: at least one host must be a server.
    pub fn parse(v: &Value) -> ProviderResult<ClusterSpec> {
        let spec = ClusterSpec::parse_recorded(v)?;
        if spec.first_server().is_none() {
            return Err(invalid(format!(
                "{} needs at least one host with role = \"server\"",
                crate::schema::K3S_CLUSTER
            ))
            .with_hint("the first server initialises the cluster; the others join it"));
        }
        Ok(spec)
    }

    /// Reads a recorded object, whose host list may have lost its servers to a refresh.
    pub fn parse_recorded(v: &Value) -> ProviderResult<ClusterSpec> {
        let at = crate::schema::K3S_CLUSTER;
        let name = string(v, "name", at)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("{at}.name is required")))?;
        let version = string(v, "k3s_version", at)?.unwrap_or_default();
        if !version.starts_with('v') || version.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "{at}.k3s_version must be a pinned k3s release such as v1.30.4+k3s1, found {version:?}"
            ))
            .with_hint("the releases are listed at https://github.com/k3s-io/k3s/releases"));
        }
        let token = string(v, "token", at)?
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        let install = match string(v, "install", at)?.as_deref() {
            None | Some("online") => Install::Online,
            Some("airgap") => {
                let binary = string(v, "airgap_binary", at)?;
                let script = string(v, "airgap_script", at)?;
                match (binary, script) {
                    (Some(b), Some(s)) => Install::Airgap {
                        binary: PathBuf::from(b),
                        script: PathBuf::from(s),
                    },
                    _ => return Err(invalid(format!(
                        "{at}: install = \"airgap\" needs airgap_binary and airgap_script"
                    ))
                    .with_hint(
                        "download k3s and install.sh from the release page for the pinned version",
                    )),
                }
            }
            Some(other) => {
                return Err(invalid(format!(
                    "{at}.install must be \"online\" or \"airgap\", found {other:?}"
                )))
            }
        };
        let known_hosts = string(v, "known_hosts", at)?.map(PathBuf::from);
        let mut host_keys = BTreeMap::new();
        if let Some(Value::Map(m)) = v.get("host_keys").map(|x| x.unwrap_sensitive().clone()) {
            for (k, x) in m {
                let s = x
                    .as_str()
                    .ok_or_else(|| invalid(format!("{at}.host_keys[{k:?}] must be a string")))?;
                host_keys.insert(k, s.to_string());
            }
        }
        let mut hosts = Vec::new();
        let list = |key: &str| {
            v.get(key)
                .and_then(|h| h.as_list().cloned())
                .unwrap_or_default()
        };
        let blocks = list("host")
            .into_iter()
            .enumerate()
            .map(|(i, h)| (format!("host[{i}]"), h));
        let objects = list("hosts")
            .into_iter()
            .enumerate()
            .map(|(i, h)| (format!("hosts[{i}]"), h));
        for (at, item) in blocks.chain(objects) {
            let item = &item;
            if at.starts_with("hosts[") && item.get("private_key").is_some_and(|k| !k.is_null()) {
                return Err(invalid(format!(
                    "{at}.private_key: a key's text is only accepted in a host block, where it is kept sensitive"
                ))
                .with_hint("use private_key_file in hosts, or move the host to a host { … } block"));
            }
            let address = string(item, "address", &at)?
                .filter(|a| !a.trim().is_empty())
                .ok_or_else(|| invalid(format!("{at}.address is required")))?;
            let port = match item.get("port").filter(|p| !p.is_null()) {
                None => None,
                Some(p) => Some(
                    p.as_i64()
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            invalid(format!("{at}.port must be a port number (1-65535)"))
                        })?,
                ),
            };
            let role_text = string(item, "role", &at)?.unwrap_or_default();
            let role = Role::parse(&role_text).ok_or_else(|| {
                invalid(format!(
                    "{at}.role must be \"server\" or \"agent\", found {role_text:?}"
                ))
            })?;
            if hosts.iter().any(|h: &HostSpec| h.address == address) {
                return Err(invalid(format!(
                    "{at}.address {address:?} appears twice; each host may be listed once"
                )));
            }
            hosts.push(HostSpec {
                address,
                port,
                user: string(item, "user", &at)?.filter(|u| !u.is_empty()),
                private_key: string(item, "private_key", &at)?
                    .filter(|k| !k.is_empty())
                    .map(Secret::new),
                private_key_file: string(item, "private_key_file", &at)?.map(PathBuf::from),
                role,
            });
        }
        Ok(ClusterSpec {
            name,
            version,
            token,
            install,
            known_hosts,
            host_keys,
            hosts,
        })
    }

    /// The server that initialises the cluster and through which the others join.
    pub fn first_server(&self) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.role == Role::Server)
    }

    pub fn host(&self, address: &str) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.address == address)
    }
}

/// Reads the `installed` attribute.
pub(crate) fn installed_of(v: &Value) -> Installed {
    let mut out = Installed::new();
    if let Some(Value::Map(m)) = v.get("installed").map(|x| x.unwrap_sensitive().clone()) {
        for (address, entry) in m {
            let text = |k: &str| entry.get(k).and_then(|r| r.as_str().map(str::to_string));
            let role = text("role").as_deref().and_then(Role::parse);
            if let (Some(role), Some(version)) = (role, text("version")) {
                let node = text("node").unwrap_or_else(|| address.clone());
                out.insert(
                    address,
                    InstalledHost {
                        role,
                        version,
                        node,
                    },
                );
            }
        }
    }
    out
}

/// Writes the `installed` attribute.
pub(crate) fn installed_value(installed: &Installed) -> Value {
    Value::Map(
        installed
            .iter()
            .map(|(address, h)| {
                (
                    address.clone(),
                    Value::map([
                        ("role", Value::from(h.role.as_str())),
                        ("version", Value::from(h.version.as_str())),
                        ("node", Value::from(h.node.as_str())),
                    ]),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: &str, role: &str) -> Value {
        Value::map([
            ("address", Value::from(address)),
            ("role", Value::from(role)),
        ])
    }

    fn cluster(hosts: Vec<Value>) -> Value {
        Value::map([
            ("name", Value::from("lab")),
            ("k3s_version", Value::from("v1.30.4+k3s1")),
            ("host", Value::List(hosts)),
        ])
    }

    #[test]
    fn a_cluster_needs_a_server_unique_addresses_and_a_known_role() {
        let ok =
            ClusterSpec::parse(&cluster(vec![host("a", "agent"), host("b", "server")])).unwrap();
        assert_eq!(ok.first_server().unwrap().address, "b");
        assert_eq!(ok.install, Install::Online);
        let e = ClusterSpec::parse(&cluster(vec![host("a", "agent")])).unwrap_err();
        assert!(e.message.contains("role = \"server\""), "{e}");
        let e = ClusterSpec::parse(&cluster(vec![host("a", "server"), host("a", "agent")]))
            .unwrap_err();
        assert!(e.message.contains("appears twice"), "{e}");
        let e = ClusterSpec::parse(&cluster(vec![host("a", "master")])).unwrap_err();
        assert!(e.message.contains("host[0].role"), "{e}");
    }

    #[test]
    fn air_gapped_installs_name_both_files() {
        let mut v = cluster(vec![host("a", "server")]);
        v.set_path(
            &strata_core::value::Path::root().key("install"),
            Value::from("airgap"),
        );
        let e = ClusterSpec::parse(&v).unwrap_err();
        assert!(e.message.contains("airgap_binary"), "{e}");
    }

    #[test]
    fn installed_round_trips() {
        let mut i = Installed::new();
        i.insert(
            "a".into(),
            InstalledHost {
                role: Role::Server,
                version: "v1".into(),
                node: "node-a".into(),
            },
        );
        let v = Value::map([("installed", installed_value(&i))]);
        assert_eq!(installed_of(&v), i);
    }
}
