//! The kubeconfig of an EKS cluster and the bearer token in it, made the way `aws eks get-token`
//! makes it, without any external binary: `k8s-aws-v1.` followed by the unpadded base64url of
//! an STS `GetCallerIdentity` URL presigned with SigV4, whose signed headers include
//! `x-k8s-aws-id: CLUSTER_NAME`. The cluster's API server has STS check the signature with that
//! header set to its own name, so a token works for one cluster only, for [`TOKEN_LIFETIME`].

use std::time::{Duration, SystemTime};

use aws_sdk_eks::config::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// How long a token is valid: what EKS accepts at most.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// A token in state with less than this left is replaced by a fresh one at the next read;
/// until then the same kubeconfig is reported, so that reads do not show a change each time.
pub const TOKEN_RENEWAL: Duration = Duration::from_secs(10 * 60);

/// Presigns the token for `cluster` at `now`.
pub(crate) fn token(
    credentials: Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> ProviderResult<String> {
    let identity: Identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| internal(format!("cannot prepare the token's signature: {e}")))?
        .into();
    let host = format!("sts.{region}.amazonaws.com");
    let base = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let request = SignableRequest::new("GET", &base, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| internal(format!("cannot prepare the token's request: {e}")))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| internal(format!("cannot sign the token: {e}")))?
        .into_parts();
    let mut url = base;
    for (name, value) in instructions.params() {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value));
    }
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    ))
}

fn internal(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::Internal, message)
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// When a token stops being valid, read from its own signing time and lifetime; `None` for
/// anything that is not a well-formed token.
pub(crate) fn expiry(token: &str) -> Option<SystemTime> {
    let encoded = token.strip_prefix(TOKEN_PREFIX)?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()?;
    let url = String::from_utf8(url).ok()?;
    let query = url.split_once('?')?.1;
    let mut date = None;
    let mut expires = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("X-Amz-Date", v)) => date = Some(v.to_string()),
            Some(("X-Amz-Expires", v)) => expires = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let signed = time::PrimitiveDateTime::parse(&date?, format)
        .ok()?
        .assume_utc();
    let signed =
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(signed.unix_timestamp()).ok()?);
    Some(signed + Duration::from_secs(expires?).min(TOKEN_LIFETIME))
}

/// A kubeconfig for the cluster: its endpoint, its CA (for https endpoints) and the token.
pub(crate) fn kubeconfig(
    cluster: &str,
    endpoint: &str,
    ca_data: Option<&str>,
    token: &str,
) -> String {
    let mut server = serde_yaml::Mapping::new();
    server.insert("server".into(), endpoint.into());
    if let Some(ca) = ca_data.filter(|_| endpoint.starts_with("https://")) {
        server.insert("certificate-authority-data".into(), ca.into());
    }
    let doc = serde_yaml::to_value(KubeconfigDoc {
        api_version: "v1",
        kind: "Config",
        clusters: vec![Named {
            name: cluster,
            cluster: Some(serde_yaml::Value::Mapping(server)),
            context: None,
            user: None,
        }],
        contexts: vec![Named {
            name: cluster,
            cluster: None,
            context: Some(
                serde_yaml::to_value(ContextDoc {
                    cluster,
                    user: cluster,
                })
                .unwrap_or_default(),
            ),
            user: None,
        }],
        current_context: cluster,
        users: vec![Named {
            name: cluster,
            cluster: None,
            context: None,
            user: Some(serde_yaml::to_value(UserDoc { token }).unwrap_or_default()),
        }],
    })
    .unwrap_or_default();
    serde_yaml::to_string(&doc).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct KubeconfigDoc<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    clusters: Vec<Named<'a>>,
    contexts: Vec<Named<'a>>,
    #[serde(rename = "current-context")]
    current_context: &'a str,
    users: Vec<Named<'a>>,
}

#[derive(serde::Serialize)]
struct Named<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<serde_yaml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<serde_yaml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<serde_yaml::Value>,
}

#[derive(serde::Serialize)]
struct ContextDoc<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(serde::Serialize)]
struct UserDoc<'a> {
    token: &'a str,
}

/// The token inside a kubeconfig this module wrote.
pub(crate) fn token_of(kubeconfig: &str) -> Option<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(kubeconfig).ok()?;
    doc.get("users")?
        .get(0)?
        .get("user")?
        .get("token")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
    }

    fn decoded(token: &str) -> String {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.strip_prefix(TOKEN_PREFIX).unwrap())
            .unwrap();
        String::from_utf8(raw).unwrap()
    }

    #[test]
    fn the_token_presigns_get_caller_identity_for_the_cluster() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        let token = token(creds(), "eu-west-1", "shop", now).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert!(!token.contains('='), "no padding: {token}");
        let url = decoded(&token);
        assert!(
            url.starts_with(
                "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        assert!(url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"), "{url}");
        assert!(
            url.contains(
                "X-Amz-Credential=AKIDEXAMPLE%2F20250615%2Feu-west-1%2Fsts%2Faws4_request"
            ),
            "{url}"
        );
        assert!(
            url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=900"), "{url}");
        assert!(!url.contains("wJalrXUtnFEMI"), "the secret never appears");
        assert_eq!(expiry(&token), Some(now + TOKEN_LIFETIME));
        // Another cluster, another signature.
        let other = super::token(creds(), "eu-west-1", "other", now).unwrap();
        assert_ne!(token, other);
    }

    #[test]
    fn the_kubeconfig_carries_the_token_and_only_https_gets_a_ca() {
        let k = kubeconfig(
            "shop",
            "http://127.0.0.1:1/k8s/x",
            Some("Q0E="),
            "k8s-aws-v1.abc",
        );
        assert_eq!(token_of(&k).as_deref(), Some("k8s-aws-v1.abc"));
        assert!(!k.contains("certificate-authority-data"), "{k}");
        let k = kubeconfig("shop", "https://x.eks.amazonaws.com", Some("Q0E="), "t");
        assert!(k.contains("certificate-authority-data: Q0E="), "{k}");
        assert!(k.contains("current-context: shop"), "{k}");
        assert_eq!(expiry("not a token"), None);
    }
}
