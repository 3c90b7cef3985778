# What runs in the cluster: namespaces, RBAC, network policies and the shop's services.

dependency "base" {
  stack = "base"
}

dependency "database" {
  stack = "database"
}

variable "replicas" {
  type    = number
  default = 1
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

locals {
  namespace = "ecommerce-${env}"

  # The shop's services and their ports (the gateway layer, business and infrastructure services).
  services = {
    "api-gateway"       = { port = 8080, replicas = var.replicas * 2 }
    "proxy-client"      = { port = 8900, replicas = var.replicas }
    "user-service"      = { port = 8700, replicas = var.replicas }
    "product-service"   = { port = 8500, replicas = var.replicas }
    "order-service"     = { port = 8300, replicas = var.replicas }
    "payment-service"   = { port = 8400, replicas = var.replicas }
    "shipping-service"  = { port = 8600, replicas = var.replicas }
    "favourite-service" = { port = 8800, replicas = var.replicas }
    "service-discovery" = { port = 8761, replicas = 1 }
    "cloud-config"      = { port = 9296, replicas = 1 }
    "zipkin"            = { port = 9411, replicas = 1 }
  }

  labels = {
    "app.kubernetes.io/part-of" = "ecommerce"
    "environment"               = env
  }
}

# Cluster-wide objects that do not change between environments: the other namespaces and the
# monitoring ClusterRole, as plain YAML.
resource "kubernetes_manifests" "cluster" {
  path = "k8s/cluster"
}

resource "kubernetes_manifest" "namespace" {
  manifest = {
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = local.namespace, labels = local.labels }
  }
}

resource "kubernetes_manifest" "service_account" {
  for_each = toset(["microservices-sa", "monitoring-sa"])
  manifest = {
    apiVersion = "v1"
    kind       = "ServiceAccount"
    metadata   = { name = each.key, namespace = local.namespace, labels = local.labels }
  }
  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "role" {
  manifest = {
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "Role"
    metadata   = { name = "microservices", namespace = local.namespace }
    rules = [
      { apiGroups = [""], resources = ["configmaps", "secrets"], verbs = ["get", "list", "watch"] },
      { apiGroups = [""], resources = ["services", "pods"], verbs = ["get", "list"] },
    ]
  }
  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "role_binding" {
  manifest = {
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "RoleBinding"
    metadata   = { name = "microservices", namespace = local.namespace }
    roleRef    = { apiGroup = "rbac.authorization.k8s.io", kind = "Role", name = "microservices" }
    subjects   = [{ kind = "ServiceAccount", name = "microservices-sa", namespace = local.namespace }]
  }
  depends_on = [kubernetes_manifest.role, kubernetes_manifest.service_account]
}

# Network policies: deny all ingress by default, then allow traffic inside the namespace and from
# the ingress controller.
resource "kubernetes_manifest" "network_policy" {
  for_each = {
    "default-deny-ingress" = []
    "allow-same-namespace" = [{ from = [{ podSelector = {} }] }]
    "allow-ingress-traffic" = [{
      from = [{ namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = "ingress-nginx" } } }]
    }]
  }
  manifest = {
    apiVersion = "networking.k8s.io/v1"
    kind       = "NetworkPolicy"
    metadata   = { name = each.key, namespace = local.namespace }
    spec       = { podSelector = {}, policyTypes = ["Ingress"], ingress = each.value }
  }
  depends_on = [kubernetes_manifest.namespace]
}

# The database's connection string, for the services that use it.
resource "kubernetes_manifest" "database_secret" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "database", namespace = local.namespace }
    type       = "Opaque"
    stringData = {
      DATABASE_HOST = dependency.database.outputs.host
      DATABASE_URL  = dependency.database.outputs.uri
    }
  }
  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "deployment" {
  for_each = local.services
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = each.key, namespace = local.namespace, labels = merge(local.labels, { app = each.key }) }
    spec = {
      replicas = each.value.replicas
      selector = { matchLabels = { app = each.key } }
      template = {
        metadata = { labels = merge(local.labels, { app = each.key }) }
        spec = {
          serviceAccountName = "microservices-sa"
          containers = [{
            name  = each.key
            image = "registry.example.com/ecommerce/${each.key}:1.0.0"
            ports = [{ containerPort = each.value.port }]
            envFrom = [{ secretRef = { name = "database" } }]
            resources = {
              requests = { cpu = "100m", memory = "256Mi" }
              limits   = { cpu = "500m", memory = "512Mi" }
            }
          }]
        }
      }
    }
  }
  depends_on = [kubernetes_manifest.database_secret, kubernetes_manifest.service_account]
}

resource "kubernetes_manifest" "service" {
  for_each = local.services
  manifest = {
    apiVersion = "v1"
    kind       = "Service"
    metadata   = { name = each.key, namespace = local.namespace, labels = local.labels }
    spec = {
      selector = { app = each.key }
      ports    = [{ port = each.value.port, targetPort = each.value.port }]
    }
  }
  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "ingress" {
  manifest = {
    apiVersion = "networking.k8s.io/v1"
    kind       = "Ingress"
    metadata   = { name = "shop", namespace = local.namespace }
    spec = {
      ingressClassName = "nginx"
      rules = [{
        http = {
          paths = [
            { path = "/", pathType = "Prefix", backend = { service = { name = "proxy-client", port = { number = 8900 } } } },
            { path = "/api", pathType = "Prefix", backend = { service = { name = "api-gateway", port = { number = 8080 } } } },
          ]
        }
      }]
    }
  }
  depends_on = [kubernetes_manifest.service]
}
