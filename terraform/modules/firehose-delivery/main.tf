data "aws_region" "current" {}

################################################################################
# Error logging
################################################################################

# trivy and checkov: CloudWatch Logs encrypts log events itself; a customer key would need a key policy for logs.<region>.amazonaws.com.
#trivy:ignore:AWS-0017
resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:Log events are encrypted by CloudWatch Logs; a customer key would need a key policy for logs.<region>.amazonaws.com, out of scope here.
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "destination" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.this.name
}

################################################################################
# Delivery stream
################################################################################

locals {
  # A delivery stream with a Kinesis source starts reading at the stream's LATEST position
  # (firehose/latest/dev/writing-with-kinesis-streams.html), so a stream destroyed before its
  # replacement exists loses every change written in between. Its name carries a hash of every
  # argument whose change forces a new stream (ForceNew in the provider's schema: name,
  # destination, kinesis_source_configuration.kinesis_stream_arn and .role_arn,
  # dynamic_partitioning_configuration.enabled), so a replacement gets a name of its own and
  # create_before_destroy runs both streams at once: the worst case is duplicates (same event_id).
  destination = "extended_s3"
  force_new_settings = {
    destination                  = local.destination
    kinesis_stream_arn           = var.kinesis_stream_arn
    role_arn                     = aws_iam_role.this.arn
    dynamic_partitioning_enabled = var.dynamic_partitioning_enabled
  }
  replacement_key = substr(sha256(jsonencode(local.force_new_settings)), 0, 8)

  # Parameters left at Firehose's defaults (1 MB, 60 s, 3 retries) are not stored in state, so
  # setting them would diff forever (registry: aws_kinesis_firehose_delivery_stream, `parameters` NOTE).
  processor_defaults = { BufferSizeInMBs = "1", BufferIntervalInSeconds = "60", NumberOfRetries = "3" }
  processor_parameters = merge(
    { LambdaArn = var.processor_function_arn },
    {
      for name, value in {
        BufferSizeInMBs         = tostring(var.processor_buffer_size)
        BufferIntervalInSeconds = tostring(var.processor_buffer_interval)
        NumberOfRetries         = tostring(var.processor_retries)
      } : name => value if value != local.processor_defaults[name]
    },
  )
}

# The same settings, as a resource whose change replaces the delivery stream through Terraform
# itself (replace_triggered_by): the provider forces that anyway, and this way a plan with a mocked
# provider shows the replacement, and its create-before-destroy order, too.
resource "terraform_data" "force_new_settings" {
  input = local.force_new_settings
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  # checkov:skip=CKV_AWS_240:Firehose rejects server-side encryption on a delivery stream whose source is a Kinesis data stream; the source stream's KMS encryption applies.
  # checkov:skip=CKV_AWS_241:Same as CKV_AWS_240: no SSE (so no customer key) with a Kinesis data stream source.
  name        = "${var.name}-${local.replacement_key}"
  destination = local.destination

  kinesis_source_configuration {
    kinesis_stream_arn = var.kinesis_stream_arn
    role_arn           = aws_iam_role.this.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.this.arn
    bucket_arn          = var.bucket_arn
    prefix              = var.prefix
    error_output_prefix = var.error_output_prefix
    compression_format  = var.compression_format
    file_extension      = var.file_extension
    buffering_size      = var.buffering_size
    buffering_interval  = var.buffering_interval
    kms_key_arn         = var.bucket_kms_key_arn

    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"

        dynamic "parameters" {
          for_each = local.processor_parameters

          content {
            parameter_name  = parameters.key
            parameter_value = parameters.value
          }
        }
      }
    }

    dynamic "dynamic_partitioning_configuration" {
      for_each = var.dynamic_partitioning_enabled ? [true] : []

      content {
        enabled = true
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.this.name
      log_stream_name = aws_cloudwatch_log_stream.destination.name
    }
  }

  tags = var.tags

  lifecycle {
    # The new stream reads from LATEST while the old one drains its backlog; then the old one goes.
    create_before_destroy = true
    replace_triggered_by  = [terraform_data.force_new_settings]

    # 64 MB: the provider's dynamic-partitioning example and the Firehose console use it; the
    # BufferingHints API reference itself only states 1-128 (see the report: not verified on AWS).
    precondition {
      condition     = !var.dynamic_partitioning_enabled || var.buffering_size >= 64
      error_message = "Dynamic partitioning needs buffering_size of at least 64 (MB)."
    }

    # "Zero buffering feature is not available for dynamic partitioning" (firehose/latest/dev/buffering.html).
    precondition {
      condition     = !var.dynamic_partitioning_enabled || var.buffering_interval > 0
      error_message = "Dynamic partitioning needs buffering_interval above 0 (zero buffering is not available with it)."
    }

    precondition {
      condition     = var.dynamic_partitioning_enabled == strcontains(var.prefix, "!{partitionKeyFromLambda:")
      error_message = "prefix must use !{partitionKeyFromLambda:...} exactly when dynamic partitioning is enabled."
    }
  }

  # Firehose checks at creation that its role can read the source and invoke the processor.
  depends_on = [
    aws_iam_role_policy.source,
    aws_iam_role_policy.processor,
    aws_iam_role_policy.destination,
    aws_iam_role_policy.logs,
  ]
}

################################################################################
# Replacement overlap
################################################################################

# Firehose does not guarantee delivery once a stream is DELETING (DeleteDeliveryStream API
# reference). This wait depends on the stream, so Terraform destroys it (waiting destroy_duration)
# before the stream it names: a replaced stream keeps delivering what it has read and buffered,
# beside its successor, for replacement_drain_seconds. Creation does not wait; `terraform destroy`
# drains the same way.
resource "time_sleep" "replacement_drain" {
  destroy_duration = "${var.replacement_drain_seconds}s"

  triggers = {
    delivery_stream_name = aws_kinesis_firehose_delivery_stream.this.name
  }

  lifecycle {
    # The provider replaces it when triggers change; said here too, for plans with a mocked provider.
    replace_triggered_by = [aws_kinesis_firehose_delivery_stream.this.name]
    # The successor's wait exists before the old wait (and then the old stream) goes.
    create_before_destroy = true

    precondition {
      condition     = var.replacement_drain_seconds >= var.processor_buffer_interval + var.buffering_interval
      error_message = "replacement_drain_seconds must be at least processor_buffer_interval + buffering_interval, or a replaced delivery stream is deleted with records still buffered."
    }
  }
}
