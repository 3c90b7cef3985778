dependency "base" { stack = "base" }
dependency "db" { stack = "databse" }

resource "testing_thing" "app" {
  name = dependency.base.outputs.kubeconfg
}
