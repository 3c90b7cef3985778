//! The provider against the emulator's SSH hosts: every command crosses a real SSH connection
//! (russh on both sides), host keys are verified, and the hosts' command log shows what ran
//! where.

use std::path::{Path, PathBuf};

use serde_json::json;
use strata_core::provider::{
    CreateRequest, DeleteRequest, OperationContext, Provider, ReadRequest, ResourceObject,
    UpdateRequest,
};
use strata_core::Value;
use strata_emulator::{Emulator, EmulatorConfig};
use strata_provider_onprem::{
    OnpremProvider, Settings, CONNECT_TIMEOUT_ENV, K3S_CLUSTER, KNOWN_HOSTS_ENV, POLL_ENV,
    SSH_CONFIG_ENV,
};

struct Lab {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    emulator: Emulator,
    provider: OnpremProvider,
}

async fn lab() -> Lab {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cloud");
    let emulator = Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        EmulatorConfig {
            data_dir: Some(dir.clone()),
            ..EmulatorConfig::default()
        },
    )
    .await
    .unwrap();
    let onprem = dir.join("onprem");
    let settings = Settings::from_config(&Value::Null, |k| match k {
        SSH_CONFIG_ENV => Some(onprem.join("ssh_config").display().to_string()),
        KNOWN_HOSTS_ENV => Some(onprem.join("known_hosts").display().to_string()),
        CONNECT_TIMEOUT_ENV => Some("300".into()),
        POLL_ENV => Some("20".into()),
        _ => None,
    })
    .unwrap();
    Lab {
        _tmp: tmp,
        dir,
        emulator,
        provider: OnpremProvider::with_settings(settings),
    }
}

fn cluster(version: &str, hosts: &[(&str, &str)]) -> Value {
    let hosts = hosts
        .iter()
        .map(|(address, role)| {
            Value::map([
                ("address", Value::from(*address)),
                ("role", Value::from(*role)),
                ("port", Value::Null),
                ("user", Value::Null),
            ])
        })
        .collect();
    Value::map([
        ("name", Value::from("lab")),
        ("k3s_version", Value::from(version)),
        ("host", Value::List(hosts)),
    ])
}

