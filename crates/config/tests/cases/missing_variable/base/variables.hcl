variable "node_size" {
  type = string
}

variable "min_nodes" {
  type = number
  validation {
    condition     = var.min_nodes >= 1
    error_message = "min_nodes must be at least 1."
  }
}
