//! The SSH servers of the emulated hosts (russh, server side), one loopback port per host, and
//! the OpenSSH-style files that let clients find and trust them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::{shell, Host};
use crate::faults::FaultInjector;
use crate::services::Shared;
use crate::{EmulatorConfig, EmulatorError};

/// How many hosts the fleet has unless `STRATA_EMULATOR_ONPREM_HOSTS` says otherwise.
const DEFAULT_HOSTS: usize = 8;
/// Sets the fleet's size.
pub(crate) const HOSTS_ENV: &str = "STRATA_EMULATOR_ONPREM_HOSTS";
/// Milliseconds an install or upgrade of k3s takes (0 by default).
pub(crate) const INSTALL_MS_ENV: &str = "STRATA_EMULATOR_ONPREM_INSTALL_MS";

/// The folder, inside the data folder, holding the files clients use.
pub(crate) const FOLDER: &str = "onprem";

/// The SSH servers of the emulated hosts, started with the emulator and stopped with it.
pub(crate) struct SshHosts {
    tasks: Vec<JoinHandle<()>>,
}

/// What every connection to a host shares.
struct Fleet {
    services: Shared,
    faults: Arc<FaultInjector>,
    /// `DATA_DIR/onprem/commands.jsonl`, when there is a data folder.
    command_log: Option<PathBuf>,
    install_delay: Duration,
    log_lock: std::sync::Mutex<()>,
}

impl SshHosts {
    /// Starts one SSH server per emulated host, creating the fleet on first start.
    pub(crate) async fn start(
        services: Shared,
        faults: Arc<FaultInjector>,
        config: &EmulatorConfig,
    ) -> Result<SshHosts, EmulatorError> {
        let count = std::env::var(HOSTS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_HOSTS);
        let install_delay = Duration::from_millis(
            std::env::var(INSTALL_MS_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        );
        services.update(|cloud| {
            let account = &mut cloud.onprem;
            if account.client_key.is_empty() {
                account.client_key = new_key_text().map_err(key_error)?;
            }
            for i in 1..=count {
                let name = format!("node-{i}");
                if let std::collections::btree_map::Entry::Vacant(slot) = account.hosts.entry(name)
                {
                    slot.insert(Host {
                        port: 0,
                        host_key: new_key_text().map_err(key_error)?,
                        reachable: true,
                        fail_command: None,
                        k3s: None,
                        files: Default::default(),
                    });
                }
            }
            Ok::<_, EmulatorError>(())
        })?;

        // Bind every host's port, reusing the remembered one when it is free; an unreachable
        // host keeps a port nobody listens on, so connecting to it is refused.
        let hosts = services.read(|cloud| cloud.onprem.hosts.clone())?;
        let mut listeners = Vec::new();
        let mut ports = Vec::new();
        for (name, host) in &hosts {
            let listener = bind(host.port).await?;
            let port = listener
                .local_addr()
                .map_err(|e| EmulatorError::io(format!("port of {name}"), e))?
                .port();
            ports.push((name.clone(), port));
            if host.reachable {
                listeners.push((name.clone(), listener));
            }
        }
        services.update(|cloud| {
            for (name, port) in &ports {
                if let Some(h) = cloud.onprem.hosts.get_mut(name) {
                    h.port = *port;
                }
            }
            Ok::<_, EmulatorError>(())
        })?;

        let command_log = match &config.data_dir {
            Some(dir) => {
                let account = services.read(|cloud| cloud.onprem.clone())?;
                write_client_files(&dir.join(FOLDER), &account)?;
                Some(dir.join(FOLDER).join("commands.jsonl"))
            }
            None => None,
        };
        let fleet = Arc::new(Fleet {
            services,
            faults,
            command_log,
            install_delay,
            log_lock: std::sync::Mutex::new(()),
        });
        let tasks = listeners
            .into_iter()
            .map(|(name, listener)| tokio::spawn(serve(fleet.clone(), name, listener)))
            .collect();
        Ok(SshHosts { tasks })
    }

    /// Stops every SSH server.
    pub(crate) async fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn bind(port: u16) -> Result<TcpListener, EmulatorError> {
    let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
    if port != 0 {
        if let Ok(l) = TcpListener::bind(loopback(port)).await {
            return Ok(l);
        }
    }
    TcpListener::bind(loopback(0))
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: loopback(0),
            source,
        })
}

/// Accepts connections to one host until the emulator stops.
async fn serve(fleet: Arc<Fleet>, name: String, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let fleet = fleet.clone();
        let name = name.clone();
        tokio::spawn(async move { connection(fleet, name, stream).await });
    }
}

