-- The funnel of a day range, per business number and day (docs/lake.md).
-- Parameters: the first and the last day, YYYY-MM-DD, inclusive. {table}: the events
-- table (Athena: "<glue database>"."<table>"; DuckDB: the view over the local files).
-- The same text runs on Athena (Trino) and DuckDB: keep to what both accept.
-- A fact delivered twice (a retried stream batch) counts once: rows are deduplicated
-- on the fact id. Each funnel step of a message is crossed once (docs/facts.md); a
-- reply is a customer's message that quotes another (Meta's context.id, context_wamid).
WITH facts AS (
    SELECT
        id, type, phone_number_id, day, crossed, status, previous, context_wamid,
        row_number() OVER (PARTITION BY id ORDER BY "at") AS copy
    FROM {table}
    WHERE day BETWEEN ? AND ? AND type IN ('message.received', 'message.status_changed')
)
SELECT
    phone_number_id,
    day,
    SUM(CASE WHEN type = 'message.received' THEN 1 ELSE 0 END) AS received,
    SUM(CASE WHEN type = 'message.status_changed' AND contains(crossed, 'sent') THEN 1 ELSE 0 END) AS sent,
    SUM(CASE WHEN type = 'message.status_changed' AND contains(crossed, 'delivered') THEN 1 ELSE 0 END) AS delivered,
    SUM(CASE WHEN type = 'message.status_changed' AND contains(crossed, 'read') THEN 1 ELSE 0 END) AS "read",
    SUM(CASE WHEN type = 'message.status_changed' AND contains(crossed, 'played') THEN 1 ELSE 0 END) AS played,
    SUM(CASE WHEN type = 'message.status_changed' AND status = 'failed' AND coalesce(previous, '') <> 'failed' THEN 1 ELSE 0 END) AS failed,
    SUM(CASE WHEN type = 'message.received' AND context_wamid IS NOT NULL THEN 1 ELSE 0 END) AS replied
FROM facts
WHERE copy = 1
GROUP BY phone_number_id, day
ORDER BY phone_number_id, day
