"""The facts feed: the state table's change stream, turned into facts once and handed
to the aggregates, the event lake and the bus (docs/facts.md; `wacloud.models.facts`
says why facts are derived from the stream).

`FactsBatchProcessor` is what functions/facts/app.py wires into Powertools' partial
batch response.
"""

from __future__ import annotations

from wacloud.facts.feed import FUNNEL_METRICS, FactsBatchProcessor, deliver

__all__ = ["FUNNEL_METRICS", "FactsBatchProcessor", "deliver"]
