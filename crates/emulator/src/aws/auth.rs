//! What every emulated AWS request goes through before its handler: a SigV4 `Authorization`
//! header of the right shape, then fault injection, each answered in the protocol's own error
//! shape.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{eks::EksError, rds::RdsError};
use crate::faults::{Fault, FaultInjector};

/// The wire protocol of a service, which decides how its errors look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// EKS: `x-amzn-ErrorType` header and a JSON `{"message": …}` body.
    RestJson,
    /// RDS: an XML `<ErrorResponse>`.
    Query,
}

impl Protocol {
    fn service(self) -> &'static str {
        match self {
            Protocol::RestJson => "eks",
            Protocol::Query => "rds",
        }
    }
}

pub(crate) async fn envelope(
    State((faults, protocol)): State<(Arc<FaultInjector>, Protocol)>,
    request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(problem) = check_authorization(authorization, protocol.service()) {
        return match protocol {
            Protocol::RestJson => EksError::new(
                StatusCode::FORBIDDEN,
                "UnrecognizedClientException",
                problem,
            )
            .into_response(),
            Protocol::Query => {
                RdsError::new(StatusCode::FORBIDDEN, "IncompleteSignature", problem).into_response()
            }
        };
    }
    match (faults.delay_and_decide().await, protocol) {
        (Some(Fault::Throttle), Protocol::RestJson) => EksError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Rate exceeded",
        )
        .into_response(),
        (Some(Fault::Throttle), Protocol::Query) => {
            RdsError::new(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded").into_response()
        }
        (Some(Fault::ServerError), Protocol::RestJson) => EksError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "An internal error occurred. Try again.",
        )
        .into_response(),
        (Some(Fault::ServerError), Protocol::Query) => RdsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        )
        .into_response(),
        (None, _) => next.run(request).await,
    }
}

/// Checks the shape of a SigV4 `Authorization` header for `service`:
/// `AWS4-HMAC-SHA256 Credential=KEY/YYYYMMDD/REGION/SERVICE/aws4_request, SignedHeaders=…,
/// Signature=64 hex digits`. The signature is not verified.
pub(crate) fn check_authorization(header: &str, service: &str) -> Result<(), String> {
    if header.is_empty() {
        return Err("Missing Authentication Token".into());
    }
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization header requires the AWS4-HMAC-SHA256 algorithm")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or("Authorization header requires 'Credential' parameter")?;
    let signed_headers =
        signed_headers.ok_or("Authorization header requires 'SignedHeaders' parameter")?;
    let signature = signature.ok_or("Authorization header requires 'Signature' parameter")?;
    let scope: Vec<&str> = credential.split('/').collect();
    match scope.as_slice() {
        [key, date, region, svc, "aws4_request"]
            if !key.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty() =>
        {
            if *svc != service {
                return Err(format!(
                    "Credential should be scoped to correct service: '{service}'"
                ));
            }
        }
        _ => {
            return Err(
                "Credential should be scoped to a valid region, service and aws4_request".into(),
            )
        }
    }
    if !signed_headers.split(';').any(|h| h == "host") {
        return Err("'Host' must be a signed header".into());
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the signature must be 64 hexadecimal digits".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/eks/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_well_formed_header_for_the_service_passes() {
        assert_eq!(check_authorization(GOOD, "eks"), Ok(()));
    }

    #[test]
    fn malformed_or_misdirected_headers_are_refused() {
        assert!(check_authorization("", "eks").is_err());
        assert!(check_authorization("Bearer x", "eks").is_err());
        assert!(check_authorization(GOOD, "rds")
            .unwrap_err()
            .contains("rds"));
        let short = GOOD.replace("Signature=0123", "Signature=");
        assert!(check_authorization(&short, "eks").is_err());
        let unsigned_host = GOOD.replace("host;", "");
        assert!(check_authorization(&unsigned_host, "eks").is_err());
    }
}
