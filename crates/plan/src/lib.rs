//! Diffs prior state against desired configuration per resource, and the versioned plan format.
