resource "testing_cluster" "main" {
  name = "k8s"
  node_pool { name = "default" }
}

output "kubeconfig" {
  value     = testing_cluster.main.kubeconfig
  sensitive = true
}
