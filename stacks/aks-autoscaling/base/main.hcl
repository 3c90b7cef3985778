# The resource group and the AKS cluster with its three node pools.

variable "location" {}

variable "kubernetes_version" {
  description = "The control plane's version; raising it upgrades the cluster in place."
}

variable "node_vm_size" {
  default = "Standard_B2s"
}

variable "frontend_min" {
  type = number
}

variable "frontend_max" {
  type = number
}

variable "backend_min" {
  type = number
}

variable "backend_max" {
  type = number

  validation {
    condition     = var.backend_max >= 1 && var.backend_max <= 100
    error_message = "backend_max must be between 1 and 100."
  }
}

provider "azure" {} # service principal from AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET

locals {
  name = "aks-autoscaling-${env}"
  tags = {
    project     = "aks-autoscaling"
    environment = env
    stack       = "base"
  }
}

resource "azure_resource_group" "main" {
  name     = local.name
  location = var.location
  tags     = local.tags
}

resource "azure_aks_cluster" "main" {
  name                = local.name
  resource_group_name = azure_resource_group.main.name
  location            = azure_resource_group.main.location
  dns_prefix          = local.name
  kubernetes_version  = var.kubernetes_version
  tags                = local.tags

  # The system pool: one node for the cluster's own services and the monitoring stack.
  default_node_pool {
    name       = "systempool"
    vm_size    = var.node_vm_size
    node_count = 1
  }

  identity {
    type = "SystemAssigned"
  }

  # Azure CNI with network policies.
  network_profile {
    network_plugin = "azure"
    network_policy = "azure"
  }
}

resource "azure_aks_node_pool" "frontend" {
  name                  = "frontend"
  kubernetes_cluster_id = azure_aks_cluster.main.id
  vm_size               = var.node_vm_size
  mode                  = "User"
  enable_auto_scaling   = true
  min_count             = var.frontend_min
  max_count             = var.frontend_max
  node_labels           = { workload = "frontend" }
  tags                  = local.tags
}

resource "azure_aks_node_pool" "backend" {
  name                  = "backend"
  kubernetes_cluster_id = azure_aks_cluster.main.id
  vm_size               = var.node_vm_size
  mode                  = "User"
  enable_auto_scaling   = true
  min_count             = var.backend_min
  max_count             = var.backend_max
  node_labels           = { workload = "backend" }
  tags                  = local.tags
}

output "resource_group_name" {
  value = azure_resource_group.main.name
}

output "cluster_id" {
  value = azure_aks_cluster.main.id
}

output "host" {
  value = azure_aks_cluster.main.host
}

output "kubeconfig" {
  value     = azure_aks_cluster.main.kube_config_raw
  sensitive = true
}
