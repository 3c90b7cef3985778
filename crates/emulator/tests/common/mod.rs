//! Helpers shared by the emulator's black-box tests: start a server, talk to it as a
//! DigitalOcean client would.

#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use strata_emulator::{Emulator, EmulatorConfig};

pub const TOKEN: &str = "dop_v1_test_token";

pub async fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("the emulator starts")
}

/// A config whose objects become ready as soon as they are created.
pub fn instant() -> EmulatorConfig {
    EmulatorConfig {
        provision_time: Duration::ZERO,
        ..EmulatorConfig::default()
    }
}

/// One answer: status, headers and the body parsed as JSON (`Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Do {
    pub base: String,
    client: Client,
    token: Option<String>,
}

impl Do {
    pub fn new(emulator: &Emulator) -> Do {
        Do {
            base: emulator.base_url(),
            client: Client::new(),
            token: Some(TOKEN.to_string()),
        }
    }

    pub fn without_token(emulator: &Emulator) -> Do {
        Do {
            token: None,
            ..Do::new(emulator)
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .expect("the request reaches the emulator");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a VPC and returns its id.
    pub async fn create_vpc(&self, name: &str, region: &str, ip_range: &str) -> String {
        let answer = self
            .post(
                "/v2/vpcs",
                json!({ "name": name, "region": region, "ip_range": ip_range }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.json["vpc"]["id"].as_str().unwrap().to_string()
    }

    /// Creates a cluster with one pool of `count` nodes and returns the cluster object.
    pub async fn create_cluster(&self, name: &str, region: &str, count: u32) -> Value {
        let answer = self
            .post(
                "/v2/kubernetes/clusters",
                json!({
                    "name": name,
                    "region": region,
                    "version": "1.31.1-do.4",
                    "tags": ["shop"],
                    "node_pools": [{ "name": "default", "size": "s-2vcpu-2gb", "count": count }],
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.json["kubernetes_cluster"].clone()
    }
}

/// Asserts DigitalOcean's error shape: `id`, `message` and `request_id`, plus rate-limit headers.
pub fn assert_do_error(answer: &Answer, status: StatusCode, id: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.json["id"], id, "{}", answer.text);
    assert!(
        answer.json["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        answer.text
    );
    assert!(answer.json["request_id"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(answer.header(header).is_some(), "missing {header}");
    }
}
