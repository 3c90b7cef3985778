# The digital-twin platform (workflows, object storage, metadata database) on Google Kubernetes
# Engine, in three stacks:
#   base     — a GKE cluster with a system node pool and an autoscaling workflows pool
#   database — Cloud SQL for PostgreSQL 16, the platform's metadata database
#   deploy   — the dtwin-* namespaces, configuration, secrets, MinIO and host-based Ingress
#
# Try it without an account:
#   STRATA_VAR_db_password=... STRATA_VAR_minio_secret_key=... STRATA_VAR_oidc_client_secret=... \
#     strata --emulate --env stage apply --all --auto-approve
project "gke-platform" {}

environment "stage" {
  variables = {
    project          = "dtwin-stage"
    region           = "europe-west1"
    machine_type     = "e2-standard-4"
    min_nodes        = 1
    max_nodes        = 4
    db_tier          = "db-custom-2-7680"
    db_disk_gb       = 20
    db_availability  = "ZONAL"
    replicas         = 1
    minio_replicas   = 1
    domain           = "stage.dtwin.io"
  }
}

environment "production" {
  variables = {
    project          = "dtwin-prod"
    region           = "europe-west1"
    machine_type     = "e2-standard-8"
    min_nodes        = 3
    max_nodes        = 10
    db_tier          = "db-custom-4-15360"
    db_disk_gb       = 100
    db_availability  = "REGIONAL"
    replicas         = 3
    minio_replicas   = 4
    domain           = "dtwin.io"
  }
}
