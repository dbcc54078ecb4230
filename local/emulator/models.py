"""Plain data records kept by the emulator. No behaviour beyond serialisation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PhoneNumber:
    id: str
    display_phone_number: str
    waba_id: str
    verified_name: str
    quality_rating: str = "GREEN"
    throughput_level: str = "STANDARD"
    throughput_mps: int = 80
    messaging_limit_tier: str = "TIER_2K"
    code_verification_status: str = "VERIFIED"
    name_status: str = "APPROVED"
    platform_type: str = "CLOUD_API"
    account_mode: str = "LIVE"
    status: str = "CONNECTED"
    business_profile: dict[str, Any] = field(default_factory=dict)
    # wa_id -> emulator-clock time blocked; insertion order is the GET order.
    blocklist: dict[str, float] = field(default_factory=dict)
    # Bumped on every blocklist change: a paging cursor from an older version -> 139102.
    blocklist_version: int = 0


@dataclass
class SentMessage:
    wamid: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    payload: dict[str, Any]
    time: float
    api_version: str
    biz_opaque_callback_data: str | None = None
    template_category: str | None = None
    statuses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InboundMessage:
    wamid: str
    phone_number_id: str
    wa_id: str
    time: float
    message: dict[str, Any]


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    status: str = "APPROVED"
    parameter_format: str = "POSITIONAL"
    sub_category: str | None = None
    rejected_reason: str = "NONE"
    created_at: float = 0.0

    def graph(self) -> dict[str, Any]:
        """The object as GET /message_templates returns it (docs/meta/templates.md#management)."""
        out: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }
        if self.sub_category is not None:
            out["sub_category"] = self.sub_category
        if self.status == "REJECTED":
            out["rejected_reason"] = self.rejected_reason
        return out


@dataclass
class Media:
    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256: str
    created_at: float
    inbound: bool = False
    filename: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int
    response: Any
    time: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WebhookRecord:
    delivery_id: int
    url: str | None
    body: bytes
    json: Any
    signature: str
    status: int | None
    error: str | None
    attempt: int
    time: float
    duplicate: bool = False

    def to_dict(self, *, with_bytes: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_bytes:
            d["body"] = self.body.decode("utf-8", "replace")
        return d
