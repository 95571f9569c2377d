################################################################################
# What to create
################################################################################

variable "enable_alarms" {
  description = "Create the alarms."
  type        = bool
  nullable    = false
}

variable "enable_alarm_topic" {
  description = "Create an SNS topic the alarms notify (only with enable_alarms)."
  type        = bool
  nullable    = false
}

variable "enable_dashboard" {
  description = "Create the dashboard."
  type        = bool
  nullable    = false
}

variable "name_prefix" {
  description = "Prefix of the alarm names."
  type        = string
}

variable "alarm_topic_name" {
  description = "Name of the SNS topic."
  type        = string
}

variable "alarm_topic_kms_key_id" {
  description = "Customer managed KMS key of the topic (its key policy must let cloudwatch.amazonaws.com use it); null leaves the topic unencrypted, because CloudWatch cannot publish to a topic under the AWS managed key alias/aws/sns."
  type        = string
  default     = null
}

variable "dashboard_name" {
  description = "Name of the dashboard."
  type        = string
}

variable "alarm_actions" {
  description = "Extra ARNs the alarms notify."
  type        = list(string)
  nullable    = false
}

################################################################################
# Watched resources
################################################################################

variable "table_name" {
  description = "Name of the DynamoDB table (its Kinesis streaming destination's throttling)."
  type        = string
}

variable "change_stream_name" {
  description = "Name of the Kinesis data stream."
  type        = string
}

variable "function_name" {
  description = "Name of the transform function."
  type        = string
}

variable "delivery_stream_name" {
  description = "Name of the Firehose delivery stream."
  type        = string
}

################################################################################
# Thresholds
################################################################################

variable "iterator_age_threshold_ms" {
  description = "Alarm when GetRecords.IteratorAgeMilliseconds of the change stream exceeds this."
  type        = number
  nullable    = false

  validation {
    condition     = var.iterator_age_threshold_ms > 0
    error_message = "iterator_age_threshold_ms must be positive."
  }
}

variable "data_freshness_threshold_seconds" {
  description = "Alarm when DeliveryToS3.DataFreshness of the delivery stream exceeds this."
  type        = number
  nullable    = false

  validation {
    condition     = var.data_freshness_threshold_seconds > 0
    error_message = "data_freshness_threshold_seconds must be positive."
  }
}

variable "tags" {
  description = "Tags of the alarms and the topic."
  type        = map(string)
  default     = {}
  nullable    = false
}