/// `(host, command)` of every command run so far.
fn commands(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("onprem/commands.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["host"].as_str().unwrap().to_string(),
                v["command"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Host name → installed k3s role, from the emulator's objects.
fn k3s_roles(dir: &Path) -> Vec<(String, String)> {
    strata_emulator::admin::list(dir)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == "host")
        .filter_map(|o| {
            let role = o.fields.get("k3s_role")?.as_str()?.to_string();
            Some((o.name, role))
        })
        .collect()
}

async fn create(
    lab: &Lab,
    planned: Value,
) -> Result<ResourceObject, strata_core::provider::ProviderError> {
    lab.provider
        .create(
            CreateRequest {
                type_name: K3S_CLUSTER.into(),
                planned,
            },
            &OperationContext::silent(),
        )
        .await
}

async fn update(lab: &Lab, prior: &ResourceObject, planned: Value) -> ResourceObject {
    lab.provider
        .update(
            UpdateRequest {
                type_name: K3S_CLUSTER.into(),
                id: prior.id.clone(),
                prior: prior.attributes.clone(),
                planned,
                changed: Vec::new(),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cluster_is_installed_read_back_and_uninstalled_over_ssh() {
    let lab = lab().await;
    let planned = cluster(
        "v1.30.4+k3s1",
        &[
            ("node-1", "server"),
            ("node-2", "agent"),
            ("node-3", "agent"),
        ],
    );
    let obj = create(&lab, planned).await.unwrap();
    let a = &obj.attributes;
    let kubeconfig = a.get("kubeconfig").unwrap();
    assert!(kubeconfig.is_sensitive());
    assert!(kubeconfig
        .as_str()
        .unwrap()
        .contains(&format!("{}/k8s/k3s-", lab.emulator.base_url())));
    assert_eq!(
        a.get("nodes").unwrap(),
        Value::List(vec!["node-1".into(), "node-2".into(), "node-3".into()])
    );
    let token = a.get("token").unwrap();
    assert_eq!(token.as_str().unwrap().len(), 48);
    assert_eq!(
        k3s_roles(&lab.dir),
        [
            ("node-1", "server"),
            ("node-2", "agent"),
            ("node-3", "agent")
        ]
        .map(|(h, r)| (h.to_string(), r.to_string()))
    );
    // The server was installed first, and no command line carries the token.
    let log = commands(&lab.dir);
    let installs: Vec<&str> = log
        .iter()
        .filter(|(_, c)| c.contains("get.k3s.io"))
        .map(|(h, _)| h.as_str())
        .collect();
    assert_eq!(installs, ["node-1", "node-2", "node-3"]);
    let secret = token.as_str().unwrap();
    assert!(log.iter().all(|(_, c)| !c.contains(secret)));

    // Reading finds everything as created.
    let read = lab
        .provider
        .read(ReadRequest {
            type_name: K3S_CLUSTER.into(),
            id: obj.id.clone(),
            prior: obj.attributes.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    for k in ["host", "k3s_version", "installed", "nodes"] {
        assert_eq!(read.attributes.get(k), obj.attributes.get(k), "{k}");
    }

    // A stopped service reads as a host that left the cluster.
    strata_emulator::admin::set(&lab.dir, "node-3", "service_active", json!(false)).unwrap();
    let read = lab
        .provider
        .read(ReadRequest {
            type_name: K3S_CLUSTER.into(),
            id: obj.id.clone(),
            prior: obj.attributes.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.attributes
            .get("host")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        2
    );

    lab.provider
        .delete(
            DeleteRequest {
                type_name: K3S_CLUSTER.into(),
                id: obj.id.clone(),
                prior: obj.attributes.clone(),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap();
    assert!(k3s_roles(&lab.dir).is_empty());
}

#[tokio::test]
async fn a_changed_host_key_is_refused_naming_the_host_and_both_fingerprints() {
    let lab = lab().await;
    let before = strata_emulator::admin::list(&lab.dir).unwrap();
    let old = before.iter().find(|o| o.name == "node-1").unwrap().fields["host_key_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    strata_emulator::admin::set(&lab.dir, "node-1", "host_key", json!("rotate")).unwrap();
    let new = strata_emulator::admin::list(&lab.dir)
        .unwrap()
        .into_iter()
        .find(|o| o.name == "node-1")
        .unwrap()
        .fields["host_key_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old, new);

    let e = create(&lab, cluster("v1.30.4+k3s1", &[("node-1", "server")]))
        .await
        .unwrap_err();
    assert!(e.message.contains("node-1"), "{e:?}");
    assert!(
        e.message.contains(&old) && e.message.contains(&new),
        "{e:?}"
    );
    assert!(e.partial.is_none());
    // Nothing ran on the host.
    assert!(commands(&lab.dir).is_empty());

    // A pinned key that matches is accepted.
    let mut planned = cluster("v1.30.4+k3s1", &[("node-1", "server")]);
    planned
        .set_path(
            &strata_core::Path::root().key("host_keys"),
            Value::map([("node-1", Value::from(new.as_str()))]),
        )
        .then_some(())
        .unwrap();
    create(&lab, planned).await.unwrap();
}

#[tokio::test]
async fn a_failed_install_names_host_and_step_and_the_next_run_resumes() {
    let lab = lab().await;
    strata_emulator::admin::set(&lab.dir, "node-3", "fail_command", json!("get.k3s.io")).unwrap();
    let planned = cluster(
        "v1.30.4+k3s1",
        &[
            ("node-1", "server"),
            ("node-2", "agent"),
            ("node-3", "agent"),
        ],
    );
    let e = create(&lab, planned.clone()).await.unwrap_err();
    assert!(e.message.contains("host node-3"), "{e:?}");
    assert!(
        e.message.contains("installing k3s v1.30.4+k3s1 as agent"),
        "{e:?}"
    );
    let partial = *e.partial.clone().unwrap();
    let installed = partial.attributes.get("installed").unwrap();
    let done: Vec<&String> = installed.as_map().unwrap().keys().collect();
    assert_eq!(done, ["node-1", "node-2"]);
    assert!(!e
        .message
        .contains(partial.attributes.get("token").unwrap().as_str().unwrap()));

    strata_emulator::admin::set(&lab.dir, "node-3", "fail_command", json!(null)).unwrap();
    let logged = commands(&lab.dir).len();
    let done = update(&lab, &partial, planned).await;
    // Only node-3 is worked on; the first server is only asked for the kubeconfig the failed
    // create never got to read.
    let resumed = commands(&lab.dir)[logged..].to_vec();
    assert!(resumed
        .iter()
        .any(|(h, c)| h == "node-3" && c.contains("get.k3s.io")));
    assert!(
        resumed
            .iter()
            .all(|(h, c)| h == "node-3" || c == "cat /etc/rancher/k3s/k3s.yaml"),
        "{resumed:?}"
    );
    assert_eq!(
        done.attributes
            .get("nodes")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        3
    );

    // An unreachable host is named too, with the step.
    strata_emulator::admin::set(&lab.dir, "node-4", "reachable", json!(false)).unwrap();
    let grown = cluster(
        "v1.30.4+k3s1",
        &[
            ("node-1", "server"),
            ("node-2", "agent"),
            ("node-3", "agent"),
            ("node-4", "agent"),
        ],
    );
    let e = lab
        .provider
        .update(
            UpdateRequest {
                type_name: K3S_CLUSTER.into(),
                id: done.id.clone(),
                prior: done.attributes.clone(),
                planned: grown,
                changed: Vec::new(),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("host node-4: connecting"), "{e:?}");
}

#[tokio::test]
async fn membership_changes_touch_only_their_host_and_upgrades_roll_servers_first() {
    let lab = lab().await;
    let three = [
        ("node-1", "server"),
        ("node-2", "server"),
        ("node-3", "agent"),
    ];
    let obj = create(&lab, cluster("v1.30.4+k3s1", &three)).await.unwrap();

    let logged = commands(&lab.dir).len();
    let four = [
        ("node-1", "server"),
        ("node-2", "server"),
        ("node-3", "agent"),
        ("node-4", "agent"),
    ];
    let obj = update(&lab, &obj, cluster("v1.30.4+k3s1", &four)).await;
    let hosts: Vec<String> = commands(&lab.dir)[logged..]
        .iter()
        .map(|(h, _)| h.clone())
        .collect();
    assert!(
        !hosts.is_empty() && hosts.iter().all(|h| h == "node-4"),
        "{hosts:?}"
    );

    let logged = commands(&lab.dir).len();
    let obj = update(&lab, &obj, cluster("v1.31.1+k3s1", &four)).await;
    let upgrades: Vec<String> = commands(&lab.dir)[logged..]
        .iter()
        .filter(|(_, c)| c.contains("INSTALL_K3S_VERSION=v1.31.1+k3s1"))
        .map(|(h, _)| h.clone())
        .collect();
    assert_eq!(upgrades, ["node-1", "node-2", "node-3", "node-4"]);

    // Removing an agent drains it through the first server and uninstalls it.
    let logged = commands(&lab.dir).len();
    update(&lab, &obj, cluster("v1.31.1+k3s1", &three)).await;
    let log = &commands(&lab.dir)[logged..];
    assert!(log
        .iter()
        .any(|(h, c)| h == "node-1" && c.contains("drain node-4")));
    assert!(log
        .iter()
        .any(|(h, c)| h == "node-4" && c.ends_with("k3s-agent-uninstall.sh")));
    assert!(!k3s_roles(&lab.dir).iter().any(|(h, _)| h == "node-4"));
}

#[tokio::test]
async fn an_air_gapped_install_uploads_the_binary_and_script_over_ssh() {
    let lab = lab().await;
    let files = lab.dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("k3s"), b"\x7fELF k3s binary").unwrap();
    std::fs::write(files.join("install.sh"), b"#!/bin/sh\n# k3s installer\n").unwrap();
    let mut planned = cluster("v1.30.4+k3s1", &[("node-1", "server"), ("node-2", "agent")]);
    for (k, v) in [
        ("install", "airgap".to_string()),
        ("airgap_binary", files.join("k3s").display().to_string()),
        (
            "airgap_script",
            files.join("install.sh").display().to_string(),
        ),
    ] {
        planned.set_path(&strata_core::Path::root().key(k), Value::from(v.as_str()));
    }
    create(&lab, planned.clone()).await.unwrap();
    let log = commands(&lab.dir);
    assert!(
        log.iter().all(|(_, c)| !c.contains("get.k3s.io")),
        "{log:#?}"
    );
    for host in ["node-1", "node-2"] {
        assert!(log
            .iter()
            .any(|(h, c)| h == host && c.contains("cat > /usr/local/bin/k3s &&")));
        assert!(log
            .iter()
            .any(|(h, c)| h == host && c.contains("INSTALL_K3S_SKIP_DOWNLOAD=true")));
    }
    assert_eq!(k3s_roles(&lab.dir).len(), 2);

    // A missing local file is named, and nothing is installed without it.
    let mut other = cluster("v1.30.4+k3s1", &[("node-3", "server")]);
    for (k, v) in [
        ("install", "airgap"),
        ("airgap_binary", "/nonexistent/k3s"),
        ("airgap_script", "/nonexistent/install.sh"),
    ] {
        other.set_path(&strata_core::Path::root().key(k), Value::from(v));
    }
    let e = create(&lab, other).await.unwrap_err();
    assert!(e.message.contains("/nonexistent/k3s"), "{e:?}");
    assert!(!k3s_roles(&lab.dir).iter().any(|(h, _)| h == "node-3"));
}

#[tokio::test]
async fn a_restarted_emulator_keeps_its_hosts_ports_and_known_keys() {
    let lab = lab().await;
    let known = std::fs::read_to_string(lab.dir.join("onprem/known_hosts")).unwrap();
    let ports = |dir: &Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("onprem/ssh_config"))
            .unwrap()
            .lines()
            .filter(|l| l.trim_start().starts_with("Port "))
            .map(str::to_string)
            .collect()
    };
    let before = ports(&lab.dir);
    assert_eq!(before.len(), 8);
    let Lab {
        _tmp,
        dir,
        emulator,
        provider,
    } = lab;
    emulator.shutdown().await;
    let again = Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        EmulatorConfig {
            data_dir: Some(dir.clone()),
            ..EmulatorConfig::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ports(&dir), before);
    assert_eq!(
        std::fs::read_to_string(dir.join("onprem/known_hosts")).unwrap(),
        known
    );
    let lab = Lab {
        _tmp,
        dir,
        emulator: again,
        provider,
    };
    create(&lab, cluster("v1.30.4+k3s1", &[("node-1", "server")]))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stopped_first_server_reads_as_missing_and_the_update_brings_it_back() {
    let lab = lab().await;
    let planned = cluster("v1.30.4+k3s1", &[("node-1", "server"), ("node-2", "agent")]);
    let obj = create(&lab, planned.clone()).await.unwrap();
    strata_emulator::admin::set(&lab.dir, "node-1", "service_active", json!(false)).unwrap();
    let read = |prior: Value| {
        lab.provider.read(ReadRequest {
            type_name: K3S_CLUSTER.into(),
            id: "lab".into(),
            prior,
        })
    };
    let drifted = read(obj.attributes.clone()).await.unwrap().unwrap();
    let hosts = drifted.attributes.get("host").unwrap();
    assert_eq!(hosts.as_list().unwrap().len(), 1, "{hosts:?}");
    // The recorded object has no server left, and can still be read.
    let again = read(drifted.attributes.clone()).await.unwrap().unwrap();
    assert_eq!(again.attributes.get("host"), drifted.attributes.get("host"));

    let fixed = update(&lab, &drifted, planned).await;
    assert_eq!(
        fixed
            .attributes
            .get("nodes")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        2
    );
    let read_back = read(fixed.attributes.clone()).await.unwrap().unwrap();
    assert_eq!(
        read_back.attributes.get("host"),
        fixed.attributes.get("host")
    );
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_with_the_token_read_back_from_the_server() {
    let lab = lab().await;
    let planned = cluster("v1.30.4+k3s1", &[("node-1", "server"), ("node-2", "agent")]);
    let created = create(&lab, planned.clone()).await.unwrap();
    let mut unknown_token = planned;
    unknown_token.set_path(&strata_core::Path::root().key("token"), Value::Unknown);
    let found = lab
        .provider
        .find(strata_core::provider::FindRequest {
            type_name: K3S_CLUSTER.into(),
            planned: unknown_token,
        })
        .await
        .unwrap()
        .unwrap();
    for k in ["token", "installed", "nodes", "host", "kubeconfig"] {
        assert_eq!(found.attributes.get(k), created.attributes.get(k), "{k}");
    }

    // Hosts without k3s leave nothing to adopt.
    let elsewhere = cluster("v1.30.4+k3s1", &[("node-5", "server")]);
    let none = lab
        .provider
        .find(strata_core::provider::FindRequest {
            type_name: K3S_CLUSTER.into(),
            planned: elsewhere,
        })
        .await
        .unwrap();
    assert!(none.is_none());
}
