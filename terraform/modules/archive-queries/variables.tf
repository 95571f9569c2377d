################################################################################
# What to create
################################################################################

variable "enable_queries" {
  description = "Create the Athena workgroup, its results bucket and the named queries (needs the archive catalog's Glue table)."
  type        = bool
  nullable    = false
}

################################################################################
# Names
################################################################################

variable "workgroup_name" {
  description = "Name of the Athena workgroup (letters, digits, '.', '_' and '-'; 1 to 128 characters)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "workgroup_name must be 1 to 128 letters, digits, '.', '_' or '-' (Athena's WorkGroup name pattern)."
  }
}

variable "results_bucket_name" {
  description = "Name of the S3 bucket for the workgroup's query results (3 to 63 lowercase letters, digits, '.' and '-')."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.results_bucket_name))
    error_message = "results_bucket_name must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, '.' or '-'."
  }
}

variable "database_name" {
  description = "Glue database of the archive table (the archive-catalog module's database_name output); null when there is no catalog."
  type        = string
  default     = null
}

variable "table_name" {
  description = "Glue table over the archive (the archive-catalog module's table_name output); null when there is no catalog."
  type        = string
  default     = null
}

################################################################################
# Query results
################################################################################

variable "results_expiration_days" {
  description = "Days after which query results are deleted from the results bucket (1 to 3650)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.results_expiration_days >= 1 && var.results_expiration_days <= 3650 && floor(var.results_expiration_days) == var.results_expiration_days
    error_message = "results_expiration_days must be a whole number of days from 1 to 3650."
  }
}

variable "results_kms_key_arn" {
  description = "KMS key ARN for query results (SSE_KMS) and the results bucket; null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.results_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.results_kms_key_arn))
    error_message = "results_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Cancel a query that scans more than this many bytes (at least 10485760, Athena's minimum); null for no limit."
  type        = number
  default     = null

  validation {
    condition     = var.bytes_scanned_cutoff_per_query == null || try(var.bytes_scanned_cutoff_per_query >= 10485760, false)
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB, Athena's minimum) or null."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the results bucket with its objects, and the workgroup with its named queries."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags of the workgroup and the results bucket."
  type        = map(string)
  default     = {}
  nullable    = false
}
