-- distinct_changes: change_log with duplicates collapsed: one row per event_id (Kinesis and
-- Firehose deliver at least once; a resumed backfill re-sends with the same event ids), the copy
-- with the smallest change_order.
SELECT
  event_id,
  event_name,
  table_name,
  event_time,
  keys,
  new_image,
  old_image,
  is_ttl_delete,
  change_source,
  sequence_number,
  shard_id,
  aws_region,
  size_bytes,
  item_key,
  event_time_us,
  change_order
FROM (
  SELECT
    *,
    row_number() OVER (PARTITION BY event_id ORDER BY event_time_us, change_order) AS copy_number
  FROM ${change_log}
) AS copies
WHERE copy_number = 1