async fn connection(fleet: Arc<Fleet>, name: String, stream: TcpStream) {
    let host = fleet.services.read(|cloud| {
        (
            cloud.onprem.hosts.get(&name).cloned(),
            cloud.onprem.client_key.clone(),
        )
    });
    let Ok((Some(host), client_key)) = host else {
        return;
    };
    // A host turned unreachable while the emulator runs drops connections before the SSH
    // handshake; a decided fault does the same, as a flaky network would.
    if !host.reachable || fleet.faults.delay_and_decide().await.is_some() {
        return;
    }
    let (Ok(host_key), Ok(client)) = (
        PrivateKey::from_openssh(&host.host_key),
        PrivateKey::from_openssh(&client_key),
    ) else {
        tracing::error!(host = %name, "the emulated host's keys are unreadable");
        return;
    };
    let config = Arc::new(russh::server::Config {
        keys: vec![host_key],
        auth_rejection_time: Duration::from_millis(50),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(600)),
        ..Default::default()
    });
    let handler = HostSession {
        fleet,
        host: name.clone(),
        authorized: client.public_key().clone(),
        user: String::new(),
        channels: HashMap::new(),
    };
    match russh::server::run_stream(config, stream, handler).await {
        Ok(session) => {
            if let Err(e) = session.await {
                tracing::debug!(host = %name, error = %e, "ssh session ended");
            }
        }
        Err(e) => tracing::debug!(host = %name, error = %e, "ssh handshake failed"),
    }
}

/// A command received on a channel, waiting for the end of its standard input.
#[derive(Default)]
struct Pending {
    command: Option<String>,
    stdin: Vec<u8>,
}

struct HostSession {
    fleet: Arc<Fleet>,
    host: String,
    /// The client key the hosts accept.
    authorized: PublicKey,
    user: String,
    channels: HashMap<ChannelId, Pending>,
}

impl russh::server::Handler for HostSession {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if key.public_key.key_data() == self.authorized.key_data() {
            self.user = user.to_string();
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), Pending::default());
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let pending = self.channels.entry(channel).or_default();
        pending.command = Some(String::from_utf8_lossy(data).into_owned());
        session.channel_success(channel)?;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels
            .entry(channel)
            .or_default()
            .stdin
            .extend_from_slice(data);
        Ok(())
    }

    /// The command runs once its standard input is complete.
    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(pending) = self.channels.remove(&channel) else {
            return Ok(());
        };
        let Some(command) = pending.command else {
            session.close(channel)?;
            return Ok(());
        };
        let base_url = self.fleet.services.base_url.clone();
        let host = self.host.clone();
        let outcome = self
            .fleet
            .services
            .update(|cloud| {
                Ok::<_, EmulatorError>(shell::execute(
                    &mut cloud.onprem,
                    &host,
                    &command,
                    &pending.stdin,
                    &base_url,
                ))
            })
            .unwrap_or_else(|e| shell::Outcome {
                stderr: format!("emulator: {e}\n"),
                status: 255,
                ..Default::default()
            });
        if outcome.installed && !self.fleet.install_delay.is_zero() {
            tokio::time::sleep(self.fleet.install_delay).await;
        }
        self.fleet.log(
            &self.host,
            &self.user,
            &command,
            &outcome,
            pending.stdin.len(),
        );
        if !outcome.stdout.is_empty() {
            session.data(channel, outcome.stdout.into_bytes())?;
        }
        if !outcome.stderr.is_empty() {
            session.extended_data(channel, 1, outcome.stderr.into_bytes())?;
        }
        session.exit_status_request(channel, outcome.status)?;
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }
}

impl Fleet {
    /// Appends one line to the command log; standard input is counted, never recorded.
    fn log(&self, host: &str, user: &str, command: &str, outcome: &shell::Outcome, stdin: usize) {
        let Some(path) = &self.command_log else {
            return;
        };
        let line = serde_json::json!({
            "time": crate::clock::now().unix_timestamp(),
            "host": host,
            "user": user,
            "command": command,
            "exit_status": outcome.status,
            "stdin_bytes": stdin,
        });
        let _guard = self.log_lock.lock().unwrap_or_else(|p| p.into_inner());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot append to the command log");
        }
    }
}

fn key_error(message: String) -> EmulatorError {
    EmulatorError::io("an emulated host key", std::io::Error::other(message))
}

/// A new ed25519 key in OpenSSH private key format.
pub(crate) fn new_key_text() -> Result<String, String> {
    let seed: [u8; 32] = rand::random();
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    key.to_openssh(LineEnding::LF)
        .map(|text| text.to_string())
        .map_err(|e| format!("encoding a new ssh key: {e}"))
}

