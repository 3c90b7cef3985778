dependency "base" {
  stack = "base"
}

resource "testing_thing" "app" {
  name = "app"
  tags = {
    kubeconfig = dependency.base.outputs.kubeconfig
    manifest   = file("${path.stack}/k8s/app.yaml")
  }
}
