# Two platforms on a k3s cluster installed over SSH on machines we own, in three stacks:
#   base     — the k3s cluster (one server and two agents in stage, three servers in production)
#   platform — the SRE platform "ironclad": PostgreSQL, an autoscaled backend, Prometheus, Grafana
#   shop     — the "Flores Victoria" shop: an API gateway, eight services, three databases, a frontend
#
# Try it without machines:  strata --emulate --env stage apply --all --auto-approve
# (the emulator serves SSH hosts node-1 … node-8 and writes the ssh_config that names them).
project "onprem-k3s" {}

environment "stage" {
  variables = {
    servers      = ["node-1"]
    agents       = ["node-2", "node-3"]
    k3s_version  = "v1.30.4+k3s1"
    backend_min  = 3
    gateway      = 2
  }
}

environment "production" {
  variables = {
    servers      = ["node-1", "node-2", "node-3"]
    agents       = ["node-4", "node-5"]
    k3s_version  = "v1.30.4+k3s1"
    backend_min  = 3
    gateway      = 2
  }
}
