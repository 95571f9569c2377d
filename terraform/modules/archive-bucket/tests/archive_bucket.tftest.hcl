mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::test-archive"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  bucket_name                        = "test-archive"
  force_destroy                      = false
  transition_days                    = 90
  transition_storage_class           = "STANDARD_IA"
  noncurrent_version_expiration_days = 30
  readable_by_athena                 = true
}

run "secure_whatever_the_settings" {
  command = apply

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All public access must be blocked."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be on."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "SSE-S3 must be the default encryption."
  }

  assert {
    condition     = !aws_s3_bucket.this.force_destroy
    error_message = "force_destroy must follow its variable."
  }

  assert {
    condition     = aws_s3_bucket_policy.this.bucket == aws_s3_bucket.this.id
    error_message = "The TLS-only policy must be attached to the bucket."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.tls_only.statement[0].effect == "Deny" &&
      toset(data.aws_iam_policy_document.tls_only.statement[0].actions) == toset(["s3:*"]) &&
      one(data.aws_iam_policy_document.tls_only.statement[0].condition).variable == "aws:SecureTransport" &&
      toset(one(data.aws_iam_policy_document.tls_only.statement[0].condition).values) == toset(["false"]) &&
      toset(data.aws_iam_policy_document.tls_only.statement[0].resources) == toset(["arn:aws:s3:::test-archive", "arn:aws:s3:::test-archive/*"])
    )
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects."
  }
}

run "lifecycle_rules" {
  command = plan

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition).days == 90 && one(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition).storage_class == "STANDARD_IA"
    error_message = "Objects must move to transition_storage_class after transition_days."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration) == 0
    error_message = "Objects must not expire when expiration_days is null."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 30
    error_message = "Noncurrent versions must expire after noncurrent_version_expiration_days."
  }
}

run "kms_and_expiry" {
  command = plan

  variables {
    kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    transition_days = null
    expiration_days = 3650
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "A KMS key must switch to SSE-KMS with a bucket key."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition) == 0 && aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].days == 3650
    error_message = "transition_days = null must drop the transition; expiration_days must set the expiry."
  }
}

run "invalid_storage_class" {
  command = plan

  variables {
    transition_storage_class = "REDUCED_REDUNDANCY"
  }

  expect_failures = [var.transition_storage_class]
}

run "invalid_transition_days" {
  command = plan

  variables {
    transition_days = -1
  }

  expect_failures = [var.transition_days]
}

run "invalid_expiration_days" {
  command = plan

  variables {
    expiration_days = 0
  }

  expect_failures = [var.expiration_days]
}

run "invalid_noncurrent_expiration" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "standard_ia_before_30_days_is_refused" {
  command = plan

  variables {
    transition_days = 29
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "standard_ia_at_30_days" {
  command = plan

  variables {
    transition_days = 30
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition).days == 30
    error_message = "A transition to STANDARD_IA after 30 days must be accepted."
  }
}

run "other_classes_from_day_0" {
  command = plan

  variables {
    transition_days          = 0
    transition_storage_class = "GLACIER_IR"
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition).storage_class == "GLACIER_IR"
    error_message = "A transition to GLACIER_IR has no minimum age."
  }
}

run "expiration_not_after_transition_is_refused" {
  command = plan

  variables {
    expiration_days = 90
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "glacier_with_athena_is_refused" {
  command = plan

  variables {
    transition_storage_class = "GLACIER"
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "deep_archive_with_athena_is_refused" {
  command = plan

  variables {
    transition_storage_class = "DEEP_ARCHIVE"
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "glacier_without_athena" {
  command = plan

  variables {
    transition_storage_class = "DEEP_ARCHIVE"
    readable_by_athena       = false
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition).storage_class == "DEEP_ARCHIVE"
    error_message = "Without Athena, archive classes must be accepted."
  }
}
