variable "name" {
  description = "Name of the stream."
  type        = string
}

variable "stream_mode" {
  description = "Capacity mode. Valid values are ON_DEMAND and PROVISIONED (then set shard_count)."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Number of shards; only with stream_mode = PROVISIONED."
  type        = number
  default     = null

  validation {
    condition     = var.shard_count == null || try(var.shard_count >= 1 && floor(var.shard_count) == var.shard_count, false)
    error_message = "shard_count must be a whole number of at least 1 (or null)."
  }
}

variable "retention_period" {
  description = "Hours the stream keeps records (24 to 8760)."
  type        = number
  nullable    = false

  validation {
    condition     = var.retention_period >= 24 && var.retention_period <= 8760
    error_message = "retention_period must be between 24 and 8760."
  }
}

variable "kms_key_id" {
  description = "KMS key that encrypts the stream: alias (e.g. the AWS managed alias/aws/kinesis), key ID or ARN. null leaves the stream unencrypted. A customer managed key's policy must delegate to IAM: DynamoDB writes through its service-linked role, whose only KMS grant is an IAM policy."
  type        = string
}

variable "tags" {
  description = "Tags of the stream."
  type        = map(string)
  default     = {}
  nullable    = false
}
