mock_provider "aws" {}

variables {
  name               = "test-table"
  hash_key           = { name = "pk", type = "S" }
  range_key          = { name = "sk", type = "N" }
  kinesis_stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/test-changes"

  billing_mode                    = "PAY_PER_REQUEST"
  point_in_time_recovery_enabled  = true
  deletion_protection_enabled     = true
  server_side_encryption_enabled  = true
  streaming_destination_precision = "MICROSECOND"
  change_stream_reader_arns       = ["arn:aws:firehose:us-east-1:123456789012:deliverystream/test-delivery-0123abcd"]
}

run "production_settings_reach_the_table" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "billing_mode must reach the table."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "point_in_time_recovery_enabled must reach the table."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "deletion_protection_enabled must reach the table."
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].enabled
    error_message = "With server_side_encryption_enabled the table must be encrypted with a KMS key (the AWS managed one unless kms_key_arn is set)."
  }

  assert {
    condition     = length(aws_dynamodb_table.this.ttl) == 0
    error_message = "TTL must be off unless an attribute is given."
  }
}

run "key_schema_becomes_keys_and_attributes" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "pk" && aws_dynamodb_table.this.range_key == "sk"
    error_message = "hash_key and range_key must come from the key schema."
  }

  assert {
    condition     = { for attribute in aws_dynamodb_table.this.attribute : attribute.name => attribute.type } == { pk = "S", sk = "N" }
    error_message = "Exactly the key attributes must be declared, with their types."
  }

  assert {
    condition     = output.table_range_key == "sk"
    error_message = "table_range_key must name the sort key."
  }
}

run "hash_key_only" {
  command = plan

  variables {
    range_key = null
  }

  assert {
    condition     = aws_dynamodb_table.this.range_key == null && length(aws_dynamodb_table.this.attribute) == 1
    error_message = "Without a range key the table has one key attribute."
  }

  assert {
    condition     = output.table_range_key == null
    error_message = "table_range_key must be null without a sort key."
  }
}

run "streaming_destination_bound_to_table_and_stream" {
  command = plan

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.stream_arn == var.kinesis_stream_arn
    error_message = "The streaming destination must be the given stream."
  }

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.table_name == "test-table"
    error_message = "The streaming destination must belong to the table."
  }

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.approximate_creation_date_time_precision == "MICROSECOND"
    error_message = "streaming_destination_precision must reach the streaming destination."
  }
}

run "options" {
  command = plan

  variables {
    billing_mode                   = "PROVISIONED"
    read_capacity                  = 5
    write_capacity                 = 7
    kms_key_arn                    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    ttl_attribute_name             = "expires_at"
    deletion_protection_enabled    = false
    point_in_time_recovery_enabled = false
  }

  assert {
    condition     = aws_dynamodb_table.this.read_capacity == 5 && aws_dynamodb_table.this.write_capacity == 7
    error_message = "Provisioned capacities must be passed through."
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    error_message = "A customer managed key must be used when given."
  }

  assert {
    condition     = aws_dynamodb_table.this.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.this.ttl[0].enabled
    error_message = "TTL must use the given attribute."
  }

  assert {
    condition     = !aws_dynamodb_table.this.deletion_protection_enabled && !aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "Deletion protection and PITR must follow their variables."
  }
}

run "provisioned_without_capacity_is_refused" {
  command = plan

  variables {
    billing_mode = "PROVISIONED"
  }

  expect_failures = [aws_dynamodb_table.this]
}

run "invalid_billing_mode" {
  command = plan

  variables {
    billing_mode = "ON_DEMAND"
  }

  expect_failures = [var.billing_mode]
}

run "invalid_hash_key_type" {
  command = plan

  variables {
    hash_key = { name = "pk", type = "BOOL" }
  }

  expect_failures = [var.hash_key]
}

run "invalid_range_key_type" {
  command = plan

  variables {
    range_key = { name = "sk", type = "M" }
  }

  expect_failures = [var.range_key]
}

run "invalid_read_capacity" {
  command = plan

  variables {
    billing_mode   = "PROVISIONED"
    read_capacity  = 0
    write_capacity = 1
  }

  expect_failures = [var.read_capacity]
}

run "invalid_write_capacity" {
  command = plan

  variables {
    billing_mode   = "PROVISIONED"
    read_capacity  = 1
    write_capacity = 0
  }

  expect_failures = [var.write_capacity]
}

run "invalid_precision" {
  command = plan

  variables {
    streaming_destination_precision = "NANOSECOND"
  }

  expect_failures = [var.streaming_destination_precision]
}

run "destination_waits_for_the_readers" {
  command = plan

  assert {
    condition     = terraform_data.change_stream_readers.input == var.change_stream_reader_arns
    error_message = "The streaming destination must depend on the change stream's readers."
  }
}

run "no_reader_is_refused" {
  command = plan

  variables {
    change_stream_reader_arns = []
  }

  expect_failures = [var.change_stream_reader_arns]
}

# Precision: the first create records it; a later change needs the acknowledgement.
run "deployed_with_microseconds" {
  command = apply

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.approximate_creation_date_time_precision == "MICROSECOND" && terraform_data.streaming_destination_precision.input == "MICROSECOND"
    error_message = "The first create must record the precision."
  }
}

run "unchanged_precision_needs_no_acknowledgement" {
  command = plan

  variables {
    point_in_time_recovery_enabled = false
  }

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.approximate_creation_date_time_precision == "MICROSECOND"
    error_message = "Other changes must leave the destination alone."
  }
}

run "precision_change_is_refused" {
  command = plan

  variables {
    streaming_destination_precision = "MILLISECOND"
  }

  expect_failures = [aws_dynamodb_kinesis_streaming_destination.this]
}

run "precision_change_acknowledged_for_another_precision_is_refused" {
  command = plan

  variables {
    streaming_destination_precision                     = "MILLISECOND"
    streaming_destination_precision_change_acknowledged = "MICROSECOND"
  }

  expect_failures = [aws_dynamodb_kinesis_streaming_destination.this]
}

run "precision_change_acknowledged" {
  command = apply

  variables {
    streaming_destination_precision                     = "MILLISECOND"
    streaming_destination_precision_change_acknowledged = "MILLISECOND"
  }

  assert {
    condition     = aws_dynamodb_kinesis_streaming_destination.this.approximate_creation_date_time_precision == "MILLISECOND" && terraform_data.streaming_destination_precision.input == "MILLISECOND"
    error_message = "An acknowledged change must go ahead and be recorded."
  }
}

run "switching_back_needs_a_new_acknowledgement" {
  command = plan

  variables {
    streaming_destination_precision                     = "MICROSECOND"
    streaming_destination_precision_change_acknowledged = "MILLISECOND"
  }

  expect_failures = [aws_dynamodb_kinesis_streaming_destination.this]
}

run "acknowledgement_removed_once_applied" {
  command = plan

  variables {
    streaming_destination_precision = "MILLISECOND"
  }

  assert {
    condition     = terraform_data.streaming_destination_precision.input == "MILLISECOND"
    error_message = "Removing the acknowledgement without a change must keep the recorded precision."
  }
}

run "invalid_precision_acknowledgement" {
  command = plan

  variables {
    streaming_destination_precision_change_acknowledged = "SECOND"
  }

  expect_failures = [var.streaming_destination_precision_change_acknowledged]
}
