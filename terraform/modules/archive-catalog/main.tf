################################################################################
# Database
################################################################################

resource "aws_glue_catalog_database" "this" {
  count = var.enable_catalog ? 1 : 0

  name        = var.database_name
  description = "DynamoDB change records archived by Firehose to s3://${var.bucket_name}/${var.prefix}, for Athena."
  tags        = var.tags
}

################################################################################
# Table: one row per archive line, partitions projected by Athena (no crawler, no MSCK REPAIR)
################################################################################

locals {
  location = "s3://${var.bucket_name}/${var.prefix}"

  # One column per field of an archive line. keys, new_image and old_image are JSON objects: Athena's
  # OpenX reader (engine v3) puts an object into a string column as its JSON text, for json_extract*.
  columns = [
    { name = "event_id", type = "string", comment = "ID of the change record (eventID)." },
    { name = "event_name", type = "string", comment = "INSERT, MODIFY or REMOVE." },
    { name = "table_name", type = "string", comment = "DynamoDB table the item belongs to." },
    { name = "event_time", type = "string", comment = "When the item changed: ISO-8601 UTC, e.g. 2026-11-27T09:14:03.123456Z (from_iso8601_timestamp)." },
    { name = "keys", type = "string", comment = "Primary key attributes as JSON text, e.g. json_extract_scalar(keys, '$.pk')." },
    { name = "new_image", type = "string", comment = "Item after the change as JSON text, or null (REMOVE). Numbers a double cannot hold are JSON strings." },
    { name = "old_image", type = "string", comment = "Item before the change as JSON text, or null (INSERT). Numbers a double cannot hold are JSON strings." },
    { name = "is_ttl_delete", type = "boolean", comment = "True for a REMOVE made by DynamoDB TTL." },
    { name = "change_source", type = "string", comment = "stream, or backfill (pipeline backfill)." },
    { name = "sequence_number", type = "string", comment = "Kinesis sequence number of the change record, or null." },
    { name = "shard_id", type = "string", comment = "Kinesis shard of the change record, or null." },
    { name = "aws_region", type = "string", comment = "Region of the table, or null." },
    { name = "size_bytes", type = "bigint", comment = "Size of the change in bytes (dynamodb.SizeBytes), or null." },
    # Ordering fields (issue 9); null on lines written before them: the archive-queries views derive them.
    { name = "item_key", type = "string", comment = "Canonical key text: JSON object, names sorted, compact, numbers as DynamoDB wrote them. Groups one item's changes." },
    { name = "event_time_us", type = "bigint", comment = "event_time in microseconds since the epoch." },
    { name = "change_order", type = "string", comment = "147 digits: event_time_us, 0 backfill / 1 stream, sequence number. The greatest is an item's latest change." },
  ]

  # Arrival-time layout (Firehose's clock, UTC): <prefix>year=YYYY/month=MM/day=DD/hour=HH/.
  time_partition_keys = [
    { name = "year", type = "int", comment = "Arrival year (UTC)." },
    { name = "month", type = "int", comment = "Arrival month, 1-12 (UTC)." },
    { name = "day", type = "int", comment = "Arrival day of the month, 1-31 (UTC)." },
    { name = "hour", type = "int", comment = "Arrival hour, 0-23 (UTC)." },
  ]
  time_projection = {
    # At most 20 years (precondition): an unfiltered query lists 12 x 31 x 24 = 8,928 hour prefixes per year.
    "projection.year.type"      = "integer"
    "projection.year.range"     = "${var.projection_first_year},${var.projection_last_year}"
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
    "storage.location.template" = "${local.location}year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"
  }

  # Dynamic layout (the transform's partition keys): <prefix>table=<table name>/date=<event date>/.
  # `table` and `date` are reserved words in Athena, hence the column names.
  dynamic_partition_keys = [
    { name = "archive_table", type = "string", comment = "DynamoDB table (table= in the object key)." },
    { name = "event_date", type = "date", comment = "UTC date of event_time (date= in the object key)." },
  ]
  dynamic_projection = {
    "projection.archive_table.type"       = "enum"
    "projection.archive_table.values"     = join(",", var.source_table_names)
    "projection.event_date.type"          = "date"
    "projection.event_date.format"        = "yyyy-MM-dd"
    "projection.event_date.range"         = "${var.projection_first_year}-01-01,NOW"
    "projection.event_date.interval"      = "1"
    "projection.event_date.interval.unit" = "DAYS"
    "storage.location.template"           = "${local.location}table=$${archive_table}/date=$${event_date}/"
  }
}

resource "aws_glue_catalog_table" "this" {
  count = var.enable_catalog ? 1 : 0

  database_name = aws_glue_catalog_database.this[0].name
  name          = var.table_name
  description   = "DynamoDB change records, one row per archived JSON line. Partitions are projected: filter on them."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      EXTERNAL             = "TRUE"
      classification       = "json"
      compressionType      = var.compressed ? "gzip" : "none"
      "projection.enabled" = "true"
    },
    var.dynamic_partitioning_enabled ? tomap(local.dynamic_projection) : tomap(local.time_projection),
  )

  storage_descriptor {
    location      = local.location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    compressed    = var.compressed

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
    }

    dynamic "columns" {
      for_each = local.columns

      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }

  dynamic "partition_keys" {
    for_each = var.dynamic_partitioning_enabled ? local.dynamic_partition_keys : local.time_partition_keys

    content {
      name    = partition_keys.value.name
      type    = partition_keys.value.type
      comment = partition_keys.value.comment
    }
  }

  lifecycle {
    precondition {
      condition     = var.dynamic_partitioning_enabled || (var.projection_last_year >= var.projection_first_year && var.projection_last_year - var.projection_first_year < 20)
      error_message = "projection_last_year must be from projection_first_year to projection_first_year + 19: an unfiltered query lists 8,928 hour prefixes per projected year."
    }
  }
}

# Objects arriving after projection_last_year are invisible to Athena: plans warn a year ahead.
check "projection_covers_next_year" {
  assert {
    condition     = !var.enable_catalog || var.dynamic_partitioning_enabled || tonumber(formatdate("YYYY", plantimestamp())) < var.projection_last_year
    error_message = "Athena projects arrival years up to ${var.projection_last_year} only: raise projection_last_year before objects arrive in ${var.projection_last_year + 1}, or they are not queryable."
  }
}
