//! What the s3 tests share: a real S3-compatible server on a loopback port, the conformance
//! suite's view of the backend, raw object access, and a fake store that ignores conditions.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use strata_state::codec::Codec;
use strata_state::conformance::{Backend, Record};
use strata_state::s3::Layout;
use strata_state::{LockInfo, S3Settings, S3Store, StateError, StateKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The server the tests start when `STRATA_S3_TEST_SERVER` does not name another.
const DEFAULT_SERVER: &str = "moto_server";
const INSTALL: &str = "the s3 backend tests need an S3-compatible server: install moto with \
     `pip install 'moto[server]==5.2.1'` (it provides `moto_server`), or set \
     STRATA_S3_TEST_SERVER to another server command taking `-H HOST -p PORT`, or to the \
     http:// URL of a running server";

/// A server for one test, with an empty bucket; the server is killed when this is dropped.
pub struct TestServer {
    pub endpoint: String,
    pub bucket: String,
    process: Option<Child>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let spec = std::env::var("STRATA_S3_TEST_SERVER")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let mut server = if spec.starts_with("http://") || spec.starts_with("https://") {
            TestServer {
                endpoint: spec.trim_end_matches('/').to_string(),
                bucket: String::new(),
                process: None,
            }
        } else {
            let port = free_port();
            let process = Command::new(&spec)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{INSTALL} (starting {spec:?} failed: {e})"));
            TestServer {
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket: String::new(),
                process: Some(process),
            }
        };
        server.wait_until_up();
        server.bucket = format!(
            "strata-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        server
            .settings("")
            .client()
            .await
            .expect("client")
            .create_bucket()
            .bucket(&server.bucket)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "creating bucket {} on {} failed: {}",
                    server.bucket,
                    server.endpoint,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
        server
    }

    /// Polls until the server answers HTTP (moto takes a second or two to start).
    fn wait_until_up(&mut self) {
        let address = self
            .endpoint
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(process) = &mut self.process {
                if let Ok(Some(status)) = process.try_wait() {
                    panic!("{INSTALL} (the server exited at once: {status})");
                }
            }
            if answers_http(&address) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the S3 test server at {} did not answer within 60 s",
            self.endpoint
        );
    }

    pub fn settings(&self, prefix: &str) -> S3Settings {
        let mut s = settings(&self.endpoint, &self.bucket, prefix);
        s.lease = Duration::from_secs(2);
        s
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn answers_http(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Settings for a local test server: path-style, fixed credentials, a short lease.
pub fn settings(endpoint: &str, bucket: &str, prefix: &str) -> S3Settings {
    let mut s = S3Settings::new(bucket);
    s.prefix = prefix.to_string();
    s.region = Some("us-east-1".into());
    s.endpoint = Some(endpoint.to_string());
    s.force_path_style = true;
    s.access_key = Some("testing".into());
    s.secret_key = Some("testing".into());
    s
}

/// A prefix no other test uses.
pub fn fresh_prefix() -> String {
    format!("t-{}/state", uuid::Uuid::new_v4().simple())
}

/// The s3 backend under the conformance suite: one prefix of the test bucket.
pub struct S3Backend {
    settings: S3Settings,
    codec: Codec,
}

impl S3Backend {
    pub fn new(mut settings: S3Settings, prefix: String) -> S3Backend {
        settings.prefix = prefix;
        S3Backend {
            settings,
            codec: Codec::plain(),
        }
    }
}

#[async_trait]
impl Backend for S3Backend {
    type Store = S3Store;

    async fn open(&mut self) -> Result<S3Store, StateError> {
        Ok(
            S3Store::connect(self.settings.clone(), LockInfo::current("conformance"))
                .await?
                .with_codec(self.codec.clone()),
        )
    }

    fn use_codec(&mut self, codec: Codec) {
        self.codec = codec;
    }

    async fn rewrite(
        &mut self,
        key: &StateKey,
        record: Record,
        edit: fn(Vec<u8>) -> Vec<u8>,
    ) -> Result<(), String> {
        let client = self.settings.client().await.map_err(|e| e.to_string())?;
        let bucket = &self.settings.bucket;
        let layout = Layout::new(&self.settings.prefix);
        let object = match record {
            Record::Snapshot => layout.snapshot(key),
            Record::NewestJournalEntry => {
                read_all(&client, bucket, &layout.journal_dir(key))
                    .await
                    .pop()
                    .ok_or("no journal entry")?
                    .0
            }
        };
        let found = client
            .get_object()
            .bucket(bucket)
            .key(&object)
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        let metadata = found.metadata().cloned();
        let body = found.body.collect().await.map_err(|e| e.to_string())?;
        client
            .put_object()
            .bucket(bucket)
            .key(&object)
            .set_metadata(metadata)
            .body(ByteStream::from(edit(body.into_bytes().to_vec())))
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        Ok(())
    }
}

/// An object's name, bytes and metadata.
pub type StoredObject = (
    String,
    Vec<u8>,
    Option<std::collections::HashMap<String, String>>,
);

/// Every object under `prefix`, sorted by name, with its bytes and metadata.
pub async fn read_all(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<StoredObject> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().expect("key").to_string();
        let found = client
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("get");
        let metadata = found.metadata().cloned();
        let body = found
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec();
        out.push((key, body, metadata));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes objects back as [`read_all`] returned them.
pub async fn write_all(client: &aws_sdk_s3::Client, bucket: &str, objects: &[StoredObject]) {
    for (key, body, metadata) in objects {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .set_metadata(metadata.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("put");
    }
}

/// Starts, on this test's runtime, a fake S3 endpoint that accepts every write whatever its
/// `If-None-Match` or `If-Match` header says, like a store without conditional writes; returns
/// its URL.
pub async fn ignoring_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut etag = 0u64;
        while let Ok((mut stream, _)) = listener.accept().await {
            etag += 1000;
            let mut next = etag;
            tokio::spawn(async move {
                let mut buffer: Vec<u8> = Vec::new();
                loop {
                    let Some(end) = find(&buffer, b"\r\n\r\n") else {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buffer.len() < end + 4 + length {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..end + 4 + length);
                    next += 1;
                    let response = match head.split(' ').next() {
                        Some("PUT") => format!(
                            "HTTP/1.1 200 OK\r\nETag: \"{next:032x}\"\r\nContent-Length: 0\r\n\r\n"
                        ),
                        Some("DELETE") => "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
                        _ => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_string(),
                    };
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
