resource "testing_thing" "a" {
  name = "a"
  size = "many"
  tags = ["not", "a", "map"]
}

resource "testing_cluster" "main" {
  name = "k8s"
  node_pool {
    name      = "default"
    min_nodes = "many"
  }
}
