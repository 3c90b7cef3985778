//! The emulated EKS and RDS over real HTTP, at the wire level: authentication, idempotency
//! tokens, lifecycles and the error shapes each protocol uses.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{Emulator, EmulatorConfig, Faults};

const AUTH_EKS: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/eks/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const AUTH_RDS: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/rds/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn start(faults: Faults) -> Emulator {
    let config = EmulatorConfig {
        provision_time: Duration::from_millis(150),
        faults,
        ..EmulatorConfig::default()
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// Sends one EKS request; answers (status, error type header, JSON body).
async fn eks(
    e: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    auth: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request =
        reqwest::Client::new().request(method, format!("{}/aws/eks{path}", e.base_url()));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, kind, body)
}

async fn rds(e: &Emulator, form: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/aws/rds/", e.base_url()))
        .header("authorization", AUTH_RDS)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn create_body(token: &str) -> Value {
    json!({
        "name": "shop",
        "roleArn": "arn:aws:iam::123456789012:role/eks",
        "resourcesVpcConfig": { "subnetIds": ["subnet-1", "subnet-2"] },
        "clientRequestToken": token,
    })
}

#[tokio::test]
async fn eks_creates_are_idempotent_by_token_and_errors_are_typed() {
    let e = start(Faults::default()).await;
    let post = reqwest::Method::POST;
    let (status, _, first) = eks(
        &e,
        post.clone(),
        "/clusters",
        Some(create_body("t1")),
        Some(AUTH_EKS),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["cluster"]["status"], "CREATING");
    assert!(first["cluster"].get("endpoint").is_none());

    let (status, _, again) = eks(
        &e,
        post.clone(),
        "/clusters",
        Some(create_body("t1")),
        Some(AUTH_EKS),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["cluster"]["arn"], first["cluster"]["arn"]);
    assert_eq!(again["cluster"]["createdAt"], first["cluster"]["createdAt"]);

    let (status, kind, body) = eks(
        &e,
        post.clone(),
        "/clusters",
        Some(create_body("t2")),
        Some(AUTH_EKS),
    )
    .await;
    assert_eq!(
        (status, kind.as_deref()),
        (409, Some("ResourceInUseException"))
    );
    assert!(body["message"].as_str().unwrap().contains("shop"), "{body}");

    let (status, kind, _) = eks(&e, post, "/clusters", Some(create_body("t3")), None).await;
    assert_eq!(
        (status, kind.as_deref()),
        (403, Some("UnrecognizedClientException"))
    );

    let get = reqwest::Method::GET;
    let (status, kind, _) = eks(&e, get.clone(), "/clusters/nope", None, Some(AUTH_EKS)).await;
    assert_eq!(
        (status, kind.as_deref()),
        (404, Some("ResourceNotFoundException"))
    );

    // CREATING → ACTIVE over the provision time, computed when asked.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, _, now) = eks(&e, get.clone(), "/clusters/shop", None, Some(AUTH_EKS)).await;
    assert_eq!(now["cluster"]["status"], "ACTIVE");
    assert!(now["cluster"]["endpoint"]
        .as_str()
        .unwrap()
        .contains("/k8s/"));

    // A version may only go up one minor version at a time.
    let (status, kind, _) = eks(
        &e,
        reqwest::Method::POST,
        "/clusters/shop/updates",
        Some(json!({ "version": "1.28", "clientRequestToken": "u1" })),
        Some(AUTH_EKS),
    )
    .await;
    assert_eq!(
        (status, kind.as_deref()),
        (400, Some("InvalidParameterException"))
    );
    e.shutdown().await;
}

#[tokio::test]
async fn rds_answers_xml_and_errors_in_the_query_protocol_shape() {
    let e = start(Faults::default()).await;
    let (status, body) = rds(
        &e,
        "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=nope",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("<ErrorResponse"), "{body}");
    assert!(
        body.contains("<Type>Sender</Type><Code>DBInstanceNotFound</Code>"),
        "{body}"
    );

    let create = "Action=CreateDBInstance&Version=2014-10-31&DBInstanceIdentifier=Shop-DB&DBInstanceClass=db.t4g.micro&Engine=postgres&EngineVersion=16&AllocatedStorage=20&MasterUsername=shop&MasterUserPassword=longenough&Tags.Tag.1.Key=team&Tags.Tag.1.Value=data";
    let (status, body) = rds(&e, create).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<CreateDBInstanceResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><CreateDBInstanceResult><DBInstance>"), "{body}");
    assert!(
        body.contains("<DBInstanceIdentifier>shop-db</DBInstanceIdentifier>"),
        "{body}"
    );
    assert!(
        body.contains("<DBInstanceStatus>creating</DBInstanceStatus>"),
        "{body}"
    );
    assert!(
        body.contains("<EngineVersion>16.9</EngineVersion>"),
        "{body}"
    );
    assert!(
        body.contains("<Tag><Key>team</Key><Value>data</Value></Tag>"),
        "{body}"
    );
    assert!(
        !body.contains("longenough"),
        "the password is never answered"
    );

    let (status, body) = rds(&e, create).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>DBInstanceAlreadyExists</Code>"),
        "{body}"
    );
    let (status, body) = rds(
        &e,
        "Action=DeleteDBInstance&Version=2014-10-31&DBInstanceIdentifier=shop-db",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("InvalidParameterCombination"),
        "a final snapshot or SkipFinalSnapshot: {body}"
    );
    let (status, body) = rds(&e, "Action=Nope&Version=2014-10-31").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    e.shutdown().await;
}

#[tokio::test]
async fn throttling_is_answered_in_each_protocol_s_own_shape() {
    let e = start(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let (status, kind, _) = eks(&e, reqwest::Method::GET, "/clusters", None, Some(AUTH_EKS)).await;
    assert_eq!(
        (status, kind.as_deref()),
        (429, Some("ThrottlingException"))
    );
    let (status, body) = rds(&e, "Action=DescribeDBInstances&Version=2014-10-31").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>Throttling</Code>"), "{body}");
    e.shutdown().await;
}
