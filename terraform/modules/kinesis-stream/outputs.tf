output "stream_name" {
  description = "Name of the stream."
  value       = aws_kinesis_stream.this.name
}

output "stream_arn" {
  description = "ARN of the stream."
  value       = aws_kinesis_stream.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the stream; null if it is unencrypted."
  value       = try(data.aws_kms_key.this[0].arn, null)
}
