resource "testing_thing" "a" {
  nmae = "a"
}

resource "testing_cluster" "main" {
  name = "k8s"
  node_pol {
    name = "default"
  }
  node_pool {
    name      = "default"
    min_node  = 1
  }
}
