# The one place resource names are made.
locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  names = {
    table              = "${var.name_prefix}-table"
    change_stream      = "${var.name_prefix}-changes"
    transform          = "${var.name_prefix}-transform"
    transform_role     = "${var.name_prefix}-transform-${local.region}"
    delivery_stream    = "${var.name_prefix}-delivery"
    delivery_role      = "${var.name_prefix}-delivery-${local.region}"
    delivery_log_group = "/aws/kinesisfirehose/${var.name_prefix}-delivery"
    archive_bucket     = "${var.name_prefix}-archive-${local.account_id}-${local.region}"
    alarm_topic        = "${var.name_prefix}-alarms"
    alarm_prefix       = "${var.name_prefix}"
    dashboard          = "${var.name_prefix}"
    catalog_database   = "${replace(var.name_prefix, "-", "_")}" # Glue/Athena: a-z, 0-9 and _ only
    catalog_table      = "changes"
    query_workgroup    = "${var.name_prefix}-archive"
    query_results      = "${var.name_prefix}-athena-results-${local.account_id}-${local.region}"
  }

  # Transform function: fixed by the artifact `make package` builds.
  transform_handler = "transform_lambda.handler.lambda_handler"
  transform_runtime = "python3.13"

  # Firehose prefix layouts, appended to var.archive_prefix / var.error_prefix.
  # Default: arrival-time partitions (UTC).
  archive_time_partition = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
  # With dynamic partitioning: the transform's metadata.partitionKeys.
  archive_dynamic_partition = "table=!{partitionKeyFromLambda:table_name}/date=!{partitionKeyFromLambda:event_date}/"
  # Error objects: processing-failed/, ... then the arrival-time partitions.
  error_output_type = "!{firehose:error-output-type}/"
}
