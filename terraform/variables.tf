################################################################################
# General
#
# The end-to-end stack on a bare LocalStack is created from Terraform's own plan of this module
# (tests/e2e/terraform_plan.py), so nothing here needs to be a literal. Each validation rule lives
# in the module that uses the value and is tested there (a root test cannot expect_failures a
# module's variable, hashicorp/terraform#34951); only values no single module takes are checked
# here.
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name (lowercase letters, digits and hyphens; 3-24 characters, so the archive bucket name stays within S3's 63)."
  type        = string
  default     = "change-archive"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "AWS region to deploy to. null uses the provider's environment (AWS_REGION / AWS_DEFAULT_REGION, or the profile's region)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Optional parts (LocalStack community switches these off: see localstack.tfvars)
################################################################################

variable "enable_alarms" {
  description = "Create the CloudWatch alarms on every link of the pipeline."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_alarm_topic" {
  description = "Create an SNS topic that the alarms notify (subscribe to it yourself). Off, or with enable_alarms off, only alarm_actions are notified."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_dashboard" {
  description = "Create a CloudWatch dashboard of the pipeline's metrics."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_archive_catalog" {
  description = "Create a Glue Data Catalog database and table over the archive (Athena partition projection), so that Athena queries it directly."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_archive_queries" {
  description = "Create an Athena workgroup (engine v3, encrypted results that expire) and the named queries of the change-log views (change_log, distinct_changes, latest_state, state_as_of); needs enable_archive_catalog."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Table (DynamoDB) and its Kinesis streaming destination
################################################################################

variable "table_key_schema" {
  description = "Primary key of the table. Attribute types: S (string), N (number) or B (binary). range_key is optional."
  type = object({
    hash_key = object({
      name = string
      type = string
    })
    range_key = optional(object({
      name = string
      type = string
    }))
  })
  default = {
    hash_key = {
      name = "pk"
      type = "S"
    }
    range_key = {
      name = "sk"
      type = "S"
    }
  }
  nullable = false
}

variable "table_billing_mode" {
  description = "Billing mode of the table. Valid values are PAY_PER_REQUEST (on demand) and PROVISIONED (then set table_read_capacity and table_write_capacity)."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false
}

variable "table_read_capacity" {
  description = "Read capacity units of the table; only with table_billing_mode = PROVISIONED."
  type        = number
  default     = null
}

variable "table_write_capacity" {
  description = "Write capacity units of the table; only with table_billing_mode = PROVISIONED."
  type        = number
  default     = null
}

variable "table_point_in_time_recovery_enabled" {
  description = "Enable point-in-time recovery (continuous backups) of the table."
  type        = bool
  default     = true
  nullable    = false
}

variable "table_deletion_protection_enabled" {
  description = "Protect the table from deletion (turn off before `make destroy`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "table_server_side_encryption_enabled" {
  description = "Encrypt the table with a KMS key: table_kms_key_arn, or the AWS managed key alias/aws/dynamodb when that is null. false leaves DynamoDB's default encryption with an AWS owned key."
  type        = bool
  default     = true
  nullable    = false
}

variable "table_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the table; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "table_ttl_attribute_name" {
  description = "Attribute holding each item's expiry time (epoch seconds) for DynamoDB TTL; null leaves TTL off. TTL deletions are archived with is_ttl_delete = true."
  type        = string
  default     = null
}

variable "table_streaming_destination_precision" {
  description = "Precision of ApproximateCreationDateTime in the change records DynamoDB writes to the change stream. Valid values are MILLISECOND and MICROSECOND; null leaves DynamoDB's default (LocalStack does not report it back)."
  type        = string
  default     = "MICROSECOND"
}

variable "table_streaming_destination_precision_change_acknowledged" {
  description = "Set to the new table_streaming_destination_precision to change it on a deployed stack: that replaces the streaming destination, and changes made meanwhile are not captured (run `pipeline backfill` afterwards). null refuses any change of precision; remove it only in a plan that leaves the precision alone."
  type        = string
  default     = null
}

################################################################################
# Change stream (Kinesis data stream)
################################################################################

variable "change_stream_mode" {
  description = "Capacity mode of the change stream. Valid values are ON_DEMAND and PROVISIONED (then set change_stream_shard_count)."
  type        = string
  default     = "ON_DEMAND"
  nullable    = false
}

variable "change_stream_shard_count" {
  description = "Number of shards of the change stream; only with change_stream_mode = PROVISIONED."
  type        = number
  default     = null
}

variable "change_stream_retention_hours" {
  description = "How long the change stream keeps records, in hours (24 to 8760)."
  type        = number
  default     = 24
  nullable    = false
}

# A customer managed key: DynamoDB writes change records through its service-linked role
# AWSServiceRoleForDynamoDBKinesisDataStreamsReplication, whose policy allows kms:GenerateDataKey
# via Kinesis on any key (aws-managed-policy DynamoDBKinesisReplicationServiceRolePolicy). That IAM
# grant counts only if the key policy delegates to IAM (a statement allowing the account root
# kms:*, as the default key policy does); a key policy that names principals one by one silently
# stops the streaming destination. Whoever applies needs, besides the Kinesis and DynamoDB
# management actions, kinesis:ListStreams, kinesis:PutRecords and kinesis:DescribeStream to enable
# the destination (DynamoDB Developer Guide, "Using IAM policies for Amazon Kinesis Data Streams and
# Amazon DynamoDB"), and iam:CreateServiceLinkedRole for that role the first time
# (terraform/deployer-policy.json has them all). The delivery stream's role gets kms:Decrypt on the key.
variable "change_stream_kms_key_id" {
  description = "KMS key that encrypts the change stream: an alias (default: the AWS managed key alias/aws/kinesis), key ID or ARN. null leaves the stream unencrypted (LocalStack only). A customer managed key's policy must delegate to IAM (README.md, \"Customer managed key on the change stream\")."
  type        = string
  default     = "alias/aws/kinesis"
}

################################################################################
# Transform function (Lambda, the delivery stream's processor)
################################################################################

variable "transform_artifact_path" {
  description = "Path of the transform's deployment package (built by `make package`), relative to the root module directory or absolute."
  type        = string
  default     = "../dist/transform_lambda.zip"
  nullable    = false
}

variable "transform_architecture" {
  description = "Instruction set of the transform function; must match the artifact (make package ARCH=...). Valid values are arm64 and x86_64."
  type        = string
  default     = "arm64"
  nullable    = false
}

variable "transform_memory_size" {
  description = "Memory of the transform function in MB (128 to 10240)."
  type        = number
  default     = 512
  nullable    = false
}

variable "transform_timeout" {
  description = "Timeout of the transform function in seconds (1 to 300: Firehose invokes a processor for at most 5 minutes)."
  type        = number
  default     = 180
  nullable    = false
}

variable "transform_archive_event_names" {
  description = "Change kinds the transform archives (ARCHIVE_EVENT_NAMES); others come back Dropped. Valid values are INSERT, MODIFY and REMOVE."
  type        = list(string)
  default     = ["INSERT", "MODIFY", "REMOVE"]
  nullable    = false

  validation {
    condition     = length(var.transform_archive_event_names) > 0 && alltrue([for name in var.transform_archive_event_names : contains(["INSERT", "MODIFY", "REMOVE"], name)])
    error_message = "transform_archive_event_names must be a non-empty list of INSERT, MODIFY and REMOVE."
  }
}

variable "transform_archive_table_names" {
  description = "Tables whose changes the transform archives (ARCHIVE_TABLE_NAMES); empty archives every table."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "transform_log_level" {
  description = "Log level of the transform function (LOG_LEVEL). Valid values are DEBUG, INFO, WARNING and ERROR."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.transform_log_level)
    error_message = "transform_log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "transform_metrics_namespace" {
  description = "CloudWatch namespace of the transform's metrics (METRICS_NAMESPACE; Embedded Metric Format in its summary log line), which the processing-failed alarm and the dashboard read."
  type        = string
  default     = "DynamoDBChangeArchive"
  nullable    = false
}

variable "transform_metrics_dimensions" {
  description = "Dimensions of the transform's metrics (METRICS_DIMENSIONS), from DeliveryStreamName and FunctionName; empty for none."
  type        = list(string)
  default     = ["DeliveryStreamName", "FunctionName"]
  nullable    = false
}

variable "log_retention_days" {
  description = "Retention of the transform's and the delivery stream's log groups, in days. Valid values are 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 and 3653."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# Delivery stream (Amazon Data Firehose)
################################################################################

variable "delivery_compression_format" {
  description = "Compression of the archive objects. Valid values are GZIP (objects end .jsonl.gz) and UNCOMPRESSED (.jsonl)."
  type        = string
  default     = "GZIP"
  nullable    = false
}

variable "delivery_buffering_size" {
  description = "MB of transformed records the delivery stream buffers before writing an object (1 to 128; at least 64 with dynamic partitioning)."
  type        = number
  default     = 64
  nullable    = false
}

variable "delivery_buffering_interval" {
  description = "Seconds the delivery stream buffers before writing an object (0 to 900)."
  type        = number
  default     = 60
  nullable    = false
}

variable "delivery_dynamic_partitioning_enabled" {
  description = "Partition the archive by the transform's partition keys (table=<table_name>/date=<event_date>/) instead of by arrival hour. Needs delivery_buffering_size >= 64 and delivery_buffering_interval > 0; changing it replaces the delivery stream."
  type        = bool
  default     = false
  nullable    = false
}

variable "delivery_replacement_drain_seconds" {
  description = "Seconds a replaced delivery stream keeps running beside its successor, to deliver what it has buffered before it is deleted (at least delivery_processor_buffer_interval + delivery_buffering_interval; add the transform's run time). `terraform destroy` waits this long too before deleting the stream; creation does not wait."
  type        = number
  default     = 300
  nullable    = false
}

variable "delivery_processor_buffer_size" {
  description = "MB of source records the delivery stream buffers before invoking the transform (0.2 to 3; Firehose's default is 1)."
  type        = number
  default     = 1
  nullable    = false
}

variable "delivery_processor_buffer_interval" {
  description = "Seconds the delivery stream buffers source records before invoking the transform (0 to 900; Firehose's default is 60)."
  type        = number
  default     = 60
  nullable    = false
}

variable "delivery_processor_retries" {
  description = "Times the delivery stream retries a failed transform invocation before it writes the batch to the error prefix (a whole number, 0 or more)."
  type        = number
  default     = 3
  nullable    = false
}

################################################################################
# Archive (S3 bucket)
################################################################################

variable "archive_prefix" {
  description = "Key prefix of the archived change records; ends with /."
  type        = string
  default     = "changes/"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()-][a-zA-Z0-9!_.*'()/-]*/$", var.archive_prefix))
    error_message = "archive_prefix must be a non-empty S3 key prefix of safe characters (letters, digits, !_.*'()-/), not starting with / and ending with /."
  }
}

variable "error_prefix" {
  description = "Key prefix of records the delivery stream could not process or deliver; ends with /. Must not overlap archive_prefix."
  type        = string
  default     = "errors/"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()-][a-zA-Z0-9!_.*'()/-]*/$", var.error_prefix))
    error_message = "error_prefix must be a non-empty S3 key prefix of safe characters (letters, digits, !_.*'()-/), not starting with / and ending with /."
  }
}

