mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  enable_queries      = true
  workgroup_name      = "test-archive-queries"
  results_bucket_name = "test-athena-results"
  database_name       = "test_archive"
  table_name          = "changes"
}

run "workgroup_engine_v3_results_encrypted_and_enforced" {
  command = apply

  assert {
    condition     = one(one(aws_athena_workgroup.this[0].configuration).engine_version).selected_engine_version == "Athena engine version 3"
    error_message = "The workgroup must use Athena engine version 3."
  }

  assert {
    condition     = one(aws_athena_workgroup.this[0].configuration).enforce_workgroup_configuration
    error_message = "The workgroup's settings (result location, encryption) must override client-side settings."
  }

  assert {
    condition     = one(one(aws_athena_workgroup.this[0].configuration).result_configuration).output_location == "s3://test-athena-results/results/"
    error_message = "Query results must go to the results bucket under results/."
  }

  assert {
    condition     = one(one(one(aws_athena_workgroup.this[0].configuration).result_configuration).encryption_configuration).encryption_option == "SSE_S3"
    error_message = "Query results must be encrypted (SSE_S3 without a KMS key)."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.results[0].rule).status == "Enabled" && one(one(aws_s3_bucket_lifecycle_configuration.results[0].rule).expiration).days == 30
    error_message = "Query results must expire after results_expiration_days (30 by default)."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.results[0].block_public_acls && aws_s3_bucket_public_access_block.results[0].restrict_public_buckets
    error_message = "The results bucket must block public access."
  }
}

run "named_queries_hold_the_shared_sql" {
  command = apply

  assert {
    condition     = toset(keys(aws_athena_named_query.this)) == toset(["create_change_log_view", "create_distinct_changes_view", "create_latest_state_view", "state_as_of"])
    error_message = "There must be the three view-creating queries and the state-as-of query."
  }

  assert {
    condition     = alltrue([for query in aws_athena_named_query.this : query.database == "test_archive" && query.workgroup == aws_athena_workgroup.this[0].id])
    error_message = "Named queries must run in the archive's database and the workgroup."
  }

  assert {
    condition     = startswith(aws_athena_named_query.this["create_change_log_view"].query, "CREATE OR REPLACE VIEW \"test_archive\".\"change_log\" AS") && strcontains(aws_athena_named_query.this["create_change_log_view"].query, "FROM \"test_archive\".\"changes\"") && strcontains(aws_athena_named_query.this["create_change_log_view"].query, "json_parse(keys)")
    error_message = "change_log must read the Glue table and derive item_key with the Trino expression."
  }

  assert {
    condition     = strcontains(aws_athena_named_query.this["create_change_log_view"].query, "regexp_extract(event_time, '\\.([0-9]+)Z$', 1)")
    error_message = "The SQL file must reach Athena unchanged (backslashes kept)."
  }

  assert {
    condition     = strcontains(aws_athena_named_query.this["state_as_of"].query, "WHERE event_time_us <= ?") && !strcontains(aws_athena_named_query.this["create_latest_state_view"].query, "?")
    error_message = "state_as_of takes the time as an execution parameter; latest_state has none."
  }

  assert {
    condition     = alltrue([for query in aws_athena_named_query.this : !strcontains(query.query, format("%s{", "$"))])
    error_message = "Every template value must be filled in."
  }
}

run "kms_key_switches_results_to_sse_kms" {
  command = apply

  variables {
    results_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = one(one(one(aws_athena_workgroup.this[0].configuration).result_configuration).encryption_configuration).encryption_option == "SSE_KMS"
    error_message = "With a KMS key, results must be SSE_KMS."
  }
}

run "switched_off_creates_nothing" {
  command = apply

  variables {
    enable_queries = false
    database_name  = null
    table_name     = null
  }

  assert {
    condition     = length(aws_athena_workgroup.this) == 0 && length(aws_s3_bucket.results) == 0 && length(aws_athena_named_query.this) == 0
    error_message = "enable_queries = false must create nothing."
  }

  assert {
    condition     = output.workgroup_name == null && output.named_query_ids == {}
    error_message = "Outputs must be null/empty when nothing is created."
  }
}

run "needs_the_catalog_table" {
  command = plan

  variables {
    database_name = null
  }

  expect_failures = [aws_athena_workgroup.this]
}

run "rejects_bad_workgroup_name" {
  command = plan

  variables {
    workgroup_name = "bad name!"
  }

  expect_failures = [var.workgroup_name]
}

run "rejects_bad_results_bucket_name" {
  command = plan

  variables {
    results_bucket_name = "Bad_Bucket"
  }

  expect_failures = [var.results_bucket_name]
}

run "rejects_zero_expiration" {
  command = plan

  variables {
    results_expiration_days = 0
  }

  expect_failures = [var.results_expiration_days]
}

run "rejects_small_scan_cutoff" {
  command = plan

  variables {
    bytes_scanned_cutoff_per_query = 1000
  }

  expect_failures = [var.bytes_scanned_cutoff_per_query]
}

run "rejects_bad_kms_key" {
  command = plan

  variables {
    results_kms_key_arn = "alias/mine"
  }

  expect_failures = [var.results_kms_key_arn]
}
