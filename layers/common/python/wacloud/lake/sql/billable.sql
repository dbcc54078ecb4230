-- Priced messages of a day range, per business number, day, pricing category and
-- model: the counts a cost is computed from (times the rate card of the market and
-- category, docs/analytics.md). Meta's pricing object arrives once per message and the
-- fact that first carries it is the only one with pricing_category set.
-- Parameters: the first and the last day, YYYY-MM-DD, inclusive. {table}: as funnel.sql.
WITH facts AS (
    SELECT
        id, type, phone_number_id, day, pricing_category, pricing_model, billable,
        row_number() OVER (PARTITION BY id ORDER BY "at") AS copy
    FROM {table}
    WHERE day BETWEEN ? AND ?
)
SELECT
    phone_number_id,
    day,
    pricing_category,
    coalesce(pricing_model, '') AS pricing_model,
    COUNT(*) AS priced,
    SUM(CASE WHEN billable THEN 1 ELSE 0 END) AS billable
FROM facts
WHERE copy = 1 AND type = 'message.status_changed' AND pricing_category IS NOT NULL
GROUP BY phone_number_id, day, pricing_category, coalesce(pricing_model, '')
ORDER BY phone_number_id, day, pricing_category, pricing_model
