variable "region" {
  default = "nyc1"
}

resource "testing_thing" "main" {
  name = "vpc-${var.regoin}"
}

resource "testing_thing" "other" {
  name = testing_thing.mian.id
  tags = { owner = local.ownr }
}

locals {
  owner = "platform"
}
