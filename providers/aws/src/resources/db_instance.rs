//! `aws_db_instance` (PostgreSQL): CreateDBInstance, DescribeDBInstances, ModifyDBInstance and
//! DeleteDBInstance, with the waits on `creating`, `modifying` and `deleting`. Its id is the
//! instance identifier.

use crate::attrs::{object, string_list, tags_value, Attrs};
use crate::call::{call, Failure, Safety};
use crate::provider::Aws;
use crate::resources::planned_string;
use crate::schema::DB_INSTANCE;
use crate::wait::Waiter;
use aws_sdk_rds::types::{DbInstance, Tag};
use std::collections::BTreeMap;
use std::time::Instant;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::retry::jitter_unit;
use strata_core::Value;

fn what(identifier: &str) -> String {
    format!("RDS instance {identifier:?}")
}

async fn describe(aws: &Aws, identifier: &str) -> Result<Option<DbInstance>, Failure> {
    let rds = &aws.clients.rds;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        rds.describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
    })
    .await
    {
        Ok(out) => Ok(out.db_instances.unwrap_or_default().into_iter().next()),
        Err(f) if f.is_not_found() => Ok(None),
        Err(f) => Err(f),
    }
}

fn status(d: &DbInstance) -> String {
    d.db_instance_status().unwrap_or("unknown").to_string()
}

pub(crate) async fn create(
    aws: &Aws,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, DB_INSTANCE);
    let identifier = a.required_string("identifier")?;
    let tags: Option<Vec<Tag>> = a.string_map("tags")?.map(|m| {
        m.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    });
    let request = aws
        .clients
        .rds
        .create_db_instance()
        .db_instance_identifier(&identifier)
        .engine(a.required_string("engine")?)
        .set_engine_version(a.string("engine_version")?)
        .db_instance_class(a.required_string("instance_class")?)
        .allocated_storage(a.required_int("allocated_storage")?)
        .master_username(a.required_string("username")?)
        .set_master_user_password(a.string("password")?)
        .set_db_name(a.string("db_name")?)
        .set_port(a.int("port")?)
        .set_db_subnet_group_name(a.string("db_subnet_group_name")?)
        .set_vpc_security_group_ids(a.strings("vpc_security_group_ids")?)
        .set_multi_az(a.bool("multi_az")?)
        .set_publicly_accessible(a.bool("publicly_accessible")?)
        .set_storage_type(a.string("storage_type")?)
        .set_storage_encrypted(a.bool("storage_encrypted")?)
        .set_deletion_protection(a.bool("deletion_protection")?)
        .set_tags(tags);

    // CreateDBInstance has no idempotency token: after an answer that may hide a success, look
    // the instance up before trying again, so that a flaky network never makes two.
    let started = Instant::now();
    let mut ambiguous = false;
    let mut attempt = 0u32;
    loop {
        match call(&aws.settings.retry, Safety::Once, || request.clone().send()).await {
            Ok(_) => break,
            Err(f) if ambiguous && matches!(f.code(), "DBInstanceAlreadyExists" | "DBInstanceAlreadyExistsFault") => break,
            Err(f) if f.ambiguous => {
                ambiguous = true;
                if describe(aws, &identifier).await.ok().flatten().is_some() {
                    break;
                }
                attempt += 1;
                let Some(delay) = aws.settings.retry.next_delay(
                    attempt,
                    f.retry_after,
                    started.elapsed(),
                    jitter_unit(),
                ) else {
                    return Err(f.into_error(&format!("creating {}", what(&identifier))));
                };
                tokio::time::sleep(delay).await;
            }
            Err(f) => {
                return Err(f
                    .into_error(&format!("creating {}", what(&identifier)))
                    .with_hint(
                        "an instance of that identifier may exist already: pick another identifier or adopt it with `strata import`",
                    ))
            }
        }
    }
    let waited = wait_available(aws, &identifier, ctx).await;
    match (waited, read(aws, &identifier, planned).await) {
        (Ok(()), Ok(Some(obj))) => Ok(obj),
        (Ok(()), Ok(None)) => Err(ProviderError::new(
            ErrorKind::NotFound,
            format!(
                "{} disappeared right after it became available",
                what(&identifier)
            ),
        )),
        (Err(e), Ok(Some(obj))) => Err(e.with_partial(obj)),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
    }
}

/// States after which waiting any longer will not help.
const FAILED: &[&str] = &[
    "failed",
    "incompatible-parameters",
    "incompatible-restore",
    "incompatible-network",
    "incompatible-option-group",
    "inaccessible-encryption-credentials",
    "storage-full",
];

