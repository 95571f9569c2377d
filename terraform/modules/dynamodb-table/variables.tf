################################################################################
# Table
################################################################################

variable "name" {
  description = "Name of the table."
  type        = string
}

variable "hash_key" {
  description = "Partition key: attribute name and type (S, N or B)."
  type = object({
    name = string
    type = string
  })
  nullable = false

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key.type must be S, N or B."
  }
}

variable "range_key" {
  description = "Sort key: attribute name and type (S, N or B); null for a table without one."
  type = object({
    name = string
    type = string
  })
  default = null

  validation {
    condition     = var.range_key == null || contains(["S", "N", "B"], try(var.range_key.type, ""))
    error_message = "range_key.type must be S, N or B."
  }
}

variable "billing_mode" {
  description = "Valid values are PAY_PER_REQUEST and PROVISIONED (then set read_capacity and write_capacity)."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units; only with billing_mode = PROVISIONED."
  type        = number
  default     = null

  validation {
    condition     = var.read_capacity == null || try(var.read_capacity >= 1, false)
    error_message = "read_capacity must be at least 1 (or null)."
  }
}

variable "write_capacity" {
  description = "Write capacity units; only with billing_mode = PROVISIONED."
  type        = number
  default     = null

  validation {
    condition     = var.write_capacity == null || try(var.write_capacity >= 1, false)
    error_message = "write_capacity must be at least 1 (or null)."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Enable point-in-time recovery."
  type        = bool
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Protect the table from deletion."
  type        = bool
  nullable    = false
}

variable "server_side_encryption_enabled" {
  description = "Encrypt with a KMS key (kms_key_arn, or the AWS managed key alias/aws/dynamodb when null); false keeps the AWS owned key."
  type        = bool
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "ttl_attribute_name" {
  description = "Attribute holding each item's expiry time (epoch seconds); null leaves TTL off."
  type        = string
  default     = null
}

################################################################################
# Kinesis streaming destination
################################################################################

variable "kinesis_stream_arn" {
  description = "ARN of the Kinesis data stream DynamoDB writes the table's change records to."
  type        = string
}

variable "streaming_destination_precision" {
  description = "Precision of ApproximateCreationDateTime in the change records. Valid values are MILLISECOND and MICROSECOND; null leaves DynamoDB's default."
  type        = string

  validation {
    condition     = var.streaming_destination_precision == null || contains(["MILLISECOND", "MICROSECOND"], coalesce(var.streaming_destination_precision, "-"))
    error_message = "streaming_destination_precision must be MILLISECOND, MICROSECOND or null."
  }
}

variable "streaming_destination_precision_change_acknowledged" {
  description = "Set to the new streaming_destination_precision to change it on a deployed table: that replaces the streaming destination, and changes made in between are not captured (run `pipeline backfill` afterwards). null refuses any change of precision; remove it only in a plan that leaves the precision alone."
  type        = string
  default     = null

  validation {
    condition     = var.streaming_destination_precision_change_acknowledged == null || contains(["MILLISECOND", "MICROSECOND"], coalesce(var.streaming_destination_precision_change_acknowledged, "-"))
    error_message = "streaming_destination_precision_change_acknowledged must be MILLISECOND, MICROSECOND or null."
  }
}

variable "change_stream_reader_arns" {
  description = "ARNs of what reads the change stream (the delivery stream). The streaming destination is enabled only after they exist: a Kinesis-sourced delivery stream starts at the stream's LATEST position, so changes written before it exists would never be read."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.change_stream_reader_arns) > 0
    error_message = "change_stream_reader_arns must name at least one reader of the change stream (the delivery stream)."
  }
}

variable "tags" {
  description = "Tags of the table."
  type        = map(string)
  default     = {}
  nullable    = false
}
