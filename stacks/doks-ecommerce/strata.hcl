# An e-commerce platform of microservices on DigitalOcean Kubernetes (DOKS), in three stacks:
#   base     — the VPC and the DOKS cluster with an autoscaling node pool
#   database — a managed PostgreSQL cluster in the VPC
#   deploy   — namespaces, RBAC, network policies and the shop's services
#
# Try it without an account:  strata --emulate --env stage apply --all --auto-approve
project "doks-ecommerce" {}

environment "stage" {
  variables = {
    vpc_range     = "10.10.0.0/16"
    node_size     = "s-2vcpu-2gb"
    min_nodes     = 2
    max_nodes     = 5
    ha            = false
    auto_upgrade  = false
    db_size       = "db-s-1vcpu-1gb"
    db_nodes      = 1
    replicas      = 1
  }
}

environment "production" {
  variables = {
    vpc_range     = "10.20.0.0/16"
    node_size     = "s-4vcpu-8gb"
    min_nodes     = 3
    max_nodes     = 10
    ha            = true
    auto_upgrade  = true
    db_size       = "db-s-2vcpu-4gb"
    db_nodes      = 2
    replicas      = 2
  }
}
