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

variable "processing_failed_period_seconds" {
  description = "Period of the alarm on the transform's ProcessingFailed records, in seconds (a multiple of 60): it fires when any record failed within one period."
  type        = number
  nullable    = false

  validation {
    condition     = var.processing_failed_period_seconds >= 60 && var.processing_failed_period_seconds % 60 == 0
    error_message = "processing_failed_period_seconds must be a multiple of 60 (standard-resolution metrics)."
  }
}

################################################################################
# The transform's metrics (Embedded Metric Format)
################################################################################

variable "transform_metrics_namespace" {
  description = "CloudWatch namespace the transform publishes its metrics in (its METRICS_NAMESPACE)."
  type        = string
  nullable    = false

  # PutMetricData's Namespace: 1-255 characters of [0-9A-Za-z.-_/#:], not starting with AWS/.
  validation {
    condition     = can(regex("^[0-9A-Za-z.\\-_/#:]{1,255}$", var.transform_metrics_namespace)) && !startswith(var.transform_metrics_namespace, "AWS/")
    error_message = "transform_metrics_namespace must be 1-255 characters of letters, digits and . - _ / # :, not starting with AWS/."
  }
}

variable "transform_metrics_dimensions" {
  description = "Dimensions the transform puts on its metrics (its METRICS_DIMENSIONS), from DeliveryStreamName and FunctionName; empty for none."
  type        = list(string)
  nullable    = false

  validation {
    condition     = alltrue([for name in var.transform_metrics_dimensions : contains(["DeliveryStreamName", "FunctionName"], name)]) && length(distinct(var.transform_metrics_dimensions)) == length(var.transform_metrics_dimensions)
    error_message = "transform_metrics_dimensions must list DeliveryStreamName and/or FunctionName, each at most once."
  }
}

variable "tags" {
  description = "Tags of the alarms and the topic."
  type        = map(string)
  default     = {}
  nullable    = false
}
