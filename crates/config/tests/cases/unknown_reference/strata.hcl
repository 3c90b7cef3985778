project "shop" {}
