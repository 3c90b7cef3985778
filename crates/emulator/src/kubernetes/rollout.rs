//! Rollout progress of Deployments and StatefulSets, computed when the object is read.
//!
//! No controller runs in the emulator: each change of a workload's spec records when the
//! rollout started and how many replicas were ready then, and `status` is derived from the time
//! elapsed since, so readiness climbs to `spec.replicas` over the configured rollout time. An
//! image whose name contains `never-ready` never gets ready, for timeout tests.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// Marker in an image name that keeps its pods from ever becoming ready.
pub(crate) const NEVER_READY: &str = "never-ready";

/// The start of the latest rollout of one workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rollout {
    /// Unix time in milliseconds.
    pub started_ms: u64,
    /// Replicas ready when the rollout started (they stay ready during a scale-up).
    pub baseline_ready: i64,
}

fn desired_replicas(object: &Value) -> i64 {
    object["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

fn never_ready(object: &Value) -> bool {
    let pod = &object["spec"]["template"]["spec"];
    ["containers", "initContainers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str())
        .any(|image| image.contains(NEVER_READY))
}

/// Ready replicas of `object` at `now_ms` for a rollout that takes `rollout_time`.
pub(crate) fn ready_replicas(
    object: &Value,
    rollout: Option<&Rollout>,
    now_ms: u64,
    rollout_time: Duration,
) -> i64 {
    let desired = desired_replicas(object);
    if never_ready(object) {
        return 0;
    }
    let Some(r) = rollout else { return desired };
    let total = rollout_time.as_millis() as u64;
    let elapsed = now_ms.saturating_sub(r.started_ms);
    if total == 0 || elapsed >= total {
        return desired;
    }
    let baseline = r.baseline_ready.clamp(0, desired);
    baseline + ((desired - baseline) as u64 * elapsed / total) as i64
}

/// The `status` a workload reports at `now_ms`.
pub(crate) fn status(
    object: &Value,
    rollout: Option<&Rollout>,
    now_ms: u64,
    rollout_time: Duration,
) -> Value {
    let desired = desired_replicas(object);
    let ready = ready_replicas(object, rollout, now_ms, rollout_time);
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
    let done = ready >= desired;
    let condition = |kind: &str, ok: bool, reason: &str| json!({"type": kind, "status": if ok { "True" } else { "False" }, "reason": reason});
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": desired,
        "updatedReplicas": ready,
        "readyReplicas": ready,
        "availableReplicas": ready,
    });
    if object["kind"] == "StatefulSet" {
        status["currentReplicas"] = json!(ready);
    } else {
        if desired > ready {
            status["unavailableReplicas"] = json!(desired - ready);
        }
        status["conditions"] = json!([
            condition(
                "Available",
                done,
                if done {
                    "MinimumReplicasAvailable"
                } else {
                    "MinimumReplicasUnavailable"
                }
            ),
            condition(
                "Progressing",
                true,
                if done {
                    "NewReplicaSetAvailable"
                } else {
                    "ReplicaSetUpdated"
                }
            ),
        ]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"kind": "Deployment", "metadata": {"generation": 2},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": image}]}}}})
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn readiness_climbs_to_the_desired_count_over_the_rollout_time() {
        let d = deployment(4, "nginx:1.27");
        let r = Rollout {
            started_ms: 10_000,
            baseline_ready: 0,
        };
        assert_eq!(ready_replicas(&d, Some(&r), 10_000, SECOND), 0);
        assert_eq!(ready_replicas(&d, Some(&r), 10_500, SECOND), 2);
        assert_eq!(ready_replicas(&d, Some(&r), 11_000, SECOND), 4);
        let s = status(&d, Some(&r), 10_500, SECOND);
        assert_eq!(s["readyReplicas"], 2);
        assert_eq!(s["observedGeneration"], 2);
        assert_eq!(s["conditions"][0]["status"], "False");
        assert_eq!(status(&d, Some(&r), 20_000, SECOND)["availableReplicas"], 4);
    }

    #[test]
    fn a_scale_up_keeps_the_replicas_that_were_ready() {
        let d = deployment(5, "nginx");
        let r = Rollout {
            started_ms: 0,
            baseline_ready: 3,
        };
        assert_eq!(ready_replicas(&d, Some(&r), 0, SECOND), 3);
    }

    #[test]
    fn never_ready_images_stay_unready_and_zero_time_is_instant() {
        let r = Rollout {
            started_ms: 0,
            baseline_ready: 0,
        };
        let stuck = deployment(3, "registry/never-ready:1");
        assert_eq!(ready_replicas(&stuck, Some(&r), u64::MAX, SECOND), 0);
        let d = deployment(3, "nginx");
        assert_eq!(ready_replicas(&d, Some(&r), 0, Duration::ZERO), 3);
        assert_eq!(ready_replicas(&d, None, 0, SECOND), 3);
    }
}
