# trivy and checkov: server access logs need a separate log bucket owned by the account's logging setup.
#trivy:ignore:AWS-0089
resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket owned by the account's logging setup; CloudTrail data events are the alternative.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per deployment, not a default of the archive.
  # checkov:skip=CKV2_AWS_62:Nothing consumes object events; Athena reads the archive on demand.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  # checkov:skip=CKV_AWS_145:SSE-S3 is the default asked for; kms_key_arn switches to SSE-KMS.
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "archive"
    status = "Enabled"

    filter {}

    dynamic "transition" {
      for_each = var.transition_days == null ? [] : [var.transition_days]

      content {
        days          = transition.value
        storage_class = var.transition_storage_class
      }
    }

    dynamic "expiration" {
      for_each = var.expiration_days == null ? [] : [var.expiration_days]

      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  lifecycle {
    # "You must store objects for at least 30 days before you can transition them to S3
    # Standard-IA or S3 One Zone-IA" (AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html).
    precondition {
      condition     = var.transition_days == null || !contains(["STANDARD_IA", "ONEZONE_IA"], var.transition_storage_class) || try(var.transition_days >= 30, false)
      error_message = "S3 rejects a transition to STANDARD_IA or ONEZONE_IA before 30 days: set transition_days to 30 or more."
    }

    # S3 rejects a rule whose expiration is not after its transition.
    precondition {
      condition     = var.transition_days == null || var.expiration_days == null || try(var.expiration_days > var.transition_days, false)
      error_message = "expiration_days must be greater than transition_days (S3 rejects an expiration that is not after the transition)."
    }

    # Athena skips objects in S3 Glacier Flexible Retrieval and Deep Archive
    # (athena/latest/ug/other-notable-limitations.html): their partitions would read as empty.
    precondition {
      condition     = !var.readable_by_athena || var.transition_days == null || !contains(["GLACIER", "DEEP_ARCHIVE"], var.transition_storage_class)
      error_message = "With readable_by_athena (the archive catalog on), transition_storage_class must not be GLACIER or DEEP_ARCHIVE: Athena cannot read objects there. Use GLACIER_IR, or turn the catalog off."
    }
  }

  # Lifecycle rules apply to versions: versioning first.
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"] # every action: the deny must cover all requests without TLS
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*" # everyone: a deny for all callers who do not use TLS
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 rejects a bucket policy while the public access block is being set up.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
