mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/test-delivery"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/test-delivery"
    }
  }
}

mock_provider "time" {}

variables {
  name                       = "test-delivery"
  role_name                  = "test-delivery-us-east-1"
  kinesis_stream_arn         = "arn:aws:kinesis:us-east-1:123456789012:stream/test-changes"
  kinesis_stream_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  processor_function_arn     = "arn:aws:lambda:us-east-1:123456789012:function:test-transform"
  bucket_arn                 = "arn:aws:s3:::test-archive"
  prefix                     = "changes/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
  error_output_prefix        = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
  file_extension             = ".jsonl.gz"
  log_group_name             = "/aws/kinesisfirehose/test-delivery"
  log_retention_days         = 365

  processor_buffer_size        = 1
  processor_buffer_interval    = 60
  processor_retries            = 3
  compression_format           = "GZIP"
  buffering_size               = 64
  buffering_interval           = 60
  dynamic_partitioning_enabled = false
  replacement_drain_seconds    = 300
}

run "source_is_the_stream" {
  command = apply

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.kinesis_source_configuration[0].kinesis_stream_arn == var.kinesis_stream_arn
    error_message = "The delivery stream must read the change stream."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.kinesis_source_configuration[0].role_arn == aws_iam_role.this.arn && aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].role_arn == aws_iam_role.this.arn
    error_message = "Source and destination must use the module's role."
  }

  assert {
    condition     = length(aws_kinesis_firehose_delivery_stream.this.server_side_encryption) == 0 || !try(aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].enabled, false)
    error_message = "A Kinesis-sourced delivery stream must not set its own SSE."
  }
}

run "name_carries_the_force_new_settings" {
  command = apply

  assert {
    condition     = can(regex("^test-delivery-[0-9a-f]{8}$", output.delivery_stream_name))
    error_message = "The delivery stream must be named <name>-<8 hex digits>."
  }

  assert {
    condition     = time_sleep.replacement_drain.destroy_duration == "300s" && time_sleep.replacement_drain.create_duration == null && time_sleep.replacement_drain.triggers.delivery_stream_name == output.delivery_stream_name
    error_message = "Each new delivery stream name must start a new drain wait of replacement_drain_seconds."
  }
}

# Replacement shape: a force-new change gives the new stream a name of its own (so
# create_before_destroy can run both); any other change keeps the stream and its name.
run "source_switch_names_a_new_stream" {
  command = plan

  variables {
    kinesis_stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/other-changes"
  }

  assert {
    condition     = output.delivery_stream_name != run.name_carries_the_force_new_settings.delivery_stream_name && startswith(output.delivery_stream_name, "test-delivery-")
    error_message = "A new source stream (force-new) must name a new delivery stream."
  }
}

run "dynamic_partitioning_switch_names_a_new_stream" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
    prefix                       = "changes/table=!{partitionKeyFromLambda:table_name}/date=!{partitionKeyFromLambda:event_date}/"
  }

  assert {
    condition     = output.delivery_stream_name != run.name_carries_the_force_new_settings.delivery_stream_name
    error_message = "Switching dynamic partitioning (force-new) must name a new delivery stream."
  }
}

run "in_place_changes_keep_the_name" {
  command = plan

  variables {
    buffering_interval        = 120
    processor_buffer_interval = 30
    prefix                    = "archive/year=!{timestamp:yyyy}/"
    compression_format        = "UNCOMPRESSED"
    file_extension            = ".jsonl"
  }

  assert {
    condition     = output.delivery_stream_name == run.name_carries_the_force_new_settings.delivery_stream_name
    error_message = "Settings Firehose updates in place must keep the delivery stream's name."
  }
}

run "drain_shorter_than_the_buffers" {
  command = plan

  variables {
    replacement_drain_seconds = 119
  }

  expect_failures = [time_sleep.replacement_drain]
}

run "invalid_replacement_drain_seconds" {
  command = plan

  variables {
    replacement_drain_seconds = -1
  }

  expect_failures = [var.replacement_drain_seconds]
}

run "name_too_long_for_the_suffix" {
  command = plan

  variables {
    name = "a-delivery-stream-name-that-is-far-too-long-for-its-suffix-x"
  }

  expect_failures = [var.name]
}

run "processor_is_the_function" {
  command = plan

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].enabled
    error_message = "Processing must be enabled."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].type == "Lambda"
    error_message = "The processor must be a Lambda function."
  }

  assert {
    condition = {
      for parameter in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters :
      parameter.parameter_name => parameter.parameter_value
      } == {
      LambdaArn = "arn:aws:lambda:us-east-1:123456789012:function:test-transform"
    }
    error_message = "At Firehose's defaults only LambdaArn is set (defaults are not stored in state and would diff forever)."
  }
}

run "processor_parameters_other_than_defaults" {
  command = plan

  variables {
    processor_buffer_size     = 0.5
    processor_buffer_interval = 120
    processor_retries         = 5
  }

  assert {
    condition = {
      for parameter in aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].processing_configuration[0].processors[0].parameters :
      parameter.parameter_name => parameter.parameter_value
      } == {
      LambdaArn               = "arn:aws:lambda:us-east-1:123456789012:function:test-transform"
      BufferSizeInMBs         = "0.5"
      BufferIntervalInSeconds = "120"
      NumberOfRetries         = "5"
    }
    error_message = "Settings other than Firehose's defaults must reach the processor's parameters."
  }
}

