################################################################################
# The SQL: one source with pipeline state|history|query (DuckDB), read at plan time
################################################################################

locals {
  # The archive table and the views, fully qualified: named queries run in any database.
  changes_table    = "\"${coalesce(var.database_name, "none")}\".\"${coalesce(var.table_name, "none")}\""
  change_log       = "\"${coalesce(var.database_name, "none")}\".\"change_log\""
  distinct_changes = "\"${coalesce(var.database_name, "none")}\".\"distinct_changes\""

  queries = {
    create_change_log_view = {
      description = "1 of 3, run once: CREATE VIEW change_log, every archived change with item_key, event_time_us and change_order filled in for old lines."
      query = "CREATE OR REPLACE VIEW ${local.change_log} AS\n${templatefile("${path.module}/sql/change_log.sql", {
        changes_table    = local.changes_table
        derived_item_key = trimspace(file("${path.module}/sql/item_key_trino.sql"))
      })}"
    }
    create_distinct_changes_view = {
      description = "2 of 3, run once: CREATE VIEW distinct_changes, change_log with duplicates collapsed (one row per event_id)."
      query = "CREATE OR REPLACE VIEW ${local.distinct_changes} AS\n${templatefile("${path.module}/sql/distinct_changes.sql", {
        change_log = local.change_log
      })}"
    }
    create_latest_state_view = {
      description = "3 of 3, run once: CREATE VIEW latest_state, the table's items now (deletes applied, duplicates collapsed)."
      query = "CREATE OR REPLACE VIEW \"${coalesce(var.database_name, "none")}\".\"latest_state\" AS\n${templatefile("${path.module}/sql/state.sql", {
        change_log   = local.change_log
        as_of_filter = ""
      })}"
    }
    state_as_of = {
      description = "The table's items as of a time: run with one execution parameter, the time in microseconds since the epoch (e.g. 1795764000000000 for 2026-11-27T07:20:00Z). Needs the change_log view."
      query = templatefile("${path.module}/sql/state.sql", {
        change_log   = local.change_log
        as_of_filter = "WHERE event_time_us <= ?"
      })
    }
  }
}

################################################################################
# Query results bucket: encrypted, private, TLS only, results expire
################################################################################

#trivy:ignore:AWS-0089
#trivy:ignore:AWS-0090
resource "aws_s3_bucket" "results" {
  # checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket owned by the account's logging setup; the results are disposable query output.
  # checkov:skip=CKV_AWS_21:Query results are disposable and expire (results_expiration_days): versions would only keep them longer.
  # checkov:skip=CKV_AWS_144:Query results are disposable: no cross-region replication.
  # checkov:skip=CKV2_AWS_62:Nothing consumes result object events.
  count = var.enable_queries ? 1 : 0

  bucket        = var.results_bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "results" {
  count = var.enable_queries ? 1 : 0

  bucket                  = aws_s3_bucket.results[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "results" {
  count = var.enable_queries ? 1 : 0

  bucket = aws_s3_bucket.results[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  # checkov:skip=CKV_AWS_145:SSE-S3 by default; results_kms_key_arn switches to SSE-KMS.
  count = var.enable_queries ? 1 : 0

  bucket = aws_s3_bucket.results[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.results_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.results_kms_key_arn
    }
    bucket_key_enabled = var.results_kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  count = var.enable_queries ? 1 : 0

  bucket = aws_s3_bucket.results[0].id

  rule {
    id     = "expire-query-results"
    status = "Enabled"

    filter {}

    expiration {
      days = var.results_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "results_tls_only" {
  count = var.enable_queries ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"] # every action: the deny must cover all requests without TLS
    resources = [aws_s3_bucket.results[0].arn, "${aws_s3_bucket.results[0].arn}/*"]

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

resource "aws_s3_bucket_policy" "results" {
  count = var.enable_queries ? 1 : 0

  bucket = aws_s3_bucket.results[0].id
  policy = data.aws_iam_policy_document.results_tls_only[0].json

  # S3 rejects a bucket policy while the public access block is being set up.
  depends_on = [aws_s3_bucket_public_access_block.results]
}

################################################################################
# Workgroup: engine v3, results encrypted in the results bucket, settings enforced
################################################################################

resource "aws_athena_workgroup" "this" {
  count = var.enable_queries ? 1 : 0

  name          = var.workgroup_name
  description   = "Queries over the DynamoDB change archive (views change_log, distinct_changes, latest_state)."
  force_destroy = var.force_destroy
  tags          = var.tags

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.results[0].bucket}/results/"

      encryption_configuration {
        encryption_option = var.results_kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.results_kms_key_arn
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.database_name != null && var.table_name != null
      error_message = "The archive queries need the archive catalog's Glue table: set database_name and table_name (enable_archive_catalog)."
    }
  }
}

################################################################################
# Named queries: the views (run once each, in order) and the state as of a time
################################################################################

resource "aws_athena_named_query" "this" {
  for_each = var.enable_queries ? local.queries : {}

  name        = each.key
  description = each.value.description
  workgroup   = aws_athena_workgroup.this[0].id
  database    = var.database_name
  query       = each.value.query
}
