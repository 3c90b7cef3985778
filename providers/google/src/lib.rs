//! The google provider: GKE clusters and node pools, and Cloud SQL PostgreSQL instances.
