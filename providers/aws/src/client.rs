//! The SDK clients of a configured provider, and the credentials they sign with.
//!
//! Credentials come from the AWS SDK's default chain, in its order: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared files
//! (`~/.aws/credentials` and `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` /
//! `AWS_CONFIG_FILE`, with `AWS_PROFILE`), web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` with
//! `AWS_ROLE_ARN`), SSO and `credential_process` profiles, then the ECS container and EC2
//! instance metadata services. They stay inside the SDK's credentials provider: nothing here
//! stores, prints or returns them.

use crate::settings::Settings;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_eks::config::ProvideCredentials;
use aws_smithy_http_client::tls;
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};

/// Where the default chain looks, for the error a user sees when it finds nothing.
pub const CREDENTIAL_SOURCES: &str = "the environment ($AWS_ACCESS_KEY_ID and \
     $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN), the shared files ~/.aws/credentials and \
     ~/.aws/config ($AWS_SHARED_CREDENTIALS_FILE, $AWS_CONFIG_FILE, profile $AWS_PROFILE), web \
     identity ($AWS_WEB_IDENTITY_TOKEN_FILE with $AWS_ROLE_ARN), SSO and credential_process \
     profiles, the ECS container credentials endpoint and the EC2 instance metadata service";

/// The region when neither the block nor the chain names one.
const FALLBACK_REGION: &str = "us-east-1";

/// The clients and what signing a kubeconfig token needs.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub eks: aws_sdk_eks::Client,
    pub rds: aws_sdk_rds::Client,
    pub sdk: SdkConfig,
    pub region: String,
}

impl Clients {
    /// Loads the SDK configuration and checks that the chain yields credentials, so that a
    /// missing credential is reported once, up front, naming where it was looked for.
    pub async fn connect(settings: &Settings) -> ProviderResult<Clients> {
        // ring rather than aws-lc: the TLS provider of the rest of the workspace.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            // Retries are this provider's own (see `crate::call`), so that every throttled
            // answer reaches the engine's limiter and only safe calls are repeated.
            .retry_config(aws_config::retry::RetryConfig::disabled())
            // A hung connection becomes a timeout, retried like any transient failure.
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(settings.http_timeout.min(Duration::from_secs(10)))
                    .operation_attempt_timeout(settings.http_timeout)
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| FALLBACK_REGION.to_string());
        check_credentials(&sdk).await?;

        let mut eks = aws_sdk_eks::config::Builder::from(&sdk).region(Region::new(region.clone()));
        if let Some(endpoint) = &settings.eks_endpoint {
            eks = eks.endpoint_url(endpoint);
        }
        let mut rds = aws_sdk_rds::config::Builder::from(&sdk).region(Region::new(region.clone()));
        if let Some(endpoint) = &settings.rds_endpoint {
            rds = rds.endpoint_url(endpoint);
        }
        Ok(Clients {
            eks: aws_sdk_eks::Client::from_conf(eks.build()),
            rds: aws_sdk_rds::Client::from_conf(rds.build()),
            sdk,
            region,
        })
    }

    /// Credentials for signing a token, fresh from the chain (it caches and refreshes them).
    pub async fn credentials(&self) -> ProviderResult<aws_sdk_eks::config::Credentials> {
        let provider = self.sdk.credentials_provider().ok_or_else(missing)?;
        provider.provide_credentials().await.map_err(|_| missing())
    }
}

async fn check_credentials(sdk: &SdkConfig) -> ProviderResult<()> {
    let provider = sdk.credentials_provider().ok_or_else(missing)?;
    provider
        .provide_credentials()
        .await
        .map_err(|_| missing())?;
    Ok(())
}

fn missing() -> ProviderError {
    ProviderError::new(
        ErrorKind::Credentials,
        format!("no AWS credentials found; looked at {CREDENTIAL_SOURCES}"),
    )
    .with_hint(
        "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure` / \
         `aws sso login` and set AWS_PROFILE",
    )
}