async fn wait_available(aws: &Aws, identifier: &str, ctx: &OperationContext) -> ProviderResult<()> {
    let mut waiter = Waiter::new(&aws.settings, ctx, what(identifier));
    loop {
        match describe(aws, identifier).await {
            Ok(Some(d)) => {
                let s = status(&d);
                if s == "available" {
                    waiter.report("available");
                    return Ok(());
                }
                if FAILED.contains(&s.as_str()) {
                    return Err(ProviderError::new(
                        ErrorKind::Api,
                        format!("{} is {s}", what(identifier)),
                    )
                    .with_hint("see the instance's events in the RDS console"));
                }
                waiter.pending(&s).await?;
            }
            Ok(None) => {
                waiter
                    .not_found_grace(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{} does not exist", what(identifier)),
                    ))
                    .await?
            }
            Err(f) => return Err(f.into_error(&format!("reading {}", what(identifier)))),
        }
    }
}

/// The version to report: the configured one while the cloud's is what it means (`16`
/// configured, `16.8` running), so that a plan shows no change that is none.
fn reported_version(cloud: &str, configured: Option<&str>) -> String {
    match configured {
        Some(c) if cloud == c || cloud.strip_prefix(c).is_some_and(|r| r.starts_with('.')) => {
            c.to_string()
        }
        _ => cloud.to_string(),
    }
}

pub(crate) async fn read(
    aws: &Aws,
    identifier: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some(d) = describe(aws, identifier)
        .await
        .map_err(|f| f.into_error(&format!("reading {}", what(identifier))))?
    else {
        return Ok(None);
    };
    let opt = |v: Option<&str>| v.map(Value::from).unwrap_or(Value::Null);
    let num = |v: Option<i32>| v.map(|n| Value::from(i64::from(n))).unwrap_or(Value::Null);
    let bool_ = |v: Option<bool>| v.map(Value::Bool).unwrap_or(Value::Null);
    let p = Attrs::new(prior, DB_INSTANCE);
    let kept = |name: &str| prior.get(name).unwrap_or(Value::Null);
    let mut attrs = BTreeMap::new();
    attrs.insert("id".into(), Value::from(identifier));
    attrs.insert(
        "identifier".into(),
        Value::from(d.db_instance_identifier().unwrap_or(identifier)),
    );
    attrs.insert("engine".into(), opt(d.engine()));
    attrs.insert(
        "engine_version".into(),
        d.engine_version()
            .map(|v| {
                Value::from(reported_version(
                    v,
                    p.string("engine_version").ok().flatten().as_deref(),
                ))
            })
            .unwrap_or(Value::Null),
    );
    attrs.insert("instance_class".into(), opt(d.db_instance_class()));
    attrs.insert("allocated_storage".into(), num(d.allocated_storage()));
    attrs.insert("username".into(), opt(d.master_username()));
    // RDS never answers with the password: what state holds stands.
    attrs.insert("password".into(), kept("password"));
    attrs.insert("db_name".into(), opt(d.db_name()));
    let endpoint = d.endpoint();
    let port = endpoint.and_then(|e| e.port());
    attrs.insert("port".into(), num(port).or_else_null(|| kept("port")));
    attrs.insert(
        "db_subnet_group_name".into(),
        opt(d.db_subnet_group().and_then(|g| g.db_subnet_group_name())),
    );
    let groups: Vec<String> = d
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect();
    attrs.insert(
        "vpc_security_group_ids".into(),
        if groups.is_empty() && kept("vpc_security_group_ids").is_null() {
            Value::Null
        } else {
            string_list(&groups)
        },
    );
    attrs.insert("multi_az".into(), bool_(d.multi_az()));
    attrs.insert("publicly_accessible".into(), bool_(d.publicly_accessible()));
    attrs.insert("storage_type".into(), opt(d.storage_type()));
    attrs.insert("storage_encrypted".into(), bool_(d.storage_encrypted()));
    attrs.insert("deletion_protection".into(), bool_(d.deletion_protection()));
    // How to apply and delete are this provider's settings, not the cloud's.
    for setting in [
        "apply_immediately",
        "skip_final_snapshot",
        "final_snapshot_identifier",
    ] {
        attrs.insert(setting.into(), kept(setting));
    }
    let cloud_tags: BTreeMap<String, String> = d
        .tag_list()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    attrs.insert("tags".into(), tags_value(&cloud_tags, &kept("tags")));
    attrs.insert("arn".into(), opt(d.db_instance_arn()));
    attrs.insert("resource_id".into(), opt(d.dbi_resource_id()));
    let address = endpoint.and_then(|e| e.address());
    attrs.insert("address".into(), opt(address));
    attrs.insert(
        "endpoint".into(),
        match (address, port) {
            (Some(a), Some(p)) => Value::from(format!("{a}:{p}")),
            _ => Value::Null,
        },
    );
    attrs.insert(
        "hosted_zone_id".into(),
        opt(endpoint.and_then(|e| e.hosted_zone_id())),
    );
    attrs.insert("status".into(), Value::from(status(&d)));
    Ok(Some(object(DB_INSTANCE, identifier, attrs)))
}

