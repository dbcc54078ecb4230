"""Pydantic models of Meta's payloads, in two families that must not be mixed.

- `wacloud.models.webhook`: **tolerant** models (base `TolerantModel`) of what Meta
  sends us. Unknown keys are kept and enum-like values stay strings: a webhook we
  refuse is retried by Meta and then lost.
- `wacloud.models.outbound`: **strict** models (base `StrictModel`) of what we send
  to Meta. Unknown keys and over-long fields are errors that name the field and the
  limit, before a paid-for round trip.

Models sit beside the tiers: they may import `wacloud.infra` and `wacloud.errors`
only, and every tier above may import them.

Import cost (every function imports some of these at cold start): the modules here
do not use ``from __future__ import annotations``, so pydantic reads each field's
annotation as an object instead of ``eval``-ing a string per field while it creates
the class (outbound models: 85 -> 74 ms CPU, median of 11 pinned runs), and every base
sets ``defer_build`` so no validator or serializer is built before its first use.
A forward reference inside a module is a quoted name, resolved on first use.
"""
