################################################################################
# What to create
################################################################################

variable "enable_catalog" {
  description = "Create the Glue database and table."
  type        = bool
  nullable    = false
}

variable "database_name" {
  description = "Name of the Glue database (lowercase letters, digits and underscores, starting with a letter; at most 255 characters)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.database_name))
    error_message = "database_name must be 1-255 lowercase letters, digits and underscores, starting with a letter (Athena needs no quoting then)."
  }
}

variable "table_name" {
  description = "Name of the Glue table (lowercase letters, digits and underscores, starting with a letter; at most 255 characters)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.table_name))
    error_message = "table_name must be 1-255 lowercase letters, digits and underscores, starting with a letter (Athena needs no quoting then)."
  }
}

################################################################################
# The archive the table reads
################################################################################

variable "bucket_name" {
  description = "Name of the archive bucket."
  type        = string
  nullable    = false
}

variable "prefix" {
  description = "Key prefix of the archived change records, ending with / (the root module checks it). The table's location is s3://<bucket_name>/<prefix>."
  type        = string
  nullable    = false
}

variable "compressed" {
  description = "Whether the archive objects are GZIP-compressed (.jsonl.gz); Athena decompresses by the .gz extension either way."
  type        = bool
  nullable    = false
}

variable "dynamic_partitioning_enabled" {
  description = "Layout of the archive: true for <prefix>table=<table name>/date=<YYYY-MM-DD>/ (the transform's partition keys), false for <prefix>year=YYYY/month=MM/day=DD/hour=HH/ (arrival time, UTC)."
  type        = bool
  nullable    = false
}

variable "source_table_names" {
  description = "DynamoDB tables whose changes are archived: the values Athena projects for the archive_table partition with dynamic partitioning."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.source_table_names) > 0 && alltrue([for name in var.source_table_names : can(regex("^[a-zA-Z0-9_.-]{3,255}$", name))])
    error_message = "source_table_names must be a non-empty list of DynamoDB table names (3-255 letters, digits, _ . and -)."
  }
}

################################################################################
# Partition projection
################################################################################

variable "projection_first_year" {
  description = "First year Athena projects partitions for: arrival year (year=), or with dynamic partitioning the first event date (date=<year>-01-01). No archive object is older than the stack."
  type        = number
  nullable    = false

  validation {
    condition     = var.projection_first_year >= 1970 && var.projection_first_year <= 9999 && floor(var.projection_first_year) == var.projection_first_year
    error_message = "projection_first_year must be a whole year from 1970 to 9999."
  }
}

variable "projection_last_year" {
  description = "Last arrival year Athena projects partitions for (year=); only without dynamic partitioning, whose dates run up to today. At most 19 years after projection_first_year; raise it before the archive reaches it (plans warn from the start of that year)."
  type        = number
  nullable    = false

  validation {
    condition     = var.projection_last_year >= 1970 && var.projection_last_year <= 9999 && floor(var.projection_last_year) == var.projection_last_year
    error_message = "projection_last_year must be a whole year from 1970 to 9999."
  }
}

variable "tags" {
  description = "Tags of the database (Glue tables take none)."
  type        = map(string)
  default     = {}
  nullable    = false
}