/// `SHA256:…` of the public half of a private key in OpenSSH format.
pub(crate) fn fingerprint_of(key_text: &str) -> Option<String> {
    let key = PrivateKey::from_openssh(key_text).ok()?;
    Some(key.public_key().fingerprint(HashAlg::Sha256).to_string())
}

/// `ssh-ed25519 AAAA…` of the public half of a private key in OpenSSH format.
fn public_line(key_text: &str) -> Option<String> {
    let key = PrivateKey::from_openssh(key_text).ok()?;
    let text = key.public_key().to_openssh().ok()?;
    Some(text.split(' ').take(2).collect::<Vec<_>>().join(" "))
}

/// Writes `ssh_config` and the client key `id_ed25519` into `dir`, and adds to its
/// `known_hosts` the hosts it does not list yet. Entries already there are kept as they are,
/// as a user's `known_hosts` would be: a host whose key changed since is refused by clients.
fn write_client_files(dir: &Path, account: &super::Account) -> Result<(), EmulatorError> {
    std::fs::create_dir_all(dir).map_err(|e| EmulatorError::io(dir, e))?;
    let key_path = dir.join("id_ed25519");
    write_private(&key_path, &account.client_key)?;

    let known_path = dir.join("known_hosts");
    let mut config = String::from(
        "# The emulated onprem hosts, as OpenSSH reads them: ssh -F THIS_FILE node-1\n",
    );
    // Each line ends with the host's name, so that a line left behind by a host that moved to
    // another port can be dropped: the port may be handed to another host later.
    let previous = std::fs::read_to_string(&known_path).unwrap_or_default();
    let mut known = String::from("# Host keys of the emulated onprem hosts.\n");
    let mut listed = Vec::new();
    for line in previous.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(' ').collect();
        let (Some(pattern), Some(name)) = (fields.first(), fields.get(3)) else {
            continue;
        };
        let current = account
            .hosts
            .get(*name)
            .map(|h| format!("[127.0.0.1]:{}", h.port));
        if current.as_deref() == Some(*pattern) {
            listed.push(pattern.to_string());
            known.push_str(line);
            known.push('\n');
        }
    }
    for (name, host) in &account.hosts {
        let _ = write!(
            config,
            "\nHost {name}\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile \"{}\"\n  UserKnownHostsFile \"{}\"\n",
            host.port,
            key_path.display(),
            known_path.display()
        );
        let pattern = format!("[127.0.0.1]:{}", host.port);
        if !listed.contains(&pattern) {
            if let Some(line) = public_line(&host.host_key) {
                let _ = writeln!(known, "{pattern} {line} {name}");
            }
        }
    }
    let path = dir.join("ssh_config");
    std::fs::write(&path, config).map_err(|e| EmulatorError::io(&path, e))?;
    std::fs::write(&known_path, known).map_err(|e| EmulatorError::io(&known_path, e))?;
    Ok(())
}

/// Writes a private key readable by its owner only, as ssh requires.
fn write_private(path: &Path, text: &str) -> Result<(), EmulatorError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| EmulatorError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(port: u16) -> Host {
        Host {
            port,
            host_key: new_key_text().unwrap(),
            reachable: true,
            fail_command: None,
            k3s: None,
            files: Default::default(),
        }
    }

    #[test]
    fn known_hosts_keeps_recorded_keys_and_drops_lines_of_hosts_that_moved() {
        let dir = tempfile::tempdir().unwrap();
        let mut account = super::super::Account {
            client_key: new_key_text().unwrap(),
            ..Default::default()
        };
        account.hosts.insert("node-1".into(), host(2201));
        account.hosts.insert("node-2".into(), host(2202));
        write_client_files(dir.path(), &account).unwrap();
        let read = || std::fs::read_to_string(dir.path().join("known_hosts")).unwrap();
        let first = read();
        let key1 = public_line(&account.hosts["node-1"].host_key).unwrap();
        assert!(first.contains(&format!("[127.0.0.1]:2201 {key1} node-1")));

        // A rotated key is not learnt: the recorded one stays, as in a user's known_hosts.
        account.hosts.get_mut("node-1").unwrap().host_key = new_key_text().unwrap();
        // A host that moved is recorded at its new port only.
        account.hosts.get_mut("node-2").unwrap().port = 2299;
        write_client_files(dir.path(), &account).unwrap();
        let second = read();
        assert!(second.contains(&format!("[127.0.0.1]:2201 {key1} node-1")));
        assert!(!second.contains("[127.0.0.1]:2202"));
        assert!(second.contains("[127.0.0.1]:2299"));
        let config = std::fs::read_to_string(dir.path().join("ssh_config")).unwrap();
        assert!(config.contains("Host node-2\n  HostName 127.0.0.1\n  Port 2299\n"));
    }
}
