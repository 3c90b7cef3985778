//! The part of OpenSSH's client configuration (`ssh_config`) this provider honours: for the
//! `Host` blocks matching an address, `HostName`, `Port`, `User`, `IdentityFile` and
//! `UserKnownHostsFile`. As in OpenSSH, the first value found for a keyword wins, except
//! `IdentityFile`, which accumulates.

use std::path::{Path, PathBuf};

/// What the configuration says about one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HostConfig {
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: Option<PathBuf>,
}

/// The patterns of one `Host` line, and the `(keyword, value)` settings under it.
type Block = (Vec<String>, Vec<(String, String)>);

/// A parsed configuration file.
#[derive(Debug, Clone, Default)]
pub(crate) struct SshConfig {
    /// `(patterns, settings)` in file order; settings before any `Host` line apply to all.
    blocks: Vec<Block>,
}

impl SshConfig {
    /// Reads the file at `path`; a missing file is an error naming it.
    pub fn load(path: &Path) -> Result<SshConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the ssh config {}: {e}", path.display()))?;
        Ok(SshConfig::parse(&text))
    }

    pub fn parse(text: &str) -> SshConfig {
        let mut blocks = vec![(vec!["*".to_string()], Vec::new())];
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
                Some((k, v)) => (
                    k,
                    v.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
                ),
                None => (line, ""),
            };
            let keyword = keyword.to_ascii_lowercase();
            let value = value.trim();
            if keyword == "host" {
                let patterns = value.split_whitespace().map(str::to_string).collect();
                blocks.push((patterns, Vec::new()));
            } else if let Some(last) = blocks.last_mut() {
                last.1.push((keyword, unquote(value)));
            }
        }
        SshConfig { blocks }
    }

    /// The settings for `alias`, as `ssh alias` would use them.
    pub fn host(&self, alias: &str) -> HostConfig {
        let mut out = HostConfig::default();
        for (patterns, settings) in &self.blocks {
            if !matches(patterns, alias) {
                continue;
            }
            for (keyword, value) in settings {
                match keyword.as_str() {
                    "hostname" if out.host_name.is_none() => {
                        out.host_name = Some(value.replace("%h", alias))
                    }
                    "port" if out.port.is_none() => out.port = value.parse().ok(),
                    "user" if out.user.is_none() => out.user = Some(value.clone()),
                    "identityfile" => out.identity_files.push(expand_home(value)),
                    "userknownhostsfile" if out.known_hosts.is_none() => {
                        out.known_hosts = value.split_whitespace().next().map(expand_home)
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn unquote(value: &str) -> String {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
        .to_string()
}

/// `~/x` relative to the home folder.
pub(crate) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// OpenSSH pattern lists: `*` and `?` wildcards, `!` negations.
fn matches(patterns: &[String], alias: &str) -> bool {
    let mut any = false;
    for p in patterns {
        if let Some(negated) = p.strip_prefix('!') {
            if glob(negated, alias) {
                return false;
            }
        } else if glob(p, alias) {
            any = true;
        }
    }
    any
}

fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_identity_files_accumulate() {
        let c = SshConfig::parse(
            "IdentityFile /keys/global\n\
             Host node-1 node-2\n  HostName 127.0.0.1\n  Port 2201\n  IdentityFile \"/keys/a b\"\n\
             Host node-*\n  Port 22\n  User ubuntu\n  UserKnownHostsFile /kh\n\
             Host * !node-3\n  User admin\n",
        );
        let h = c.host("node-1");
        assert_eq!(h.host_name.as_deref(), Some("127.0.0.1"));
        assert_eq!(h.port, Some(2201));
        assert_eq!(h.user.as_deref(), Some("ubuntu"));
        assert_eq!(
            h.identity_files,
            vec![PathBuf::from("/keys/global"), PathBuf::from("/keys/a b")]
        );
        assert_eq!(h.known_hosts, Some(PathBuf::from("/kh")));
        assert_eq!(c.host("node-3").port, Some(22));
        assert_eq!(c.host("other").user.as_deref(), Some("admin"));
        assert_eq!(c.host("other").host_name, None);
    }
}
