"""The messaging-limit tally under concurrency, on the local stack's DynamoDB (moto
server applies each request atomically, as DynamoDB does)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from local.stack import LocalStack
from wacloud.infra.clock import now
from wacloud.infra.dynamo import get
from wacloud.store import reach


def test_concurrent_senders_never_exceed_the_limit_nor_waste_places(stack: LocalStack) -> None:
    """24 senders race for 7 places: exactly 7 new recipients get one, nobody retries
    into a deferral while a place is free, and the tally ends at 7."""
    pnid = "100000000000777"
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda i: reach.admit(pnid, f"1555700{i:04d}", 7), range(24)))
    assert sum(r.new for r in results) == 7
    assert sum(not r.allowed for r in results) == 17
    assert all(r.wait > 0 for r in results if not r.allowed)
    assert reach.used(get(reach.tally_pk(pnid)) or {}, now()) == 7
    # The same recipients again: the admitted seven are already counted, no new place.
    again = [reach.admit(pnid, f"1555700{i:04d}", 7) for i in range(24)]
    assert sum(r.allowed and not r.new for r in again) == 7
    assert reach.used(get(reach.tally_pk(pnid)) or {}, now()) == 7
