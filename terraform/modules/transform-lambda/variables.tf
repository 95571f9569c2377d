################################################################################
# Function
################################################################################

variable "function_name" {
  description = "Name of the function."
  type        = string
}

variable "artifact_path" {
  description = "Path of the deployment package (zip); its SHA-256 triggers updates."
  type        = string
}

variable "handler" {
  description = "Handler the runtime calls (module.function)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime identifier, e.g. python3.13."
  type        = string
}

variable "architecture" {
  description = "Instruction set. Valid values are arm64 and x86_64."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory in MB (128 to 10240)."
  type        = number
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1 to 300: a Firehose processor may run for at most 5 minutes)."
  type        = number
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 300
    error_message = "timeout must be between 1 and 300."
  }
}

variable "environment_variables" {
  description = "Environment of the function (configuration only: Lambda stores it encrypted with the AWS managed key)."
  type        = map(string)
  nullable    = false
}

################################################################################
# IAM and logs
################################################################################

variable "role_name" {
  description = "Name of the function's execution role."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days. Valid values are 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 and 3653."
  type        = number
  nullable    = false
}

variable "tags" {
  description = "Tags of every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}
