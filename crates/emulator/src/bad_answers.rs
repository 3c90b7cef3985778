//! Bad answers: what a cloud API looks like from the client when something between the client
//! and the API misbehaves — a truncated body, a load balancer's HTML error page, a runaway body,
//! a connection dropped or never answered.
//!
//! Unlike [`crate::faults`], which each emulated API renders in its own cloud's error shape,
//! these are rendered at the HTTP level, identically for every cloud, because that is where
//! they happen for real: in proxies, load balancers and networks, not in the API. Like faults,
//! a bad answer is decided per request before the request reaches the emulated service, so it
//! never changes the emulated cloud. The admin API is never given one (see
//! [`crate::server`], which layers this only over the cloud APIs).

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The size of a [`BadAnswer::Huge`] body: far beyond any real API answer.
pub const HUGE_BODY_BYTES: u64 = 100 * 1024 * 1024;

/// The chunk a huge body is streamed in, so that it is never held in memory whole.
const HUGE_CHUNK_BYTES: usize = 64 * 1024;

/// How long a [`BadAnswer::Hang`] request is held before the server gives up on it itself: long
/// enough for any client timeout to fire first, short enough not to keep a test process alive.
const HANG_FOR: Duration = Duration::from_secs(120);

/// A kind of bad answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAnswer {
    /// 200 with a JSON body cut off in the middle.
    Garbage,
    /// 502 with the HTML error page a load balancer answers when the API behind it is down.
    Html502,
    /// 200 with a body of [`HUGE_BODY_BYTES`] bytes, streamed.
    Huge,
    /// The connection is closed without any answer.
    Reset,
    /// The request is accepted and never answered.
    Hang,
}

impl BadAnswer {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [BadAnswer; 5] = [
        BadAnswer::Garbage,
        BadAnswer::Html502,
        BadAnswer::Huge,
        BadAnswer::Reset,
        BadAnswer::Hang,
    ];

    /// The name used in `STRATA_EMULATOR_BAD_ANSWER`.
    pub fn name(self) -> &'static str {
        match self {
            BadAnswer::Garbage => "garbage",
            BadAnswer::Html502 => "html502",
            BadAnswer::Huge => "huge",
            BadAnswer::Reset => "reset",
            BadAnswer::Hang => "hang",
        }
    }
}

impl fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BadAnswer {
    type Err = String;