run "s3_destination" {
  command = plan

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.destination == "extended_s3" && aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].bucket_arn == var.bucket_arn
    error_message = "The destination must be the archive bucket."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == var.prefix &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].error_output_prefix == var.error_output_prefix
    )
    error_message = "Prefix and error output prefix must be passed through."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "GZIP" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].file_extension == ".jsonl.gz" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_size == 64 &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].buffering_interval == 60
    )
    error_message = "Compression, file extension and buffering must reach the destination."
  }

  assert {
    condition     = length(aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration) == 0
    error_message = "Dynamic partitioning must be off when dynamic_partitioning_enabled is false."
  }

  assert {
    condition = (
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].enabled &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].log_group_name == "/aws/kinesisfirehose/test-delivery" &&
      aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].cloudwatch_logging_options[0].log_stream_name == "DestinationDelivery"
    )
    error_message = "Error logging must be on, into the module's log group."
  }
}

run "iam_scoped_to_the_pipeline" {
  command = apply

  assert {
    condition = (
      one(data.aws_iam_policy_document.assume_role.statement[0].principals).identifiers == toset(["firehose.amazonaws.com"]) &&
      one(data.aws_iam_policy_document.assume_role.statement[0].condition).values == tolist(["123456789012"])
    )
    error_message = "Only Firehose, for this account, may assume the role."
  }

  assert {
    condition     = data.aws_iam_policy_document.source.statement[0].resources == toset([var.kinesis_stream_arn])
    error_message = "The role may read only the change stream."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.source.statement[1].resources == toset([var.kinesis_stream_kms_key_arn]) &&
      data.aws_iam_policy_document.source.statement[1].actions == toset(["kms:Decrypt"]) &&
      contains([for condition in data.aws_iam_policy_document.source.statement[1].condition : condition.values[0]], var.kinesis_stream_arn)
    )
    error_message = "The role may decrypt only with the stream's key, for that stream."
  }

  assert {
    condition     = data.aws_iam_policy_document.processor.statement[0].resources == toset([var.processor_function_arn, "${var.processor_function_arn}:*"])
    error_message = "The role may invoke only the transform function."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.destination.statement[0].resources == toset([var.bucket_arn]) &&
      data.aws_iam_policy_document.destination.statement[1].resources == toset(["${var.bucket_arn}/*"]) &&
      length(data.aws_iam_policy_document.destination.statement) == 2
    )
    error_message = "The role may write only into the archive bucket (no KMS statement with SSE-S3)."
  }

  assert {
    condition     = data.aws_iam_policy_document.logs.statement[0].resources == toset(["arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/test-delivery:log-stream:*"])
    error_message = "The role may write only to its own log group."
  }
}

run "unencrypted_source_has_no_kms_statement" {
  command = plan

  variables {
    kinesis_stream_kms_key_arn = null
  }

  assert {
    condition     = length(data.aws_iam_policy_document.source.statement) == 1
    error_message = "No KMS permission without a stream key."
  }
}

run "dynamic_partitioning" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
    prefix                       = "changes/table=!{partitionKeyFromLambda:table_name}/date=!{partitionKeyFromLambda:event_date}/"
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].dynamic_partitioning_configuration[0].enabled
    error_message = "Dynamic partitioning must be enabled."
  }
}

run "dynamic_partitioning_needs_64_mb" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
    prefix                       = "changes/table=!{partitionKeyFromLambda:table_name}/"
    buffering_size               = 5
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "dynamic_partitioning_needs_buffering_interval" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
    prefix                       = "changes/table=!{partitionKeyFromLambda:table_name}/"
    buffering_interval           = 0
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "dynamic_partitioning_needs_partition_keys_in_prefix" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
  }

  expect_failures = [aws_kinesis_firehose_delivery_stream.this]
}

run "error_prefix_without_error_type" {
  command = plan

  variables {
    error_output_prefix = "errors/"
  }

  expect_failures = [var.error_output_prefix]
}

run "invalid_compression" {
  command = plan

  variables {
    compression_format = "ZIP"
  }

  expect_failures = [var.compression_format]
}

run "invalid_file_extension" {
  command = plan

  variables {
    file_extension = "jsonl"
  }

  expect_failures = [var.file_extension]
}

run "invalid_buffering_size" {
  command = plan

  variables {
    buffering_size = 129
  }

  expect_failures = [var.buffering_size]
}

run "invalid_buffering_interval" {
  command = plan

  variables {
    buffering_interval = 901
  }

  expect_failures = [var.buffering_interval]
}

run "invalid_processor_buffer_size" {
  command = plan

  variables {
    processor_buffer_size = 4
  }

  expect_failures = [var.processor_buffer_size]
}

run "invalid_processor_buffer_interval" {
  command = plan

  variables {
    processor_buffer_interval = 901
  }

  expect_failures = [var.processor_buffer_interval]
}

run "negative_processor_retries" {
  command = plan

  variables {
    processor_retries = -1
  }

  expect_failures = [var.processor_retries]
}

run "invalid_processor_retries" {
  command = plan

  variables {
    processor_retries = 1.5
  }

  expect_failures = [var.processor_retries]
}
