output "table_name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table."
  value       = aws_dynamodb_table.this.arn
}

output "table_hash_key" {
  description = "Name of the partition key attribute."
  value       = aws_dynamodb_table.this.hash_key
}

output "table_range_key" {
  description = "Name of the sort key attribute; null if the table has none."
  value       = try(var.range_key.name, null)
}

output "streaming_destination_stream_arn" {
  description = "ARN of the Kinesis data stream the table streams its changes to."
  value       = aws_dynamodb_kinesis_streaming_destination.this.stream_arn
}

output "change_stream_reader_arns" {
  description = "ARNs of the change stream's readers the streaming destination waited for."
  value       = terraform_data.change_stream_readers.output
}
