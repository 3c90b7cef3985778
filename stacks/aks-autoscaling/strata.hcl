# An autoscaling web platform on Azure Kubernetes Service (AKS), in three micro-stacks with their
# own lifecycles and blast radius:
#   base     — a resource group and the AKS cluster: a system pool of one Standard_B2s node, and
#              autoscaling frontend (1–3 nodes) and backend (1–5 nodes) pools
#   database — PostgreSQL Flexible Server, Burstable B1ms with 32 GiB, in a resource group of
#              its own, so that the cluster can be rebuilt without touching the data
#   deploy   — backend and frontend Deployments with HPAs, an Ingress (/ and /api), Prometheus
#              and Grafana, applied to the cluster through the base stack's kubeconfig
#
# The database administrator's password is never written in code: set it in the environment.
#
# Try it without an account:
#   export STRATA_VAR_db_admin_password="$(openssl rand -base64 24)"
#   strata --emulate apply --all --auto-approve
project "aks-autoscaling" {}

environment "production" {
  variables = {
    location           = "westeurope"
    kubernetes_version = "1.32"
    node_vm_size       = "Standard_B2s"
    frontend_min       = 1
    frontend_max       = 3
    backend_min        = 1
    backend_max        = 5
    db_sku             = "B_Standard_B1ms"
    db_storage_mb      = 32768
  }
}
