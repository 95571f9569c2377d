output "delivery_stream_name" {
  description = "Name of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "ARN of the delivery stream."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "role_arn" {
  description = "ARN of the role the delivery stream assumes."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the delivery stream's error log group."
  value       = aws_cloudwatch_log_group.this.name
}
