"""The strict family: models of what we send to Meta (submissions, messages).

Every model derives from `common.StrictModel`: unknown keys, conflicts and Meta's
limits are validation errors that name the field, so a submission is refused before
it reaches the queue. The tolerant family is `wacloud.models.webhook`.
"""
