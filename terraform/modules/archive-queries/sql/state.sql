-- The table's items: per item_key, its latest distinct change (greatest change_order among
-- first copies of events), unless it is a REMOVE (TTL deletes included). Reads change_log twice
-- and sorts only the few changes at each item's latest event time, never the whole log:
-- every copy of an event has the event's time, so the latest event's copies are all there.
-- Template value as_of_filter: empty (latest_state), or a WHERE clause bounding event_time_us,
-- µs since the epoch (the state as of a time).
WITH latest_time AS (
  SELECT
    item_key,
    max(event_time_us) AS event_time_us
  FROM ${change_log}
  ${as_of_filter}
  GROUP BY item_key
),

candidates AS (
  SELECT
    changes.*,
    row_number() OVER (
      PARTITION BY changes.item_key, changes.event_id ORDER BY changes.change_order
    ) AS copy_number
  FROM ${change_log} AS changes
  INNER JOIN latest_time
    ON
      changes.item_key = latest_time.item_key
      AND changes.event_time_us = latest_time.event_time_us
),

ranked AS (
  SELECT
    *,
    row_number() OVER (PARTITION BY item_key ORDER BY change_order DESC) AS recency
  FROM candidates
  WHERE copy_number = 1
)

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
FROM ranked
WHERE recency = 1 AND event_name <> 'REMOVE'
