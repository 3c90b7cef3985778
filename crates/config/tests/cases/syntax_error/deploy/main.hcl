resource "testing_thing" "b" {
  name = "b"
  tags = { a = "x" 
}
