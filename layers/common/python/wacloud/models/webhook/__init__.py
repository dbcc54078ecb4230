"""The tolerant family: models of what Meta sends us (webhooks).

Every model derives from `common.TolerantModel`: unknown fields are kept, ids are
normalised to strings and enum-like values stay raw strings, because Meta changes
webhook payloads without versioning them. The strict family is `wacloud.models.outbound`.
"""
