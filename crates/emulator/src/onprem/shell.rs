//! A tiny Linux shell: exactly the commands the onprem provider runs on a host, with the
//! effects a real host would show (k3s installed, services running, cluster membership, files).
//!
//! What it understands: an optional `sudo -n` prefix; `sh -c '<script>'`; scripts whose steps
//! are joined by ` && `; leading `NAME=value` assignments; the online installer
//! (`curl -sfL https://get.k3s.io | … sh -s - ROLE FLAGS`) and the air-gapped one
//! (`INSTALL_K3S_SKIP_DOWNLOAD=true … sh /path/install.sh ROLE FLAGS`); `umask`, `mkdir`,
//! `cat FILE`, `cat > FILE` (standard input to a file), `chmod`, `test -x|-e`, `hostname`,
//! `systemctl is-active`, `k3s --version`, `k3s kubectl get nodes --no-headers`,
//! `k3s kubectl drain`, `k3s kubectl delete node` and the two uninstall scripts. Anything else
//! is "not found", as on a host without that program.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Account, Cluster, FileInfo, Host, K3s};

/// What a command printed and how it exited.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub status: u32,
    /// True when k3s was installed or upgraded (a slow install waits after it).
    pub installed: bool,
}

impl Outcome {
    fn fail(status: u32, stderr: impl Into<String>) -> Outcome {
        let mut stderr = stderr.into();
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        Outcome {
            stderr,
            status,
            ..Outcome::default()
        }
    }
}

pub(crate) const K3S_BINARY: &str = "/usr/local/bin/k3s";
pub(crate) const SERVER_UNINSTALL: &str = "/usr/local/bin/k3s-uninstall.sh";
pub(crate) const AGENT_UNINSTALL: &str = "/usr/local/bin/k3s-agent-uninstall.sh";
const KUBECONFIG: &str = "/etc/rancher/k3s/k3s.yaml";
const NODE_TOKEN: &str = "/var/lib/rancher/k3s/server/node-token";
/// The version the online installer picks when none is pinned.
const STABLE: &str = "v1.31.1+k3s1";

/// Runs `command` on `host` as the hosts' shell would; the effects land in `account`.
pub(crate) fn execute(
    account: &mut Account,
    host: &str,
    command: &str,
    stdin: &[u8],
    base_url: &str,
) -> Outcome {
    if let Some(needle) = account.hosts.get(host).and_then(|h| h.fail_command.clone()) {
        if command.contains(&needle) {
            return Outcome::fail(
                1,
                format!("error: the command failed on {host} (fault injected for {needle:?})"),
            );
        }
    }
    let mut line = command.trim();
    for prefix in ["sudo -n ", "sudo "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            line = rest.trim_start();
            break;
        }
    }
    let script = match line.strip_prefix("sh -c ") {
        Some(quoted) => match unquote(quoted.trim()) {
            Some(s) => s,
            None => return Outcome::fail(2, "sh: 1: Syntax error: Unterminated quoted string"),
        },
        None => line.to_string(),
    };
    let mut shell = Shell {
        account,
        host: host.to_string(),
        stdin: Some(stdin),
        base_url,
    };
    let mut total = Outcome::default();
    for step in script.split(" && ") {
        let out = shell.step(step.trim());
        total.stdout.push_str(&out.stdout);
        total.stderr.push_str(&out.stderr);
        total.installed |= out.installed;
        total.status = out.status;
        if out.status != 0 {
            break;
        }
    }
    total
}

/// Removes k3s from a host, as its uninstall script does.
pub(crate) fn wipe_k3s(host: &mut Host) {
    host.k3s = None;
    host.files.retain(|path, _| {
        !(path.starts_with("/etc/rancher/")
            || path.starts_with("/var/lib/rancher/")
            || path == K3S_BINARY
            || path == SERVER_UNINSTALL
            || path == AGENT_UNINSTALL)
    });
}

