# The "Flores Victoria" shop on the k3s cluster of the base stack: an API gateway in front of
# eight services, PostgreSQL, MongoDB and Redis on their own volumes, and the frontend, routed
# by an Ingress (/ to the frontend, /api to the gateway). The namespace, volumes and Ingress are
# plain YAML in k8s/; the workloads, which differ only by their numbers, are written here.

dependency "base" {
  stack = "base"
}

variable "gateway" {
  type    = number
  default = 2
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

locals {
  namespace = "flores-victoria"

  # Requests and limits of the platform, by tier.
  tiers = {
    gateway  = { requests = { cpu = "100m", memory = "128Mi" }, limits = { cpu = "200m", memory = "256Mi" } }
    backend  = { requests = { cpu = "100m", memory = "128Mi" }, limits = { cpu = "200m", memory = "256Mi" } }
    database = { requests = { cpu = "250m", memory = "256Mi" }, limits = { cpu = "500m", memory = "512Mi" } }
    redis    = { requests = { cpu = "100m", memory = "128Mi" }, limits = { cpu = "200m", memory = "256Mi" } }
    frontend = { requests = { cpu = "50m", memory = "64Mi" }, limits = { cpu = "100m", memory = "128Mi" } }
  }

  # Every workload: its port, replicas, tier, image and, for the databases, its volume.
  workloads = {
    "api-gateway"      = { port = 3000, replicas = var.gateway, tier = "gateway", image = "flores-victoria/api-gateway:1.0.0", volume = null }
    "auth-service"     = { port = 4001, replicas = 1, tier = "backend", image = "flores-victoria/auth-service:1.0.0", volume = null }
    "product-service"  = { port = 3002, replicas = 1, tier = "backend", image = "flores-victoria/product-service:1.0.0", volume = null }
    "user-service"     = { port = 3003, replicas = 1, tier = "backend", image = "flores-victoria/user-service:1.0.0", volume = null }
    "order-service"    = { port = 3004, replicas = 1, tier = "backend", image = "flores-victoria/order-service:1.0.0", volume = null }
    "cart-service"     = { port = 3005, replicas = 1, tier = "backend", image = "flores-victoria/cart-service:1.0.0", volume = null }
    "wishlist-service" = { port = 3006, replicas = 1, tier = "backend", image = "flores-victoria/wishlist-service:1.0.0", volume = null }
    "review-service"   = { port = 3007, replicas = 1, tier = "backend", image = "flores-victoria/review-service:1.0.0", volume = null }
    "contact-service"  = { port = 3008, replicas = 1, tier = "backend", image = "flores-victoria/contact-service:1.0.0", volume = null }
    "postgres"         = { port = 5432, replicas = 1, tier = "database", image = "postgres:16-alpine", volume = { claim = "postgres-data", path = "/var/lib/postgresql/data" } }
    "mongodb"          = { port = 27017, replicas = 1, tier = "database", image = "mongo:7", volume = { claim = "mongodb-data", path = "/data/db" } }
    "redis"            = { port = 6379, replicas = 1, tier = "redis", image = "redis:7-alpine", volume = { claim = "redis-data", path = "/data" } }
    "frontend"         = { port = 80, replicas = 2, tier = "frontend", image = "flores-victoria/frontend:1.0.0", volume = null }
  }

  labels = {
    "app.kubernetes.io/part-of" = "flores-victoria"
    "environment"               = env
  }
}

# The namespace, the three volume claims and the Ingress.
resource "kubernetes_manifests" "shop" {
  path = "k8s"
}

resource "kubernetes_manifest" "deployment" {
  for_each = local.workloads
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = each.key, namespace = local.namespace, labels = merge(local.labels, { app = each.key }) }
    spec = {
      replicas = each.value.replicas
      # A database keeps one pod on its volume: the old one stops before the new one starts.
      strategy = { type = each.value.volume == null ? "RollingUpdate" : "Recreate" }
      selector = { matchLabels = { app = each.key } }
      template = {
        metadata = { labels = merge(local.labels, { app = each.key }) }
        spec = {
          containers = [{
            name         = each.key
            image        = each.value.image
            ports        = [{ containerPort = each.value.port }]
            resources    = local.tiers[each.value.tier]
            volumeMounts = each.value.volume == null ? [] : [{ name = "data", mountPath = each.value.volume.path }]
          }]
          volumes = each.value.volume == null ? [] : [{ name = "data", persistentVolumeClaim = { claimName = each.value.volume.claim } }]
        }
      }
    }
  }
  depends_on = [kubernetes_manifests.shop]
}

resource "kubernetes_manifest" "service" {
  for_each = local.workloads
  manifest = {
    apiVersion = "v1"
    kind       = "Service"
    metadata   = { name = each.key, namespace = local.namespace, labels = local.labels }
    spec = {
      selector = { app = each.key }
      ports    = [{ port = each.value.port, targetPort = each.value.port }]
    }
  }
  depends_on = [kubernetes_manifests.shop]
}

output "namespace" {
  value = local.namespace
}
