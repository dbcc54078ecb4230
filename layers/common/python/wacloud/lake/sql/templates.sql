-- Template messages of a day range, per business number, template and language.
-- Parameters: the first and the last day, YYYY-MM-DD, inclusive. {table}: as funnel.sql.
WITH facts AS (
    SELECT
        id, type, phone_number_id, template_name, template_language, crossed, status, previous,
        row_number() OVER (PARTITION BY id ORDER BY "at") AS copy
    FROM {table}
    WHERE day BETWEEN ? AND ?
)
SELECT
    phone_number_id,
    template_name,
    template_language,
    SUM(CASE WHEN contains(crossed, 'sent') THEN 1 ELSE 0 END) AS sent,
    SUM(CASE WHEN contains(crossed, 'delivered') THEN 1 ELSE 0 END) AS delivered,
    SUM(CASE WHEN contains(crossed, 'read') THEN 1 ELSE 0 END) AS "read",
    SUM(CASE WHEN status = 'failed' AND coalesce(previous, '') <> 'failed' THEN 1 ELSE 0 END) AS failed
FROM facts
WHERE copy = 1 AND type = 'message.status_changed' AND template_name IS NOT NULL
GROUP BY phone_number_id, template_name, template_language
ORDER BY phone_number_id, template_name, template_language
