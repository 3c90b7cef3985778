# What runs in the cluster: the backend and the frontend with their autoscalers, the Ingress,
# and Prometheus and Grafana on the system pool.

dependency "base" {
  stack = "base"
}

dependency "database" {
  stack = "database"
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

resource "kubernetes_manifest" "namespace" {
  for_each = toset(["autoscaling", "monitoring"])
  manifest = {
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = each.key, labels = { "app.kubernetes.io/part-of" = "aks-autoscaling" } }
  }
}

# The backend's connection to the database stack's server.
resource "kubernetes_manifest" "database_secret" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "database", namespace = "autoscaling" }
    type       = "Opaque"
    stringData = {
      DATABASE_HOST     = dependency.database.outputs.host
      DATABASE_USER     = dependency.database.outputs.admin_login
      DATABASE_PASSWORD = dependency.database.outputs.admin_password
      DATABASE_NAME     = "postgres"
    }
  }
  depends_on = [kubernetes_manifest.namespace]
}

# Backend (Flask): 2–10 replicas, scaled on CPU 70% and memory 80%, on the backend pool only.
resource "kubernetes_manifests" "backend" {
  path       = "k8s/backend"
  depends_on = [kubernetes_manifest.database_secret]
}

# Frontend (React + Nginx): 1–5 replicas scaled on CPU 60%, and the Ingress for / and /api.
resource "kubernetes_manifests" "frontend" {
  path       = "k8s/frontend"
  depends_on = [kubernetes_manifest.namespace]
}

# Prometheus and Grafana.
resource "kubernetes_manifests" "monitoring" {
  path       = "k8s/monitoring"
  depends_on = [kubernetes_manifest.namespace]
}
