//! Plan, apply, destroy, refresh and drift as walks over the resource graph, with the intent journal.
