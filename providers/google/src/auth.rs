//! Credentials: the Google auth library, fed the credential document the settings found.
//!
//! Two kinds of document are understood, the two the auth library can use without a metadata
//! server: a service account key (`"type": "service_account"`) and an authorized user
//! (`"type": "authorized_user"`, what `gcloud auth application-default login` writes). An
//! authorized user's refresh token is exchanged at its `token_uri`, which is how the emulator
//! issues tokens without any real account.

use crate::settings::Credentials as Found;
use google_cloud_auth::credentials::{
    service_account, user_account, AccessTokenCredentials, Credentials,
};
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};

/// The scope every call of this provider needs.
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Installs the `ring` TLS provider the rest of the workspace uses, so that the Google libraries
/// (built without their own default provider) find one. Installing twice is harmless.
pub(crate) fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The provider's identity: headers for the GKE client, bearer tokens for Cloud SQL and for
/// the kubeconfigs it writes.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    tokens: AccessTokenCredentials,
    source: String,
}

impl Identity {
    pub fn new(found: &Found) -> ProviderResult<Identity> {
        install_tls_provider();
        let bad = |what: String| {
            ProviderError::new(
                ErrorKind::Credentials,
                format!("the Google credentials from {} {what}", found.source),
            )
            .with_hint(
                "use a service account key file, or run `gcloud auth application-default login`",
            )
        };
        let json: serde_json::Value = serde_json::from_str(found.json.expose())
            .map_err(|e| bad(format!("are not JSON ({})", e.classify_name())))?;
        let kind = json
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        let built = match kind.as_str() {
            "service_account" => service_account::Builder::new(json)
                .with_access_specifier(service_account::AccessSpecifier::from_scopes([
                    CLOUD_PLATFORM,
                ]))
                .build_access_token_credentials(),
            "authorized_user" => user_account::Builder::new(json)
                .with_scopes([CLOUD_PLATFORM])
                .build_access_token_credentials(),
            "" => return Err(bad("have no \"type\" field".into())),
            other => {
                return Err(bad(format!(
                    "are of type {other:?}; this provider understands service_account and authorized_user"
                )))
            }
        };
        let tokens = built.map_err(|e| bad(format!("cannot be used: {e}")))?;
        Ok(Identity {
            tokens,
            source: found.source.clone(),
        })
    }

    /// For the GKE client.
    pub fn credentials(&self) -> Credentials {
        Credentials::from(self.tokens.clone())
    }

    /// A current access token (cached by the library until shortly before it expires).
    pub async fn access_token(&self) -> ProviderResult<String> {
        self.tokens
            .access_token()
            .await
            .map(|t| t.token)
            .map_err(|e| {
                let kind = if e.is_transient() {
                    ErrorKind::Unavailable
                } else {
                    ErrorKind::Credentials
                };
                ProviderError::new(
                    kind,
                    format!(
                        "could not get a Google access token with the credentials from {}: {e}",
                        self.source
                    ),
                )
                .with_hint("check that the credentials are valid and not revoked")
            })
    }
}

/// A short name for a JSON error's category, so that no part of the document is echoed.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "cut off",
        }
    }
}