variable "archive_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the archive with (SSE-KMS with an S3 Bucket Key); null uses S3-managed keys (SSE-S3)."
  type        = string
  default     = null
}

variable "archive_transition_days" {
  description = "Days after which archive objects move to archive_transition_storage_class; null keeps them in STANDARD."
  type        = number
  default     = 90
}

variable "archive_transition_storage_class" {
  description = "Storage class archive objects move to. Valid values are STANDARD_IA (archive_transition_days at least 30), INTELLIGENT_TIERING, GLACIER_IR, GLACIER and DEEP_ARCHIVE (the last two only with enable_archive_catalog off: Athena cannot read them)."
  type        = string
  default     = "STANDARD_IA"
  nullable    = false
}

variable "archive_expiration_days" {
  description = "Days after which archive objects expire (after archive_transition_days); null keeps them forever."
  type        = number
  default     = null
}

variable "archive_noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted versions of archive objects are removed."
  type        = number
  default     = 30
  nullable    = false
}

variable "archive_force_destroy" {
  description = "Let `terraform destroy` delete the archive bucket with every object in it."
  type        = bool
  default     = false
  nullable    = false
}

################################################################################
# Archive catalog (Glue Data Catalog table for Athena)
################################################################################

# 2026..2035: no archive predates this project (2026); ten arrival years, 89,280 hour prefixes if unfiltered.
variable "archive_catalog_first_year" {
  description = "First year the archive table projects partitions for (arrival year, or event date with dynamic partitioning); no archive object is older than the stack."
  type        = number
  default     = 2026
  nullable    = false
}

