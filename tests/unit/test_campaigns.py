"""Campaign rules that need no AWS: variant split, segments, rendering, recipient parsing."""

from __future__ import annotations

import pytest

from wacloud.campaigns.model import CampaignSpec, in_segment, pick_variant, recipient_wa_id, subject
from wacloud.campaigns.pacing import delay_for
from wacloud.campaigns.recipients import ListInfo, parse_line
from wacloud.templates.render import RenderError, check_against, render, template_message


def test_ab_split_follows_weights_within_tolerance() -> None:
    variants = [{"name": "A", "weight": 3}, {"name": "B", "weight": 1}]
    picks = [pick_variant("c1", f"1555{i:07d}", variants)["name"] for i in range(4000)]
    assert abs(picks.count("A") / 4000 - 0.75) < 0.03


def test_variant_is_stable_per_recipient() -> None:
    variants = [{"name": "A"}, {"name": "B"}]
    assert {pick_variant("c1", "15550001", variants)["name"] for _ in range(5)} == {
        pick_variant("c1", "15550001", variants)["name"]
    }


def test_segment_on_tags_and_attributes() -> None:
    attributes, tags = subject({"city": "Lisbon", "tags": "vip|newsletter"}, {"tags": ["b2c"]})
    assert in_segment(
        {"tags_any": ["vip"], "attributes": {"city": ["Lisbon", "Porto"]}}, attributes, tags
    )
    assert not in_segment({"tags_none": ["b2c"]}, attributes, tags)
    assert not in_segment({"tags_all": ["vip", "gold"]}, attributes, tags)
    assert in_segment(None, attributes, tags)


def test_render_paths_formats_and_missing_values() -> None:
    data = {"customer": {"name": "Ana"}, "at": "2026-12-01T15:30:00+01:00"}
    assert render("Hi {customer.name}, {at:time}", data) == "Hi Ana, 15:30"
    with pytest.raises(RenderError):
        render("{missing}", data)


def test_template_message_named_and_positional() -> None:
    msg = template_message("t", "en_US", {"body": {"first_name": "{n}"}}, {"n": "Bo"})
    assert msg["template"]["components"][0]["parameters"][0] == {
        "type": "text",
        "parameter_name": "first_name",
        "text": "Bo",
    }
    assert check_against({"body": ["{a}"]}, {"body": 2})
    assert not check_against({"body": ["{a}", "{b}"]}, {"body": 2})


def test_recipient_rows() -> None:
    info = ListInfo("b", "k.csv", "csv", ["wa_id", "first_name"], 0, 0)
    assert parse_line(info, "+1 555 0100 200,Ana") == {
        "wa_id": "+1 555 0100 200",
        "first_name": "Ana",
    }
    assert recipient_wa_id({"wa_id": "+1 555 0100 200"}) == "15550100200"
    assert recipient_wa_id({"wa_id": "12"}) is None


def test_spec_needs_exactly_one_list() -> None:
    with pytest.raises(ValueError):
        CampaignSpec.model_validate({"phone_number_id": "1", "variants": [{"template": "t"}]})


def test_pacing_spreads_a_run() -> None:
    assert [delay_for(i, 40) for i in (0, 39, 40, 399)] == [0, 0, 1, 9]
