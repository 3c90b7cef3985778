//! Access tokens for ARM, from a service principal's client secret, through `azure_identity`'s
//! [`ClientSecretCredential`] (which caches tokens until shortly before they expire).
//!
//! `azure_identity` 1.0 insists on an `https://` authority host and builds the token URL as
//! `{authority}/{tenant}/oauth2/v2.0/token`, dropping any path of the authority. The emulator
//! serves plain `http://` on loopback under `/azure`, so the credential is handed a transport
//! of its own ([`AuthorityTransport`], set through `ClientOptions::transport`): it sends the
//! credential's requests with this crate's `reqwest` client and, for a configured
//! `http://` loopback authority only, maps `https://HOST/{tenant}/…` back onto that authority.
//! A real authority host is used exactly as `azure_identity` builds it.

use crate::settings::Settings;
use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::headers::Headers;
use azure_core::http::{
    AsyncRawResponse, Body, ClientOptions, HttpClient, Method, Request, RetryOptions, StatusCode,
    Transport, Url,
};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use std::sync::Arc;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};

/// The scope of an ARM token.
const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Hands out ARM tokens.
#[derive(Debug)]
pub(crate) struct Tokens {
    credential: Arc<ClientSecretCredential>,
}

impl Tokens {
    pub fn new(settings: &Settings, http: reqwest::Client) -> ProviderResult<Tokens> {
        let authority = Url::parse(&settings.authority_host).map_err(|e| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!(
                    "authority_host {:?} is not a URL: {e}",
                    settings.authority_host
                ),
            )
        })?;
        let plain_loopback = authority.scheme() == "http";
        // What azure_identity is told: the same host over https (which it requires).
        let mut told = authority.clone();
        if plain_loopback {
            let _ = told.set_scheme("https");
        }
        told.set_path("");
        let transport = AuthorityTransport {
            http,
            authority: plain_loopback.then_some(authority),
        };
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = told.as_str().trim_end_matches('/').to_string();
        let options = ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(transport))),
                // Retries are this provider's, with its own policy and throttling signal.
                retry: RetryOptions::none(),
                cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                ..Default::default()
            },
        };
        let credential = ClientSecretCredential::new(
            &settings.tenant_id,
            settings.client_id.clone(),
            Secret::new(settings.client_secret.expose().to_string()),
            Some(options),
        )
        .map_err(|e| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the azure credentials are not usable: {e}"),
            )
            .with_hint("check tenant_id and client_id (AZURE_TENANT_ID, AZURE_CLIENT_ID)")
        })?;
        Ok(Tokens { credential })
    }

    /// A valid ARM token, from the cache or from Microsoft Entra.
    pub async fn token(&self) -> ProviderResult<String> {
        match self.credential.get_token(&[ARM_SCOPE], None).await {
            Ok(token) => Ok(token.token.secret().to_string()),
            Err(e) => Err(token_error(&e)),
        }
    }
}

/// Maps a failed token request: a refusal is a credentials error, the rest may pass.
fn token_error(e: &azure_core::Error) -> ProviderError {
    use azure_core::error::ErrorKind as K;
    let (kind, hint) = match e.kind() {
        K::HttpResponse { status, .. } if u16::from(*status) == 429 || u16::from(*status) >= 500 => (
            ErrorKind::Unavailable,
            "Microsoft Entra could not issue a token now; trying again later may succeed",
        ),
        K::HttpResponse { .. } | K::Credential => (
            ErrorKind::Credentials,
            "the service principal was refused: check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or the provider block); the secret may have expired",
        ),
        _ => (
            ErrorKind::Unavailable,
            "check the network and authority_host (AZURE_AUTHORITY_HOST)",
        ),
    };
    // azure_identity's messages name the credential and the service's description, never
    // the secret.
    ProviderError::new(kind, format!("getting an Azure token failed: {e}")).with_hint(hint)
}

/// The credential's HTTP transport (see the module documentation).
#[derive(Debug)]
struct AuthorityTransport {
    http: reqwest::Client,
    /// The configured `http://` loopback authority, when there is one.
    authority: Option<Url>,
}

impl AuthorityTransport {
    fn target(&self, url: &Url) -> String {
        match &self.authority {
            None => url.to_string(),
            Some(authority) => {
                let base = authority.as_str().trim_end_matches('/');
                let mut out = format!("{base}{}", url.path());
                if let Some(q) = url.query() {
                    out.push('?');
                    out.push_str(q);
                }
                out
            }
        }
    }
}

fn io_error(message: String) -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Io, message)
}

#[async_trait]
impl HttpClient for AuthorityTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = match request.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
            Method::Head => reqwest::Method::HEAD,
            other => return Err(io_error(format!("unsupported method {other:?}"))),
        };
        let mut builder = self.http.request(method, self.target(request.url()));
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Body::Bytes(bytes) = request.body() {
            builder = builder.body(bytes.to_vec());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| io_error(format!("token request failed: {}", e.without_url())))?;
        let status = StatusCode::from(response.status().as_u16());
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_string(), v.to_string());
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| io_error(format!("token answer cut off: {}", e.without_url())))?;
        Ok(AsyncRawResponse::from_bytes(status, headers, body.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_authority_keeps_its_scheme_and_path() {
        let t = AuthorityTransport {
            http: reqwest::Client::new(),
            authority: Some(Url::parse("http://127.0.0.1:9/azure").unwrap()),
        };
        let told = Url::parse("https://127.0.0.1:9/tenant/oauth2/v2.0/token").unwrap();
        assert_eq!(
            t.target(&told),
            "http://127.0.0.1:9/azure/tenant/oauth2/v2.0/token"
        );
        let real = AuthorityTransport {
            http: reqwest::Client::new(),
            authority: None,
        };
        let url = Url::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token").unwrap();
        assert_eq!(real.target(&url), url.to_string());
    }
}
