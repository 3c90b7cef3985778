//! The shared, mutable part of one walk: values as they are produced, configured providers.

use super::*;

/// Configured provider instances of one stack walk, by key.
#[derive(Default)]
pub(super) struct Providers {
    pub(super) configured: HashMap<String, Option<Arc<dyn Provider>>>,
}

impl Providers {
    pub(super) fn get(&self, key: &str) -> Option<Arc<dyn Provider>> {
        self.configured.get(key).cloned().flatten()
    }
}

/// The shared, mutable part of a walk.
/// How many nodes may be visited at once (see [`Walk::visits`]).
const VISITS_AT_ONCE: usize = 4096;

pub(super) struct Walk<'a> {
    pub(super) run: &'a StackRun<'a>,
    pub(super) values: Mutex<StackValues>,
    pub(super) providers: Mutex<Providers>,
    /// Bounds node visits. Visits only evaluate expressions and wait for provider calls, so this
    /// bound is loose; it must never be the call bound, or visits holding a slot while they wait
    /// for a call slot could take every slot and wait forever.
    pub(super) visits: Limiter,
}

impl<'a> Walk<'a> {
    pub(super) fn new(run: &'a StackRun<'a>) -> Walk<'a> {
        let values = StackValues {
            env: run.key.env.clone(),
            stack_dir: run.stack.dir.clone(),
            root: run.project.root.clone(),
            variables: run.variables.clone(),
            dependencies: run.dependencies.clone(),
            ..Default::default()
        };
        Walk {
            run,
            values: Mutex::new(values),
            providers: Mutex::new(Providers::default()),
            visits: Limiter::new(VISITS_AT_ONCE),
        }
    }

    /// Waits until `provider` may make one more call (see [`crate::limits`]).
    pub(super) async fn call_permit(&self, provider: &dyn Provider) -> crate::limits::CallPermit {
        self.run.limits.acquire(provider.name()).await
    }

    pub(super) fn eval_local(&self, name: &str) -> Result<(), Vec<Diagnostic>> {
        let local = &self.run.stack.locals[name];
        let mut values = self.values.lock().expect("values lock");
        let v = strata_config::eval(&local.expr, &InstanceScope::new(&values)).map_err(|d| d.0)?;
        values.locals.insert(name.to_string(), v);
        Ok(())
    }

    /// Evaluates a provider block and configures the provider when the block is wholly known.
    /// `require_known` (apply) turns an unknown configuration into an error.
    pub(super) async fn configure(&self, key: &str, require_known: bool) -> Result<(), String> {
        let name = key.split('.').next().unwrap_or(key);
        let alias = key.split_once('.').map(|(_, a)| a);
        let Some(provider) = self.run.registry.get(name) else {
            let known: Vec<&str> = self.run.registry.names().collect();
            let hint = strata_core::diagnostic::nearest(name, known.iter().copied())
                .map(|n| format!(" (did you mean {n:?}?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown provider {name:?}{hint}; available providers: {}",
                known.join(", ")
            ));
        };
        let block = self
            .run
            .stack
            .providers
            .iter()
            .find(|p| p.name == name && p.alias.as_deref() == alias);
        if alias.is_some() && block.is_none() {
            return Err(format!(
                "no provider block declares provider {key:?} in stack {:?}",
                self.run.stack.name
            ));
        }
        let config = match block {
            Some(b) => {
                let values = self.values.lock().expect("values lock");
                strata_config::eval_body(&b.body, &InstanceScope::new(&values))
                    .map_err(config_errors)?
            }
            None => Value::Map(BTreeMap::new()),
        };
        let configured = if config.is_wholly_known() {
            let (plain, _) = config.unmark();
            Some(
                provider
                    .configure(plain)
                    .await
                    .map_err(|e| format!("configuring provider {key:?}: {}", describe(&e)))?,
            )
        } else if require_known {
            return Err(format!(
                "the configuration of provider {key:?} depends on values that are still unknown; apply the stacks it depends on first"
            ));
        } else {
            None
        };
        self.providers
            .lock()
            .expect("providers lock")
            .configured
            .insert(key.to_string(), configured);
        Ok(())
    }

    pub(super) fn eval_output(&self, name: &str) -> Result<(Value, bool), Vec<Diagnostic>> {
        let out = &self.run.stack.outputs[name];
        let values = self.values.lock().expect("values lock");
        let v = strata_config::eval(&out.value, &InstanceScope::new(&values)).map_err(|d| d.0)?;
        let sensitive = out.sensitive || v.contains_sensitive();
        Ok((if sensitive { v.sensitive() } else { v }, sensitive))
    }
}
