# The EKS cluster and its managed node groups: "system" for the platform's services and
# "workflows" for the Argo workflow pods, which come and go with the work.

variable "region" {
  default = "us-east-1"
}

variable "kubernetes_version" {}

variable "subnet_ids" {
  description = "Private subnets in at least two availability zones."
  default     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
}

variable "cluster_role_arn" {
  description = "The IAM role of the control plane (trusting eks.amazonaws.com)."
  default     = "arn:aws:iam::123456789012:role/dtwin-eks-cluster"
}

variable "node_role_arn" {
  description = "The IAM role of the nodes (trusting ec2.amazonaws.com)."
  default     = "arn:aws:iam::123456789012:role/dtwin-eks-nodes"
}

variable "system_instance" {}

variable "system_nodes" {
  type = number
}

variable "workflow_instance" {}

variable "workflow_min_nodes" {
  type = number
}

variable "workflow_nodes" {
  type = number
}

variable "workflow_max_nodes" {
  type = number

  validation {
    condition     = var.workflow_max_nodes >= 1 && var.workflow_max_nodes <= 50
    error_message = "workflow_max_nodes must be between 1 and 50."
  }
}

provider "aws" {
  region = var.region
}

locals {
  tags = {
    project     = "dtwin"
    environment = env
  }
}

resource "aws_eks_cluster" "main" {
  name     = "dtwin-${env}"
  role_arn = var.cluster_role_arn
  version  = var.kubernetes_version

  vpc_config {
    subnet_ids             = var.subnet_ids
    endpoint_public_access = true
  }

  tags = local.tags
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "system"
  node_role_arn   = var.node_role_arn
  subnet_ids      = var.subnet_ids
  instance_types  = [var.system_instance]
  version         = aws_eks_cluster.main.version

  scaling_config {
    desired_size = var.system_nodes
    min_size     = var.system_nodes
    max_size     = var.system_nodes + 2
  }

  labels = { "dtwin.io/pool" = "system" }
  tags   = local.tags
}

resource "aws_eks_node_group" "workflows" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "workflows"
  node_role_arn   = var.node_role_arn
  subnet_ids      = var.subnet_ids
  instance_types  = [var.workflow_instance]
  version         = aws_eks_cluster.main.version

  scaling_config {
    desired_size = var.workflow_nodes
    min_size     = var.workflow_min_nodes
    max_size     = var.workflow_max_nodes
  }

  labels = { "dtwin.io/pool" = "workflows" }
  tags   = local.tags
}

output "cluster_name" {
  value = aws_eks_cluster.main.name
}

output "endpoint" {
  value = aws_eks_cluster.main.endpoint
}

output "certificate_authority" {
  value = aws_eks_cluster.main.certificate_authority[0].data
}

output "cluster_security_group_id" {
  value = aws_eks_cluster.main.vpc_config.cluster_security_group_id
}

output "kubeconfig" {
  value     = aws_eks_cluster.main.kubeconfig
  sensitive = true
}
