//! One SDK call under the shared retry policy: classify the answer, report throttling and
//! success to the engine's limiter, retry what is safe to retry, and turn the rest into a
//! [`ProviderError`] a user can act on.

use crate::NAME;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};
use strata_core::provider::{ErrorKind, ProviderError};
use strata_core::retry::{jitter_unit, server_delay, Pressure, RetryPolicy};

/// Which failures a call may be repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Reads, and writes that are idempotent or carry a `clientRequestToken`: any transient
    /// failure is retried.
    Idempotent,
    /// Writes that would be done twice if repeated: only a throttled answer (the service did
    /// nothing) is retried; anything ambiguous is handed back to the caller, who looks first.
    Once,
}

/// A failed call, classified.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub throttled: bool,
    /// May succeed if tried again (throttling, 5xx, a dropped connection, a timeout).
    pub transient: bool,
    /// The request may have reached the service (so a non-idempotent write may have happened).
    pub ambiguous: bool,
    pub retry_after: Option<Duration>,
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
    "BandwidthLimitExceeded",
];

const TRANSIENT_CODES: &[&str] = &[
    "ServerException",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
];

const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "MissingAuthenticationToken",
    "NotAuthorized",
];

impl Failure {
    pub fn from_sdk<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Failure {
        let mut f = Failure {
            status: None,
            code: None,
            message: None,
            throttled: false,
            transient: false,
            ambiguous: false,
            retry_after: None,
        };
        match e {
            SdkError::ServiceError(ctx) => {
                let raw = ctx.raw();
                let status = raw.status().as_u16();
                f.status = Some(status);
                f.code = ctx.err().code().map(str::to_string);
                f.message = ctx.err().message().map(str::to_string);
                let code = f.code.as_deref().unwrap_or_default();
                f.throttled = status == 429 || THROTTLING_CODES.contains(&code);
                // A success status whose body could not be read: cut off or garbled on the way.
                let unreadable = (200..300).contains(&status);
                if unreadable {
                    f.message = Some(format!("the answer (HTTP {status}) could not be read"));
                }
                f.transient =
                    f.throttled || unreadable || status >= 500 || TRANSIENT_CODES.contains(&code);
                // A throttled request was refused before any work; a 5xx may have done some.
                f.ambiguous = !f.throttled && f.transient;
                f.retry_after = server_delay(
                    |name| raw.headers().get(name),
                    f.throttled,
                    SystemTime::now(),
                );
            }
            SdkError::ResponseError(ctx) => {
                f.status = Some(ctx.raw().status().as_u16());
                f.message = Some("the answer could not be read".into());
                f.transient = true;
                f.ambiguous = true;
            }
            SdkError::TimeoutError(_) => {
                f.message = Some("the request timed out".into());
                f.transient = true;
                f.ambiguous = true;
            }
            SdkError::DispatchFailure(d) => {
                f.message = Some(if d.is_io() {
                    "the connection failed".into()
                } else if d.is_timeout() {
                    "the connection timed out".into()
                } else if d.is_user() {
                    "the request could not be sent (check the endpoint)".into()
                } else {
                    "the connection was dropped".into()
                });
                // Anything but a mistake of ours (a bad endpoint) may go through next time.
                f.transient = !d.is_user();
                f.ambiguous = f.transient;
            }
            SdkError::ConstructionFailure(_) => {
                f.message = Some("the request could not be built".into());
            }
            _ => {
                f.message = Some("the request failed".into());
            }
        }
        f
    }

    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }

    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code(),
            "ResourceNotFoundException"
                | "NotFoundException"
                | "DBInstanceNotFound"
                | "DBInstanceNotFoundFault"
        ) || (self.status == Some(404) && self.code.is_none())
    }

    /// The error the engine sees; `what` says what was being done (`creating EKS cluster "x"`).
    pub fn into_error(self, what: &str) -> ProviderError {
        let code = self.code();
        let kind = if self.throttled {
            ErrorKind::Throttled
        } else if self.transient {
            ErrorKind::Unavailable
        } else if self.is_not_found() {
            ErrorKind::NotFound
        } else if CREDENTIAL_CODES.contains(&code) || matches!(self.status, Some(401 | 403)) {
            ErrorKind::Credentials
        } else if matches!(
            code,
            "ResourceInUseException"
                | "DBInstanceAlreadyExists"
                | "DBInstanceAlreadyExistsFault"
                | "InvalidDBInstanceState"
                | "InvalidDBInstanceStateFault"
        ) || self.status == Some(409)
        {
            ErrorKind::Conflict
        } else if code.starts_with("InvalidParameter")
            || matches!(
                code,
                "InvalidRequestException"
                    | "MissingParameter"
                    | "UnsupportedAvailabilityZoneException"
            )
        {
            ErrorKind::InvalidConfig
        } else if self.status.is_none() {
            ErrorKind::Internal
        } else {
            ErrorKind::Api
        };
        let detail = match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => format!("HTTP {}", self.status.unwrap_or_default()),
        };
        let error = ProviderError::new(kind, format!("{what} failed: {detail}"));
        match kind {
            ErrorKind::Credentials => error.with_hint(
                "check the credentials the AWS SDK chain found (`aws sts get-caller-identity`) \
                 and that their IAM policy allows this action (docs/providers/aws.md lists them)",
            ),
            ErrorKind::Throttled | ErrorKind::Unavailable => error.with_hint(
                "AWS kept failing after retries; try again later or lower --parallelism",
            ),
            ErrorKind::Conflict => error.with_hint(
                "the object exists already or is busy; wait for its current operation, or \
                 adopt it with `strata import`",
            ),
            _ => error,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's deadline passes. Every
/// throttled answer and every success is reported to the engine's limiter.
pub(crate) async fn call<T, E, F, Fut>(
    policy: &RetryPolicy,
    safety: Safety,
    mut attempt: F,
) -> Result<T, Failure>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Ok(v) => {
                Pressure::of(NAME).succeeded();
                return Ok(v);
            }
            Err(e) => {
                let failure = Failure::from_sdk(&e);
                if failure.throttled {
                    Pressure::of(NAME).throttled();
                }
                let may_retry = match safety {
                    Safety::Idempotent => failure.transient,
                    Safety::Once => failure.throttled,
                };
                if may_retry {
                    tries += 1;
                    if let Some(delay) = policy.next_delay(
                        tries,
                        failure.retry_after,
                        started.elapsed(),
                        jitter_unit(),
                    ) {
                        tracing::debug!(
                            code = failure.code(),
                            status = failure.status,
                            attempt = tries,
                            "retrying an AWS call"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                }
                return Err(failure);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::error::ErrorMetadata;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
    use aws_smithy_runtime_api::http::StatusCode;
    use std::sync::{Arc, Mutex};
    use strata_core::retry::Signal;

    type Answer = Result<u32, SdkError<DescribeClusterError, HttpResponse>>;

    fn service(
        status: u16,
        code: &str,
        retry_after: Option<&str>,
    ) -> SdkError<DescribeClusterError, HttpResponse> {
        let mut raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), "{}".into());
        if let Some(v) = retry_after {
            raw.headers_mut().insert("retry-after", v.to_string());
        }
        let err = DescribeClusterError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("words from AWS")
                .build(),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn answers_are_classified_as_the_engine_needs() {
        let throttled = Failure::from_sdk(&service(400, "Throttling", Some("2")));
        assert!(throttled.throttled && throttled.transient && !throttled.ambiguous);
        assert_eq!(throttled.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(throttled.into_error("x").kind, ErrorKind::Throttled);

        let garbled = Failure::from_sdk(&SdkError::<DescribeClusterError, _>::service_error(
            DescribeClusterError::generic(ErrorMetadata::builder().build()),
            HttpResponse::new(StatusCode::try_from(200).unwrap(), "{\"clus".into()),
        ));
        assert!(garbled.transient && garbled.ambiguous, "{garbled:?}");
        assert!(garbled
            .into_error("x")
            .message
            .contains("could not be read"));

        let server = Failure::from_sdk(&service(500, "ServerException", None));
        assert!(server.transient && server.ambiguous && !server.throttled);
        assert_eq!(server.into_error("x").kind, ErrorKind::Unavailable);

        for (status, code, kind) in [
            (404, "ResourceNotFoundException", ErrorKind::NotFound),
            (404, "DBInstanceNotFound", ErrorKind::NotFound),
            (409, "ResourceInUseException", ErrorKind::Conflict),
            (400, "DBInstanceAlreadyExists", ErrorKind::Conflict),
            (400, "InvalidParameterException", ErrorKind::InvalidConfig),
            (403, "UnrecognizedClientException", ErrorKind::Credentials),
            (400, "SomethingNew", ErrorKind::Api),
        ] {
            let f = Failure::from_sdk(&service(status, code, None));
            assert!(!f.transient, "{code}");
            let e = f.into_error("creating EKS cluster \"shop\"");
            assert_eq!(e.kind, kind, "{code}");
            assert!(
                e.message.contains("creating EKS cluster \"shop\" failed"),
                "{e}"
            );
            assert!(
                e.message.contains(code) && e.message.contains("words from AWS"),
                "{e}"
            );
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            deadline: Duration::from_secs(5),
        }
    }

    /// Runs `call` over scripted answers; returns its result and how many attempts it made.
    async fn scripted(safety: Safety, answers: Vec<Answer>) -> (Result<u32, Failure>, usize) {
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let attempts = Arc::new(Mutex::new(0usize));
        let result = call(&fast(), safety, || {
            *attempts.lock().unwrap() += 1;
            let next = answers
                .lock()
                .unwrap()
                .next()
                .expect("no more scripted answers");
            async move { next }
        })
        .await;
        let n = *attempts.lock().unwrap();
        (result, n)
    }

    #[tokio::test]
    async fn safe_calls_are_retried_unsafe_ones_only_when_throttled_and_every_answer_is_reported() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let _subscription = Pressure::of(NAME).subscribe(move |s| sink.lock().unwrap().push(s));

        let (result, attempts) = scripted(
            Safety::Idempotent,
            vec![
                Err(service(429, "ThrottlingException", None)),
                Err(service(500, "ServerException", None)),
                Ok(7),
            ],
        )
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(attempts, 3);

        let (result, attempts) = scripted(
            Safety::Once,
            vec![
                Err(service(400, "Throttling", None)),
                Err(service(500, "InternalFailure", None)),
            ],
        )
        .await;
        let failure = result.unwrap_err();
        assert!(
            failure.ambiguous,
            "a 5xx on a create is handed back to be looked into"
        );
        assert_eq!(attempts, 2);

        let (result, attempts) = scripted(
            Safety::Idempotent,
            vec![Err(service(404, "ResourceNotFoundException", None))],
        )
        .await;
        assert!(result.unwrap_err().is_not_found());
        assert_eq!(attempts, 1, "a definite answer is not retried");

        let signals = seen.lock().unwrap().clone();
        let throttles = signals.iter().filter(|s| **s == Signal::Throttled).count();
        let successes = signals.iter().filter(|s| **s == Signal::Succeeded).count();
        assert!(throttles >= 2 && successes >= 1, "{signals:?}");
    }
}
