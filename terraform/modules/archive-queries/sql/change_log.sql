-- change_log: every archived change line, with item_key, event_time_us and change_order filled in
-- for lines written before the transform wrote them (derived from keys, event_time, change_source
-- and sequence_number exactly as the transform derives them). Duplicates are kept.
-- One source for DuckDB (pipeline state|history|query) and Athena (named queries): the dialect
-- subset both accept. CASE, not COALESCE: the derivations then run only for lines that lack
-- the field (DuckDB evaluates every COALESCE argument). Template values: changes_table, the table
-- of archive lines, and derived_item_key, the engine's expression for the canonical key text
-- (item_key_<engine>.sql; DuckDB's keeps its minified JSON text when the names are sorted).
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
  CASE
    WHEN change_order IS NOT NULL THEN change_order
    ELSE
      lpad(CAST(event_time_us AS VARCHAR), 17, '0')
      || CASE WHEN change_source = 'backfill' THEN '0' ELSE '1' END
      || lpad(COALESCE(sequence_number, ''), 129, '0')
  END AS change_order
FROM (
  SELECT
    event_id,
    event_name,
    table_name,
    event_time,
    keys,
    new_image,
    old_image,
    is_ttl_delete,
    COALESCE(change_source, 'stream') AS change_source,
    sequence_number,
    shard_id,
    aws_region,
    size_bytes,
    CASE WHEN item_key IS NOT NULL THEN item_key ELSE ${derived_item_key} END AS item_key,
    CASE
      WHEN event_time_us IS NOT NULL THEN event_time_us
      ELSE
        (
          date_diff('day', DATE '1970-01-01', CAST(substr(event_time, 1, 10) AS DATE)) * 86400
          + CAST(substr(event_time, 12, 2) AS BIGINT) * 3600
          + CAST(substr(event_time, 15, 2) AS BIGINT) * 60
          + CAST(substr(event_time, 18, 2) AS BIGINT)
        ) * 1000000
        + CAST(rpad(COALESCE(regexp_extract(event_time, '\.([0-9]+)Z$', 1), ''), 6, '0') AS BIGINT)
    END AS event_time_us,
    change_order
  FROM ${changes_table}
) AS archive_lines
