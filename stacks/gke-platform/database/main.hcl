# Cloud SQL for PostgreSQL: users, saved workflows, execution history and component settings.

variable "project" {}

variable "region" {}

variable "db_tier" {}

variable "db_disk_gb" {
  type = number
}

variable "db_availability" {
  default = "ZONAL"
}

variable "db_password" {
  description = "The postgres user's password (set STRATA_VAR_db_password)."
  sensitive   = true
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_sql_instance" "metadata" {
  name                = "dtwin-${env}-metadata"
  database_version    = "POSTGRES_16"
  region              = var.region
  deletion_protection = false
  root_password       = var.db_password

  settings {
    tier              = var.db_tier
    disk_size         = var.db_disk_gb
    availability_type = var.db_availability
    user_labels       = { platform = "dtwin", environment = env }
  }
}

output "connection_name" {
  value = google_sql_instance.metadata.connection_name
}

output "host" {
  value = google_sql_instance.metadata.public_ip_address
}

output "password" {
  value     = var.db_password
  sensitive = true
}
