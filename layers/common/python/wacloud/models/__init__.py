"""Pydantic models of Meta's payloads, in two families that must not be mixed.

- `wacloud.models.webhook`: **tolerant** models (base `TolerantModel`) of what Meta
  sends us. Unknown keys are kept and enum-like values stay strings: a webhook we
  refuse is retried by Meta and then lost.
- `wacloud.models.outbound`: **strict** models (base `StrictModel`) of what we send
  to Meta. Unknown keys and over-long fields are errors that name the field and the
  limit, before a paid-for round trip.

Models sit beside the tiers: they may import `wacloud.infra` and `wacloud.errors`
only, and every tier above may import them.
"""
