# The platform's metadata (users, saved workflows, run history): RDS for PostgreSQL, reachable
# from the cluster through its security group.

dependency "base" {
  stack = "base"
}

variable "region" {
  default = "us-east-1"
}

variable "db_instance_class" {}

variable "db_storage_gib" {
  type = number
}

variable "db_password" {
  description = "The master password; pass a real one from your secret store."
  sensitive   = true
  default     = "emulated-only-password"
}

provider "aws" {
  region = var.region
}

resource "aws_db_instance" "metadata" {
  identifier             = "dtwin-${env}-metadata"
  engine                 = "postgres"
  engine_version         = "16"
  instance_class         = var.db_instance_class
  allocated_storage      = var.db_storage_gib
  username               = "dtwin"
  password               = var.db_password
  db_name                = "dtwin"
  vpc_security_group_ids = [dependency.base.outputs.cluster_security_group_id]
  apply_immediately      = true
  skip_final_snapshot    = env != "production"
  final_snapshot_identifier = env == "production" ? "dtwin-${env}-metadata-final" : null

  tags = {
    project     = "dtwin"
    environment = env
  }
}

output "address" {
  value = aws_db_instance.metadata.address
}

output "port" {
  value = aws_db_instance.metadata.port
}

output "username" {
  value = aws_db_instance.metadata.username
}

output "password" {
  value     = var.db_password
  sensitive = true
}
