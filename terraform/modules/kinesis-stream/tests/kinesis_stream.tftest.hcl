mock_provider "aws" {
  mock_data "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }
}

variables {
  name             = "test-changes"
  stream_mode      = "ON_DEMAND"
  retention_period = 24
  kms_key_id       = "alias/aws/kinesis"
}

run "on_demand_encrypted_with_aws_managed_key" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.this.shard_count == null
    error_message = "ON_DEMAND must give a stream without a shard count."
  }

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == "alias/aws/kinesis"
    error_message = "The stream must be encrypted with the given key alias."
  }

  assert {
    condition     = aws_kinesis_stream.this.retention_period == 24
    error_message = "retention_period must reach the stream."
  }

  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "kms_key_arn must be the resolved ARN of the stream's key."
  }

  assert {
    condition     = data.aws_kms_key.this[0].key_id == "alias/aws/kinesis"
    error_message = "The key lookup must resolve the stream's key."
  }
}

run "provisioned_with_customer_key" {
  command = plan

  variables {
    stream_mode      = "PROVISIONED"
    shard_count      = 2
    retention_period = 168
    kms_key_id       = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"
  }

  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "PROVISIONED" && aws_kinesis_stream.this.shard_count == 2
    error_message = "Provisioned mode must use the shard count."
  }

  assert {
    condition     = aws_kinesis_stream.this.kms_key_id == var.kms_key_id && aws_kinesis_stream.this.retention_period == 168
    error_message = "The customer key and retention must be passed through."
  }
}

run "unencrypted_for_localstack" {
  command = plan

  variables {
    kms_key_id = null
  }

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "NONE" && length(data.aws_kms_key.this) == 0 && output.kms_key_arn == null
    error_message = "kms_key_id = null must leave the stream unencrypted and look up no key."
  }
}

run "shard_count_with_on_demand_is_refused" {
  command = plan

  variables {
    shard_count = 2
  }

  expect_failures = [aws_kinesis_stream.this]
}

run "provisioned_without_shard_count_is_refused" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
  }

  expect_failures = [aws_kinesis_stream.this]
}

run "invalid_stream_mode" {
  command = plan

  variables {
    stream_mode = "AUTO"
  }

  expect_failures = [var.stream_mode]
}

run "invalid_shard_count" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 1.5
  }

  expect_failures = [var.shard_count]
}

run "shard_count_below_one" {
  command = plan

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 0
  }

  expect_failures = [var.shard_count]
}

run "retention_too_short" {
  command = plan

  variables {
    retention_period = 23
  }

  expect_failures = [var.retention_period]
}

run "retention_too_long" {
  command = plan

  variables {
    retention_period = 8761
  }

  expect_failures = [var.retention_period]
}
