# Exact names are part of the cross-team contract: change_archive.stack reads `terraform output -json`.

output "region" {
  description = "Region the stack is deployed in."
  value       = local.region
}

################################################################################
# Table
################################################################################

output "table_name" {
  description = "Name of the DynamoDB table whose changes are archived."
  value       = module.table.table_name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = module.table.table_arn
}

output "table_hash_key" {
  description = "Name of the table's partition (hash) key attribute."
  value       = module.table.table_hash_key
}

output "table_range_key" {
  description = "Name of the table's sort (range) key attribute; null if the table has none."
  value       = module.table.table_range_key
}

################################################################################
# Change stream
################################################################################

output "change_stream_name" {
  description = "Name of the Kinesis data stream DynamoDB writes change records to."
  value       = module.change_stream.stream_name
}

output "change_stream_arn" {
  description = "ARN of the change stream."
  value       = module.change_stream.stream_arn
}

################################################################################
# Transform function
################################################################################

output "transform_function_name" {
  description = "Name of the transform Lambda function (the delivery stream's processor)."
  value       = module.transform.function_name
}

output "transform_function_arn" {
  description = "ARN of the transform Lambda function."
  value       = module.transform.function_arn
}

################################################################################
# Delivery stream
################################################################################

output "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  value       = module.delivery_stream.delivery_stream_name
}

output "delivery_stream_arn" {
  description = "ARN of the Firehose delivery stream."
  value       = module.delivery_stream.delivery_stream_arn
}

################################################################################
# Archive
################################################################################

output "archive_bucket_name" {
  description = "Name of the S3 bucket holding the archive."
  value       = module.archive.bucket_name
}

output "archive_bucket_arn" {
  description = "ARN of the archive bucket."
  value       = module.archive.bucket_arn
}

output "archive_prefix" {
  description = "Key prefix of the archived change records."
  value       = var.archive_prefix
}

output "error_prefix" {
  description = "Key prefix of records the delivery stream could not process or deliver."
  value       = var.error_prefix

  # Checked here because it takes both variables (validation rules may not refer to other
  # variables before Terraform 1.9).
  precondition {
    condition     = !startswith(var.archive_prefix, var.error_prefix) && !startswith(var.error_prefix, var.archive_prefix)
    error_message = "error_prefix and archive_prefix must not overlap (neither may start with the other): readers of the archive would see error objects, or the reverse."
  }
}

################################################################################
# Archive catalog
################################################################################

output "catalog_database_name" {
  description = "Name of the Glue database holding the archive table; null if enable_archive_catalog is false."
  value       = module.catalog.database_name
}

output "catalog_table_name" {
  description = "Name of the Glue table over the archive (query it with Athena as <catalog_database_name>.<catalog_table_name>); null if enable_archive_catalog is false."
  value       = module.catalog.table_name
}

################################################################################
# Archive queries
################################################################################

output "athena_workgroup_name" {
  description = "Athena workgroup for archive queries (named queries create the views change_log, distinct_changes, latest_state); null if enable_archive_queries or enable_archive_catalog is false."
  value       = module.queries.workgroup_name
}

output "athena_results_bucket_name" {
  description = "Bucket holding the Athena workgroup's query results (they expire); null if no workgroup was created."
  value       = module.queries.results_bucket_name
}

################################################################################
# Monitoring
################################################################################

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify; null if none was created."
  value       = module.monitoring.alarm_topic_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard; null if none was created."
  value       = module.monitoring.dashboard_name
}
