//! The kubeconfig of a GKE cluster, written without gcloud: the cluster's endpoint and CA, and
//! a user that presents a bearer token from the provider's own Google credentials (what the
//! `gke-gcloud-auth-plugin` would fetch).

use serde_json::json;

/// `endpoint` is the address GKE reports (an IP address, served over https). An endpoint that
/// already carries a scheme is used as it is, which is how the emulator's loopback API is
/// reached.
pub(crate) fn render(
    project: &str,
    location: &str,
    name: &str,
    endpoint: &str,
    ca_certificate: &str,
    token: &str,
) -> String {
    let context = format!("gke_{project}_{location}_{name}");
    let server = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    };
    let mut cluster = json!({ "server": server });
    if !ca_certificate.is_empty() {
        cluster["certificate-authority-data"] = json!(ca_certificate);
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": context, "cluster": cluster }],
        "contexts": [{ "name": context, "context": { "cluster": context, "user": context } }],
        "current-context": context,
        "preferences": {},
        "users": [{ "name": context, "user": { "token": token } }],
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_endpoint_is_served_over_https_with_its_ca() {
        let text = render("p", "europe-west1", "c", "34.1.2.3", "Q0E=", "ya29.x");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"].as_str(),
            Some("https://34.1.2.3")
        );
        assert_eq!(
            doc["clusters"][0]["cluster"]["certificate-authority-data"].as_str(),
            Some("Q0E=")
        );
        assert_eq!(doc["users"][0]["user"]["token"].as_str(), Some("ya29.x"));
        assert_eq!(
            doc["current-context"].as_str(),
            Some("gke_p_europe-west1_c")
        );
        let text = render("p", "l", "c", "http://127.0.0.1:1/k8s/x", "", "t");
        assert!(text.contains("server: http://127.0.0.1:1/k8s/x"), "{text}");
        assert!(!text.contains("certificate-authority-data"), "{text}");
    }
}