/// A single-quoted shell word, with `'\''` standing for a quote inside it.
fn unquote(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let inner = rest.strip_prefix('\'')?;
        let end = inner.find('\'')?;
        out.push_str(&inner[..end]);
        rest = &inner[end + 1..];
        if rest.is_empty() {
            return Some(out);
        }
        rest = rest.strip_prefix("\\'")?;
        out.push('\'');
        if rest.is_empty() {
            return Some(out);
        }
    }
}

/// Splits a step into words, honouring single quotes.
fn words(step: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in step.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(current);
    }
    out
}

/// Leading `NAME=value` words, and the rest.
fn split_env(words: Vec<String>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut env = BTreeMap::new();
    let mut rest = Vec::new();
    for w in words {
        let assignment = rest.is_empty()
            && w.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if assignment {
            let (k, v) = w.split_once('=').unwrap_or_default();
            env.insert(k.to_string(), v.to_string());
        } else {
            rest.push(w);
        }
    }
    (env, rest)
}

struct Shell<'a> {
    account: &'a mut Account,
    host: String,
    /// Standard input, until a step consumes it.
    stdin: Option<&'a [u8]>,
    base_url: &'a str,
}

impl Shell<'_> {
    fn me(&mut self) -> &mut Host {
        self.account
            .hosts
            .get_mut(&self.host)
            .expect("commands only run on hosts of the fleet")
    }

    fn k3s(&self) -> Option<&K3s> {
        self.account.hosts.get(&self.host)?.k3s.as_ref()
    }

    fn step(&mut self, step: &str) -> Outcome {
        if let Some((left, right)) = step.split_once(" | ") {
            if words(left) == ["curl", "-sfL", "https://get.k3s.io"] {
                let (env, rest) = split_env(words(right));
                if rest.len() < 3 || rest[..3] != ["sh", "-s", "-"] {
                    return Outcome::fail(2, format!("sh: unsupported installer call: {right}"));
                }
                return self.install(&env, &rest[3..], true);
            }
            return Outcome::fail(2, format!("sh: unsupported pipeline: {step}"));
        }
        let (env, w) = split_env(words(step));
        let Some(program) = w.first().map(String::as_str) else {
            return Outcome::default();
        };
        let args = &w[1..];
        match program {
            "umask" | "mkdir" | "true" => Outcome::default(),
            "hostname" => ok(format!("{}\n", self.host)),
            "cat" => self.cat(args),
            "chmod" => self.chmod(args),
            "test" => self.test(args),
            "systemctl" => self.systemctl(args),
            "k3s" | K3S_BINARY => self.k3s_command(args),
            SERVER_UNINSTALL | AGENT_UNINSTALL => self.uninstall(program),
            "sh" if args.first().is_some_and(|a| a.starts_with('/')) => {
                let script = &args[0];
                if !self.exists(script) {
                    return Outcome::fail(2, format!("sh: 0: cannot open {script}: No such file"));
                }
                self.install(&env, &args[1..], false)
            }
            other => Outcome::fail(127, format!("sh: 1: {other}: not found")),
        }
    }

    fn exists(&self, path: &str) -> bool {
        let Some(host) = self.account.hosts.get(&self.host) else {
            return false;
        };
        match path {
            KUBECONFIG | NODE_TOKEN => host.k3s.as_ref().is_some_and(|k| k.role == "server"),
            _ => host.files.contains_key(path),
        }
    }

    fn cat(&mut self, args: &[String]) -> Outcome {
        match args {
            [redirect, path] if redirect == ">" => {
                let bytes = self.stdin.take().unwrap_or_default().to_vec();
                let info = FileInfo {
                    size: bytes.len(),
                    sha256: hex(&Sha256::digest(&bytes)),
                    executable: false,
                    content: (bytes.len() <= 4096)
                        .then(|| String::from_utf8(bytes).ok())
                        .flatten(),
                };
                self.me().files.insert(path.clone(), info);
                Outcome::default()
            }
            [path] => self.read_file(path),
            _ => Outcome::fail(1, "cat: unsupported arguments"),
        }
    }

    fn read_file(&self, path: &str) -> Outcome {
        let missing = || Outcome::fail(1, format!("cat: {path}: No such file or directory"));
        let Some(host) = self.account.hosts.get(&self.host) else {
            return missing();
        };
        let server = host.k3s.as_ref().filter(|k| k.role == "server");
        match (path, server) {
            (KUBECONFIG, Some(k)) => ok(kubeconfig(self.account, &k.cluster, self.base_url)),
            (NODE_TOKEN, Some(k)) => match self.account.clusters.get(&k.cluster) {
                Some(c) => ok(format!("K10{}::server:{}\n", &c.kube_token[..16], c.token)),
                None => missing(),
            },
            _ => match host.files.get(path) {
                Some(f) => ok(f.content.clone().unwrap_or_default()),
                None => missing(),
            },
        }
    }

    fn chmod(&mut self, args: &[String]) -> Outcome {
        let [mode, path] = args else {
            return Outcome::fail(1, "chmod: missing operand");
        };
        let executable = mode.contains('x') || mode.chars().last().is_some_and(|c| c == '5');
        match self.me().files.get_mut(path) {
            Some(f) => {
                f.executable = executable;
                Outcome::default()
            }
            None => Outcome::fail(
                1,
                format!("chmod: cannot access '{path}': No such file or directory"),
            ),
        }
    }

    fn test(&self, args: &[String]) -> Outcome {
        let found = match args {
            [flag, path] if flag == "-x" => self
                .account
                .hosts
                .get(&self.host)
                .and_then(|h| h.files.get(path))
                .is_some_and(|f| f.executable),
            [flag, path] if flag == "-e" || flag == "-f" => self.exists(path),
            _ => false,
        };
        Outcome {
            status: if found { 0 } else { 1 },
            ..Outcome::default()
        }
    }

    fn systemctl(&self, args: &[String]) -> Outcome {
        let [verb, unit] = args else {
            return Outcome::fail(1, "systemctl: unsupported arguments");
        };
        if verb != "is-active" {
            return Outcome::fail(1, format!("systemctl: unsupported verb {verb}"));
        }
        let active = self.k3s().is_some_and(|k| {
            k.service_active && service_of(&k.role) == unit.trim_end_matches(".service")
        });
        if active {
            ok("active\n".into())
        } else {
            Outcome {
                stdout: "inactive\n".into(),
                status: 3,
                ..Outcome::default()
            }
        }
    }

    fn k3s_command(&mut self, args: &[String]) -> Outcome {
        let Some(k3s) = self.k3s().cloned() else {
            return Outcome::fail(127, "sh: 1: k3s: not found");
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args == ["--version"] {
            return ok(format!(
                "k3s version {} (emulated)\ngo version go1.22.5\n",
                k3s.version
            ));
        }
        if args.first() != Some(&"kubectl") {
            return Outcome::fail(1, format!("k3s: unsupported command {}", args.join(" ")));
        }
        if k3s.role != "server" || !k3s.service_active {
            return Outcome::fail(
                1,
                "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
            );
        }
        let nodes: Vec<(String, K3s)> = self
            .account
            .members(&k3s.cluster)
            .filter(|(_, k)| k.service_active)
            .map(|(n, k)| (n.to_string(), k.clone()))
            .collect();
        match &args[1..] {
            ["get", "nodes", "--no-headers"] => {
                let mut out = String::new();
                for (name, k) in &nodes {
                    let roles = if k.role == "server" {
                        "control-plane,etcd,master"
                    } else {
                        "<none>"
                    };
                    out.push_str(&format!("{name}   Ready   {roles}   5m   {}\n", k.version));
                }
                ok(out)
            }
            ["drain", name, ..] => match nodes.iter().any(|(n, _)| n == name) {
                true => ok(format!("node/{name} cordoned\nnode/{name} drained\n")),
                false => Outcome::fail(
                    1,
                    format!("Error from server (NotFound): nodes \"{name}\" not found"),
                ),
            },
            ["delete", "node", name] => match nodes.iter().any(|(n, _)| n == name) {
                true => ok(format!("node \"{name}\" deleted\n")),
                false => Outcome::fail(
                    1,
                    format!("Error from server (NotFound): nodes \"{name}\" not found"),
                ),
            },
            other => Outcome::fail(
                1,
                format!("kubectl: unsupported command {}", other.join(" ")),
            ),
        }
    }

    fn uninstall(&mut self, script: &str) -> Outcome {
        let expected = match self.k3s().map(|k| k.role.as_str()) {
            Some("server") => SERVER_UNINSTALL,
            Some(_) => AGENT_UNINSTALL,
            None => "",
        };
        if script != expected {
            return Outcome::fail(127, format!("sh: 1: {script}: not found"));
        }
        wipe_k3s(self.me());
        self.account.forget_empty_clusters();
        ok("+ systemctl stop k3s\n+ rm -rf /etc/rancher/k3s /var/lib/rancher/k3s\n".into())
    }

    /// The k3s installer: `args` are what follows `sh -s -` (or the script's path).
    fn install(
        &mut self,
        env: &BTreeMap<String, String>,
        args: &[String],
        online: bool,
    ) -> Outcome {
        let version = env
            .get("INSTALL_K3S_VERSION")
            .cloned()
            .unwrap_or_else(|| STABLE.to_string());
        if !online {
            let skip = env.get("INSTALL_K3S_SKIP_DOWNLOAD").map(String::as_str) == Some("true");
            if !skip {
                return Outcome::fail(
                    1,
                    "[ERROR]  Download failed: curl: (6) Could not resolve host: github.com",
                );
            }
            let binary_ok = self
                .account
                .hosts
                .get(&self.host)
                .and_then(|h| h.files.get(K3S_BINARY))
                .is_some_and(|f| f.executable);
            if !binary_ok {
                return Outcome::fail(
                    1,
                    format!("[ERROR]  {K3S_BINARY} is missing or not executable; upload the k3s binary first"),
                );
            }
        }
        let role = match args.first().map(String::as_str) {
            Some("server") => "server",
            Some("agent") => "agent",
            other => {
                return Outcome::fail(
                    1,
                    format!("[ERROR]  unknown k3s command {other:?}: expected server or agent"),
                )
            }
        };
        let flag = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let token = match (flag("--token"), flag("--token-file")) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => match self.read_file(&path) {
                out if out.status == 0 => Some(out.stdout.trim().to_string()),
                out => return out,
            },
            (None, None) => None,
        };
        let cluster_init = args.iter().any(|a| a == "--cluster-init");
        let current = self.k3s().cloned();

        let cluster = if let Some(url) = flag("--server") {
            let target = url
                .trim_start_matches("https://")
                .split([':', '/'])
                .next()
                .unwrap_or_default()
                .to_string();
            let target_k3s = self
                .account
                .hosts
                .get(&target)
                .and_then(|h| h.k3s.clone())
                .filter(|k| k.role == "server" && k.service_active);
            let Some(target_k3s) = target_k3s else {
                return Outcome::fail(
                    1,
                    format!(
                        "Job for {}.service failed: could not reach the server at {url}",
                        service_of(role)
                    ),
                );
            };
            let expected = self
                .account
                .clusters
                .get(&target_k3s.cluster)
                .map(|c| c.token.clone())
                .unwrap_or_default();
            if token.as_deref() != Some(expected.as_str()) {
                return Outcome::fail(
                    1,
                    format!(
                        "Job for {}.service failed: the server at {url} rejected the join token",
                        service_of(role)
                    ),
                );
            }
            target_k3s.cluster
        } else if role == "agent" {
            return Outcome::fail(1, "[ERROR]  an agent needs --server URL (or K3S_URL)");
        } else {
            match current.as_ref().filter(|k| k.role == "server") {
                Some(k) => k.cluster.clone(),
                None => {
                    let Some(token) = token.filter(|t| !t.is_empty()) else {
                        return Outcome::fail(1, "[ERROR]  this emulated installer needs a token");
                    };
                    let id = format!("k3s-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
                    self.account.clusters.insert(
                        id.clone(),
                        Cluster {
                            token,
                            kube_token: uuid::Uuid::new_v4().simple().to_string(),
                            init_host: self.host.clone(),
                        },
                    );
                    let _ = cluster_init;
                    id
                }
            }
        };

        let host = self.me();
        if online {
            host.files
                .insert(K3S_BINARY.into(), executable_file(&version));
        }
        let uninstall = if role == "server" {
            SERVER_UNINSTALL
        } else {
            AGENT_UNINSTALL
        };
        host.files
            .insert(uninstall.into(), executable_file(uninstall));
        host.k3s = Some(K3s {
            role: role.into(),
            version: version.clone(),
            cluster,
            service_active: true,
        });
        self.account.forget_empty_clusters();
        Outcome {
            stdout: format!(
                "[INFO]  Using {version} as release\n[INFO]  systemd: Starting {}\n",
                service_of(role)
            ),
            installed: true,
            ..Outcome::default()
        }
    }
}

fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

fn service_of(role: &str) -> &'static str {
    if role == "server" {
        "k3s"
    } else {
        "k3s-agent"
    }
}

fn executable_file(seed: &str) -> FileInfo {
    FileInfo {
        size: seed.len(),
        sha256: hex(&Sha256::digest(seed.as_bytes())),
        executable: true,
        content: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The kubeconfig a server of `cluster` keeps in `/etc/rancher/k3s/k3s.yaml`: its server is the
/// cluster's emulated Kubernetes API.
fn kubeconfig(account: &Account, cluster: &str, base_url: &str) -> String {
    let token = account
        .clusters
        .get(cluster)
        .map(|c| c.kube_token.clone())
        .unwrap_or_default();
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "default", "cluster": { "server": format!("{base_url}/k8s/{cluster}") } }],
        "contexts": [{ "name": "default", "context": { "cluster": "default", "user": "default" } }],
        "current-context": "default",
        "preferences": {},
        "users": [{ "name": "default", "user": { "token": token } }],
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Account {
        let mut a = Account::default();
        for n in ["node-1", "node-2", "node-3"] {
            a.hosts.insert(
                n.into(),
                Host {
                    port: 0,
                    host_key: String::new(),
                    reachable: true,
                    fail_command: None,
                    k3s: None,
                    files: BTreeMap::new(),
                },
            );
        }
        a
    }

    fn run(a: &mut Account, host: &str, cmd: &str, stdin: &str) -> Outcome {
        execute(a, host, cmd, stdin.as_bytes(), "http://127.0.0.1:9")
    }

    const TOKEN: &str = "sudo -n sh -c 'umask 077 && mkdir -p /etc/rancher/k3s && cat > /etc/rancher/k3s/cluster-token'";

    #[test]
    fn servers_and_agents_form_one_cluster_only_with_the_right_token() {
        let mut a = fleet();
        assert_eq!(run(&mut a, "node-1", TOKEN, "s3cret").status, 0);
        let install = "sh -c 'curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.30.4+k3s1 sh -s - server --cluster-init --token-file /etc/rancher/k3s/cluster-token'";
        let out = run(&mut a, "node-1", install, "");
        assert_eq!(out.status, 0, "{out:?}");
        assert!(out.installed);
        assert_eq!(a.clusters.len(), 1);

        run(&mut a, "node-2", TOKEN, "wrong");
        let join = "sh -c 'curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.30.4+k3s1 sh -s - agent --server https://node-1:6443 --token-file /etc/rancher/k3s/cluster-token'";
        let out = run(&mut a, "node-2", join, "");
        assert_eq!(out.status, 1);
        assert!(out.stderr.contains("rejected the join token"), "{out:?}");
        run(&mut a, "node-2", TOKEN, "s3cret");
        assert_eq!(run(&mut a, "node-2", join, "").status, 0);

        let nodes = run(
            &mut a,
            "node-1",
            "sudo -n k3s kubectl get nodes --no-headers",
            "",
        );
        assert_eq!(nodes.stdout.lines().count(), 2, "{nodes:?}");
        assert!(
            nodes.stdout.contains("node-2   Ready   <none>"),
            "{nodes:?}"
        );
        let active = run(&mut a, "node-2", "systemctl is-active k3s-agent", "");
        assert_eq!((active.status, active.stdout.as_str()), (0, "active\n"));
        let version = run(&mut a, "node-2", "k3s --version", "");
        assert!(version.stdout.starts_with("k3s version v1.30.4+k3s1"));
        let yaml = run(
            &mut a,
            "node-1",
            "sudo -n cat /etc/rancher/k3s/k3s.yaml",
            "",
        );
        assert!(
            yaml.stdout.contains("http://127.0.0.1:9/k8s/k3s-"),
            "{yaml:?}"
        );

        assert_eq!(
            run(
                &mut a,
                "node-2",
                "sudo -n /usr/local/bin/k3s-agent-uninstall.sh",
                ""
            )
            .status,
            0
        );
        assert_eq!(
            run(
                &mut a,
                "node-1",
                "test -x /usr/local/bin/k3s-uninstall.sh",
                ""
            )
            .status,
            0
        );
        assert_eq!(
            run(&mut a, "node-1", "/usr/local/bin/k3s-uninstall.sh", "").status,
            0
        );
        assert!(a.clusters.is_empty());
        assert!(a.hosts.values().all(|h| h.k3s.is_none()));
    }

    #[test]
    fn air_gapped_installs_need_the_uploaded_binary_and_injected_faults_fail() {
        let mut a = fleet();
        run(&mut a, "node-1", TOKEN, "t");
        let install = "sh -c 'INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_VERSION=v1.30.4+k3s1 sh /usr/local/bin/k3s-install.sh server --cluster-init --token-file /etc/rancher/k3s/cluster-token'";
        run(&mut a, "node-1", "sh -c 'cat > /usr/local/bin/k3s-install.sh && chmod 755 /usr/local/bin/k3s-install.sh'", "#!/bin/sh");
        let out = run(&mut a, "node-1", install, "");
        assert_eq!(out.status, 1);
        assert!(out.stderr.contains("missing or not executable"), "{out:?}");
        run(
            &mut a,
            "node-1",
            "sh -c 'cat > /usr/local/bin/k3s && chmod 755 /usr/local/bin/k3s'",
            "ELF",
        );
        assert_eq!(run(&mut a, "node-1", install, "").status, 0);

        a.hosts.get_mut("node-2").unwrap().fail_command = Some("get.k3s.io".into());
        let out = run(
            &mut a,
            "node-2",
            "sh -c 'curl -sfL https://get.k3s.io | sh -s - agent'",
            "",
        );
        assert_eq!(out.status, 1);
        assert!(out.stderr.contains("node-2"), "{out:?}");
        assert_eq!(run(&mut a, "node-3", "frobnicate", "").status, 127);
    }

    #[test]
    fn quoting_is_understood() {
        assert_eq!(unquote("'a b'").as_deref(), Some("a b"));
        assert_eq!(unquote("'it'\\''s'").as_deref(), Some("it's"));
        assert_eq!(unquote("'open"), None);
        assert_eq!(words("A=1 sh  -s 'x y'"), ["A=1", "sh", "-s", "x y"]);
    }
}
