resource "testing_thing" "main" {
  name = "one"
}

variable "region" {}
