resource "testing_thing" "e" {
  name = var.missing
  id   = "cannot set"
}
