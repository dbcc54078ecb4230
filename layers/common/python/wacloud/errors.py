"""The one error hierarchy: every exception wacloud raises on purpose is a `WacloudError`.

A caller that needs to tell "our refusal" from "a bug or a library failure" catches
`WacloudError`; a caller that knows what it can recover from catches a family. The
families say what a retry can do, so an adapter can decide between answering,
retrying and parking without knowing each module's classes::

    WacloudError
    ├── ConfigurationError        the deployment lacks a setting or secret (RuntimeError)
    │   └── CredentialsError          infra.credentials: the secret lacks a value
    ├── InputError                the given input is refused; the same input fails again
    │   ├── ScrubbedValidationError   infra.privacy (ValueError)
    │   ├── WebhookFormatError        models.webhook.parse (ValueError)
    │   ├── UnresolvedMediaError      models.outbound.submission (ValueError)
    │   ├── UnreadableWebhookError    inbound.receive
    │   ├── VerificationRequestError  inbound.verification (ValueError)
    │   ├── MediaError                outbound.media: media that cannot be sent (RuntimeError)
    │   ├── InvalidEventError         workflows.failures (ValueError)
    │   ├── CampaignError             campaigns.service (ValueError)
    │   ├── RenderError               campaigns.render (ValueError)
    │   ├── RecipientListError        campaigns.recipients (ValueError)
    │   └── BadRequestError           functions/webhook_receive (ValueError)
    ├── GraphError                Meta's Graph API refused, failed or was not reached
    │   ├── GraphAPIError             graph.errors: Graph's error envelope
    │   ├── GraphTransportError       graph.client: the network (RuntimeError)
    │   ├── MediaUrlRefusedError      graph.client: a download host we do not trust
    │   └── MediaTooLargeError        graph.client: a download past its ceiling
    ├── StoreError                a table refused the access
    │   ├── ConflictError             the record's current state forbids the change
    │   │   └── CampaignStateError    store.campaigns (RuntimeError)
    │   └── NotFoundError             the record asked for is not there (LookupError)
    ├── QueueError                a queue refused an item or handed us one we did not write
    │   ├── EnqueueError              infra.queues: some items were not queued
    │   └── ForgedPointerError        infra.queues: an s3_pointer we did not write
    └── TransientError            may well succeed later: retry while the input lives
        └── TransientMediaError       inbound.media (RuntimeError)

The builtin bases the classes had before this hierarchy (``ValueError``,
``RuntimeError``) are kept beside the family, so an ``except ValueError`` written
earlier still catches what it caught. Private control-flow exceptions (a deadline
reached, a duplicate key seen) never leave their module and stay plain exceptions.

This module is the bottom of the tiers: it imports nothing of wacloud, so any module
may import it. Messages of these errors never carry phone numbers, message text or
tokens (wacloud.infra.privacy).
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "GraphError",
    "InputError",
    "NotFoundError",
    "QueueError",
    "StoreError",
    "TransientError",
    "WacloudError",
]


class WacloudError(Exception):
    """Raised on purpose by wacloud; anything else escaping is a bug or a library's."""


class ConfigurationError(WacloudError, RuntimeError):
    """A required setting is missing or invalid: the deployment, not the request, is
    wrong, so no retry helps until it is fixed."""


class InputError(WacloudError):
    """The input (a webhook, a submission, an event, a list) cannot be accepted as
    given. Retrying the same input fails the same way; the message names fields and
    reasons, never values."""


class GraphError(WacloudError):
    """A call to Meta's Graph API failed: an error answer, a refused download, or no
    answer. The subclass says whether a retry may help."""


class StoreError(WacloudError):
    """A table access was refused for a reason the caller should handle."""


class ConflictError(StoreError):
    """The record's current state does not allow the requested change (a conditional
    write lost); the record is unchanged."""


class NotFoundError(StoreError, LookupError):
    """The record asked for (a message, conversation, campaign, contact...) is not there.
    The operator API answers 404; the message names the kind of record, never its key
    when the key is a phone number."""


class QueueError(WacloudError):
    """A queue did not take an item, or gave one this stack did not write."""


class TransientError(WacloudError):
    """The operation may well succeed later; the caller retries while it still can."""
