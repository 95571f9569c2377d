provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ "change-archive:name-prefix" = var.name_prefix }, var.tags)
  }
}
