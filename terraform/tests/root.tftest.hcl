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

mock_provider "time" {}

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
    condition     = output.table_name == "change-archive-table" && output.change_stream_name == "change-archive-changes" && output.transform_function_name == "change-archive-transform" && can(regex("^change-archive-delivery-[0-9a-f]{8}$", output.delivery_stream_name))
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

  assert {
    condition     = output.catalog_database_name == "change_archive" && output.catalog_table_name == "changes"
    error_message = "Glue names must come from locals.names, with underscores for the prefix's hyphens."
  }
}

# Replacement shape: tests/unit/terraform/test_deploy_windows.py reads these two plans' actions
# (terraform test -json -verbose): create-then-delete for the delivery stream, nothing for the table.
run "delivery_stream_replacement_overlaps" {
  command = plan

  variables {
    delivery_dynamic_partitioning_enabled = true
  }

  assert {
    condition     = output.delivery_stream_name != run.pipeline_is_wired_in_data_flow_order.delivery_stream_name && startswith(output.delivery_stream_name, "change-archive-delivery-")
    error_message = "A force-new change must name a new delivery stream, so that both can run at once."
  }
}

run "delivery_setting_changed_in_place" {
  command = plan

  variables {
    delivery_buffering_interval = 120
  }

  assert {
    condition     = output.delivery_stream_name == run.pipeline_is_wired_in_data_flow_order.delivery_stream_name
    error_message = "An in-place change must keep the delivery stream."
  }
}

run "streaming_destination_waits_for_the_delivery_stream" {
  command = apply

  assert {
    condition     = tolist(module.table.change_stream_reader_arns) == tolist([output.delivery_stream_arn])
    error_message = "The table's streaming destination must be enabled only after the delivery stream (its reader) exists."
  }
}

run "transform_metrics_settings_reach_function_and_alarm" {
  command = apply

  variables {
    transform_metrics_namespace  = "Team/Archive"
    transform_metrics_dimensions = ["FunctionName"]
  }

  assert {
    condition     = module.transform.environment_variables.METRICS_NAMESPACE == "Team/Archive" && module.transform.environment_variables.METRICS_DIMENSIONS == "FunctionName"
    error_message = "The transform must publish in the configured namespace, with the configured dimensions."
  }

  assert {
    condition     = contains(keys(module.monitoring.alarm_arns), "change-archive-transform-processing-failed")
    error_message = "The processing-failed alarm must exist."
  }
}

run "catalog_projects_the_arrival_time_layout" {
  command = apply

  assert {
    condition     = module.catalog.storage_location_template == "s3://change-archive-archive-123456789012-us-east-1/changes/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
    error_message = "The catalog must read the archive bucket under archive_prefix, by arrival hour."
  }

  assert {
    condition = module.catalog.storage_location_template == "s3://${output.archive_bucket_name}/${replace(replace(replace(replace(
      local.archive_object_prefix,
      "!{timestamp:yyyy}", "$${year}"),
      "!{timestamp:MM}", "$${month}"),
      "!{timestamp:dd}", "$${day}"),
    "!{timestamp:HH}", "$${hour}")}"
    error_message = "The catalog's partitions must be the delivery stream's prefix, expression for expression."
  }
}

run "catalog_projects_the_dynamic_layout" {
  command = apply

  variables {
    delivery_dynamic_partitioning_enabled = true
    archive_prefix                        = "archive/changes/"
  }

  assert {
    condition     = module.catalog.storage_location_template == "s3://change-archive-archive-123456789012-us-east-1/archive/changes/table=$${archive_table}/date=$${event_date}/"
    error_message = "The catalog must read the archive bucket under archive_prefix, by table and event date."
  }

  assert {
    condition = module.catalog.storage_location_template == "s3://${output.archive_bucket_name}/${replace(replace(
      local.archive_object_prefix,
      "!{partitionKeyFromLambda:table_name}", "$${archive_table}"),
    "!{partitionKeyFromLambda:event_date}", "$${event_date}")}"
    error_message = "The catalog's partitions must be the delivery stream's prefix, expression for expression."
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
    enable_archive_catalog                = false
    archive_force_destroy                 = true
  }

  assert {
    condition     = output.alarm_topic_arn == null
    error_message = "No alarm topic on LocalStack."
  }

  assert {
    condition     = output.catalog_database_name == null && output.catalog_table_name == null
    error_message = "No catalog on LocalStack (no Glue there)."
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

run "error_prefix_inside_archive_prefix" {
  command = plan

  variables {
    error_prefix = "changes/errors/"
  }

  expect_failures = [output.error_prefix]
}

run "archive_prefix_inside_error_prefix" {
  command = plan

  variables {
    archive_prefix = "errors/changes/"
  }

  expect_failures = [output.error_prefix]
}

run "same_prefixes" {
  command = plan

  variables {
    archive_prefix = "data/"
    error_prefix   = "data/"
  }

  expect_failures = [output.error_prefix]
}

run "sibling_prefixes" {
  command = plan

  variables {
    archive_prefix = "data/changes/"
    error_prefix   = "data/changes-errors/"
  }

  assert {
    condition     = output.error_prefix == "data/changes-errors/"
    error_message = "Prefixes that share a parent but neither starts with the other must be accepted."
  }
}
