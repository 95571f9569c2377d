terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }

  # No backend block: state is local by default. `make init BACKEND=s3|cloud` writes
  # backend_override.tf (git-ignored) to select an S3 backend or HCP Terraform; see README.md.
}
