resource "testing_thing" "main" {
  name = "two"
}

variable "region" {}

output "id" { value = testing_thing.main.id }
output "id" { value = "x" }
