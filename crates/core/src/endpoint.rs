//! The one rule for where a provider may send credentials: `https://` anywhere, plain `http://`
//! only to a loopback host (the emulator), so that no token, key or signed request ever crosses
//! a network in clear.

use crate::provider::{ErrorKind, ProviderError, ProviderResult};
use std::net::IpAddr;

/// True for `localhost` and loopback addresses (`127.0.0.0/8`, `::1`, with or without brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks the URL `text` that setting `setting` of provider `provider` names, and returns it
/// without surrounding blanks or a trailing `/`. Errors name the setting and the provider.
pub fn checked(provider: &str, setting: &str, text: &str) -> ProviderResult<String> {
    let invalid = |message: String| ProviderError::new(ErrorKind::InvalidConfig, message);
    let trimmed = text.trim().trim_end_matches('/');
    let not_a_url = || {
        invalid(format!(
            "{setting} {text:?} in provider \"{provider}\" is not a URL (expected https://HOST[:PORT][/PATH])"
        ))
    };
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(not_a_url)?;
    if rest.contains(['?', '#']) {
        return Err(invalid(format!(
            "{setting} {trimmed:?} must not have a query or fragment"
        )));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return Err(not_a_url()),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if host.is_empty() || host.contains(char::is_whitespace) || !port_ok {
        return Err(not_a_url());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(trimmed.to_string()),
        "http" if is_loopback_host(host) => Ok(trimmed.to_string()),
        "http" => Err(invalid(format!(
            "{setting} {trimmed:?} uses plain http:// on a host that is not loopback"
        ))
        .with_hint("use https://, or a 127.0.0.1/localhost address for the emulator")),
        other => Err(invalid(format!(
            "{setting} {trimmed:?} has scheme {other:?}; expected https://"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://api.example.com",
            "https://eks.example/",
            "http://127.0.0.1:1/x",
            "http://[::1]:1",
            "http://LOCALHOST:1",
            "http://user@127.0.0.1:8080",
        ] {
            assert!(checked("p", "endpoint", ok).is_ok(), "{ok}");
        }
        assert_eq!(
            checked("p", "endpoint", " https://x.test/ ").unwrap(),
            "https://x.test"
        );
        for bad in [
            "http://api.digitalocean.com",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "not a url",
            "https://x.test/?a=b",
            "https://x.test#f",
            "https://",
            "http://127.0.0.1:port",
            "http://[::1",
        ] {
            let e = checked("p", "sql_endpoint", bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidConfig, "{bad}");
            assert!(e.message.contains("sql_endpoint"), "{bad}: {e}");
        }
    }

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for h in ["127.0.0.1", "localhost", "[::1]", "127.1.2.3"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "example.com",
            "192.168.1.1",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
