# The GKE cluster and its node pools. The default pool is removed so that every pool is managed
# here: a small system pool, and an autoscaling pool for the workflows' ephemeral pods.

variable "project" {}

variable "region" {}

variable "machine_type" {}

variable "min_nodes" {
  type = number
}

variable "max_nodes" {
  type = number

  validation {
    condition     = var.max_nodes >= 1 && var.max_nodes <= 50
    error_message = "max_nodes must be between 1 and 50."
  }
}

variable "kubernetes_version" {
  default = "1.31"
}

provider "google" {
  project = var.project
  region  = var.region
  # Credentials: $GOOGLE_APPLICATION_CREDENTIALS or gcloud's application default credentials.
}

resource "google_gke_cluster" "main" {
  name                     = "dtwin-${env}"
  location                 = var.region
  min_master_version       = var.kubernetes_version
  remove_default_node_pool = true
  initial_node_count       = 1

  release_channel {
    channel = "REGULAR"
  }

  resource_labels = {
    platform    = "dtwin"
    environment = env
  }
}

resource "google_gke_node_pool" "system" {
  name       = "system"
  cluster    = google_gke_cluster.main.id
  node_count = 1
  version    = google_gke_cluster.main.master_version

  node_config {
    machine_type = "e2-standard-2"
    disk_size_gb = 50
    labels       = { role = "system" }
  }
}

resource "google_gke_node_pool" "workflows" {
  name    = "workflows"
  cluster = google_gke_cluster.main.id
  version = google_gke_cluster.main.master_version

  autoscaling {
    min_node_count = var.min_nodes
    max_node_count = var.max_nodes
  }

  node_config {
    machine_type = var.machine_type
    disk_size_gb = 100
    labels       = { role = "workflows" }

    taint {
      key    = "dtwin.io/workflows"
      value  = "true"
      effect = "PREFER_NO_SCHEDULE"
    }
  }
}

output "cluster_id" {
  value = google_gke_cluster.main.id
}

output "endpoint" {
  value = google_gke_cluster.main.endpoint
}

output "kubeconfig" {
  value     = google_gke_cluster.main.kubeconfig
  sensitive = true
}
