"""The one newest-first walk of the platform connectors (connectors.live.LiveConnector.walk_newest_first).

A listing of pages is played by hand; the times and the expected items, cursors and high-water marks
are written out here. The platform fakes (test_connectors_live_*.py) cover the same walk through each
connector's own requests.
"""

from __future__ import annotations

import copy
import datetime as dt

from connectors.live import Listing, LiveConnector, iso, parse_time
from tertulia.config import EXAMPLE_CONFIG, ConnectorSource, load_config

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def t(day: int, hour: int = 0) -> str:
    return iso(dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC))


class Walker(LiveConnector):
    platform = "test"
    default_base_url = "http://127.0.0.1:9"  # never called: the listing is played by hand


def walker(lookback_days: int = 0, initial_days: int = 5) -> Walker:
    source = ConnectorSource.model_construct(
        platform="test", enabled=True, lookback_days=lookback_days, max_pages_per_run=50, base_url=None
    )
    source.__pydantic_extra__ = {"initial_days": initial_days}
    return Walker("w", source, load_config(EXAMPLE_CONFIG), now=NOW)


# Three pages, newest first: 19th, 18th; 17th, 16th; 15th, 14th.
PAGES = {
    None: Listing([{"id": 6, "at": t(19)}, {"id": 5, "at": t(18)}], "p2", "page 1"),
    "p2": Listing([{"id": 4, "at": t(17)}, {"id": 3, "at": t(16)}], "p3", "page 2"),
    "p3": Listing([{"id": 2, "at": t(15)}, {"id": 1, "at": t(14)}], None, "page 3"),
}


def _walk(w: Walker, pages=PAGES, **kwargs):
    reads = []

    def read(token):
        reads.append(token)
        return pages[token]

    out = []
    for items, _walk, what in w.walk_newest_first(
        "s", read, lambda it, _what: parse_time(it["at"]), **kwargs
    ):
        out.append(([i["id"] for i in items], what, copy.deepcopy(w.state)))
    return reads, out


def test_a_first_walk_reads_down_to_the_initial_start_and_sets_the_high_water_mark():
    w = walker(initial_days=5)  # start: 15th 12:00
    reads, out = _walk(w)
    assert reads == [None, "p2", "p3"]
    assert [(ids, what) for ids, what, _ in out] == [([6, 5], "page 1"), ([4, 3], "page 2"), ([], "page 3")]
    # each page's cursor resumes after it: the walk's next page and start, the newest time seen so far
    assert out[0][2] == {"s": {"walk": {"next": "p2", "start": t(15, 12), "new_high": t(19)}}}
    assert out[1][2] == {"s": {"walk": {"next": "p3", "start": t(15, 12), "new_high": t(19)}}}
    # the 15th 00:00 is before the start: the walk ends there and the mark moves to the newest seen
    assert out[2][2] == {"s": {"high": t(19)}}


def test_a_walk_cut_short_resumes_from_its_cursor():
    w = walker(initial_days=5)
    _, out = _walk(w)
    w.state = copy.deepcopy(out[0][2])  # the run stopped after landing page 1
    reads, resumed = _walk(w)
    assert reads == ["p2", "p3"]
    assert [ids for ids, _, _ in resumed] == [[4, 3], []]
    assert w.state == {"s": {"high": t(19)}}


def test_the_next_walk_starts_at_the_mark_less_the_look_back():
    w = walker(lookback_days=2)
    w.state = {"s": {"high": t(18)}}  # start: the 16th 00:00
    reads, out = _walk(w)
    assert reads == [None, "p2", "p3"]
    assert [ids for ids, _, _ in out] == [[6, 5], [4, 3], []]  # the 16th itself is kept (not before)
    assert w.state == {"s": {"high": t(19)}}


def test_a_floor_earlier_than_the_start_reads_further():
    w = walker(initial_days=1)  # start: the 19th 12:00, floor: the 16th 12:00
    _, out = _walk(w, floor=dt.datetime(2026, 11, 16, 12, tzinfo=dt.UTC))
    assert [ids for ids, _, _ in out] == [[6, 5], [4]]


def test_a_page_out_of_time_order_is_read_whole():
    pages = {
        None: Listing([{"id": 1, "at": t(10)}, {"id": 7, "at": t(19)}, {"id": 6, "at": t(18)}], "p2", "p")
    }
    w = walker(initial_days=5)
    reads, out = _walk(w, pages=pages, newest_first=False)
    assert reads == [None]  # an item before the start ends the walk with this page
    assert [ids for ids, _, _ in out] == [[7, 6]]
    _, in_order = _walk(walker(initial_days=5), pages=pages)
    assert [ids for ids, _, _ in in_order] == [[]]  # read as newest first, the first item stops it
