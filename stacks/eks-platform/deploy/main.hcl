# The digital-twin platform inside the cluster. The workloads are plain Kubernetes YAML in
# k8s/platform (the same on every cloud); what depends on this environment — configuration,
# secrets from the other stacks, replica counts and host names — is declared here.

dependency "base" {
  stack = "base"
}

dependency "database" {
  stack = "database"
}

variable "backend_replicas" {
  type    = number
  default = 1
}

variable "minio_replicas" {
  type    = number
  default = 1
}

variable "domain" {
  default = "dtwin.io"
}

variable "minio_root_user" {
  default = "dtwin-minio"
}

variable "minio_root_password" {
  description = "MinIO's root password; pass a real one from your secret store."
  sensitive   = true
  default     = "emulated-only-minio-secret"
}

variable "oidc_client_id" {
  default = "dtwin-platform"
}

variable "oidc_client_secret" {
  sensitive = true
  default   = "emulated-only-oidc-secret"
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

locals {
  labels = {
    "app.kubernetes.io/part-of" = "dtwin"
    "environment"               = env
  }
}

# Namespaces, the backend and frontend, the Argo server, MinIO and the Ingress rules.
resource "kubernetes_manifests" "platform" {
  path = "k8s/platform"
}

resource "kubernetes_manifest" "backend_config" {
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "backend-config", namespace = "dtwin-platform", labels = local.labels }
    data = {
      STORAGE_ENDPOINT = "minio.dtwin-storage.svc.cluster.local:9000"
      ARGO_SERVER_URL  = "argo-server.dtwin-workflows.svc.cluster.local:2746"
      LOG_LEVEL        = env == "production" ? "INFO" : "DEBUG"
      DATABASE_HOST    = dependency.database.outputs.address
      DATABASE_PORT    = tostring(dependency.database.outputs.port)
      PUBLIC_API_URL   = "https://api.${var.domain}"
    }
  }
  depends_on = [kubernetes_manifests.platform]
}

resource "kubernetes_manifest" "db_credentials" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "db-credentials", namespace = "dtwin-data", labels = local.labels }
    type       = "Opaque"
    stringData = {
      POSTGRES_HOST     = dependency.database.outputs.address
      POSTGRES_USER     = dependency.database.outputs.username
      POSTGRES_PASSWORD = dependency.database.outputs.password
    }
  }
  depends_on = [kubernetes_manifests.platform]
}

resource "kubernetes_manifest" "minio_credentials" {
  for_each = toset(["dtwin-storage", "dtwin-platform"])
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "minio-credentials", namespace = each.key, labels = local.labels }
    type       = "Opaque"
    stringData = {
      MINIO_ROOT_USER     = var.minio_root_user
      MINIO_ROOT_PASSWORD = var.minio_root_password
    }
  }
  depends_on = [kubernetes_manifests.platform]
}

resource "kubernetes_manifest" "oidc_client" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "oidc-client", namespace = "dtwin-platform", labels = local.labels }
    type       = "Opaque"
    stringData = {
      CLIENT_ID     = var.oidc_client_id
      CLIENT_SECRET = var.oidc_client_secret
    }
  }
  depends_on = [kubernetes_manifests.platform]
}

# Replica counts differ per environment, so the two stateful and stateless workloads that scale
# are declared here rather than in the folder.
resource "kubernetes_manifest" "backend" {
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = "backend", namespace = "dtwin-platform", labels = merge(local.labels, { app = "backend" }) }
    spec = {
      replicas = var.backend_replicas
      strategy = { type = "RollingUpdate", rollingUpdate = { maxSurge = 1, maxUnavailable = 0 } }
      selector = { matchLabels = { app = "backend" } }
      template = {
        metadata = { labels = merge(local.labels, { app = "backend" }) }
        spec = {
          containers = [{
            name    = "backend"
            image   = "registry.example.com/dtwin/backend:1.0.0"
            ports   = [{ containerPort = 8000 }]
            envFrom = [{ configMapRef = { name = "backend-config" } }, { secretRef = { name = "oidc-client" } }, { secretRef = { name = "minio-credentials" } }]
            resources = {
              requests = { cpu = "100m", memory = "256Mi" }
              limits   = { cpu = "1000m", memory = "1Gi" }
            }
            livenessProbe  = { httpGet = { path = "/health", port = 8000 }, periodSeconds = 10 }
            readinessProbe = { httpGet = { path = "/ready", port = 8000 }, periodSeconds = 5 }
            startupProbe   = { httpGet = { path = "/health", port = 8000 }, failureThreshold = 30, periodSeconds = 5 }
          }]
        }
      }
    }
  }
  depends_on = [kubernetes_manifest.backend_config, kubernetes_manifest.oidc_client, kubernetes_manifest.minio_credentials]
}

resource "kubernetes_manifest" "minio" {
  manifest = {
    apiVersion = "apps/v1"
    kind       = "StatefulSet"
    metadata   = { name = "minio", namespace = "dtwin-storage", labels = merge(local.labels, { app = "minio" }) }
    spec = {
      serviceName = "minio"
      replicas    = var.minio_replicas
      selector    = { matchLabels = { app = "minio" } }
      template = {
        metadata = { labels = merge(local.labels, { app = "minio" }) }
        spec = {
          containers = [{
            name    = "minio"
            image   = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
            args    = ["server", "/data", "--console-address", ":9001"]
            ports   = [{ containerPort = 9000, name = "api" }, { containerPort = 9001, name = "console" }]
            envFrom = [{ secretRef = { name = "minio-credentials" } }]
            volumeMounts = [{ name = "data", mountPath = "/data" }]
            resources = {
              requests = { cpu = "250m", memory = "512Mi" }
              limits   = { cpu = "1000m", memory = "2Gi" }
            }
          }]
        }
      }
      volumeClaimTemplates = [{
        metadata = { name = "data" }
        spec = {
          accessModes      = ["ReadWriteOnce"]
          storageClassName = "gp3"
          resources        = { requests = { storage = "50Gi" } }
        }
      }]
    }
  }
  depends_on = [kubernetes_manifest.minio_credentials]
}

resource "kubernetes_manifest" "ingress" {
  for_each = {
    "dtwin-platform" = [
      { host = "app.${var.domain}", service = "frontend", port = 80 },
      { host = "api.${var.domain}", service = "backend", port = 8000 },
    ]
    "dtwin-workflows" = [
      { host = "workflows.${var.domain}", service = "argo-server", port = 2746 },
    ]
  }
  manifest = {
    apiVersion = "networking.k8s.io/v1"
    kind       = "Ingress"
    metadata = {
      name      = "dtwin"
      namespace = each.key
      annotations = {
        "cert-manager.io/cluster-issuer"           = "letsencrypt"
        "nginx.ingress.kubernetes.io/ssl-redirect" = "true"
        "nginx.ingress.kubernetes.io/limit-rps"    = "50"
      }
    }
    spec = {
      ingressClassName = "nginx"
      tls              = [{ hosts = [for r in each.value : r.host], secretName = "dtwin-tls" }]
      rules = [for r in each.value : {
        host = r.host
        http = {
          paths = [{ path = "/", pathType = "Prefix", backend = { service = { name = r.service, port = { number = r.port } } } }]
        }
      }]
    }
  }
  depends_on = [kubernetes_manifests.platform]
}
