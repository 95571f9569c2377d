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

  mock_data "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_kinesis_stream" {
    defaults = {
      arn = "arn:aws:kinesis:us-east-1:123456789012:stream/change-archive-changes"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:change-archive-transform"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::change-archive-archive-123456789012-us-east-1"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:change-archive-alarms"
    }
  }
}

variables {
  transform_artifact_path = "tests/fixtures/artifact.bin"
}

run "pipeline_is_wired_in_data_flow_order" {
  command = apply

  assert {
    condition     = module.table.streaming_destination_stream_arn == module.change_stream.stream_arn
    error_message = "The table must stream its changes to the change stream."
  }

  assert {
    condition     = output.delivery_stream_arn != null && output.change_stream_arn == "arn:aws:kinesis:us-east-1:123456789012:stream/change-archive-changes"
    error_message = "The change stream ARN must be exported."
  }

  assert {
    condition     = output.table_name == "change-archive-table" && output.change_stream_name == "change-archive-changes" && output.transform_function_name == "change-archive-transform" && output.delivery_stream_name == "change-archive-delivery"
    error_message = "Names must come from locals.names."
  }

  assert {
    condition     = output.archive_bucket_name == "change-archive-archive-123456789012-us-east-1"
    error_message = "The bucket name must hold the account and region."
  }

  assert {
    condition     = output.table_hash_key == "pk" && output.table_range_key == "sk" && output.region == "us-east-1"
    error_message = "Key names and region must be exported."
  }

  assert {
    condition     = output.archive_prefix == "changes/" && output.error_prefix == "errors/"
    error_message = "Prefixes must be exported."
  }

  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:us-east-1:123456789012:change-archive-alarms" && output.dashboard_name == "change-archive"
    error_message = "Topic and dashboard must be exported."
  }

  assert {
    condition     = module.transform.function_arn == output.transform_function_arn
    error_message = "The transform ARN must be exported."
  }
}

run "delivery_uses_the_function_the_stream_and_the_bucket" {
  command = apply

  assert {
    condition     = module.delivery_stream.delivery_stream_arn == output.delivery_stream_arn
    error_message = "Delivery stream outputs must match."
  }
}

run "localstack_settings_plan" {
  command = plan

  variables {
    change_stream_kms_key_id              = null
    table_server_side_encryption_enabled  = false
    table_deletion_protection_enabled     = false
    table_streaming_destination_precision = null
    enable_alarm_topic                    = false
    archive_force_destroy                 = true
  }

  assert {
    condition     = output.alarm_topic_arn == null
    error_message = "No alarm topic on LocalStack."
  }
}

run "provisioned_capacity_and_hash_key_only" {
  command = plan

  variables {
    table_key_schema = {
      hash_key = { name = "id", type = "N" }
    }
    table_billing_mode        = "PROVISIONED"
    table_read_capacity       = 1
    table_write_capacity      = 1
    change_stream_mode        = "PROVISIONED"
    change_stream_shard_count = 1
  }

  assert {
    condition     = output.table_hash_key == "id" && output.table_range_key == null
    error_message = "A hash-key-only schema must export a null range key."
  }
}

run "invalid_name_prefix" {
  command = plan

  variables {
    name_prefix = "Change_Archive"
  }

  expect_failures = [var.name_prefix]
}

run "invalid_name_prefix_2" {
  command = plan

  variables {
    name_prefix = "a-prefix-much-too-long-for-s3"
  }

  expect_failures = [var.name_prefix]
}

run "invalid_table_key_schema" {
  command = plan

  variables {
    table_key_schema = { hash_key = { name = "pk", type = "BOOL" } }
  }

  expect_failures = [var.table_key_schema]
}

run "invalid_table_billing_mode" {
  command = plan

  variables {
    table_billing_mode = "ON_DEMAND"
  }

  expect_failures = [var.table_billing_mode]
}

run "invalid_table_read_capacity" {
  command = plan

  variables {
    table_read_capacity = 0
  }

  expect_failures = [var.table_read_capacity]
}

run "invalid_table_write_capacity" {
  command = plan

  variables {
    table_write_capacity = 0
  }

  expect_failures = [var.table_write_capacity]
}

