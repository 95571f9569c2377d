output "workgroup_name" {
  description = "Name of the Athena workgroup for archive queries; null if none was created."
  value       = try(aws_athena_workgroup.this[0].name, null)
}

output "results_bucket_name" {
  description = "Name of the bucket holding the workgroup's query results; null if none was created."
  value       = try(aws_s3_bucket.results[0].bucket, null)
}

output "named_query_ids" {
  description = "IDs of the named queries by name (create_change_log_view, create_distinct_changes_view, create_latest_state_view, state_as_of); empty if none were created."
  value       = { for name, query in aws_athena_named_query.this : name => query.id }
}
