mock_provider "aws" {}

variables {
  enable_catalog               = true
  database_name                = "test_archive"
  table_name                   = "changes"
  bucket_name                  = "test-archive"
  prefix                       = "changes/"
  compressed                   = true
  dynamic_partitioning_enabled = false
  source_table_names           = ["test-table"]
  projection_first_year        = 2026
  projection_last_year         = 2045 # the widest span: keeps the "next year" check quiet until 2045
}

run "json_table_over_the_archive_prefix" {
  command = apply

  assert {
    condition     = aws_glue_catalog_database.this[0].name == "test_archive" && aws_glue_catalog_table.this[0].database_name == "test_archive" && aws_glue_catalog_table.this[0].name == "changes"
    error_message = "The table must be created in the database, under the given names."
  }

  assert {
    condition     = one(aws_glue_catalog_table.this[0].storage_descriptor).location == "s3://test-archive/changes/"
    error_message = "The table location must be s3://<bucket>/<prefix>."
  }

  assert {
    condition     = aws_glue_catalog_table.this[0].table_type == "EXTERNAL_TABLE" && aws_glue_catalog_table.this[0].parameters["EXTERNAL"] == "TRUE" && aws_glue_catalog_table.this[0].parameters["classification"] == "json"
    error_message = "The table must be an external JSON table."
  }

  assert {
    condition     = one(one(aws_glue_catalog_table.this[0].storage_descriptor).ser_de_info).serialization_library == "org.openx.data.jsonserde.JsonSerDe"
    error_message = "The table must read JSON lines with the OpenX SerDe."
  }

  assert {
    condition     = one(aws_glue_catalog_table.this[0].storage_descriptor).input_format == "org.apache.hadoop.mapred.TextInputFormat" && one(aws_glue_catalog_table.this[0].storage_descriptor).output_format == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    error_message = "The table must use the text input and output formats of a JSON table."
  }

  assert {
    condition = [for column in one(aws_glue_catalog_table.this[0].storage_descriptor).columns : "${column.name} ${column.type}"] == [
      "event_id string",
      "event_name string",
      "table_name string",
      "event_time string",
      "keys string",
      "new_image string",
      "old_image string",
      "is_ttl_delete boolean",
      "change_source string",
      "sequence_number string",
      "shard_id string",
      "aws_region string",
      "size_bytes bigint",
      "item_key string",
      "event_time_us bigint",
      "change_order string",
    ]
    error_message = "Columns must be the archive line's fields, with keys and images as JSON text."
  }

  assert {
    condition     = one(aws_glue_catalog_table.this[0].storage_descriptor).compressed && aws_glue_catalog_table.this[0].parameters["compressionType"] == "gzip"
    error_message = "GZIP objects must be marked compressed."
  }

  assert {
    condition     = output.database_name == "test_archive" && output.table_name == "changes"
    error_message = "The names must be exported."
  }
}

run "arrival_time_layout_is_projected" {
  command = plan

  assert {
    condition     = [for key in aws_glue_catalog_table.this[0].partition_keys : "${key.name} ${key.type}"] == ["year int", "month int", "day int", "hour int"]
    error_message = "The arrival-time layout must be partitioned by year, month, day and hour."
  }

  assert {
    condition = {
      for name, value in aws_glue_catalog_table.this[0].parameters : name => value
      if startswith(name, "projection.") || name == "storage.location.template"
      } == {
      "projection.enabled"        = "true"
      "projection.year.type"      = "integer"
      "projection.year.range"     = "2026,2045"
      "projection.year.digits"    = "4"
      "projection.month.type"     = "integer"
      "projection.month.range"    = "1,12"
      "projection.month.digits"   = "2"
      "projection.day.type"       = "integer"
      "projection.day.range"      = "1,31"
      "projection.day.digits"     = "2"
      "projection.hour.type"      = "integer"
      "projection.hour.range"     = "0,23"
      "projection.hour.digits"    = "2"
      "storage.location.template" = "s3://test-archive/changes/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
    }
    error_message = "Partition projection must cover year=YYYY/month=MM/day=DD/hour=HH/ under the prefix."
  }

  assert {
    condition     = output.storage_location_template == aws_glue_catalog_table.this[0].parameters["storage.location.template"]
    error_message = "The location template must be exported."
  }
}

