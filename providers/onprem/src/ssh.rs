//! SSH sessions to the hosts (russh, client side): connecting with retries, verifying the host
//! key against `known_hosts` or a pinned key, authenticating with a key or the agent, and
//! running one command at a time with its standard input.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::ChannelMsg;
use strata_core::retry::{jitter_unit, RetryPolicy};

use crate::secret::Secret;

/// Where a host is and how to log in to it, after `ssh_config` was applied.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The address as configured (`node-1`, `10.0.0.5`): what messages name.
    pub address: String,
    /// What to connect to (the `HostName` of `ssh_config`, else the address).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Keys to offer, in order; the agent comes after them.
    pub keys: Vec<KeySource>,
    pub host_check: HostCheck,
}

#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// A private key's text (OpenSSH or PEM).
    Inline(Secret),
    /// A private key file; `required` ones must exist, others are skipped when absent.
    File { path: PathBuf, required: bool },
}

/// How the host's key is verified.
#[derive(Debug, Clone)]
pub(crate) enum HostCheck {
    /// A pinned `ssh-ed25519 AAAA…` key or `SHA256:…` fingerprint.
    Pinned(String),
    /// An OpenSSH `known_hosts` file.
    KnownHosts(PathBuf),
}

/// Time limits of SSH work.
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    /// How long to keep retrying a connection that is refused or dropped.
    pub connect: Duration,
    /// How long one command may run.
    pub command: Duration,
}

/// Why an SSH operation failed, without the host (the caller names it).
#[derive(Debug, Clone)]
pub(crate) enum SshError {
    /// No connection could be made: refused, unreachable, dropped.
    Unreachable(String),
    /// The host key is unknown or changed.
    HostKey { message: String, hint: String },
    /// No key was accepted.
    Auth(String),
    /// The command did not finish in time.
    Timeout(Duration),
    /// Anything else on the wire.
    Protocol(String),
}

impl std::fmt::Display for SshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshError::Unreachable(m) => write!(f, "cannot connect: {m}"),
            SshError::HostKey { message, .. } => f.write_str(message),
            SshError::Auth(m) => write!(f, "authentication failed: {m}"),
            SshError::Timeout(d) => write!(f, "no answer within {}s", d.as_secs()),
            SshError::Protocol(m) => write!(f, "ssh error: {m}"),
        }
    }
}

/// What a command printed and how it exited.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: u32,
}

/// One authenticated SSH connection.
pub(crate) struct Connection {
    handle: Handle<Client>,
    command_timeout: Duration,
}

struct Client {
    target: Target,
    /// Why the host key was refused, for the error the caller sees.
    refusal: Arc<Mutex<Option<SshError>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(SshError::HostKey {
                message: "the host presented a certificate; only plain host keys are verified"
                    .into(),
                hint: "pin the host's plain key in host_keys".into(),
            });
            return Ok(false);
        };
        match verify_host_key(&self.target, key) {
            Ok(()) => Ok(true),
            Err(e) => {
                *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Ok(false)
            }
        }
    }
}

