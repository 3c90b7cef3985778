# A managed PostgreSQL cluster inside the base stack's VPC.

dependency "base" {
  stack = "base"
}

variable "region" {
  default = "nyc1"
}

variable "db_size" {}

variable "db_nodes" {
  type = number
}

provider "digitalocean" {}

resource "digitalocean_database_cluster" "shop" {
  name                 = "ecommerce-${env}-db"
  engine               = "pg"
  version              = "16"
  size                 = var.db_size
  region               = var.region
  node_count           = var.db_nodes
  private_network_uuid = dependency.base.outputs.vpc_id
  tags                 = ["ecommerce", env]
}

output "host" {
  value = digitalocean_database_cluster.shop.private_host
}

output "port" {
  value = digitalocean_database_cluster.shop.port
}

output "uri" {
  value     = digitalocean_database_cluster.shop.private_uri
  sensitive = true
}
