# The SRE platform "ironclad" on the k3s cluster of the base stack: PostgreSQL in a StatefulSet,
# the backend with rolling updates, autoscaling, a disruption budget and a network policy, and
# the monitoring configuration (Prometheus with pod discovery and its ClusterRole, Grafana's
# data source). Plain YAML lives in k8s/; what depends on variables is written here.

dependency "base" {
  stack = "base"
}

variable "backend_min" {
  type    = number
  default = 3
}

variable "postgres_password" {
  sensitive = true
  default   = "ironclad_pass"
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

locals {
  namespace = "ironclad-demo"
  labels = {
    "app.kubernetes.io/part-of" = "ironclad"
    "environment"               = env
  }
}

resource "kubernetes_manifest" "namespace" {
  manifest = {
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = local.namespace, labels = local.labels }
  }
}

resource "kubernetes_manifest" "postgres_secret" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "postgres-secret", namespace = local.namespace }
    type       = "Opaque"
    stringData = { POSTGRES_PASSWORD = var.postgres_password }
  }
  depends_on = [kubernetes_manifest.namespace]
}

# PostgreSQL, the backend, its autoscaler, budget and network policy, and monitoring.
resource "kubernetes_manifests" "platform" {
  path       = "k8s"
  depends_on = [kubernetes_manifest.postgres_secret]
}

resource "kubernetes_manifest" "backend_hpa" {
  manifest = {
    apiVersion = "autoscaling/v2"
    kind       = "HorizontalPodAutoscaler"
    metadata   = { name = "backend-hpa", namespace = local.namespace }
    spec = {
      scaleTargetRef = { apiVersion = "apps/v1", kind = "Deployment", name = "backend" }
      minReplicas    = var.backend_min
      maxReplicas    = 10
      metrics = [{
        type     = "Resource"
        resource = { name = "cpu", target = { type = "Utilization", averageUtilization = 70 } }
      }]
    }
  }
  depends_on = [kubernetes_manifests.platform]
}

output "namespace" {
  value = local.namespace
}
