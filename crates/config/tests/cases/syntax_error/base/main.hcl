resource "testing_thing" "a" {
  name = 
}
