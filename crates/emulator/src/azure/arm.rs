//! What every ARM endpoint shares: the error shape, bearer authentication, `api-version`, and
//! the parsing of resource paths (which ARM matches without regard to case).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::EmulatorError;

/// The api-version each resource provider of the emulator serves: the newest stable version of
/// the published swagger.
pub(crate) const RESOURCES_API_VERSION: &str = "2025-04-01";
pub(crate) const CONTAINER_SERVICE_API_VERSION: &str = "2026-06-01";
pub(crate) const POSTGRESQL_API_VERSION: &str = "2025-08-01";

pub(crate) const CONTAINER_SERVICE: &str = "Microsoft.ContainerService";
pub(crate) const POSTGRESQL: &str = "Microsoft.DBforPostgreSQL";

/// Seconds a throttled client is told to wait.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 1;

/// An error in ARM's shape: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ArmError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ArmError {
        ArmError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    pub fn not_found(what: &str, name: &str) -> ArmError {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource '{what}/{name}' was not found."),
        )
    }

    pub fn group_not_found(group: &str) -> ArmError {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        )
    }

    pub fn conflict(message: impl Into<String>) -> ArmError {
        ArmError::new(StatusCode::CONFLICT, "Conflict", message)
    }
}

impl From<EmulatorError> for ArmError {
    fn from(e: EmulatorError) -> Self {
        tracing::error!(error = %e, "emulated ARM failed");
        ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred.",
        )
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = json_response(self.status, body);
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            for name in [
                "x-ms-ratelimit-remaining-subscription-reads",
                "x-ms-ratelimit-remaining-subscription-writes",
            ] {
                headers.insert(name, HeaderValue::from(0));
            }
        }
        response
    }
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// True when the request carries a non-empty bearer token. Any token is accepted: the
/// emulator checks that clients authenticate, not who they are.
pub(crate) fn authenticated(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        })
}

/// Decoded `key=value` pairs of a query string or a form body.
pub(crate) fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the `api-version` query parameter: present always, and the version served when
/// there is one to check (`None` for status monitors, which take whatever ARM handed out).
pub(crate) fn check_api_version(query: &str, served: Option<&str>) -> Result<(), ArmError> {
    let given = form_pairs(query)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v);
    match given.as_deref() {
        None | Some("") => Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) => match served {
            None => Ok(()),
            Some(served) if v == served => Ok(()),
            Some(served) => Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                format!("The api-version '{v}' is invalid. The supported versions are '{served}'."),
            )),
        },
    }
}

/// A request path the emulated ARM knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Group {
        sub: String,
        group: String,
    },
    Cluster {
        sub: String,
        group: String,
        name: String,
    },
    Pool {
        sub: String,
        group: String,
        cluster: String,
        name: String,
    },
    UserCredential {
        sub: String,
        group: String,
        cluster: String,
    },
    Server {
        sub: String,
        group: String,
        name: String,
    },
    /// The status monitor of an operation (`operationStatuses`), or its result (`operationResults`).
    Operation {
        sub: String,
        namespace: String,
        location: String,
        id: String,
        result: bool,
    },
}

impl Route {
    /// Parses a path below `/azure`; ARM compares its fixed segments without regard to case.
    pub fn parse(path: &str) -> Option<Route> {
        let s: Vec<&str> = path.trim_matches('/').split('/').collect();
        let is = |i: usize, word: &str| s.get(i).is_some_and(|x| x.eq_ignore_ascii_case(word));
        let at = |i: usize| s.get(i).map(|x| x.to_string()).filter(|x| !x.is_empty());
        if !is(0, "subscriptions") {
            return None;
        }
        let sub = at(1)?;
        if is(2, "providers") && s.len() == 8 && is(4, "locations") {
            let result = if is(6, "operationResults") {
                true
            } else if is(6, "operationStatuses") {
                false
            } else {
                return None;
            };
            return Some(Route::Operation {
                sub,
                namespace: at(3)?,
                location: at(5)?,
                id: at(7)?,
                result,
            });
        }
        if !is(2, "resourceGroups") {
            return None;
        }
        let group = at(3)?;
        if s.len() == 4 {
            return Some(Route::Group { sub, group });
        }
        if !is(4, "providers") || s.len() < 8 {
            return None;
        }
        let name = at(7)?;
        if is(5, CONTAINER_SERVICE) && is(6, "managedClusters") {
            return match s.len() {
                8 => Some(Route::Cluster { sub, group, name }),
                9 if is(8, "listClusterUserCredential") => Some(Route::UserCredential {
                    sub,
                    group,
                    cluster: name,
                }),
                10 if is(8, "agentPools") => Some(Route::Pool {
                    sub,
                    group,
                    cluster: name,
                    name: at(9)?,
                }),
                _ => None,
            };
        }
        if is(5, POSTGRESQL) && is(6, "flexibleServers") && s.len() == 8 {
            return Some(Route::Server { sub, group, name });
        }
        None
    }

    /// The api-version this path is served at.
    pub fn api_version(&self) -> Option<&'static str> {
        match self {
            Route::Group { .. } => Some(RESOURCES_API_VERSION),
            Route::Cluster { .. } | Route::Pool { .. } | Route::UserCredential { .. } => {
                Some(CONTAINER_SERVICE_API_VERSION)
            }
            Route::Server { .. } => Some(POSTGRESQL_API_VERSION),
            // A status monitor is called with the URL ARM handed out, whatever it holds.
            Route::Operation { .. } => None,
        }
    }
}

pub(crate) fn group_id(sub: &str, group: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}")
}

pub(crate) fn cluster_id(sub: &str, group: &str, name: &str) -> String {
    format!(
        "{}/providers/{CONTAINER_SERVICE}/managedClusters/{name}",
        group_id(sub, group)
    )
}

pub(crate) fn server_id(sub: &str, group: &str, name: &str) -> String {
    format!(
        "{}/providers/{POSTGRESQL}/flexibleServers/{name}",
        group_id(sub, group)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_parsed_without_regard_to_case() {
        assert_eq!(
            Route::parse("/subscriptions/s/resourcegroups/rg"),
            Some(Route::Group {
                sub: "s".into(),
                group: "rg".into()
            })
        );
        assert_eq!(
            Route::parse(
                "/subscriptions/s/resourceGroups/rg/providers/microsoft.containerservice/managedclusters/c/agentPools/p"
            ),
            Some(Route::Pool {
                sub: "s".into(),
                group: "rg".into(),
                cluster: "c".into(),
                name: "p".into()
            })
        );
        assert!(matches!(
            Route::parse("/subscriptions/s/providers/Microsoft.DBforPostgreSQL/locations/westeurope/operationResults/x"),
            Some(Route::Operation { result: true, .. })
        ));
        assert_eq!(
            Route::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/x"),
            None
        );
        assert_eq!(Route::parse("/nothing"), None);
    }

    #[test]
    fn api_version_is_required_and_checked() {
        assert!(check_api_version("api-version=2025-04-01", Some(RESOURCES_API_VERSION)).is_ok());
        assert_eq!(
            check_api_version("", None).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert_eq!(
            check_api_version("api-version=2023-01-01", Some(RESOURCES_API_VERSION))
                .unwrap_err()
                .code,
            "InvalidApiVersionParameter"
        );
    }

    #[test]
    fn forms_are_decoded() {
        assert_eq!(
            form_pairs("a=b%20c&scope=https%3A%2F%2Fx%2F.default&d=e+f"),
            vec![
                ("a".to_string(), "b c".to_string()),
                ("scope".to_string(), "https://x/.default".to_string()),
                ("d".to_string(), "e f".to_string())
            ]
        );
    }
}
