-- The table's items: per item_key the change with the greatest change_order, unless it is a REMOVE
-- (TTL deletes included). Template value as_of_filter: empty (latest_state), or a WHERE clause
-- bounding event_time_us, µs since the epoch (the state as of a time).
SELECT
  item_key,
  keys,
  new_image,
  event_name,
  event_time,
  event_time_us,
  change_order,
  change_source,
  event_id
FROM (
  SELECT
    *,
    row_number() OVER (PARTITION BY item_key ORDER BY event_time_us DESC, change_order DESC) AS recency
  FROM ${distinct_changes}
  ${as_of_filter}
) AS ranked
WHERE recency = 1 AND event_name <> 'REMOVE'
