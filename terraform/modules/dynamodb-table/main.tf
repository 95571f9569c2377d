locals {
  key_attributes = { for key in compact([var.hash_key.name, try(var.range_key.name, null)]) : key => key == var.hash_key.name ? var.hash_key.type : var.range_key.type }
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:A customer managed key is optional (kms_key_arn); the default is the AWS managed KMS key alias/aws/dynamodb.
  name                        = var.name
  billing_mode                = var.billing_mode
  read_capacity               = var.billing_mode == "PROVISIONED" ? var.read_capacity : null
  write_capacity              = var.billing_mode == "PROVISIONED" ? var.write_capacity : null
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  deletion_protection_enabled = var.deletion_protection_enabled

  dynamic "attribute" {
    for_each = local.key_attributes

    content {
      name = attribute.key
      type = attribute.value
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = var.server_side_encryption_enabled
    kms_key_arn = var.server_side_encryption_enabled ? var.kms_key_arn : null
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute_name == null ? [] : [var.ttl_attribute_name]

    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.billing_mode == "PAY_PER_REQUEST" || (coalesce(var.read_capacity, 0) >= 1 && coalesce(var.write_capacity, 0) >= 1)
      error_message = "billing_mode = PROVISIONED needs read_capacity and write_capacity of at least 1."
    }
  }
}

################################################################################
# Kinesis streaming destination
################################################################################

# What reads the change stream. A delivery stream with a Kinesis source starts at the stream's
# LATEST position (firehose/latest/dev/writing-with-kinesis-streams.html): change records written
# before it exists are never read. The destination waits for it (the provider returns from
# creating a delivery stream only once it is ACTIVE).
resource "terraform_data" "change_stream_readers" {
  input = var.change_stream_reader_arns
}

# The precision the streaming destination runs with. ignore_changes keeps the recorded value in
# every plan (a plan cannot see prior state otherwise), so the destination's precondition can tell
# a change from the first create; a new acknowledgement (which must name the configured precision)
# records it again. Not caught: removing the acknowledgement in the same plan as a change.
resource "terraform_data" "streaming_destination_precision" {
  input            = var.streaming_destination_precision
  triggers_replace = [var.streaming_destination_precision_change_acknowledged]

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_dynamodb_kinesis_streaming_destination" "this" {
  table_name                               = aws_dynamodb_table.this.name
  stream_arn                               = var.kinesis_stream_arn
  approximate_creation_date_time_precision = var.streaming_destination_precision

  lifecycle {
    # A new precision replaces the destination (ForceNew in the provider): DynamoDB disables it and
    # enables it again, and changes made in between are not captured.
    precondition {
      condition     = var.streaming_destination_precision_change_acknowledged == null || var.streaming_destination_precision_change_acknowledged == var.streaming_destination_precision
      error_message = "streaming_destination_precision_change_acknowledged must be null or name the configured streaming_destination_precision."
    }

    precondition {
      condition = (
        var.streaming_destination_precision == terraform_data.streaming_destination_precision.input ||
        var.streaming_destination_precision_change_acknowledged == var.streaming_destination_precision
      )
      error_message = "Changing streaming_destination_precision replaces the streaming destination: changes made while it is re-enabled are not captured. Set streaming_destination_precision_change_acknowledged to the new precision to go ahead, then run `pipeline backfill`."
    }
  }

  depends_on = [terraform_data.change_stream_readers]
}