    fn from_str(s: &str) -> Result<BadAnswer, String> {
        let wanted = s.trim().to_ascii_lowercase();
        BadAnswer::ALL
            .into_iter()
            .find(|kind| kind.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = BadAnswer::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "{s:?} is not a kind of bad answer; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Which cloud API requests get a bad answer.
#[derive(Debug, Clone)]
pub struct BadAnswers {
    /// The kind of bad answer; `None` answers every request normally.
    pub kind: Option<BadAnswer>,
    /// Fraction (0..=1) of the matching requests that get it.
    pub rate: f64,
    /// Only requests whose `METHOD /path?query` contains this text match (`GET
    /// /v2/kubernetes/clusters/` breaks cluster reads and nothing else). `None` matches every
    /// cloud API request.
    pub path_contains: Option<String>,
    /// Seed for the per-request draws, so that a test can replay one sequence. `None` draws a
    /// fresh seed from the operating system.
    pub seed: Option<u64>,
}

impl Default for BadAnswers {
    fn default() -> Self {
        BadAnswers {
            kind: None,
            rate: 1.0,
            path_contains: None,
            seed: None,
        }
    }
}

/// Decides, per request, whether it gets a bad answer.
pub(crate) struct BadAnswerInjector {
    settings: BadAnswers,
    rng: Mutex<StdRng>,
}

impl BadAnswerInjector {
    pub fn new(settings: BadAnswers) -> BadAnswerInjector {
        let rng = match settings.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        BadAnswerInjector {
            settings,
            rng: Mutex::new(rng),
        }
    }

    /// The bad answer for `METHOD target`, if this request gets one.
    fn decide(&self, method: &str, target: &str) -> Option<BadAnswer> {
        let kind = self.settings.kind?;
        if let Some(filter) = &self.settings.path_contains {
            if !format!("{method} {target}").contains(filter.as_str()) {
                return None;
            }
        }
        let rate = self.settings.rate;
        if rate >= 1.0 {
            return Some(kind);
        }
        let draw: f64 = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .random();
        (draw < rate).then_some(kind)
    }
}

/// The middleware: answers the decided bad answer instead of passing the request on.
pub(crate) async fn layer(
    State(injector): State<Arc<BadAnswerInjector>>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    match injector.decide(request.method().as_str(), &target) {
        None => next.run(request).await,
        Some(kind) => {
            tracing::debug!(method = %request.method(), %target, %kind, "answering badly");
            render(kind).await
        }
    }
}

/// The response for one kind of bad answer.
async fn render(kind: BadAnswer) -> Response {
    match kind {
        BadAnswer::Garbage => json_response(
            StatusCode::OK,
            Body::from(r#"{"kubernetes_cluster": {"id": "5f3c", "name": "sh"#),
        ),
        BadAnswer::Html502 => {
            let mut response = (StatusCode::BAD_GATEWAY, Body::from(HTML_502)).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        BadAnswer::Huge => json_response(StatusCode::OK, huge_body()),
        BadAnswer::Reset => {
            // A body that fails before its first byte makes the server drop the connection
            // before it has written the status line: the client sees the connection closed
            // without an answer, exactly as after a reset.
            let failing = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by the emulator",
                ))
            });
            Response::new(Body::from_stream(failing))
        }
        BadAnswer::Hang => {
            tokio::time::sleep(HANG_FOR).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

fn json_response(status: StatusCode, body: Body) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// [`HUGE_BODY_BYTES`] of a JSON document that never ends, streamed chunk by chunk without a
/// length, so that only a client that reads it all finds out how big it is.
fn huge_body() -> Body {
    let opening = Bytes::from_static(br#"{"kubernetes_clusters": ["#);
    let filler = Bytes::from(vec![b' '; HUGE_CHUNK_BYTES]);
    let mut left = HUGE_BODY_BYTES.saturating_sub(opening.len() as u64);
    let chunks = std::iter::once(opening).chain(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(HUGE_CHUNK_BYTES as u64);
        left -= n;
        // `slice` shares the one filler buffer: no chunk is allocated.
        Some(filler.slice(..n as usize))
    }));
    Body::from_stream(futures::stream::iter(chunks.map(Ok::<Bytes, Infallible>)))
}

/// A load balancer's error page, the kind that reaches clients when the API behind it is down.
const HTML_502: &str = "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n\
<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>cloudflare</center>\n\
<p>Please try again in a few minutes. Ray ID: 8c2f1d0e5a7b3c21</p>\n</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use std::io::{Read, Write};

    fn injector(kind: BadAnswer, rate: f64, path: Option<&str>) -> BadAnswerInjector {
        BadAnswerInjector::new(BadAnswers {
            kind: Some(kind),
            rate,
            path_contains: path.map(str::to_string),
            seed: Some(7),
        })
    }

    #[test]
    fn kinds_parse_from_their_names_and_anything_else_is_a_clear_error() {
        for kind in BadAnswer::ALL {
            assert_eq!(kind.name().parse::<BadAnswer>(), Ok(kind));
        }
        assert_eq!(" HTML502 ".parse::<BadAnswer>(), Ok(BadAnswer::Html502));
        let e = "slow".parse::<BadAnswer>().unwrap_err();
        assert!(
            e.contains("\"slow\"") && e.contains("garbage, html502"),
            "{e}"
        );
    }

    #[test]
    fn only_requests_matching_the_filter_get_a_bad_answer() {
        let i = injector(
            BadAnswer::Garbage,
            1.0,
            Some("GET /v2/kubernetes/clusters/"),
        );
        assert_eq!(
            i.decide("GET", "/v2/kubernetes/clusters/abc"),
            Some(BadAnswer::Garbage)
        );
        assert_eq!(i.decide("DELETE", "/v2/kubernetes/clusters/abc"), None);
        assert_eq!(i.decide("GET", "/v2/vpcs/abc"), None);
        let none = BadAnswerInjector::new(BadAnswers::default());
        assert_eq!(none.decide("GET", "/v2/vpcs"), None);
    }

    #[test]
    fn the_rate_decides_what_fraction_of_requests_get_one() {
        let i = injector(BadAnswer::Reset, 0.25, None);
        let hit = (0..4000)
            .filter(|_| i.decide("GET", "/v2/vpcs").is_some())
            .count();
        assert!((800..1200).contains(&hit), "{hit} of 4000");
        let never = injector(BadAnswer::Reset, 0.0, None);
        assert!((0..100).all(|_| never.decide("GET", "/v2/vpcs").is_none()));
    }

    /// Serves `/v2/ok` behind the layer, on a real socket, and sends one raw request.
    async fn raw_exchange(kind: BadAnswer, read_limit: usize) -> Vec<u8> {
        let app = Router::new()
            .route("/v2/ok", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(injector(kind, 1.0, None)),
                layer,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(1500)))
                .unwrap();
            s.write_all(b"GET /v2/ok HTTP/1.1\r\nhost: x\r\n\r\n")
                .unwrap();
            let mut out = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while out.len() < read_limit {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
            out
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn garbage_is_a_200_whose_json_is_cut_off() {
        let raw = String::from_utf8(raw_exchange(BadAnswer::Garbage, 4096).await).unwrap();
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        let body = raw.split("\r\n\r\n").nth(1).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(body).is_err(),
            "{body}"
        );
    }

    #[tokio::test]
    async fn html502_is_a_bad_gateway_page() {
        let raw = String::from_utf8(raw_exchange(BadAnswer::Html502, 4096).await).unwrap();
        assert!(raw.starts_with("HTTP/1.1 502"), "{raw}");
        assert!(raw.contains("content-type: text/html"), "{raw}");
        assert!(raw.contains("<title>502 Bad Gateway</title>"), "{raw}");
    }

    #[tokio::test]
    async fn huge_streams_far_more_than_any_answer_without_announcing_its_length() {
        let raw = raw_exchange(BadAnswer::Huge, 4 * 1024 * 1024).await;
        let text = String::from_utf8_lossy(&raw[..200]);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("transfer-encoding: chunked"), "{text}");
        // The client stopped reading; the server kept sending as long as it read.
        assert!(raw.len() >= 4 * 1024 * 1024, "{} bytes", raw.len());
    }

    #[tokio::test]
    async fn reset_closes_the_connection_without_a_single_byte() {
        assert!(raw_exchange(BadAnswer::Reset, 4096).await.is_empty());
    }

    #[tokio::test]
    async fn hang_never_answers() {
        // The raw client gives up after 1.5 s without having read anything.
        assert!(raw_exchange(BadAnswer::Hang, 4096).await.is_empty());
    }
}
