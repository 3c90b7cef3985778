//! The bearer tokens an EKS cluster's Kubernetes API accepts: `k8s-aws-v1.` followed by the
//! unpadded base64url of a SigV4-presigned STS `GetCallerIdentity` URL whose signed headers
//! include `x-k8s-aws-id: CLUSTER_NAME` (what `aws eks get-token` prints).
//!
//! The real API server has STS check the signature with the header set to its own name, which
//! binds a token to one cluster. The emulator does the same check itself: it knows the secret
//! of the fake credentials `--emulate` hands out ([`ACCESS_KEY_ID`], [`SECRET_ACCESS_KEY`]), so
//! it recomputes the signature with `x-k8s-aws-id` set to the cluster's name; a token minted for
//! another cluster, altered, expired or signed by unknown credentials is refused.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The access key id of the credentials the emulated AWS hands out.
pub(crate) const ACCESS_KEY_ID: &str = "AKIAEMULATOR00000001";
/// Their secret, known to the emulated STS as a real STS knows a key's secret.
pub(crate) const SECRET_ACCESS_KEY: &str = "emulator/secret/access/key/not-a-real-one";

const PREFIX: &str = "k8s-aws-v1.";
/// How long after its signing time a token is accepted, whatever it claims.
const MAX_AGE_SECONDS: i64 = 15 * 60;
const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// Checks a bearer token for the cluster named `cluster`; `Err` says why it is refused.
pub(crate) fn verify(token: &str, cluster: &str, now: OffsetDateTime) -> Result<(), String> {
    let encoded = token
        .strip_prefix(PREFIX)
        .ok_or("the token does not start with k8s-aws-v1.")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| "the token is not base64url")?;
    let url = String::from_utf8(bytes).map_err(|_| "the token is not a URL")?;
    let rest = url
        .strip_prefix("https://")
        .ok_or("the token's URL is not https")?;
    let (host, path_query) = rest.split_at(rest.find('/').ok_or("the token's URL has no path")?);
    if !(host == "sts.amazonaws.com"
        || (host.starts_with("sts.") && host.ends_with(".amazonaws.com")))
    {
        return Err(format!("the token is presigned for {host}, not STS"));
    }
    let (path, query) = path_query
        .split_once('?')
        .ok_or("the token's URL has no query")?;
    if path != "/" {
        return Err("the token's URL path must be /".into());
    }
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .ok_or(format!("the token's URL lacks {name}"))
    };
    if param("Action")? != "GetCallerIdentity" || param("Version")? != "2011-06-15" {
        return Err("the token does not presign STS GetCallerIdentity (2011-06-15)".into());
    }
    if param("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err("the token is not signed with AWS4-HMAC-SHA256".into());
    }
    let signed_headers = param("X-Amz-SignedHeaders")?;
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-k8s-aws-id") {
        return Err("the token's signed headers must include host and x-k8s-aws-id".into());
    }
    let credential = param("X-Amz-Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, day, region, "sts", "aws4_request"] = scope.as_slice() else {
        return Err("the token's credential scope is not …/REGION/sts/aws4_request".into());
    };
    let amz_date = param("X-Amz-Date")?;
    let signed_at = PrimitiveDateTime::parse(amz_date, AMZ_DATE)
        .map_err(|_| "the token's X-Amz-Date is not YYYYMMDDTHHMMSSZ")?
        .assume_utc();
    if !amz_date.starts_with(day) {
        return Err("the token's date and credential scope disagree".into());
    }
    let expires: i64 = param("X-Amz-Expires")?
        .parse()
        .map_err(|_| "the token's X-Amz-Expires is not a number")?;
    let age = (now - signed_at).whole_seconds();
    if age < -300 {
        return Err("the token is signed in the future".into());
    }
    if age > expires.min(MAX_AGE_SECONDS) {
        return Err("the token has expired".into());
    }
    if *key_id != ACCESS_KEY_ID {
        return Err(format!(
            "the access key {key_id} is unknown to the emulated STS"
        ));
    }
    let signature = param("X-Amz-Signature")?;

    // Recompute the signature the way STS does, with the header set to this cluster's name.
    let mut canonical_query: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    canonical_query.sort();
    let canonical_query = canonical_query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in &names {
        let value = match *name {
            "host" => host,
            "x-k8s-aws-id" => cluster,
            other => {
                return Err(format!(
                    "the token signs header {other}, which it cannot carry"
                ))
            }
        };
        headers.push_str(&format!("{name}:{value}\n"));
    }
    let scope = format!("{day}/{region}/sts/aws4_request");
    let signing_key = [day, region, "sts", "aws4_request"].iter().fold(
        format!("AWS4{SECRET_ACCESS_KEY}").into_bytes(),
        |key, part| hmac(&key, part.as_bytes()).to_vec(),
    );
    // The payload of a presigned GET is either hashed (empty) or declared unsigned.
    for payload in [hex(&Sha256::digest(b"")), "UNSIGNED-PAYLOAD".to_string()] {
        let canonical =
            format!("GET\n/\n{canonical_query}\n{headers}\n{signed_headers}\n{payload}");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        if hex(&hmac(&signing_key, to_sign.as_bytes())) == signature {
            return Ok(());
        }
    }
    Err("the token's signature does not match this cluster".into())
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 wants.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A token signed the way the aws provider signs it, for `cluster` at `at`.
    fn mint(cluster: &str, at: OffsetDateTime, expires: u32) -> String {
        let amz_date = at.format(AMZ_DATE).unwrap();
        let day = &amz_date[..8];
        let mut params = [
            ("Action".to_string(), "GetCallerIdentity".to_string()),
            ("Version".into(), "2011-06-15".into()),
            ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
            (
                "X-Amz-Credential".into(),
                format!("{ACCESS_KEY_ID}/{day}/us-east-1/sts/aws4_request"),
            ),
            ("X-Amz-Date".into(), amz_date.clone()),
            ("X-Amz-Expires".into(), expires.to_string()),
            ("X-Amz-SignedHeaders".into(), "host;x-k8s-aws-id".into()),
        ];
        params.sort();
        let query = params
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let canonical = format!(
            "GET\n/\n{query}\nhost:sts.us-east-1.amazonaws.com\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\n{}",
            hex(&Sha256::digest(b""))
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{day}/us-east-1/sts/aws4_request\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = [day, "us-east-1", "sts", "aws4_request"]
            .iter()
            .fold(format!("AWS4{SECRET_ACCESS_KEY}").into_bytes(), |k, p| {
                hmac(&k, p.as_bytes()).to_vec()
            });
        let url = format!(
            "https://sts.us-east-1.amazonaws.com/?{query}&X-Amz-Signature={}",
            hex(&hmac(&key, to_sign.as_bytes()))
        );
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    #[test]
    fn a_token_is_accepted_by_its_own_cluster_only_and_until_it_expires() {
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let token = mint("shop", at, 900);
        assert_eq!(verify(&token, "shop", at), Ok(()));
        assert!(verify(&token, "other", at)
            .unwrap_err()
            .contains("signature"));
        let later = at + time::Duration::minutes(16);
        assert!(verify(&token, "shop", later)
            .unwrap_err()
            .contains("expired"));
        let short = mint("shop", at, 60);
        assert!(verify(&short, "shop", at + time::Duration::minutes(2)).is_err());
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        let now = OffsetDateTime::now_utc();
        for bad in [
            "",
            "k8s-aws-v1.",
            "k8s-aws-v1.!!!",
            "Bearer abc",
            &format!(
                "{PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode("https://evil.example.com/?Action=GetCallerIdentity")
            ),
        ] {
            assert!(verify(bad, "shop", now).is_err(), "{bad}");
        }
    }
}
