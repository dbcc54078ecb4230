"""A deeply nested submission is refused for its nesting on every Python: 3.11's json
raised RecursionError near 1,000 levels, 3.13's C decoder parses thousands, so the
sender checks the depth itself (SUBMISSION_MAX_DEPTH)."""

from __future__ import annotations

import pytest

from wacloud.outbound.sender import SUBMISSION_MAX_DEPTH, _depth_exceeds, parse_submission


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [SUBMISSION_MAX_DEPTH + 1, 900, 5_000])
def test_deeper_than_the_limit_is_refused_for_its_nesting(levels: int) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_submission(nested(levels))


def test_the_limit_counts_objects_and_lists_alike() -> None:
    assert not _depth_exceeds({"a": [{"b": [1]}]}, 4)
    assert _depth_exceeds({"a": [{"b": [1]}]}, 3)
    assert not _depth_exceeds("scalar", 1)


def test_at_the_limit_the_submission_is_judged_on_its_fields() -> None:
    with pytest.raises(Exception) as refused:
        parse_submission(nested(SUBMISSION_MAX_DEPTH))
    assert "nested too deeply" not in str(refused.value)