run "dynamic_layout_is_projected" {
  command = plan

  variables {
    dynamic_partitioning_enabled = true
    source_table_names           = ["test-table", "other.table"]
    projection_last_year         = 2026 # unused by this layout: no warning, no span rule
  }

  assert {
    condition     = [for key in aws_glue_catalog_table.this[0].partition_keys : "${key.name} ${key.type}"] == ["archive_table string", "event_date date"]
    error_message = "The dynamic layout must be partitioned by archive_table and event_date."
  }

  assert {
    condition = {
      for name, value in aws_glue_catalog_table.this[0].parameters : name => value
      if startswith(name, "projection.") || name == "storage.location.template"
      } == {
      "projection.enabled"                  = "true"
      "projection.archive_table.type"       = "enum"
      "projection.archive_table.values"     = "test-table,other.table"
      "projection.event_date.type"          = "date"
      "projection.event_date.format"        = "yyyy-MM-dd"
      "projection.event_date.range"         = "2026-01-01,NOW"
      "projection.event_date.interval"      = "1"
      "projection.event_date.interval.unit" = "DAYS"
      "storage.location.template"           = "s3://test-archive/changes/table=$${archive_table}/date=$${event_date}/"
    }
    error_message = "Partition projection must cover table=<name>/date=<YYYY-MM-DD>/ under the prefix, dates up to today."
  }

  assert {
    condition     = one(aws_glue_catalog_table.this[0].storage_descriptor).location == "s3://test-archive/changes/"
    error_message = "The location must not depend on the layout."
  }
}

run "uncompressed_objects_under_a_deeper_prefix" {
  command = plan

  variables {
    compressed = false
    prefix     = "archive/changes/"
  }

  assert {
    condition     = !one(aws_glue_catalog_table.this[0].storage_descriptor).compressed && aws_glue_catalog_table.this[0].parameters["compressionType"] == "none"
    error_message = "Plain objects must not be marked compressed."
  }

  assert {
    condition     = one(aws_glue_catalog_table.this[0].storage_descriptor).location == "s3://test-archive/archive/changes/" && startswith(aws_glue_catalog_table.this[0].parameters["storage.location.template"], "s3://test-archive/archive/changes/year=")
    error_message = "Location and template must follow the prefix."
  }
}

run "switched_off" {
  command = plan

  variables {
    enable_catalog = false
  }

  assert {
    condition     = length(aws_glue_catalog_database.this) == 0 && length(aws_glue_catalog_table.this) == 0
    error_message = "enable_catalog = false must create nothing."
  }

  assert {
    condition     = output.database_name == null && output.table_name == null && output.storage_location_template == null
    error_message = "Outputs of a switched-off catalog must be null."
  }
}

run "invalid_database_name" {
  command = plan

  variables {
    database_name = "change-archive"
  }

  expect_failures = [var.database_name]
}

run "invalid_database_name_2" {
  command = plan

  variables {
    database_name = "_archive"
  }

  expect_failures = [var.database_name]
}

run "invalid_table_name" {
  command = plan

  variables {
    table_name = "Changes"
  }

  expect_failures = [var.table_name]
}

run "invalid_source_table_names" {
  command = plan

  variables {
    source_table_names = []
  }

  expect_failures = [var.source_table_names]
}

run "invalid_source_table_names_2" {
  command = plan

  variables {
    source_table_names = ["a,b,c"]
  }

  expect_failures = [var.source_table_names]
}

run "invalid_projection_first_year" {
  command = plan

  variables {
    projection_first_year = 2026.5
  }

  expect_failures = [var.projection_first_year]
}

run "invalid_projection_first_year_2" {
  command = plan

  variables {
    projection_first_year = 26
  }

  expect_failures = [var.projection_first_year]
}

run "invalid_projection_last_year" {
  command = plan

  variables {
    projection_last_year = 10000
  }

  expect_failures = [var.projection_last_year]
}

run "projection_years_reversed" {
  command = plan

  variables {
    projection_first_year = 2046
  }

  expect_failures = [aws_glue_catalog_table.this]
}

run "projection_years_too_many" {
  command = plan

  variables {
    projection_first_year = 2025
  }

  expect_failures = [aws_glue_catalog_table.this]
}

run "projection_years_ending_warn_a_year_ahead" {
  command = plan

  variables {
    projection_first_year = 2020
    projection_last_year  = 2020
  }

  expect_failures = [check.projection_covers_next_year]
}
