################################################################################
# Delivery stream
################################################################################

variable "name" {
  description = "Base name of the delivery stream, which is named <name>-<8 hex digits of a hash of its force-new settings>, so that a replacement can run beside the stream it replaces (at most 55 characters: Firehose allows 64)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,55}$", var.name))
    error_message = "name must be 1-55 characters of letters, digits, _ . and - (the 9-character suffix takes it to Firehose's 64 at most)."
  }
}

variable "kinesis_stream_arn" {
  description = "ARN of the Kinesis data stream the delivery stream reads (its source)."
  type        = string
}

variable "kinesis_stream_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the source stream; null if it is unencrypted. The role may decrypt with this key only."
  type        = string
  default     = null
}

################################################################################
# Processor (Lambda)
################################################################################

variable "processor_function_arn" {
  description = "ARN of the Lambda function that transforms each batch."
  type        = string
}

# Lambda processor hints: size 0.2-3 MB, interval 0-900 s (firehose/latest/dev/data-transformation.html).
variable "processor_buffer_size" {
  description = "MB of source records buffered before each invocation (0.2 to 3)."
  type        = number
  nullable    = false

  validation {
    condition     = var.processor_buffer_size >= 0.2 && var.processor_buffer_size <= 3
    error_message = "processor_buffer_size must be between 0.2 and 3."
  }
}

variable "processor_buffer_interval" {
  description = "Seconds source records are buffered before each invocation (0 to 900)."
  type        = number
  nullable    = false

  validation {
    condition     = var.processor_buffer_interval >= 0 && var.processor_buffer_interval <= 900
    error_message = "processor_buffer_interval must be between 0 and 900."
  }
}

variable "processor_retries" {
  description = "Retries of a failed invocation before the batch goes to the error prefix (a whole number, 0 or more; Firehose's default is 3)."
  type        = number
  nullable    = false

  # No upper bound here: none is documented in the Firehose API or developer guide.
  validation {
    condition     = var.processor_retries >= 0 && floor(var.processor_retries) == var.processor_retries
    error_message = "processor_retries must be a whole number, 0 or more."
  }
}

################################################################################
# S3 destination
################################################################################

variable "bucket_arn" {
  description = "ARN of the destination bucket."
  type        = string
}

variable "bucket_kms_key_arn" {
  description = "ARN of the KMS key the bucket encrypts with (SSE-KMS); null for SSE-S3."
  type        = string
  default     = null
}

variable "prefix" {
  description = "Key prefix of delivered objects; may hold !{timestamp:...} and, with dynamic partitioning, !{partitionKeyFromLambda:...} expressions."
  type        = string
}

variable "error_output_prefix" {
  description = "Key prefix of records that failed processing or delivery; must contain !{firehose:error-output-type}."
  type        = string

  validation {
    condition     = strcontains(var.error_output_prefix, "!{firehose:error-output-type}")
    error_message = "error_output_prefix must contain !{firehose:error-output-type}."
  }
}

variable "compression_format" {
  description = "Compression of delivered objects. Valid values are GZIP and UNCOMPRESSED."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["GZIP", "UNCOMPRESSED"], var.compression_format)
    error_message = "compression_format must be GZIP or UNCOMPRESSED."
  }
}

variable "file_extension" {
  description = "Extension of delivered objects, starting with a dot (e.g. .jsonl.gz)."
  type        = string

  validation {
    condition     = can(regex("^\\.[0-9a-z!\\-_.*'()]+$", var.file_extension)) && length(var.file_extension) <= 128
    error_message = "file_extension must start with a dot and hold only lowercase letters, digits and !-_.*'() (at most 128 characters)."
  }
}

variable "buffering_size" {
  description = "MB buffered before an object is written (1 to 128; at least 64 with dynamic partitioning)."
  type        = number
  nullable    = false

  validation {
    condition     = var.buffering_size >= 1 && var.buffering_size <= 128
    error_message = "buffering_size must be between 1 and 128."
  }
}

variable "buffering_interval" {
  description = "Seconds buffered before an object is written (0 to 900)."
  type        = number
  nullable    = false

  validation {
    condition     = var.buffering_interval >= 0 && var.buffering_interval <= 900
    error_message = "buffering_interval must be between 0 and 900."
  }
}

variable "dynamic_partitioning_enabled" {
  description = "Partition objects by the processor's metadata.partitionKeys (the prefix must use !{partitionKeyFromLambda:...}; needs buffering_size >= 64 and buffering_interval > 0). Changing it replaces the delivery stream."
  type        = bool
  nullable    = false
}

################################################################################
# IAM and logs
################################################################################

variable "replacement_drain_seconds" {
  description = "Seconds a replaced delivery stream keeps running after its successor is ACTIVE, to deliver what it has buffered (at least processor_buffer_interval + buffering_interval; add the transform's run time). `terraform destroy` waits this long too before deleting the stream; creation does not wait."
  type        = number
  nullable    = false

  validation {
    condition     = var.replacement_drain_seconds >= 0 && floor(var.replacement_drain_seconds) == var.replacement_drain_seconds
    error_message = "replacement_drain_seconds must be a whole number, 0 or more."
  }
}

variable "role_name" {
  description = "Name of the role the delivery stream assumes."
  type        = string
}

variable "log_group_name" {
  description = "Name of the log group for delivery and processing errors."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the error log group, in days. Valid values are 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 and 3653."
  type        = number
  nullable    = false
}

variable "tags" {
  description = "Tags of every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}