impl Connection {
    /// Connects (retrying refused or dropped connections within `timeouts.connect`), verifies
    /// the host key and logs in.
    pub async fn open(target: &Target, timeouts: &Timeouts) -> Result<Connection, SshError> {
        // A dropped handshake costs little to try again, and a flaky network drops many: the
        // backoff stays short so that many attempts fit in the connect timeout.
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            deadline: timeouts.connect,
        };
        let started = Instant::now();
        let mut attempt = 0;
        let handle = loop {
            attempt += 1;
            match handshake(target, timeouts.connect).await {
                Ok(h) => break h,
                Err(SshError::Unreachable(m)) => {
                    match policy.next_delay(attempt, None, started.elapsed(), jitter_unit()) {
                        Some(delay) => {
                            tracing::debug!(host = %target.address, error = %m, "retrying ssh connection");
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(SshError::Unreachable(m)),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let mut connection = Connection {
            handle,
            command_timeout: timeouts.command,
        };
        connection.authenticate(target).await?;
        Ok(connection)
    }

    async fn authenticate(&mut self, target: &Target) -> Result<(), SshError> {
        let mut tried = Vec::new();
        for source in &target.keys {
            let key = match source {
                KeySource::Inline(text) => {
                    tried.push("private_key".to_string());
                    russh::keys::decode_secret_key(text.expose(), None).map_err(|e| {
                        SshError::Auth(format!(
                            "private_key is not a readable private key ({e}); encrypted keys need the agent"
                        ))
                    })?
                }
                KeySource::File { path, required } => {
                    if !path.exists() && !required {
                        continue;
                    }
                    tried.push(path.display().to_string());
                    load_key_file(path)?
                }
            };
            if self.offer_key(&target.user, key).await? {
                return Ok(());
            }
        }
        if let Some(sock) = std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
            tried.push("the ssh agent".into());
            if self.offer_agent(&target.user, Path::new(&sock)).await? {
                return Ok(());
            }
        }
        let tried = if tried.is_empty() {
            "no key was found to offer".to_string()
        } else {
            format!("offered {}", tried.join(", "))
        };
        Err(SshError::Auth(format!(
            "{}@{} accepted none of the keys ({tried})",
            target.user, target.address
        )))
    }

    async fn offer_key(&mut self, user: &str, key: PrivateKey) -> Result<bool, SshError> {
        let hash = self
            .handle
            .best_supported_rsa_hash()
            .await
            .map_err(protocol)?
            .flatten();
        let result = self
            .handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(protocol)?;
        Ok(result.success())
    }

    async fn offer_agent(&mut self, user: &str, socket: &Path) -> Result<bool, SshError> {
        let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_uds(socket).await
        else {
            return Ok(false);
        };
        let identities = agent.request_identities().await.unwrap_or_default();
        for identity in identities {
            let key: PublicKey = identity.public_key().into_owned();
            let hash = self
                .handle
                .best_supported_rsa_hash()
                .await
                .map_err(protocol)?
                .flatten();
            match self
                .handle
                .authenticate_publickey_with(user, key, hash, &mut agent)
                .await
            {
                Ok(r) if r.success() => return Ok(true),
                _ => continue,
            }
        }
        Ok(false)
    }

    /// Runs `command`, feeding it `stdin`, and waits for it to exit.
    pub async fn run(&self, command: &str, stdin: &[u8]) -> Result<Output, SshError> {
        let work = async {
            let mut channel = self.handle.channel_open_session().await.map_err(protocol)?;
            channel.exec(true, command).await.map_err(protocol)?;
            if !stdin.is_empty() {
                channel.data(stdin).await.map_err(protocol)?;
            }
            channel.eof().await.map_err(protocol)?;
            let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        return Err(SshError::Protocol(format!(
                            "the command was killed by signal {signal_name:?}"
                        )))
                    }
                    _ => {}
                }
            }
            Ok(Output {
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                status: status.ok_or_else(|| {
                    SshError::Protocol("the connection closed before the command exited".into())
                })?,
            })
        };
        match tokio::time::timeout(self.command_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(SshError::Timeout(self.command_timeout)),
        }
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

fn protocol(e: russh::Error) -> SshError {
    SshError::Protocol(e.to_string())
}

fn load_key_file(path: &Path) -> Result<PrivateKey, SshError> {
    russh::keys::load_secret_key(path, None).map_err(|e| {
        SshError::Auth(format!(
            "cannot use the private key {}: {e} (encrypted keys need the agent)",
            path.display()
        ))
    })
}

/// TCP connection and SSH handshake, host key verification included.
async fn handshake(target: &Target, limit: Duration) -> Result<Handle<Client>, SshError> {
    let addr = (target.host.as_str(), target.port);
    let stream = match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(SshError::Unreachable(format!(
                "{}:{}: {e}",
                target.host, target.port
            )))
        }
        Err(_) => {
            return Err(SshError::Unreachable(format!(
                "{}:{}: no answer within {}s",
                target.host,
                target.port,
                limit.as_secs()
            )))
        }
    };
    let _ = stream.set_nodelay(true);
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(3600)),
        ..Default::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let client = Client {
        target: target.clone(),
        refusal: refusal.clone(),
    };
    match tokio::time::timeout(limit, client::connect_stream(config, stream, client)).await {
        Ok(Ok(handle)) => Ok(handle),
        Ok(Err(e)) => {
            if let Some(refused) = refusal.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(refused);
            }
            // A connection dropped during the handshake is a network problem worth retrying.
            Err(SshError::Unreachable(format!(
                "{}:{}: {e}",
                target.host, target.port
            )))
        }
        Err(_) => Err(SshError::Unreachable(format!(
            "{}:{}: the ssh handshake did not finish within {}s",
            target.host,
            target.port,
            limit.as_secs()
        ))),
    }
}

fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Accepts the key only when it is the pinned one or the one `known_hosts` records.
fn verify_host_key(target: &Target, key: &PublicKey) -> Result<(), SshError> {
    let presented = fingerprint(key);
    let address = &target.address;
    match &target.host_check {
        HostCheck::Pinned(pin) => {
            let pin = pin.trim();
            let expected = if pin.starts_with("SHA256:") {
                pin.to_string()
            } else {
                match PublicKey::from_openssh(pin) {
                    Ok(k) => fingerprint(&k),
                    Err(e) => {
                        return Err(SshError::HostKey {
                            message: format!(
                                "host_keys[{address:?}] is neither `ssh-ed25519 AAAA…` nor `SHA256:…`: {e}"
                            ),
                            hint: format!("`ssh-keyscan -t ed25519 {}` prints the key", target.host),
                        })
                    }
                }
            };
            if expected.trim_end_matches('=') == presented.trim_end_matches('=') {
                Ok(())
            } else {
                Err(changed(target, &expected, &presented, "host_keys"))
            }
        }
        HostCheck::KnownHosts(path) => {
            let mut recorded = known_keys(path, &target.host, target.port);
            if recorded.is_empty() && target.host != target.address {
                recorded = known_keys(path, &target.address, target.port);
            }
            if recorded.iter().any(|k| k.key_data() == key.key_data()) {
                return Ok(());
            }
            match recorded.iter().find(|k| k.algorithm() == key.algorithm()) {
                Some(old) => Err(changed(
                    target,
                    &fingerprint(old),
                    &presented,
                    &path.display().to_string(),
                )),
                None => Err(SshError::HostKey {
                    message: format!(
                        "the host key of {address} ({}:{}) is not in {}; it presented {presented}",
                        target.host,
                        target.port,
                        path.display()
                    ),
                    hint: format!(
                        "check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), \
                         then add it with `ssh-keyscan -p {} {} >> {}`, or pin it in host_keys",
                        target.port,
                        target.host,
                        path.display()
                    ),
                }),
            }
        }
    }
}

fn changed(target: &Target, expected: &str, presented: &str, source: &str) -> SshError {
    SshError::HostKey {
        message: format!(
            "the host key of {} ({}:{}) does not match: {source} expects {expected}, the host presented {presented}",
            target.address, target.host, target.port
        ),
        hint: "this may be an attack, or the host was reinstalled; verify the new key on the host before trusting it".into(),
    }
}

fn known_keys(path: &Path, host: &str, port: u16) -> Vec<PublicKey> {
    russh::keys::known_hosts::known_host_keys_path(host, port, path)
        .map(|found| found.into_iter().map(|(_, k)| k).collect())
        .unwrap_or_default()
}
