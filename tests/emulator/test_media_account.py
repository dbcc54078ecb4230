"""Media (docs/meta/media.md#endpoints, docs/meta/limits.md#text-and-media), block users
(docs/meta/account.md#block-users), business profile (docs/meta/account.md#business-profile), phone
number (docs/meta/account.md#phone-number)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from local.emulator import Emulator

from .conftest import PNID, USER, Receiver, assert_error, send

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100


def upload(client: httpx.Client, data: bytes, mime: str, **form: str) -> httpx.Response:
    fields = {"messaging_product": "whatsapp", "type": mime, **form}
    return client.post(f"/v23.0/{PNID}/media", data=fields, files={"file": ("f", data, mime)})


@pytest.mark.parametrize(
    ("rule", "ok", "bad", "code"),
    [
        ("image MIME jpeg/png", (PNG, "image/png"), (PNG, "image/gif"), 131053),
        (
            "image <=5MB",
            (JPEG + b"\x00" * (5 * 1024 * 1024 - len(JPEG)), "image/jpeg"),
            (JPEG + b"\x00" * (5 * 1024 * 1024), "image/jpeg"),
            131053,
        ),
        (
            "static sticker <=100KB",
            (WEBP + b"\x00" * (100 * 1024 - len(WEBP)), "image/webp"),
            (WEBP + b"\x00" * (100 * 1024), "image/webp"),
            131053,
        ),
        (
            "audio/ogg Opus only",
            (b"OggS" + b"\x00" * 24 + b"OpusHead", "audio/ogg"),
            (b"OggS" + b"\x00" * 24 + b"vorbis", "audio/ogg"),
            131053,
        ),
        ("content matches MIME", (JPEG, "image/jpeg"), (PNG, "image/jpeg"), 131053),
        (
            "document MIME list",
            (b"%PDF-1.4", "application/pdf"),
            (b"zip", "application/zip"),
            131053,
        ),
    ],
)
def test_upload_rules(
    client: httpx.Client, rule: str, ok: tuple[bytes, str], bad: tuple[bytes, str], code: int
) -> None:
    r = upload(client, *ok)
    assert r.status_code == 200 and r.json()["id"].isdigit(), rule
    assert_error(upload(client, *bad), code, 400)


def test_upload_requires_fields(client: httpx.Client) -> None:
    r = client.post(
        f"/v23.0/{PNID}/media",
        data={"messaging_product": "whatsapp"},
        files={"file": ("f", PNG, "image/png")},
    )
    assert_error(r, 131008, 400)  # ``type`` is required


def test_media_get_download_expiry_delete(emu: Emulator, client: httpx.Client) -> None:
    mid = upload(client, PNG, "image/png").json()["id"]
    info = client.get(f"/v23.0/{mid}").json()
    assert info["messaging_product"] == "whatsapp" and info["id"] == mid
    assert info["mime_type"] == "image/png"
    assert info["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert int(info["file_size"]) == len(PNG)
    assert httpx.get(info["url"]).status_code == 401  # needs the bearer token
    got = httpx.get(info["url"], headers=client.headers)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"].startswith("image/png")
    emu.clock.advance(301)  # URLs expire after 5 minutes
    assert httpx.get(info["url"], headers=client.headers).status_code == 404
    assert_error(
        client.get(f"/v23.0/{mid}", params={"phone_number_id": "100000000000999"}), 100, 400
    )
    assert client.delete(f"/v23.0/{mid}").json() == {"success": True}
    assert_error(client.get(f"/v23.0/{mid}"), 100, 400)


def test_send_by_media_id(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    emu.customer_text(USER, "hi")
    image_id = upload(client, PNG, "image/png").json()["id"]
    sticker_id = upload(client, WEBP, "image/webp").json()["id"]
    ok = send(client, {"to": USER, "type": "image", "image": {"id": image_id}}).json()
    bad = send(client, {"to": USER, "type": "image", "image": {"id": sticker_id}}).json()
    ok_id, bad_id = ok["messages"][0]["id"], bad["messages"][0]["id"]
    emu.wait_for(lambda: {s["id"] for s in receiver.statuses()} >= {ok_id, bad_id})
    first = {s["id"]: s for s in reversed(receiver.statuses())}
    assert first[ok_id]["status"] == "sent"
    assert first[bad_id]["status"] == "failed"
    assert first[bad_id]["errors"][0]["code"] == 131053  # WebP only as a sticker


def test_customer_media_is_downloadable(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emu.customer_sends(USER, {"type": "audio", "audio": {"voice": True}})
    emu.customer_sends(
        USER,
        {"type": "image", "image": {"caption": "look", "data": JPEG, "mime_type": "image/jpeg"}},
    )
    changes = emu.wait_for(
        lambda: receiver.changes("messages") if len(receiver.changes("messages")) >= 2 else None
    )
    audio = changes[0]["value"]["messages"][0]["audio"]
    assert audio["voice"] is True and audio["mime_type"].startswith("audio/ogg")
    image = changes[1]["value"]["messages"][0]["image"]
    assert image["caption"] == "look" and image["sha256"] == hashlib.sha256(JPEG).hexdigest()
    url = client.get(f"/v23.0/{image['id']}").json()["url"]
    assert httpx.get(url, headers=client.headers).content == JPEG


# ------------------------------------------------------------------ block users
def block(client: httpx.Client, users: list[str], method: str = "POST") -> httpx.Response:
    return client.request(
        method,
        f"/v23.0/{PNID}/block_users",
        json={"messaging_product": "whatsapp", "block_users": [{"user": u} for u in users]},
    )


def test_block_rules(emu: Emulator, client: httpx.Client) -> None:
    emu.customer_text(USER, "spam")
    r = block(client, ["+" + USER, "15557654321"]).json()
    assert r["messaging_product"] == "whatsapp"
    assert r["block_users"]["added_users"] == [{"input": "+" + USER, "wa_id": USER}]
    failed = r["block_users"]["failed_users"]
    assert failed[0]["input"] == "15557654321"  # never messaged in the last 24 h
    assert failed[0]["errors"][0]["code"] == 139100
    assert_error(send(client, {"to": USER, "type": "text", "text": {"body": "x"}}), 130403, 400)
    listed = client.get(f"/v23.0/{PNID}/block_users").json()
    assert listed["data"] == [{"messaging_product": "whatsapp", "wa_id": USER}]
    assert "cursors" in listed["paging"]
    r = block(client, [USER], method="DELETE").json()
    assert r["block_users"]["removed_users"] == [{"input": USER, "wa_id": USER}]
    assert send(client, {"to": USER, "type": "text", "text": {"body": "x"}}).status_code == 200


def test_block_window_and_request_size(emu: Emulator, client: httpx.Client) -> None:
    emu.customer_text(USER, "hi")
    emu.clock.advance(86401)
    r = block(client, [USER]).json()
    assert r["block_users"]["added_users"] == []
    assert_error(block(client, [f"1555{i:07d}" for i in range(1001)]), 100, 400)


# ------------------------------------------------------------------ profile / phone
@pytest.mark.parametrize(
    ("rule", "ok", "bad"),
    [
        ("about 1-139", {"about": "a" * 139}, {"about": "a" * 140}),
        ("about not empty", {"about": "a"}, {"about": ""}),
        ("address<=256", {"address": "a" * 256}, {"address": "a" * 257}),
        (
            "description<=256 (CONFLICT stricter)",
            {"description": "d" * 256},
            {"description": "d" * 257},
        ),
        ("email<=128", {"email": "a" * 120 + "@e.com"}, {"email": "a" * 123 + "@e.com"}),
        (
            "websites<=2",
            {"websites": ["https://a.com", "https://b.com"]},
            {"websites": ["https://a.com", "https://b.com", "https://c.com"]},
        ),
        (
            "website<=256",
            {"websites": ["https://a.com/" + "x" * 242]},
            {"websites": ["https://a.com/" + "x" * 243]},
        ),
    ],
)
def test_business_profile_limits(
    client: httpx.Client, rule: str, ok: dict[str, Any], bad: dict[str, Any]
) -> None:
    path = f"/v23.0/{PNID}/whatsapp_business_profile"
    assert client.post(path, json={"messaging_product": "whatsapp", **ok}).json() == {
        "success": True
    }, rule
    assert_error(client.post(path, json={"messaging_product": "whatsapp", **bad}), 100, 400)


def test_business_profile_vertical_and_get(client: httpx.Client) -> None:
    path = f"/v23.0/{PNID}/whatsapp_business_profile"
    assert (
        client.post(
            path, json={"messaging_product": "whatsapp", "vertical": "RETAIL", "about": "We sell"}
        ).status_code
        == 200
    )
    assert_error(
        client.post(path, json={"messaging_product": "whatsapp", "vertical": "SPACE"}), 131009, 400
    )
    assert_error(client.post(path, json={"about": "x"}), 131008, 400)
    got = client.get(path, params={"fields": "about,vertical"}).json()
    assert got == {
        "data": [{"about": "We sell", "vertical": "RETAIL", "messaging_product": "whatsapp"}]
    }


def test_phone_number_fields(emu: Emulator, client: httpx.Client) -> None:
    default = client.get(f"/v23.0/{PNID}").json()
    assert default == {
        "id": PNID,
        "display_phone_number": "15550000001",
        "verified_name": "wacloud Local",
        "quality_rating": "GREEN",
    }
    t = client.get(
        f"/v23.0/{PNID}", params={"fields": "throughput,whatsapp_business_manager_messaging_limit"}
    ).json()
    assert t["throughput"] == {"level": "STANDARD"}
    assert t["whatsapp_business_manager_messaging_limit"] == "TIER_2K"
    emu.set_throughput(1000)
    t = client.get(f"/v23.0/{PNID}", params={"fields": "throughput"}).json()
    assert t["throughput"] == {"level": "HIGH"}
    with pytest.raises(ValueError):
        emu.set_throughput(1001)
    assert_error(client.get(f"/v23.0/{PNID}", params={"fields": "bogus"}), 100, 400)
