//! The DigitalOcean provider reading any answer a server (or a proxy in front of it) may send:
//! every status, any `Retry-After`/`ratelimit-reset` header, any body. Reads, finds, creates
//! (with their waits and create-then-find recovery) and deletes must end in a value or a
//! `ProviderError`, never a panic.
//!
//! The provider's decoders are private, so they are reached the way a cloud reaches them: a
//! loopback HTTP server answers every request with the input, and the provider is driven
//! through the public `Provider` trait. Timings are shrunk so that retries and waits end
//! within milliseconds.
//!
//! Input: `STATUS\n[header: value\n...]\nBODY`. A first line that is not a status means 200 and
//! the whole input is the body; header lines are only taken before a blank line.
//!
//! The header values also go straight to `strata_core::retry::server_delay` and the retry
//! policy, and the body (when JSON) through `Value::from_json` and the marked-JSON round trip
//! that state and plan files use.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use strata_core::provider::{
    CreateRequest, DeleteRequest, FindRequest, OperationContext, Provider, ReadRequest,
};
use strata_core::retry::{server_delay, RetryPolicy};
use strata_core::Value;
use strata_provider_digitalocean::{
    DigitalOceanProvider, Settings, Token, DATABASE_CLUSTER, KUBERNETES_CLUSTER,
    KUBERNETES_NODE_POOL, VPC,
};

/// What the server answers to every request.
#[derive(Default, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Harness {
    reply: Arc<Mutex<Reply>>,
    runtime: tokio::runtime::Runtime,
    provider: DigitalOceanProvider,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let reply = Arc::new(Mutex::new(Reply::default()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = reply.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let reply = shared.clone();
                std::thread::spawn(move || serve(stream, &reply));
            }
        });
        let mut settings = Settings::new(Token::new("fuzz-token"), &endpoint).expect("settings");
        // Waits and retries go round without sleeping, and give up after a millisecond.
        settings.poll_interval = Duration::ZERO;
        settings.operation_timeout = Duration::from_millis(1);
        settings.retry = RetryPolicy {
            initial_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            deadline: Duration::from_millis(1),
        };
        Harness {
            reply,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            provider: DigitalOceanProvider::with_settings(settings).expect("a provider"),
        }
    })
}

/// Answers the requests of one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, reply: &Mutex<Reply>) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let r = reply.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = format!(
            "HTTP/1.1 {} Fuzz\r\ncontent-length: {}\r\n",
            r.status,
            r.body.len()
        );
        out.push_str("content-type: application/json\r\n");
        for (name, value) in &r.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&r.body);
        if writer.write_all(&bytes).is_err() {
            return;
        }
    }
}

/// Splits the input into a reply; header lines that HTTP could not carry are left out.
fn parse(data: &[u8]) -> Reply {
    let status_of = |line: &[u8]| {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok())
            .filter(|s| (200..=599).contains(s))
    };
    let (status, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => match status_of(&data[..i]) {
            Some(s) => (s, &data[i + 1..]),
            None => (200, data),
        },
        None => (200, data),
    };
    let mut headers = Vec::new();
    let mut body = rest;
    if let Some(end) = rest.windows(2).position(|w| w == b"\n\n") {
        let head = &rest[..end];
        let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
        let parsed: Vec<Option<(String, String)>> = lines
            .iter()
            .map(|l| {
                let text = std::str::from_utf8(l).ok()?;
                let (name, value) = text.split_once(':')?;
                let name = name.trim().to_ascii_lowercase();
                let value = value.trim();
                let token = |c: char| c.is_ascii_alphanumeric() || c == '-';
                (!name.is_empty()
                    && name.chars().all(token)
                    && value.bytes().all(|b| (0x20..0x7f).contains(&b)))
                .then(|| (name, value.to_string()))
            })
            .collect();
        if parsed.iter().all(Option::is_some) {
            headers = parsed.into_iter().flatten().collect();
            body = &rest[end + 2..];
        }
    }
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

fn cluster_planned() -> Value {
    Value::map([
        ("name", Value::from("shop-stage")),
        ("region", Value::from("nyc1")),
        ("version", Value::from("1.31.1-do.4")),
        ("vpc_uuid", Value::from("c33931f2")),
        ("tags", Value::Null),
        ("auto_upgrade", Value::Null),
        ("ha", Value::from(true)),
        ("kubeconfig", Value::Unknown),
        (
            "node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("default")),
                ("size", Value::from("s-2vcpu-2gb")),
                ("auto_scale", Value::from(true)),
                ("min_nodes", Value::from(2i64)),
                ("max_nodes", Value::from(5i64)),
            ])]),
        ),
    ])
}

fn planned(type_name: &str) -> Value {
    match type_name {
        VPC => Value::map([
            ("name", Value::from("shop-vpc")),
            ("region", Value::from("nyc1")),
            ("ip_range", Value::from("10.10.0.0/16")),
        ]),
        KUBERNETES_CLUSTER => cluster_planned(),
        KUBERNETES_NODE_POOL => Value::map([
            ("cluster_id", Value::from("c-1")),
            ("name", Value::from("workers")),
            ("size", Value::from("s-2vcpu-2gb")),
            ("node_count", Value::from(2i64)),
        ]),
        _ => Value::map([
            ("name", Value::from("shop-db")),
            ("engine", Value::from("pg")),
            ("version", Value::from("16")),
            ("size", Value::from("db-s-1vcpu-2gb")),
            ("region", Value::from("nyc1")),
            ("node_count", Value::from(1i64)),
            ("private_network_uuid", Value::Unknown),
            ("password", Value::Unknown),
        ]),
    }
}

/// The retry decisions a server's headers lead to, checked without a network.
fn retry_headers(reply: &Reply) {
    let header = |name: &str| {
        reply
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    for throttled in [false, true] {
        let delay = server_delay(header, throttled, SystemTime::now());
        let policy = RetryPolicy::default();
        for attempt in [1, 2, 40, u32::MAX] {
            let _ = policy.next_delay(attempt, delay, Duration::from_secs(1), 0.5);
        }
    }
}

/// The body as cloud JSON becomes a value, and a value survives the marked-JSON round trip.
fn json_values(body: &[u8]) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let value = Value::from_json(&json);
    let _ = value.render();
    let marked = value.to_marked_json(false);
    assert_eq!(
        Value::from_marked_json(&marked),
        value,
        "marked JSON round trip changed the value"
    );
}

fuzz_target!(|data: &[u8]| {
    let reply = parse(data);
    retry_headers(&reply);
    json_values(&reply.body);

    let h = harness();
    *h.reply.lock().unwrap_or_else(|e| e.into_inner()) = reply;
    let ctx = OperationContext::silent();
    h.runtime.block_on(async {
        for type_name in [
            VPC,
            KUBERNETES_CLUSTER,
            KUBERNETES_NODE_POOL,
            DATABASE_CLUSTER,
        ] {
            let p = &h.provider;
            let _ = p
                .read(ReadRequest {
                    type_name: type_name.into(),
                    id: "fuzz-id".into(),
                    prior: planned(type_name),
                })
                .await;
            let _ = p
                .find(FindRequest {
                    type_name: type_name.into(),
                    planned: planned(type_name),
                })
                .await;
            let _ = p
                .create(
                    CreateRequest {
                        type_name: type_name.into(),
                        planned: planned(type_name),
                    },
                    &ctx,
                )
                .await;
            let _ = p
                .delete(
                    DeleteRequest {
                        type_name: type_name.into(),
                        id: "fuzz-id".into(),
                        prior: planned(type_name),
                    },
                    &ctx,
                )
                .await;
        }
    });
});
