resource "testing_thing" "db" {
  name = "db"
}
