mod common;

use common::{change, plan, stack};
use serde_json::json;
use strata_core::{Address, InstanceKey, Mode, Path, Value};
use strata_plan::{to_json, Action, OutputChange};

const SECRET: &str = "json-secret-never-shown";

#[test]
fn json_form_follows_the_documented_shape() {
    let mut replace = change(
        "base",
        "testing_cluster",
        "main",
        Action::Replace,
        Some(Value::map([
            ("id", Value::from("abc")),
            ("region", Value::from("nyc1")),
            ("password", Value::from(SECRET).sensitive()),
        ])),
        Some(Value::map([
            ("id", Value::Unknown),
            ("region", Value::from("ams3")),
            ("password", Value::from(SECRET).sensitive()),
            (
                "pools",
                Value::List(vec![Value::map([("size", Value::Unknown)])]),
            ),
        ])),
    );
    replace.address =
        Address::new("base", "testing_cluster", "main").with_key(Some(InstanceKey::Int(2)));
    replace.replace_because = vec![Path::parse("pools[0].size").unwrap()];
    let mut cbd = replace.clone();
    cbd.create_before_destroy = true;
    cbd.address.key = Some(InstanceKey::Str("eu".into()));
    let mut delete = change(
        "base",
        "testing_thing",
        "old",
        Action::Delete,
        Some(Value::map([("id", Value::from("o1"))])),
        None,
    );
    delete.reason = Some("removed from configuration".into());
    let mut read = change(
        "base",
        "testing_lookup",
        "zone",
        Action::Read,
        None,
        Some(Value::Unknown),
    );
    read.address.mode = Mode::Data;
    let outputs = vec![OutputChange {
        name: "kubeconfig".into(),
        before: None,
        after: Some(Value::from(SECRET)),
        sensitive: true,
    }];
    let p = plan(vec![stack(
        "base",
        vec![replace, cbd, delete, read],
        outputs,
    )]);
    let j = to_json(&p);
    let text = serde_json::to_string(&j).unwrap();
    assert!(!text.contains(SECRET), "{text}");

    assert_eq!(j["format_version"], "1.0");
    assert_eq!(j["project"], "shop");
    assert_eq!(j["environment"], "stage");
    assert_eq!(j["summary"], json!({"add": 2, "change": 0, "destroy": 3}));

    let rc = &j["resource_changes"];
    assert_eq!(rc.as_array().unwrap().len(), 4);
    let r = &rc[0];
    assert_eq!(r["address"], "base/testing_cluster.main[2]");
    assert_eq!(r["stack"], "base");
    assert_eq!(r["mode"], "managed");
    assert_eq!(r["type"], "testing_cluster");
    assert_eq!(r["name"], "main");
    assert_eq!(r["index"], 2);
    assert_eq!(r["provider_name"], "testing");
    let c = &r["change"];
    assert_eq!(c["actions"], json!(["delete", "create"]));
    assert_eq!(
        c["before"],
        json!({"id": "abc", "password": null, "region": "nyc1"})
    );
    assert_eq!(
        c["after"],
        json!({"id": null, "password": null, "pools": [{"size": null}], "region": "ams3"})
    );
    assert_eq!(
        c["after_unknown"],
        json!({"id": true, "pools": [{"size": true}]})
    );
    assert_eq!(c["before_sensitive"], json!({"password": true}));
    assert_eq!(c["after_sensitive"], json!({"password": true}));
    assert_eq!(c["replace_paths"], json!([["pools", 0, "size"]]));
    assert_eq!(r["action_reason"], serde_json::Value::Null);

    assert_eq!(rc[1]["index"], "eu");
    assert_eq!(rc[1]["change"]["actions"], json!(["create", "delete"]));

    let d = &rc[2];
    assert_eq!(d["change"]["actions"], json!(["delete"]));
    assert_eq!(d["change"]["after"], serde_json::Value::Null);
    assert_eq!(d["change"]["after_unknown"], json!(false));
    assert_eq!(d["action_reason"], "removed from configuration");

    assert_eq!(rc[3]["mode"], "data");
    assert_eq!(rc[3]["address"], "base/data.testing_lookup.zone");
    assert_eq!(rc[3]["change"]["actions"], json!(["read"]));
    assert_eq!(rc[3]["change"]["after_unknown"], json!(true));

    let o = &j["output_changes"][0];
    assert_eq!(o["stack"], "base");
    assert_eq!(o["name"], "kubeconfig");
    assert_eq!(o["change"]["actions"], json!(["create"]));
    assert_eq!(o["change"]["after"], serde_json::Value::Null);
    assert_eq!(o["change"]["after_sensitive"], json!(true));
}

#[test]
fn json_form_lists_no_op_and_update_actions() {
    let same = Value::map([("id", Value::from("1")), ("n", Value::from(1i64))]);
    let noop = change(
        "base",
        "t",
        "a",
        Action::NoOp,
        Some(same.clone()),
        Some(same.clone()),
    );
    let update = change(
        "base",
        "t",
        "b",
        Action::Update,
        Some(same.clone()),
        Some(Value::map([
            ("id", Value::from("1")),
            ("n", Value::from(2i64)),
        ])),
    );
    let unchanged_output = OutputChange {
        name: "n".into(),
        before: Some(Value::from(1i64)),
        after: Some(Value::from(1i64)),
        sensitive: false,
    };
    let j = to_json(&plan(vec![stack(
        "base",
        vec![noop, update],
        vec![unchanged_output],
    )]));
    assert_eq!(
        j["resource_changes"][0]["change"]["actions"],
        json!(["no-op"])
    );
    assert_eq!(
        j["resource_changes"][1]["change"]["actions"],
        json!(["update"])
    );
    assert_eq!(
        j["resource_changes"][1]["change"]["after_unknown"],
        json!({})
    );
    assert_eq!(
        j["resource_changes"][1]["change"]["after_sensitive"],
        json!({})
    );
    assert_eq!(
        j["output_changes"],
        json!([]),
        "unchanged outputs are not listed"
    );
    assert_eq!(j["summary"], json!({"add": 0, "change": 1, "destroy": 0}));
}