trait OrElseNull {
    fn or_else_null(self, f: impl FnOnce() -> Value) -> Value;
}

impl OrElseNull for Value {
    fn or_else_null(self, f: impl FnOnce() -> Value) -> Value {
        if self.is_null() {
            f()
        } else {
            self
        }
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

pub(crate) async fn update(
    aws: &Aws,
    identifier: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, DB_INSTANCE);
    let p = Attrs::new(prior, DB_INSTANCE);
    let immediately = a.bool("apply_immediately")?.unwrap_or(false);
    let changed = |name: &str| prior.get(name) != planned.get(name);
    let class = a
        .string("instance_class")?
        .filter(|_| changed("instance_class"));
    let storage = a
        .int("allocated_storage")?
        .filter(|_| changed("allocated_storage"));
    let version = a
        .string("engine_version")?
        .filter(|_| changed("engine_version"));
    let password = a.string("password")?.filter(|_| changed("password"));
    let protection = a
        .bool("deletion_protection")?
        .filter(|_| changed("deletion_protection"));
    let major_upgrade = match (&version, p.string("engine_version")?) {
        (Some(new), Some(old)) => major(new) != major(&old),
        _ => false,
    };
    if class.is_some()
        || storage.is_some()
        || version.is_some()
        || password.is_some()
        || protection.is_some()
    {
        // A modification is refused while another runs: start from an available instance.
        wait_available(aws, identifier, ctx).await?;
        let rds = &aws.clients.rds;
        call(&aws.settings.retry, Safety::Idempotent, || {
            rds.modify_db_instance()
                .db_instance_identifier(identifier)
                .set_db_instance_class(class.clone())
                .set_allocated_storage(storage)
                .set_engine_version(version.clone())
                .set_allow_major_version_upgrade(major_upgrade.then_some(true))
                .set_master_user_password(password.clone())
                .set_deletion_protection(protection)
                .apply_immediately(immediately)
                .send()
        })
        .await
        .map_err(|f| f.into_error(&format!("modifying {}", what(identifier))))?;
        if immediately {
            wait_available(aws, identifier, ctx).await?;
        }
    }
    read(aws, identifier, planned).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("{} no longer exists", what(identifier)),
        )
    })
}

pub(crate) async fn delete(
    aws: &Aws,
    identifier: &str,
    prior: &Value,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let a = Attrs::new(prior, DB_INSTANCE);
    let skip = a.bool("skip_final_snapshot")?.unwrap_or(false);
    let snapshot = a.string("final_snapshot_identifier")?;
    if !skip && snapshot.is_none() {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "deleting {} needs a final snapshot name, or skip_final_snapshot = true",
                what(identifier)
            ),
        )
        .with_hint(
            "set final_snapshot_identifier (or skip_final_snapshot = true), apply, then destroy",
        ));
    }
    let rds = &aws.clients.rds;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        rds.delete_db_instance()
            .db_instance_identifier(identifier)
            .skip_final_snapshot(skip)
            .set_final_db_snapshot_identifier(if skip { None } else { snapshot.clone() })
            .send()
    })
    .await
    {
        Ok(_) => {}
        Err(f) if f.is_not_found() => return Ok(()),
        Err(f) => {
            // A retry of a delete that went through finds the instance already deleting.
            let deleting =
                matches!(describe(aws, identifier).await, Ok(Some(d)) if status(&d) == "deleting");
            if !deleting {
                return Err(f.into_error(&format!("deleting {}", what(identifier))));
            }
        }
    }
    let mut waiter = Waiter::new(&aws.settings, ctx, what(identifier));
    loop {
        match describe(aws, identifier).await {
            Ok(None) => return Ok(()),
            Ok(Some(d)) => waiter.pending(&status(&d)).await?,
            Err(f) => return Err(f.into_error(&format!("reading {}", what(identifier)))),
        }
    }
}

pub(crate) async fn find(aws: &Aws, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let identifier = planned_string(planned, "identifier", DB_INSTANCE)?;
    read(aws, &identifier, planned).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_major_version_stands_for_the_minor_the_cloud_runs() {
        assert_eq!(reported_version("16.8", Some("16")), "16");
        assert_eq!(reported_version("16.8", Some("16.8")), "16.8");
        assert_eq!(reported_version("17.5", Some("16")), "17.5");
        assert_eq!(reported_version("16.8", Some("1")), "16.8");
        assert_eq!(reported_version("16.8", None), "16.8");
    }
}
