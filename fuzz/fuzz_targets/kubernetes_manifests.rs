//! Manifest files of a `kubernetes_manifests` folder (multi-document YAML), and what the
//! provider computes from their documents without a cluster: identity, digest, the projection
//! of a live object through a manifest and the cleaned live view. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use strata_provider_kubernetes::manifest::{self, ObjectId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ObjectId::parse(text);
    let Ok(docs) = manifest::parse_documents(Path::new("fuzz.yaml"), text) else {
        return;
    };
    let _ = manifest::digest(docs.iter().map(|d| &d.body));
    for (i, doc) in docs.iter().enumerate() {
        let kind = doc.body["kind"].as_str().unwrap_or_default();
        let namespaced = !manifest::known_cluster_scoped(kind);
        if let Ok(id) = manifest::identity(&doc.body, namespaced, "default", &doc.origin) {
            let _ = id.group_version();
            let _ = manifest::apply_rank(&id.kind);
            // State keys resources by this text form; it must read back as the same object
            // (Kubernetes forbids `/` in kinds, namespaces and names, so only those are held
            // to it).
            let plain = |s: &str| !s.contains('/');
            if plain(&id.kind) && plain(&id.name) && id.namespace.as_deref().is_none_or(plain) {
                assert_eq!(
                    ObjectId::parse(&id.to_string()).as_ref(),
                    Some(&id),
                    "id round trip"
                );
            }
        }
        // Any document as the live object seen through any other (or itself) as the shape.
        let shape = &docs[(i + 1) % docs.len()].body;
        let _ = manifest::project(&doc.body, shape);
        let _ = manifest::clean(&doc.body);
    }
});
