variable "region" {
  type    = string
  default = "nyc1"
}

variable "node_size" {
  type        = string
  description = "Droplet size of the default pool."
}

variable "min_nodes" {
  type = number
  validation {
    condition     = var.min_nodes >= 1
    error_message = "min_nodes must be at least 1."
  }
}

variable "max_nodes" {
  type = number
}
