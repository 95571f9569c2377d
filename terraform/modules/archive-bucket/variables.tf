variable "bucket_name" {
  description = "Name of the bucket."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every object in it."
  type        = bool
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a KMS key for SSE-KMS (with an S3 Bucket Key); null uses SSE-S3."
  type        = string
  default     = null
}

################################################################################
# Lifecycle
################################################################################

variable "transition_days" {
  description = "Days after which objects move to transition_storage_class; null keeps them in STANDARD."
  type        = number

  validation {
    condition     = var.transition_days == null || try(var.transition_days >= 0, false)
    error_message = "transition_days must be 0 or more (or null)."
  }
}

variable "transition_storage_class" {
  description = "Storage class objects move to. Valid values are STANDARD_IA (after 30 days at least), INTELLIGENT_TIERING, GLACIER_IR, GLACIER and DEEP_ARCHIVE (not with readable_by_athena)."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], var.transition_storage_class)
    error_message = "transition_storage_class must be STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE."
  }
}

variable "readable_by_athena" {
  description = "The archive is queried with Athena (the archive catalog is on): refuse transitions to GLACIER and DEEP_ARCHIVE, whose objects Athena cannot read."
  type        = bool
  nullable    = false
}

variable "expiration_days" {
  description = "Days after which objects expire; null keeps them forever."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be at least 1 (or null)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are removed."
  type        = number
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
  nullable    = false
}
