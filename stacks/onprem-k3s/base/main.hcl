# The k3s cluster: the first server initialises it, the other servers and the agents join it.

variable "servers" {
  description = "Addresses (or ssh_config aliases) of the control-plane hosts; the first one initialises the cluster."
}

variable "agents" {
  description = "Addresses (or ssh_config aliases) of the worker hosts."
}

variable "k3s_version" {
  description = "The pinned k3s release; changing it upgrades the hosts one at a time, servers first."
}

variable "ssh_user" {
  default = "root"
}

# Host aliases come from $STRATA_ONPREM_SSH_CONFIG and keys are checked against
# $STRATA_ONPREM_KNOWN_HOSTS (else ~/.ssh/known_hosts), as with OpenSSH.
provider "onprem" {}

resource "onprem_k3s_cluster" "main" {
  name        = "k3s-${env}"
  k3s_version = var.k3s_version

  hosts = concat(
    [for a in var.servers : { address = a, user = var.ssh_user, role = "server" }],
    [for a in var.agents : { address = a, user = var.ssh_user, role = "agent" }],
  )
}

output "api_endpoint" {
  value = onprem_k3s_cluster.main.api_endpoint
}

output "nodes" {
  value = onprem_k3s_cluster.main.nodes
}

output "kubeconfig" {
  value     = onprem_k3s_cluster.main.kubeconfig
  sensitive = true
}
