"""Creating and steering campaigns (create, pause, resume, cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.errors import InputError
from wacloud.infra.clock import iso, now
from wacloud.infra.config import settings
from wacloud.store import campaigns as store
from wacloud.templates import check_against, load_template, sendable

from . import recipients
from .rules import ACTIVE

if TYPE_CHECKING:
    from .model import CampaignSpec

# A run spreads its messages with SQS delays of at most 899 s (pacing.delay_for).
CANCEL_AFTER_COMPLETION_SECONDS = 900


class CampaignError(InputError, ValueError):
    """The campaign cannot be created as asked (templates, list, configuration)."""


def _check_templates(spec: CampaignSpec) -> bool | None:
    """Check each variant against the template mirror when the WABA is known.

    Returns whether the campaign is marketing (from the templates' category), or None
    when the mirror cannot tell.
    """
    if not spec.waba_id:
        return None
    marketing: bool | None = None
    for variant in spec.variants:
        template = load_template(spec.waba_id, variant.template, variant.language)
        if template is None:
            raise CampaignError(
                f"variant {variant.name}: template {variant.template}/{variant.language} "
                "is not in the mirror (run TemplateSync)"
            )
        if not sendable(template):
            raise CampaignError(
                f"variant {variant.name}: template {variant.template} is "
                f"{template.get('status')}{' (deleted)' if template.get('deleted') else ''}"
            )
        problems = check_against(variant.variables, template.get("parameters") or {})
        if problems:
            raise CampaignError(f"variant {variant.name}: " + "; ".join(problems))
        if template.get("category") == "MARKETING":
            marketing = True
        elif marketing is None:
            marketing = False
    return marketing


def create_campaign(spec: CampaignSpec | dict[str, Any]) -> str:
    """Store a campaign (and its inline list in S3); returns its id. Idempotent on
    `campaign_id`: creating the same id twice keeps the first."""
    # The pydantic spec is imported here, not at module level: CampaignControl's other
    # actions (pause, resume, cancel, stats) never validate one.
    from .model import CampaignSpec, start_time

    spec = spec if isinstance(spec, CampaignSpec) else CampaignSpec.model_validate(spec)
    bucket = settings().require(settings().media_bucket, "MEDIA_BUCKET")
    campaign_id = spec.campaign_id or store.new_campaign_id()
    existing = store.load(spec.phone_number_id, campaign_id)
    if existing is not None:
        return campaign_id
    marketing = _check_templates(spec)
    if spec.recipients is not None:
        key = f"{recipients.PREFIX}{spec.phone_number_id}/{campaign_id}.jsonl"
        info = recipients.write_inline(bucket, key, spec.recipients)
    else:
        assert spec.recipients_s3_key is not None
        try:
            info = recipients.describe(bucket, spec.recipients_s3_key)
        except recipients.RecipientListError as exc:
            raise CampaignError(str(exc)) from exc
    at = now()
    start = start_time(spec, at)
    item: dict[str, Any] = {
        "pk": store.campaign_pk(spec.phone_number_id, campaign_id),
        "sk": "#",
        "campaign_id": campaign_id,
        "phone_number_id": spec.phone_number_id,
        "name": spec.name,
        "waba_id": spec.waba_id,
        "status": "scheduled",
        "variants": [v.model_dump(exclude_none=True) for v in spec.variants],
        "segment": spec.segment.model_dump() if spec.segment else None,
        "priority": spec.priority,
        "max_per_minute": spec.max_per_minute,
        "marketing": spec.marketing if spec.marketing is not None else bool(marketing),
        "list_bucket": info.bucket,
        "list_key": info.key,
        "list_format": info.format,
        "list_columns": info.columns,
        "list_start": info.start,
        "list_size": info.size,
        "list_cursor": info.start,
        "start_at": start,
        "created_at": at,
        "gsi1pk": store.ACTIVE_INDEX_PK,
        "gsi1sk": f"{iso(start)}#{spec.phone_number_id}#{campaign_id}",
        # The number's campaigns, newest first (the operator API's list).
        "gsi2pk": store.list_index_pk(spec.phone_number_id),
        "gsi2sk": store.list_index_sk(at),
    }
    store.put_new(item)
    return campaign_id


def pause(phone_number_id: str, campaign_id: str) -> None:
    """Stop fanning out from the next run. Messages already queued (at most one run's
    worth, spread over a minute) still go out; resume continues from the cursor."""
    store.set_status(phone_number_id, campaign_id, "paused", ("scheduled", "running"))


def resume(phone_number_id: str, campaign_id: str) -> None:
    store.set_status(phone_number_id, campaign_id, "running", ("paused",))


def cancel(phone_number_id: str, campaign_id: str) -> None:
    """Stop the campaign for good: no further runs, and (with the sender checking
    `is_halted`) none of its messages still waiting in the queue go out.

    A campaign whose last run completed its list within the last
    CANCEL_AFTER_COMPLETION_SECONDS may still be cancelled: that run's messages wait in
    SQS for up to its maximum delay, and a cancel must still reach them.
    """
    store.set_status(
        phone_number_id,
        campaign_id,
        "cancelled",
        ACTIVE,
        completed_since=now() - CANCEL_AFTER_COMPLETION_SECONDS,
    )
