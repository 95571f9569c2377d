# Resolves an alias (also a predefined AWS alias such as alias/aws/kinesis) to the key's ARN,
# so the readers' IAM policies can name the one key they may decrypt with.
data "aws_kms_key" "this" {
  count = var.kms_key_id == null ? 0 : 1

  key_id = var.kms_key_id
}

resource "aws_kinesis_stream" "this" {
  name             = var.name
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.retention_period
  encryption_type  = var.kms_key_id == null ? "NONE" : "KMS"
  kms_key_id       = var.kms_key_id

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.stream_mode == "ON_DEMAND" ? var.shard_count == null : try(var.shard_count >= 1, false)
      error_message = "shard_count must be null with stream_mode = ON_DEMAND and at least 1 with PROVISIONED."
    }
  }
}
