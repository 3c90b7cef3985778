//! The state model, the StateStore trait and its backends (sled locally).
