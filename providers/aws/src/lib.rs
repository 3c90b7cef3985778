//! The aws provider: EKS clusters and node groups, and RDS PostgreSQL instances, on the official AWS SDK for Rust.
