provider "testing" {}

provider "testing" {
  alias = "west"
}

locals {
  teams  = toset(["frontend", "backend"])
  prefix = "shop-${env}"
}

data "testing_image" "ubuntu" {
  name = "ubuntu-24.04"
}

resource "testing_cluster" "main" {
  name = local.prefix
  node_pool {
    name      = "default"
    min_nodes = var.min_nodes
    max_nodes = var.max_nodes
  }

  lifecycle {
    prevent_destroy = true
    ignore_changes  = [node_pool[0].min_nodes]
  }
}

resource "testing_thing" "team" {
  for_each = local.teams
  name     = "${local.prefix}-${each.key}"
  tags     = { image = data.testing_image.ubuntu.id, size = var.node_size }
}

resource "testing_thing" "replica" {
  count      = 2
  provider   = testing.west
  name       = "replica-${count.index}"
  size       = count.index + 1
  depends_on = [testing_cluster.main]
}

output "kubeconfig" {
  value     = testing_cluster.main.kubeconfig
  sensitive = true
}

output "team_ids" {
  value = { for k, t in testing_thing.team : k => t.id }
}
