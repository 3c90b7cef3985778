# The digital-twin platform on Amazon EKS, in three stacks:
#   base     — the EKS cluster with a system and a workflows node group
#   database — the metadata database: RDS for PostgreSQL
#   deploy   — the platform's namespaces (dtwin-platform, dtwin-workflows, dtwin-storage,
#              dtwin-data, dtwin-infra), configuration, secrets, MinIO and host-based Ingress
#
# Try it without an account:  strata --emulate --env stage apply --all --auto-approve
project "eks-platform" {}

environment "stage" {
  variables = {
    kubernetes_version  = "1.31"
    system_instance     = "t3.medium"
    system_nodes        = 2
    workflow_instance   = "m6i.large"
    workflow_min_nodes  = 1
    workflow_nodes      = 1
    workflow_max_nodes  = 4
    db_instance_class   = "db.t4g.micro"
    db_storage_gib      = 20
    backend_replicas    = 1
    minio_replicas      = 1
    domain              = "stage.dtwin.io"
  }
}

environment "production" {
  variables = {
    kubernetes_version  = "1.31"
    system_instance     = "m6i.large"
    system_nodes        = 3
    workflow_instance   = "m6i.xlarge"
    workflow_min_nodes  = 3
    workflow_nodes      = 3
    workflow_max_nodes  = 12
    db_instance_class   = "db.m6g.large"
    db_storage_gib      = 100
    backend_replicas    = 3
    minio_replicas      = 4
    domain              = "dtwin.io"
  }
}
