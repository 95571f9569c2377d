mock_provider "aws" {
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/test-transform"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/test-transform"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  function_name = "test-transform"
  role_name     = "test-transform-us-east-1"
  artifact_path = "tests/fixtures/artifact.bin"
  handler       = "transform_lambda.handler.lambda_handler"
  runtime       = "python3.13"

  architecture       = "arm64"
  memory_size        = 512
  timeout            = 180
  log_retention_days = 365
  environment_variables = {
    ARCHIVE_EVENT_NAMES = "INSERT,MODIFY,REMOVE"
    ARCHIVE_TABLE_NAMES = ""
    LOG_LEVEL           = "INFO"
  }
}

run "function_from_artifact" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.filename == var.artifact_path && aws_lambda_function.this.source_code_hash == filebase64sha256(var.artifact_path)
    error_message = "The function must deploy the artifact and track its SHA-256."
  }

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.13" && aws_lambda_function.this.handler == "transform_lambda.handler.lambda_handler"
    error_message = "Runtime and handler must be passed through."
  }

  assert {
    condition     = tolist(aws_lambda_function.this.architectures) == tolist(["arm64"]) && aws_lambda_function.this.timeout == 180 && aws_lambda_function.this.memory_size == 512
    error_message = "architecture, timeout and memory_size must reach the function."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables == var.environment_variables
    error_message = "The environment must be passed through."
  }

  assert {
    condition     = aws_lambda_function.this.role == aws_iam_role.this.arn
    error_message = "The function must run as its own role."
  }
}

run "own_role_writes_only_own_logs" {
  command = apply

  assert {
    condition     = aws_iam_role.this.assume_role_policy == data.aws_iam_policy_document.assume_role.json && one(data.aws_iam_policy_document.assume_role.statement[0].principals).identifiers == toset(["lambda.amazonaws.com"])
    error_message = "Only Lambda may assume the role."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/test-transform" && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The log group must be the function's, with a retention."
  }

  assert {
    condition     = data.aws_iam_policy_document.logs.statement[0].resources == toset(["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/test-transform:log-stream:*"])
    error_message = "The role may write only to its own log group."
  }

  assert {
    condition     = toset(data.aws_iam_policy_document.logs.statement[0].actions) == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "The role may only create log streams and put log events."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.logs.statement) == 1
    error_message = "The function calls no AWS API: logs are its only permission."
  }
}

run "invalid_architecture" {
  command = plan

  variables {
    architecture = "arm32"
  }

  expect_failures = [var.architecture]
}

run "memory_too_small" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "timeout_above_firehose_limit" {
  command = plan

  variables {
    timeout = 301
  }

  expect_failures = [var.timeout]
}
