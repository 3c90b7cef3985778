//! Reconciling intents that a crashed or killed run left open.
//!
//! Before each mutating provider call the engine journals an intent; the result closes it. An
//! intent still open when a run starts means the process died in between, so the cloud may or may
//! not have done the work. Each one is settled against the cloud before anything is planned:
//! - an open **create** is looked up with the provider's `find` (by name, tags or token): a found
//!   object is adopted into state, otherwise the intent is closed and the plan creates it again;
//! - an open **delete** is confirmed by reading the object: gone means deleted, present means the
//!   object stays in state and the plan deletes it again;
//! - an open **update** is closed: the refresh before planning reads what the cloud really holds.

use crate::stack::StackRun;
use crate::EngineError;
use strata_core::provider::{FindRequest, ReadRequest};
use strata_core::Value;
use strata_state::{
    IntentAction, JournalEntry, Loaded, ResourceState, ResourceStatus, StateKey, StateStore,
};

/// Settles every open intent of one stack. Returns a note per intent for the user; an intent that
/// cannot be settled (provider unavailable) stays open and is reported as a warning note.
pub async fn reconcile(
    run: &StackRun<'_>,
    store: &dyn StateStore,
    key: &StateKey,
    loaded: &Loaded,
) -> Result<Vec<String>, EngineError> {
    if loaded.open_intents.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys: Vec<String> = loaded
        .open_intents
        .iter()
        .map(|i| i.provider.clone())
        .collect();
    keys.sort();
    keys.dedup();
    let providers = run.providers_from_state(&loaded.state, &keys).await;
    let mut notes = Vec::new();
    for intent in &loaded.open_intents {
        let provider = match providers.get(&intent.provider) {
            Some(Ok(p)) => p.clone(),
            other => {
                let why = match other {
                    Some(Err(e)) => e.clone(),
                    _ => format!("provider {:?} is not configured", intent.provider),
                };
                notes.push(format!(
                    "warning: an interrupted {} of {} could not be checked yet ({why}); it stays open",
                    action_word(intent.action),
                    intent.address
                ));
                continue;
            }
        };
        let schema = run
            .registry
            .schema_of(intent.address.mode, &intent.address.type_name);
        match intent.action {
            IntentAction::Create => {
                let found = provider
                    .find(FindRequest {
                        type_name: intent.address.type_name.clone(),
                        planned: Value::from_json(&intent.planned),
                    })
                    .await;
                match found {
                    Ok(Some(obj)) => {
                        let mut r = ResourceState {
                            address: intent.address.clone(),
                            provider: intent.provider.clone(),
                            id: obj.id.clone(),
                            attributes: serde_json::Value::Null,
                            sensitive_paths: Vec::new(),
                            dependencies: Vec::new(),
                            schema_version: schema.as_ref().map(|s| s.version).unwrap_or(0),
                            status: ResourceStatus::Ready,
                        };
                        let mut attrs = obj.attributes;
                        if let Value::Map(m) = &mut attrs {
                            m.insert("id".into(), Value::from(obj.id.as_str()));
                        }
                        let marked = match &schema {
                            Some(s) => s.block.mark_sensitive(attrs),
                            None => attrs,
                        };
                        let (plain, sensitive) = marked.unmark();
                        r.attributes = plain.to_json();
                        r.sensitive_paths = sensitive;
                        store.append(key, &JournalEntry::Applied { intent: intent.id.clone(), resource: r }).await?;
                        notes.push(format!("adopted {} (id {}), created by an interrupted run", intent.address, obj.id));
                    }
                    Ok(None) => {
                        store.append(key, &JournalEntry::Abandoned { intent: intent.id.clone() }).await?;
                        notes.push(format!("an interrupted create of {} left nothing behind; it will be created again", intent.address));
                    }
                    Err(e) => notes.push(format!(
                        "warning: could not check whether the interrupted create of {} made an object: {}; it stays open",
                        intent.address, e.message
                    )),
                }
            }
            IntentAction::Delete => {
                let Some(id) = &intent.cloud_id else {
                    store
                        .append(
                            key,
                            &JournalEntry::Abandoned {
                                intent: intent.id.clone(),
                            },
                        )
                        .await?;
                    continue;
                };
                let prior = loaded
                    .state
                    .resources
                    .get(&intent.address.local())
                    .map(ResourceState::value)
                    .unwrap_or(Value::Null);
                match provider
                    .read(ReadRequest {
                        type_name: intent.address.type_name.clone(),
                        id: id.clone(),
                        prior,
                    })
                    .await
                {
                    Ok(None) => {
                        // Only forget the address if it still points at the object being deleted
                        // (a replace may already have put a new object there).
                        let same = loaded
                            .state
                            .resources
                            .get(&intent.address.local())
                            .is_some_and(|r| &r.id == id);
                        let entry = if same {
                            JournalEntry::Deleted {
                                intent: intent.id.clone(),
                                address: intent.address.local(),
                            }
                        } else {
                            JournalEntry::Abandoned {
                                intent: intent.id.clone(),
                            }
                        };
                        store.append(key, &entry).await?;
                        notes.push(format!(
                            "confirmed that {} (id {id}) was deleted by an interrupted run",
                            intent.address
                        ));
                    }
                    Ok(Some(_)) => {
                        store
                            .append(
                                key,
                                &JournalEntry::Abandoned {
                                    intent: intent.id.clone(),
                                },
                            )
                            .await?;
                        notes.push(format!("an interrupted delete of {} did not complete; it will be planned again", intent.address));
                    }
                    Err(e) => notes.push(format!(
                        "warning: could not check the interrupted delete of {}: {}; it stays open",
                        intent.address, e.message
                    )),
                }
            }
            IntentAction::Update => {
                store
                    .append(
                        key,
                        &JournalEntry::Abandoned {
                            intent: intent.id.clone(),
                        },
                    )
                    .await?;
                notes.push(format!(
                    "an interrupted update of {} will be checked by the refresh",
                    intent.address
                ));
            }
        }
    }
    Ok(notes)
}

pub(crate) fn action_word(a: IntentAction) -> &'static str {
    match a {
        IntentAction::Create => "create",
        IntentAction::Update => "update",
        IntentAction::Delete => "delete",
    }
}
