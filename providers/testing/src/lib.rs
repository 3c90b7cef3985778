//! An in-process provider for the engine's own tests: objects in a folder, configurable latency, failures and force-new attributes.
