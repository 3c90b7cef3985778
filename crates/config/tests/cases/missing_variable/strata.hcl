project "shop" {}

environment "stage" {
  variables = { min_nodes = 2 }
}

environment "production" {
  variables = { node_size = "s-4vcpu-8gb", min_nodes = "three" }
}