variable "archive_catalog_last_year" {
  description = "Last arrival year the archive table projects partitions for (at most archive_catalog_first_year + 19); unused with dynamic partitioning, whose dates run up to today. Plans warn from the start of this year: raise it then, or later arrivals are not queryable."
  type        = number
  default     = 2035
  nullable    = false
}

################################################################################
# Monitoring
################################################################################

variable "alarm_actions" {
  description = "Extra ARNs (SNS topics, ...) the alarms notify, besides the alarm topic."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "alarm_topic_kms_key_id" {
  description = "Customer managed KMS key for the alarm topic (its key policy must let cloudwatch.amazonaws.com use it); null leaves the topic unencrypted, as CloudWatch cannot publish to a topic under the AWS managed key alias/aws/sns."
  type        = string
  default     = null
}

variable "alarm_iterator_age_threshold_ms" {
  description = "Alarm when the oldest unread change record in the change stream is older than this (milliseconds)."
  type        = number
  default     = 600000
  nullable    = false
}

variable "alarm_processing_failed_period_seconds" {
  description = "Alarm when the transform marks any change record ProcessingFailed within this many seconds (a multiple of 60)."
  type        = number
  default     = 300
  nullable    = false
}

variable "alarm_data_freshness_threshold_seconds" {
  description = "Alarm when the oldest record in the delivery stream is older than this (seconds); keep it above both buffering intervals."
  type        = number
  default     = 900
  nullable    = false
}
