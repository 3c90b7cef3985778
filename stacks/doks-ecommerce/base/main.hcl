# The network and the cluster.

variable "region" {
  default = "nyc1"
}

variable "vpc_range" {
  description = "The VPC's private range: 10.10.0.0/16 in stage, 10.20.0.0/16 in production."
}

variable "node_size" {}

variable "min_nodes" {
  type = number
}

variable "max_nodes" {
  type = number

  validation {
    condition     = var.max_nodes >= 2 && var.max_nodes <= 20
    error_message = "max_nodes must be between 2 and 20."
  }
}

variable "ha" {
  type    = bool
  default = false
}

variable "auto_upgrade" {
  type    = bool
  default = false
}

provider "digitalocean" {} # token from DIGITALOCEAN_TOKEN

resource "digitalocean_vpc" "main" {
  name     = "ecommerce-${env}"
  region   = var.region
  ip_range = var.vpc_range
}

resource "digitalocean_kubernetes_cluster" "main" {
  name         = "ecommerce-${env}"
  region       = var.region
  version      = "1.31.1-do.4"
  vpc_uuid     = digitalocean_vpc.main.id
  ha           = var.ha
  auto_upgrade = var.auto_upgrade
  tags         = ["ecommerce", env]

  node_pool {
    name       = "default"
    size       = var.node_size
    auto_scale = true
    min_nodes  = var.min_nodes
    max_nodes  = var.max_nodes
    node_count = var.min_nodes
  }
}

output "vpc_id" {
  value = digitalocean_vpc.main.id
}

output "cluster_id" {
  value = digitalocean_kubernetes_cluster.main.id
}

output "endpoint" {
  value = digitalocean_kubernetes_cluster.main.endpoint
}

output "kubeconfig" {
  value     = digitalocean_kubernetes_cluster.main.kubeconfig
  sensitive = true
}
