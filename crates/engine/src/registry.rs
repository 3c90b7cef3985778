//! The providers compiled into the binary, looked up by name.

use std::collections::BTreeMap;
use std::sync::Arc;
use strata_core::provider::Provider;
use strata_core::schema::ResourceSchema;
use strata_core::Mode;

#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<String, Arc<dyn Provider>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(provider.name().to_string(), provider);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.values()
    }

    /// The provider that owns a resource type: the longest registered name that is a prefix of
    /// the type followed by `_` (`digitalocean_vpc` → `digitalocean`).
    pub fn owner_of(&self, type_name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .filter(|(name, _)| {
                type_name
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('_'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| p)
    }

    /// Every resource (or data source) type the registered providers declare.
    pub fn type_names(&self, mode: Mode) -> Vec<String> {
        self.providers
            .values()
            .flat_map(|p| {
                let s = p.schema();
                match mode {
                    Mode::Managed => s.resources.into_keys().collect::<Vec<_>>(),
                    Mode::Data => s.data_sources.into_keys().collect(),
                }
            })
            .collect()
    }

    /// The schema of a resource or data source type, from whichever provider declares it.
    pub fn schema_of(&self, mode: Mode, type_name: &str) -> Option<ResourceSchema> {
        let schema = self.owner_of(type_name)?.schema();
        match mode {
            Mode::Managed => schema.resources.get(type_name).cloned(),
            Mode::Data => schema.data_sources.get(type_name).cloned(),
        }
    }
}