run "invalid_table_streaming_destination_precision" {
  command = plan

  variables {
    table_streaming_destination_precision = "SECOND"
  }

  expect_failures = [var.table_streaming_destination_precision]
}

run "invalid_change_stream_mode" {
  command = plan

  variables {
    change_stream_mode = "AUTO"
  }

  expect_failures = [var.change_stream_mode]
}

run "invalid_change_stream_shard_count" {
  command = plan

  variables {
    change_stream_shard_count = 1.5
  }

  expect_failures = [var.change_stream_shard_count]
}

run "invalid_change_stream_retention_hours" {
  command = plan

  variables {
    change_stream_retention_hours = 8761
  }

  expect_failures = [var.change_stream_retention_hours]
}

run "invalid_transform_architecture" {
  command = plan

  variables {
    transform_architecture = "arm32"
  }

  expect_failures = [var.transform_architecture]
}

run "invalid_transform_memory_size" {
  command = plan

  variables {
    transform_memory_size = 10241
  }

  expect_failures = [var.transform_memory_size]
}

run "invalid_transform_timeout" {
  command = plan

  variables {
    transform_timeout = 301
  }

  expect_failures = [var.transform_timeout]
}

run "invalid_transform_archive_event_names" {
  command = plan

  variables {
    transform_archive_event_names = ["INSERT", "UPSERT"]
  }

  expect_failures = [var.transform_archive_event_names]
}

run "invalid_transform_archive_event_names_2" {
  command = plan

  variables {
    transform_archive_event_names = []
  }

  expect_failures = [var.transform_archive_event_names]
}

run "invalid_transform_log_level" {
  command = plan

  variables {
    transform_log_level = "TRACE"
  }

  expect_failures = [var.transform_log_level]
}

run "invalid_log_retention_days" {
  command = plan

  variables {
    log_retention_days = 2
  }

  expect_failures = [var.log_retention_days]
}

run "invalid_delivery_compression_format" {
  command = plan

  variables {
    delivery_compression_format = "ZIP"
  }

  expect_failures = [var.delivery_compression_format]
}

run "invalid_delivery_buffering_size" {
  command = plan

  variables {
    delivery_buffering_size = 0
  }

  expect_failures = [var.delivery_buffering_size]
}

run "invalid_delivery_buffering_interval" {
  command = plan

  variables {
    delivery_buffering_interval = 901
  }

  expect_failures = [var.delivery_buffering_interval]
}

run "invalid_delivery_processor_buffer_size" {
  command = plan

  variables {
    delivery_processor_buffer_size = 0.1
  }

  expect_failures = [var.delivery_processor_buffer_size]
}

run "invalid_delivery_processor_buffer_interval" {
  command = plan

  variables {
    delivery_processor_buffer_interval = 901
  }

  expect_failures = [var.delivery_processor_buffer_interval]
}

run "invalid_delivery_processor_retries" {
  command = plan

  variables {
    delivery_processor_retries = -1
  }

  expect_failures = [var.delivery_processor_retries]
}

run "invalid_archive_prefix" {
  command = plan

  variables {
    archive_prefix = "changes"
  }

  expect_failures = [var.archive_prefix]
}

run "invalid_archive_prefix_2" {
  command = plan

  variables {
    archive_prefix = "/changes/"
  }

  expect_failures = [var.archive_prefix]
}

run "invalid_error_prefix" {
  command = plan

  variables {
    error_prefix = "errors"
  }

  expect_failures = [var.error_prefix]
}

run "invalid_archive_transition_storage_class" {
  command = plan

  variables {
    archive_transition_storage_class = "GLACIER_DEEP"
  }

  expect_failures = [var.archive_transition_storage_class]
}

run "invalid_archive_noncurrent_version_expiration_days" {
  command = plan

  variables {
    archive_noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.archive_noncurrent_version_expiration_days]
}

run "invalid_alarm_iterator_age_threshold_ms" {
  command = plan

  variables {
    alarm_iterator_age_threshold_ms = 0
  }

  expect_failures = [var.alarm_iterator_age_threshold_ms]
}

run "invalid_alarm_data_freshness_threshold_seconds" {
  command = plan

  variables {
    alarm_data_freshness_threshold_seconds = 0
  }

  expect_failures = [var.alarm_data_freshness_threshold_seconds]
}
