resource "testing_thnig" "a" {
  name = "a"
}

data "testing_imgae" "b" {
  name = "ubuntu"
}
