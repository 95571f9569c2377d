# The pipeline, in the order the data flows:
# table -> change stream -> delivery stream (+ transform function) -> archive bucket (+ its
# catalog table, for Athena); monitoring.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  archive_compressed = var.delivery_compression_format == "GZIP"
  file_extension     = local.archive_compressed ? ".jsonl.gz" : ".jsonl"
  archive_object_prefix = (
    var.delivery_dynamic_partitioning_enabled
    ? "${var.archive_prefix}${local.archive_dynamic_partition}"
    : "${var.archive_prefix}${local.archive_time_partition}"
  )
  error_object_prefix = "${var.error_prefix}${local.error_output_type}${local.archive_time_partition}"
}

################################################################################
# Table and its Kinesis streaming destination
################################################################################

module "table" {
  source = "./modules/dynamodb-table"

  name                            = local.names.table
  hash_key                        = var.table_key_schema.hash_key
  range_key                       = var.table_key_schema.range_key
  billing_mode                    = var.table_billing_mode
  read_capacity                   = var.table_read_capacity
  write_capacity                  = var.table_write_capacity
  point_in_time_recovery_enabled  = var.table_point_in_time_recovery_enabled
  deletion_protection_enabled     = var.table_deletion_protection_enabled
  server_side_encryption_enabled  = var.table_server_side_encryption_enabled
  kms_key_arn                     = var.table_kms_key_arn
  ttl_attribute_name              = var.table_ttl_attribute_name
  kinesis_stream_arn              = module.change_stream.stream_arn
  streaming_destination_precision = var.table_streaming_destination_precision
  # Enabled only once the delivery stream is ACTIVE: it starts reading at LATEST.
  change_stream_reader_arns                           = [module.delivery_stream.delivery_stream_arn]
  streaming_destination_precision_change_acknowledged = var.table_streaming_destination_precision_change_acknowledged
}

################################################################################
# Change stream
################################################################################

module "change_stream" {
  source = "./modules/kinesis-stream"

  name             = local.names.change_stream
  stream_mode      = var.change_stream_mode
  shard_count      = var.change_stream_shard_count
  retention_period = var.change_stream_retention_hours
  kms_key_id       = var.change_stream_kms_key_id
}

################################################################################
# Transform function
################################################################################

module "transform" {
  source = "./modules/transform-lambda"

  function_name      = local.names.transform
  role_name          = local.names.transform_role
  artifact_path      = var.transform_artifact_path
  handler            = local.transform_handler
  runtime            = local.transform_runtime
  architecture       = var.transform_architecture
  memory_size        = var.transform_memory_size
  timeout            = var.transform_timeout
  log_retention_days = var.log_retention_days

  environment_variables = {
    ARCHIVE_EVENT_NAMES = join(",", var.transform_archive_event_names)
    ARCHIVE_TABLE_NAMES = join(",", var.transform_archive_table_names)
    LOG_LEVEL           = var.transform_log_level
    METRICS_NAMESPACE   = var.transform_metrics_namespace
    METRICS_DIMENSIONS  = join(",", var.transform_metrics_dimensions)
  }
}

################################################################################
# Delivery stream
################################################################################

module "delivery_stream" {
  source = "./modules/firehose-delivery"

  name                         = local.names.delivery_stream
  role_name                    = local.names.delivery_role
  kinesis_stream_arn           = module.change_stream.stream_arn
  kinesis_stream_kms_key_arn   = module.change_stream.kms_key_arn
  processor_function_arn       = module.transform.function_arn
  processor_buffer_size        = var.delivery_processor_buffer_size
  processor_buffer_interval    = var.delivery_processor_buffer_interval
  processor_retries            = var.delivery_processor_retries
  bucket_arn                   = module.archive.bucket_arn
  bucket_kms_key_arn           = var.archive_kms_key_arn
  prefix                       = local.archive_object_prefix
  error_output_prefix          = local.error_object_prefix
  compression_format           = var.delivery_compression_format
  file_extension               = local.file_extension
  buffering_size               = var.delivery_buffering_size
  buffering_interval           = var.delivery_buffering_interval
  dynamic_partitioning_enabled = var.delivery_dynamic_partitioning_enabled
  replacement_drain_seconds    = var.delivery_replacement_drain_seconds
  log_group_name               = local.names.delivery_log_group
  log_retention_days           = var.log_retention_days
}

################################################################################
# Archive bucket
################################################################################

module "archive" {
  source = "./modules/archive-bucket"

  bucket_name                        = local.names.archive_bucket
  force_destroy                      = var.archive_force_destroy
  kms_key_arn                        = var.archive_kms_key_arn
  transition_days                    = var.archive_transition_days
  transition_storage_class           = var.archive_transition_storage_class
  readable_by_athena                 = var.enable_archive_catalog
  expiration_days                    = var.archive_expiration_days
  noncurrent_version_expiration_days = var.archive_noncurrent_version_expiration_days
}

################################################################################
# Archive catalog (Glue database and table, for Athena)
################################################################################

module "catalog" {
  source = "./modules/archive-catalog"

  enable_catalog               = var.enable_archive_catalog
  database_name                = local.names.catalog_database
  table_name                   = local.names.catalog_table
  bucket_name                  = module.archive.bucket_name
  prefix                       = var.archive_prefix
  compressed                   = local.archive_compressed
  dynamic_partitioning_enabled = var.delivery_dynamic_partitioning_enabled
  source_table_names           = [module.table.table_name]
  projection_first_year        = var.archive_catalog_first_year
  projection_last_year         = var.archive_catalog_last_year
}

################################################################################
# Archive queries (Athena workgroup and the change-log views, one SQL source with the CLI)
################################################################################

module "queries" {
  source = "./modules/archive-queries"

  enable_queries      = var.enable_archive_queries && var.enable_archive_catalog
  workgroup_name      = local.names.query_workgroup
  results_bucket_name = local.names.query_results
  database_name       = module.catalog.database_name
  table_name          = module.catalog.table_name
  force_destroy       = var.archive_force_destroy
}

################################################################################
# Monitoring
################################################################################

module "monitoring" {
  source = "./modules/monitoring"

  enable_alarms                    = var.enable_alarms
  enable_alarm_topic               = var.enable_alarm_topic
  enable_dashboard                 = var.enable_dashboard
  name_prefix                      = local.names.alarm_prefix
  alarm_topic_name                 = local.names.alarm_topic
  alarm_topic_kms_key_id           = var.alarm_topic_kms_key_id
  dashboard_name                   = local.names.dashboard
  alarm_actions                    = var.alarm_actions
  table_name                       = module.table.table_name
  change_stream_name               = module.change_stream.stream_name
  function_name                    = module.transform.function_name
  delivery_stream_name             = module.delivery_stream.delivery_stream_name
  iterator_age_threshold_ms        = var.alarm_iterator_age_threshold_ms
  data_freshness_threshold_seconds = var.alarm_data_freshness_threshold_seconds
  processing_failed_period_seconds = var.alarm_processing_failed_period_seconds
  transform_metrics_namespace      = var.transform_metrics_namespace
  transform_metrics_dimensions     = var.transform_metrics_dimensions
}
