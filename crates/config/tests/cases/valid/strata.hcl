project "shop" {}

backend "local" {}

environment "stage" {
  variables = { node_size = "s-2vcpu-2gb", min_nodes = 2, max_nodes = 5 }
}

environment "production" {
  variables = { node_size = "s-4vcpu-8gb", min_nodes = 3, max_nodes = 10 }
}
