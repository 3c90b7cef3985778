resource "testing_thing" "a" {
  name = "a"
  size = "big"
}

resource "testing_thing" "b" {
  size = 3
}

resource "testing_thing" "c" {
  name = each.key
}

resource "testing_thing" "d" {
  count    = 2
  for_each = toset(["x"])
  name     = "d-${count.index}"
}

output "o" {
  value = count.index
}
