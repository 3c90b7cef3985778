# What runs in the cluster: the dtwin-* namespaces, configuration and secrets, the backend and
# frontend, the Argo workflow server, MinIO for artefacts, and host-based Ingress.

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

variable "minio_replicas" {
  type    = number
  default = 1
}

variable "domain" {
  default = "dtwin.io"
}

variable "minio_access_key" {
  default = "dtwin-artifacts"
}

variable "minio_secret_key" {
  description = "MinIO's secret key (set STRATA_VAR_minio_secret_key)."
  sensitive   = true
}

variable "oidc_client_id" {
  default = "dtwin-platform"
}

variable "oidc_client_secret" {
  description = "The OAuth2 client secret of the platform (set STRATA_VAR_oidc_client_secret)."
  sensitive   = true
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

locals {
  labels = {
    "app.kubernetes.io/part-of" = "dtwin"
    "environment"               = env
  }

  # Long-running components of dtwin-platform: name → port, replicas and image.
  apps = {
    backend  = { port = 8000, replicas = var.replicas, image = "registry.dtwin.io/platform/backend:1.4.0" }
    frontend = { port = 80, replicas = var.replicas, image = "registry.dtwin.io/platform/frontend:1.4.0" }
  }

  hosts = {
    app       = "app.${var.domain}"
    api       = "api.${var.domain}"
    workflows = "workflows.${var.domain}"
  }
}

resource "kubernetes_manifests" "namespaces" {
  path = "k8s/namespaces"
}

# Configuration ------------------------------------------------------------------------------

resource "kubernetes_manifest" "backend_config" {
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "backend-config", namespace = "dtwin-platform", labels = local.labels }
    data = {
      STORAGE_ENDPOINT = "minio.dtwin-storage.svc.cluster.local:9000"
      ARGO_SERVER_URL  = "argo-server.dtwin-workflows.svc.cluster.local:2746"
      DATABASE_HOST    = dependency.database.outputs.host
      DATABASE_NAME    = "postgres"
      CLOUD_SQL_CONNECTION_NAME = dependency.database.outputs.connection_name
      LOG_LEVEL        = env == "production" ? "INFO" : "DEBUG"
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

# The ingress controller's settings (dtwin-infra holds the controller and cert-manager):
# HTTPS only, HSTS, and a request rate limit for the API.
resource "kubernetes_manifest" "ingress_controller_config" {
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "ingress-nginx-controller", namespace = "dtwin-infra", labels = local.labels }
    data = {
      "ssl-redirect"            = "true"
      "hsts"                    = "true"
      "hsts-max-age"            = "31536000"
      "limit-req-status-code"   = "429"
      "enable-underscores-in-headers" = "false"
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

# Secrets, each in the namespace that owns it.

resource "kubernetes_manifest" "db_credentials" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "db-credentials", namespace = "dtwin-data", labels = local.labels }
    type       = "Opaque"
    stringData = {
      username = "postgres"
      password = dependency.database.outputs.password
      host     = dependency.database.outputs.host
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

resource "kubernetes_manifest" "minio_credentials" {
  for_each = toset(["dtwin-storage", "dtwin-platform"])
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "minio-credentials", namespace = each.key, labels = local.labels }
    type       = "Opaque"
    stringData = {
      accesskey = var.minio_access_key
      secretkey = var.minio_secret_key
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

resource "kubernetes_manifest" "oidc_client" {
  manifest = {
    apiVersion = "v1"
    kind       = "Secret"
    metadata   = { name = "oidc-client", namespace = "dtwin-platform", labels = local.labels }
    type       = "Opaque"
    stringData = {
      client-id     = var.oidc_client_id
      client-secret = var.oidc_client_secret
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

# Object storage: MinIO as a StatefulSet, each replica with its own volume ------------------

resource "kubernetes_manifest" "minio_service" {
  manifest = {
    apiVersion = "v1"
    kind       = "Service"
    metadata   = { name = "minio", namespace = "dtwin-storage", labels = merge(local.labels, { app = "minio" }) }
    spec = {
      clusterIP = "None"
      selector  = { app = "minio" }
      ports = [
        { name = "api", port = 9000, targetPort = 9000 },
        { name = "console", port = 9001, targetPort = 9001 },
      ]
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
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
            name  = "minio"
            image = "quay.io/minio/minio:RELEASE.2024-10-13T13-34-11Z"
            args  = ["server", "/data", "--console-address", ":9001"]
            ports = [{ containerPort = 9000, name = "api" }, { containerPort = 9001, name = "console" }]
            env = [
              { name = "MINIO_ROOT_USER", valueFrom = { secretKeyRef = { name = "minio-credentials", key = "accesskey" } } },
              { name = "MINIO_ROOT_PASSWORD", valueFrom = { secretKeyRef = { name = "minio-credentials", key = "secretkey" } } },
            ]
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
          storageClassName = "premium-rwo"
          resources        = { requests = { storage = env == "production" ? "500Gi" : "50Gi" } }
        }
      }]
    }
  }
  depends_on = [kubernetes_manifest.minio_service, kubernetes_manifest.minio_credentials]
}

# The application: backend and frontend ------------------------------------------------------

resource "kubernetes_manifest" "app" {
  for_each = local.apps
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = each.key, namespace = "dtwin-platform", labels = merge(local.labels, { app = each.key }) }
    spec = {
      replicas = each.value.replicas
      strategy = { type = "RollingUpdate", rollingUpdate = { maxSurge = 1, maxUnavailable = 0 } }
      selector = { matchLabels = { app = each.key } }
      template = {
        metadata = { labels = merge(local.labels, { app = each.key }) }
        spec = {
          containers = [{
            name    = each.key
            image   = each.value.image
            ports   = [{ containerPort = each.value.port }]
            envFrom = each.key == "backend" ? [{ configMapRef = { name = "backend-config" } }] : []
            readinessProbe = { httpGet = { path = "/health", port = each.value.port }, periodSeconds = 10 }
            livenessProbe  = { httpGet = { path = "/health", port = each.value.port }, periodSeconds = 20, failureThreshold = 3 }
            resources = {
              requests = { cpu = "100m", memory = "256Mi" }
              limits   = { cpu = "1000m", memory = "1Gi" }
            }
          }]
        }
      }
    }
  }
  depends_on = [kubernetes_manifest.backend_config, kubernetes_manifest.oidc_client, kubernetes_manifest.minio_credentials]
}

resource "kubernetes_manifest" "app_service" {
  for_each = local.apps
  manifest = {
    apiVersion = "v1"
    kind       = "Service"
    metadata   = { name = "${each.key}-svc", namespace = "dtwin-platform", labels = local.labels }
    spec = {
      selector = { app = each.key }
      ports    = [{ port = each.value.port, targetPort = each.value.port }]
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

# The workflow engine's server (its controller and ephemeral pods come from Argo itself).

resource "kubernetes_manifest" "argo_server" {
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = "argo-server", namespace = "dtwin-workflows", labels = merge(local.labels, { app = "argo-server" }) }
    spec = {
      replicas = 1
      selector = { matchLabels = { app = "argo-server" } }
      template = {
        metadata = { labels = merge(local.labels, { app = "argo-server" }) }
        spec = {
          containers = [{
            name  = "argo-server"
            image = "quay.io/argoproj/argocli:v3.5.11"
            args  = ["server", "--auth-mode=sso"]
            ports = [{ containerPort = 2746 }]
          }]
        }
      }
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

resource "kubernetes_manifest" "argo_service" {
  manifest = {
    apiVersion = "v1"
    kind       = "Service"
    metadata   = { name = "argo-server", namespace = "dtwin-workflows", labels = local.labels }
    spec = {
      selector = { app = "argo-server" }
      ports    = [{ port = 2746, targetPort = 2746 }]
    }
  }
  depends_on = [kubernetes_manifests.namespaces]
}

# Host-based Ingress: app.DOMAIN, api.DOMAIN, and workflows.DOMAIN (Ingresses route to
# Services of their own namespace, hence two).

resource "kubernetes_manifest" "platform_ingress" {
  manifest = {
    apiVersion = "networking.k8s.io/v1"
    kind       = "Ingress"
    metadata = {
      name      = "platform"
      namespace = "dtwin-platform"
      annotations = {
        "cert-manager.io/cluster-issuer"            = "letsencrypt"
        "nginx.ingress.kubernetes.io/ssl-redirect"  = "true"
        "nginx.ingress.kubernetes.io/limit-rps"     = "20"
      }
    }
    spec = {
      ingressClassName = "nginx"
      tls              = [{ hosts = [local.hosts.app, local.hosts.api], secretName = "platform-tls" }]
      rules = [
        { host = local.hosts.app, http = { paths = [{ path = "/", pathType = "Prefix", backend = { service = { name = "frontend-svc", port = { number = 80 } } } }] } },
        { host = local.hosts.api, http = { paths = [{ path = "/", pathType = "Prefix", backend = { service = { name = "backend-svc", port = { number = 8000 } } } }] } },
      ]
    }
  }
  depends_on = [kubernetes_manifest.app_service]
}

resource "kubernetes_manifest" "workflows_ingress" {
  manifest = {
    apiVersion = "networking.k8s.io/v1"
    kind       = "Ingress"
    metadata = {
      name      = "workflows"
      namespace = "dtwin-workflows"
      annotations = {
        "cert-manager.io/cluster-issuer"           = "letsencrypt"
        "nginx.ingress.kubernetes.io/ssl-redirect" = "true"
      }
    }
    spec = {
      ingressClassName = "nginx"
      tls              = [{ hosts = [local.hosts.workflows], secretName = "workflows-tls" }]
      rules = [
        { host = local.hosts.workflows, http = { paths = [{ path = "/", pathType = "Prefix", backend = { service = { name = "argo-server", port = { number = 2746 } } } }] } },
      ]
    }
  }
  depends_on = [kubernetes_manifest.argo_service]
}
