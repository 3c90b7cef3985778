//! The azure provider: resource groups, AKS clusters and node pools, and PostgreSQL flexible servers, over ARM REST.
