# PostgreSQL Flexible Server in a resource group of its own: destroying or rebuilding the base
# stack's cluster never touches the data.

variable "location" {}

variable "db_sku" {
  default = "B_Standard_B1ms"
}

variable "db_storage_mb" {
  type    = number
  default = 32768
}

variable "db_admin_password" {
  description = "The administrator's password; set it with STRATA_VAR_db_admin_password."
  sensitive   = true
}

provider "azure" {}

locals {
  name = "aks-autoscaling-${env}"
  tags = {
    project     = "aks-autoscaling"
    environment = env
    stack       = "database"
  }
}

resource "azure_resource_group" "data" {
  name     = "${local.name}-data"
  location = var.location
  tags     = local.tags
}

resource "azure_postgres_flexible_server" "main" {
  name                   = "${local.name}-pg"
  resource_group_name    = azure_resource_group.data.name
  location               = azure_resource_group.data.location
  version                = "16"
  sku_name               = var.db_sku # Burstable B1ms: 1 vCore, 2 GiB
  storage_mb             = var.db_storage_mb
  administrator_login    = "psqladmin"
  administrator_password = var.db_admin_password
  backup_retention_days  = 7
  tags                   = local.tags
}

output "host" {
  value = azure_postgres_flexible_server.main.fqdn
}

output "admin_login" {
  value = azure_postgres_flexible_server.main.administrator_login
}

output "admin_password" {
  value     = azure_postgres_flexible_server.main.administrator_password
  sensitive = true
}
