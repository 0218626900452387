"""The sample community generator: deterministic, in the contract's shape, with its planted facts."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tertulia import sample_text
from tertulia.config import load_config
from tertulia.contract import ENTITIES
from tertulia.sample import BUSINESS_HOURS, EXTRA_HOLIDAYS, write_sample

REPO = Path(__file__).resolve().parents[2]
END = dt.date(2026, 11, 23)  # a Monday
QUITO = dt.timezone(dt.timedelta(hours=-5))


def _read(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    import duckdb

    con = duckdb.connect()
    cur = con.execute("select * from read_parquet(?)", [str(path)])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _bundle(out: Path) -> dict[str, list[dict]]:
    files = {p.stem: p for p in out.iterdir() if not p.name.startswith(("_", "."))}
    return {name: _read(path) for name, path in files.items()}


def _ts(value: str) -> dt.datetime:
    """UTC-naive instant of a bundle timestamp; no offset means Quito time, as the contract says."""
    t = dt.datetime.fromisoformat(value)
    t = t if t.tzinfo else t.replace(tzinfo=QUITO)
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _local_day(value: str) -> dt.date:
    return (_ts(value) - dt.timedelta(hours=5)).date()


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "community.example.yml")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    facts = write_sample(out, days=30, seed=7, end=END)
    return facts, _bundle(out), out


def _brand_pairs(config, team_rows) -> set[tuple[str, str]]:
    pairs = {(a.platform, a.account_id) for a in config.accounts}
    for row in team_rows:
        for pair in row["handles"].split():
            platform, author = pair.split(":", 1)
            pairs.add((platform, author))
    return pairs


def test_same_arguments_write_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_sample(a, days=30, seed=11, end=END)
    write_sample(b, days=30, seed=11, end=END)
    write_sample(c, days=30, seed=12, end=END)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert "comments.jsonl" in names and "_facts.json" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "comments.jsonl").read_bytes() != (c / "comments.jsonl").read_bytes()


def test_rewriting_a_folder_replaces_the_bundle_files(tmp_path):
    write_sample(tmp_path, days=10, end=END)
    (tmp_path / "notes.txt").write_text("mine")
    facts = write_sample(tmp_path, days=10, end=END, comments_format="csv")
    names = sorted(p.name for p in tmp_path.iterdir())
    # the old comments.jsonl would be a second comments file for the importer
    assert "comments.jsonl" not in names and "comments.csv" in names
    assert "notes.txt" in names
    assert not [n for n in names if n.startswith(".")]
    assert len(_read(tmp_path / "comments.csv")) == facts.counts["comments"]
    assert json.loads((tmp_path / "_facts.json").read_text())["comments_format"] == "csv"


def test_every_file_has_the_contract_columns_and_parseable_timestamps(sample):
    facts, bundle, _ = sample
    assert set(bundle) == set(ENTITIES)
    for name, entity in ENTITIES.items():
        rows = bundle[name]
        assert rows, name
        assert len(rows) == facts.counts[name], name
        for col in entity.columns:
            if col.required:
                assert col.name in rows[0], f"{name}.{col.name} missing"
            for r in rows:
                v = r.get(col.name)
                if not col.nullable:
                    assert v not in (None, ""), f"{name}.{col.name} empty in {r}"
                if v in (None, ""):
                    continue
                if col.kind == "timestamp":
                    _ts(v)
                elif col.kind == "integer":
                    int(v)
                elif col.kind == "date":
                    dt.date.fromisoformat(v)
            if col.name in entity.allowed:
                assert {r[col.name] for r in rows} <= set(entity.allowed[col.name]), f"{name}.{col.name}"
    # extra columns are part of the sample on purpose (the importer keeps them)
    assert "source_app" in bundle["comments"][0]
    # posts mix explicit offsets and naive local times
    offsets = Counter(dt.datetime.fromisoformat(p["published_at"]).tzinfo is None for p in bundle["posts"])
    assert offsets[True] > 0 and offsets[False] > offsets[True]


def test_community_matches_the_example_config(sample, config):
    _, bundle, _ = sample
    assert {(a["platform"], a["account_id"]) for a in bundle["accounts"]} == {
        (a.platform, a.account_id) for a in config.accounts
    }
    team = {t["member_id"]: t for t in bundle["team"]}
    assert {a.owner for a in config.accounts} <= set(team)
    assert team["tm-ana"]["slack_user_id"] == "U0TERTANA"
    assert team["tm-luis"]["handles"] == "instagram:luis.tertulia youtube:UCluis"
    weekly = {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(day): spans
        for day, spans in config.business_hours.weekly.items()
    }
    assert weekly == {d: [f"{a:02d}:00-{b:02d}:00"] for d, (a, b) in BUSINESS_HOURS.items()}
    assert {(d.month, d.day) for d in config.business_hours.extra_holidays} == set(EXTRA_HOLIDAYS)
    assert config.business_hours.holidays_country == "EC"
    owners = {(r["platform"], r["account_id"]): r["owner"] for r in bundle["content_calendar"]}
    # The calendar plans posts: the chat server, the group and the mailbox publish none.
    publishing = {a for a in config.accounts if a.platform in ("instagram", "facebook", "youtube")}
    assert owners == {(a.platform, a.account_id): a.owner for a in publishing}
    assert {a.platform for a in config.accounts} - {a.platform for a in publishing} == {
        "discord",
        "telegram",
        "email",
    }


def test_brand_replies_come_from_configured_accounts_and_team_handles(sample, config):
    _, bundle, _ = sample
    pairs = _brand_pairs(config, bundle["team"])
    brand_ids = {a for _, a in pairs}
    by_platform = Counter()
    for c in bundle["comments"]:
        if c["author_id"] in brand_ids:
            # a brand id only ever speaks on its own platform, and never starts a public thread
            assert (c["platform"], c["author_id"]) in pairs, c
            assert c["channel"] in ("reply", "dm", "email"), c
            by_platform[(c["platform"], c["author_id"])] += 1
    assert {p for p, _ in by_platform} == {"instagram", "facebook", "youtube", "discord", "telegram", "email"}
    # both the accounts and the team members' own handles answer
    assert ("instagram", "ig-cafetertulia") in by_platform and ("instagram", "ana.tertulia") in by_platform
    assert ("youtube", "UCsofia") in by_platform


def test_threads_and_conversations_are_consistent(sample, config):
    _, bundle, _ = sample
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    by_key = {(c["platform"], c["comment_id"]): c for c in bundle["comments"]}
    assert len(by_key) == len(bundle["comments"])
    first_in_thread: dict[tuple[str, str], dict] = {}
    for c in sorted(bundle["comments"], key=lambda c: _ts(c["created_at"])):
        first_in_thread.setdefault((c["platform"], c["thread_id"]), c)
        assert _ts(c["updated_at"]) >= _ts(c["created_at"])
        if c["parent_id"]:
            parent = by_key[(c["platform"], c["parent_id"])]
            assert c["thread_id"] == parent["thread_id"] == parent["comment_id"]
            assert not parent["parent_id"]
            assert _ts(c["created_at"]) > _ts(parent["created_at"])
            # A mail answers a mail (In-Reply-To, as the mailbox connector lands it); elsewhere a reply.
            assert c["channel"] == ("email" if c["platform"] == "email" else "reply")
        elif c["channel"] != "dm":
            assert c["thread_id"] == c["comment_id"]
    dm_threads = {k: v for k, v in first_in_thread.items() if v["channel"] == "dm"}
    assert len(dm_threads) > 20
    # every thread and conversation is opened by a member
    assert all(v["author_id"] not in brand_ids for v in first_in_thread.values())
    channels = Counter(c["channel"] for c in bundle["comments"])
    assert set(channels) == {"comment", "reply", "mention", "dm", "review", "email"}
    # some members write twice before the brand answers; some comments are edited
    assert sum(1 for c in bundle["comments"] if c["updated_at"] != c["created_at"]) > 10


def test_planted_crisis_is_the_day_with_most_keyword_comments(sample, config):
    facts, bundle, _ = sample
    words = [w for ws in config.crisis.keywords.values() for w in ws]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    per_day = Counter(_local_day(c["created_at"]) for c in bundle["comments"] if pattern.search(c["message"]))
    (top_day, top), (_, second) = per_day.most_common(2)
    assert top_day == facts.crisis_day
    assert top >= 3 * second
    assert facts.crisis_day.weekday() < 5 and (END - facts.crisis_day).days in range(10, 14)
    first = min(
        (c for c in bundle["comments"] if pattern.search(c["message"])), key=lambda c: _ts(c["created_at"])
    )
    assert _ts(first["created_at"]) == facts.crisis_start
    assert f"{first['platform']}:{first['post_id']}" == facts.crisis_post
    assert (facts.crisis_start - dt.timedelta(hours=5)).hour == 10
    # six loud hours against the same hours of the same weekday in earlier weeks
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    hourly = Counter()
    for c in bundle["comments"]:
        if c["author_id"] not in brand_ids:
            local = _ts(c["created_at"]) - dt.timedelta(hours=5)
            hourly[(local.date(), local.hour)] += 1
    crisis = sum(hourly[(facts.crisis_day, h)] for h in range(10, 16))
    earlier = [facts.crisis_day - dt.timedelta(weeks=w) for w in (1, 2, 3)]
    baseline = sum(hourly[(d, h)] for d in earlier for h in range(10, 16)) / len(earlier)
    assert crisis >= 4 * baseline
    # concentrated on one post
    on_post = Counter(
        f"{c['platform']}:{c['post_id']}"
        for c in bundle["comments"]
        if pattern.search(c["message"]) and _local_day(c["created_at"]) == facts.crisis_day
    )
    assert on_post.most_common(1)[0][0] == facts.crisis_post
    assert on_post[facts.crisis_post] > 0.5 * per_day[facts.crisis_day]


def test_items_are_left_unanswered_at_now(sample, config):
    facts, bundle, _ = sample
    assert facts.now == dt.datetime(2026, 11, 23, 20, 0)  # 15:00 in Quito
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    assert all(_ts(c["created_at"]) <= facts.now for c in bundle["comments"])
    assert all(_ts(m["captured_at"]) <= facts.now for m in bundle["post_metrics"])
    last_brand: dict[tuple[str, str], dt.datetime] = {}
    for c in bundle["comments"]:
        if c["author_id"] in brand_ids:
            k = (c["platform"], c["thread_id"])
            last_brand[k] = max(last_brand.get(k, dt.datetime.min), _ts(c["created_at"]))
    unanswered = [
        c
        for c in bundle["comments"]
        if c["author_id"] not in brand_ids
        and _ts(c["created_at"]) > last_brand.get((c["platform"], c["thread_id"]), dt.datetime.min)
    ]
    today = [c for c in unanswered if facts.now - _ts(c["created_at"]) < dt.timedelta(hours=6)]
    assert len(today) >= 4
    by_key = {f"{c['platform']}:{c['comment_id']}": c for c in unanswered}
    assert facts.open_items and set(facts.open_items) <= set(by_key)
    # one 12 minutes old, one from the day before
    ages = sorted(facts.now - _ts(by_key[k]["created_at"]) for k in facts.open_items)
    assert dt.timedelta(minutes=11) <= ages[0] <= dt.timedelta(minutes=13)
    assert ages[-1] > dt.timedelta(hours=20)


def test_brand_answers_mostly_in_business_hours_some_next_day(sample, config):
    _, bundle, _ = sample
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    by_key = {(c["platform"], c["comment_id"]): c for c in bundle["comments"]}
    replies = [c for c in bundle["comments"] if c["author_id"] in brand_ids and c["parent_id"]]
    local = [_ts(r["created_at"]) - dt.timedelta(hours=5) for r in replies]
    in_hours = sum(
        1 for t in local if (t.weekday() < 5 and 9 <= t.hour < 18) or (t.weekday() == 5 and 10 <= t.hour < 14)
    )
    assert in_hours > 0.8 * len(replies)
    next_day = sum(
        1
        for r in replies
        if _local_day(r["created_at"]) > _local_day(by_key[(r["platform"], r["parent_id"])]["created_at"])
    )
    assert 0.05 * len(replies) < next_day < 0.7 * len(replies)


def test_post_metrics_are_monotonic_and_account_reach_within_impressions(sample):
    _, bundle, _ = sample
    snaps = defaultdict(list)
    for m in bundle["post_metrics"]:
        snaps[(m["platform"], m["post_id"])].append(m)
    posts = {(p["platform"], p["post_id"]) for p in bundle["posts"]}
    assert set(snaps) <= posts and len(snaps) > 0.9 * len(posts)
    counters = ("impressions", "reach", "reactions", "comments", "shares", "saves", "clicks", "video_views")
    for rows in snaps.values():
        rows.sort(key=lambda m: _ts(m["captured_at"]))
        for a, b in zip(rows, rows[1:], strict=False):
            for col in counters:
                if a[col] != "":
                    assert int(b[col]) >= int(a[col]), (a, b, col)
        assert all(int(r["reach"]) <= int(r["impressions"]) for r in rows)
    assert max(len(v) for v in snaps.values()) >= 8  # +1h, +6h, +24h, +3d, +7d, then daily
    for m in bundle["account_metrics"]:
        assert int(m["reach"]) <= int(m["impressions"])
    ig = sorted(
        (r for r in bundle["account_metrics"] if r["platform"] == "instagram"), key=lambda r: r["date"]
    )
    assert int(ig[-1]["followers"]) > int(ig[0]["followers"])


def test_content_calendar_has_late_missing_and_unplanned_posts(sample):
    _, bundle, _ = sample
    posts = {p["post_id"]: p for p in bundle["posts"]}
    planned = [r for r in bundle["content_calendar"] if r["post_id"]]
    late = [
        r
        for r in planned
        if _ts(posts[r["post_id"]]["published_at"]) - _ts(r["planned_at"]) > dt.timedelta(minutes=30)
    ]
    never = [r for r in bundle["content_calendar"] if not r["post_id"]]
    unplanned = set(posts) - {r["post_id"] for r in planned}
    assert late and never and unplanned
    assert len(late) < 0.3 * len(planned)
    campaigns = {p["campaign"] for p in bundle["posts"]}
    assert "lanzamiento-geisha" in campaigns


def test_scale_multiplies_rows_with_unique_ids(tmp_path, config):
    one = write_sample(tmp_path / "one", days=12, end=END)
    three = write_sample(tmp_path / "three", days=12, end=END, scale=3)
    write_sample(tmp_path / "again", days=12, end=END, scale=3)
    for entity in ("comments", "posts", "post_metrics", "content_calendar"):
        assert three.counts[entity] == 3 * one.counts[entity]
    for entity in ("accounts", "team", "account_metrics"):
        assert three.counts[entity] == one.counts[entity]
    base_followers = {
        (r["platform"], r["date"]): int(r["followers"]) for r in _bundle(tmp_path / "one")["account_metrics"]
    }
    for r in _bundle(tmp_path / "three")["account_metrics"]:
        # the audience grows with the replicas (to the follower, give or take rounding)
        assert abs(int(r["followers"]) - 3 * base_followers[(r["platform"], r["date"])]) <= 2
    assert (tmp_path / "three" / "comments.jsonl").read_bytes() == (
        tmp_path / "again" / "comments.jsonl"
    ).read_bytes()
    bundle = _bundle(tmp_path / "three")
    comments = bundle["comments"]
    assert len(comments) == three.counts["comments"]
    keys = {(c["platform"], c["comment_id"]) for c in comments}
    assert len(keys) == len(comments)
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    member_ids = {c["author_id"] for c in comments if c["author_id"] not in brand_ids}
    base_members = {
        c["author_id"] for c in _bundle(tmp_path / "one")["comments"] if c["author_id"] not in brand_ids
    }
    assert len(member_ids) == 3 * len(base_members)
    assert any(c["author_id"] == "ig-cafetertulia" and c["comment_id"].endswith("-r2") for c in comments)
    posts = {(p["platform"], p["post_id"]) for p in bundle["posts"]}
    for c in comments:
        assert _ts(c["created_at"]) <= three.now
        if c["parent_id"]:
            assert (c["platform"], c["parent_id"]) in keys
        if c["post_id"]:
            assert (c["platform"], c["post_id"]) in posts
    # naive post timestamps stay naive in the replicas
    naive = [p for p in bundle["posts"] if dt.datetime.fromisoformat(p["published_at"]).tzinfo is None]
    assert any(p["post_id"].endswith("-r1") for p in naive)


def test_comment_formats_hold_the_same_rows(tmp_path):
    ids = {}
    for fmt in ("jsonl", "csv", "parquet"):
        write_sample(tmp_path / fmt, days=8, end=END, comments_format=fmt)
        rows = _read(tmp_path / fmt / f"comments.{fmt}")
        ids[fmt] = [(r["comment_id"], r["created_at"], r["message"]) for r in rows]
    assert ids["jsonl"] == ids["csv"] == ids["parquet"]


def _negative_patterns() -> re.Pattern:
    # A message is negative when it was written from a complaint or price template of the phrase bank.
    templates = [
        t
        for (_, kind), ts in (
            *sample_text.MEMBER.items(),
            *sample_text.REVIEW.items(),
            *sample_text.CHAT_MEMBER.items(),
            *sample_text.EMAIL_MEMBER.items(),
        )
        if kind in ("complaint", "price")
        for t in ts
    ]
    # "{neg}" may be filled with nothing, and the message is stripped: the space before it is optional
    parts = [
        re.escape(t.replace(" {neg}", "{neg}"))
        .replace(r"\{neg\}", ".*")
        .replace(r"\{product\}", ".*")
        .replace(r"\{city\}", ".*")
        for t in templates
    ]
    return re.compile("^(?:" + "|".join(parts) + ")$", re.DOTALL)


def _is_spam(c: dict) -> bool:
    return any(link in c["message"] for link in sample_text.SPAM_LINKS)


def test_slow_burn_raises_the_negative_share_without_a_spike(tmp_path, config):
    facts = write_sample(tmp_path, days=30, end=END, scenario="slow_burn")
    assert facts.crisis_day is None and facts.crisis_start is None
    assert facts.slow_burn_start == END - dt.timedelta(days=3)
    bundle = _bundle(tmp_path)
    brand_ids = {a for _, a in _brand_pairs(config, bundle["team"])}
    negative = _negative_patterns()
    total, neg = Counter(), Counter()
    seen_threads = set()
    for c in sorted(bundle["comments"], key=lambda c: _ts(c["created_at"])):
        # what members start: top-level comments, mentions, reviews, first messages of conversations
        thread = (c["platform"], c["thread_id"])
        if c["author_id"] in brand_ids or c["parent_id"] or thread in seen_threads or _is_spam(c):
            continue
        seen_threads.add(thread)
        day = _local_day(c["created_at"])
        total[day] += 1
        neg[day] += bool(negative.match(c["message"]))
    share = {d: neg[d] / total[d] for d in total}
    start = facts.slow_burn_start
    before = [d for d in total if d < start - dt.timedelta(days=1)]
    baseline_share = sum(neg[d] for d in before) / sum(total[d] for d in before)
    assert baseline_share < 0.2
    rising = [share[start + dt.timedelta(days=i)] for i in range(3)]
    assert rising[0] < rising[2] and rising[2] > 0.4
    last_two = [start + dt.timedelta(days=i) for i in (2, 3)]
    assert sum(neg[d] for d in last_two) / sum(total[d] for d in last_two) > 0.4
    # volume stays around normal: no day of the rise above 1.6x the mean full day before it
    mean_before = sum(total[d] for d in before) / len(before)
    assert all(total[start + dt.timedelta(days=i)] < 1.6 * mean_before for i in range(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario": "meltdown"}, "unknown scenario 'meltdown'"),
        ({"scale": 0}, "scale must be at least 1"),
        ({"comments_format": "xml"}, "unknown comments format 'xml'"),
        ({"days": 0}, "days must be at least 1"),
        ({"scenario": "slow_burn", "days": 5}, "at least 10 days"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        write_sample(tmp_path, end=END, **kwargs)
    assert not list(tmp_path.iterdir())


def test_chat_server_group_and_mailbox_have_bilingual_traffic_answered_and_not(sample, config):
    facts, bundle, _ = sample
    brand = {a.account_id for a in config.accounts}
    for platform, top_channel in (("discord", "comment"), ("telegram", "comment"), ("email", "email")):
        rows = [c for c in bundle["comments"] if c["platform"] == platform]
        opened = [c for c in rows if not c["parent_id"]]
        answers = [c for c in rows if c["author_id"] in brand]
        answered = {c["thread_id"] for c in answers}
        assert {c["channel"] for c in opened} == {top_channel}
        assert all(c["author_id"] not in brand for c in opened)  # members open every thread
        assert len(opened) > 30 and 0.5 * len(opened) < len(answered) < len(opened)
        # Spanish and English members (the team answers in the member's language).
        assert any("¿" in c["message"] for c in opened) and any(c["message"][:1].isascii() for c in opened)
        local = [_ts(c["created_at"]) - dt.timedelta(hours=5) for c in answers]
        in_hours = [
            t
            for t in local
            if (t.weekday() < 5 and 9 <= t.hour < 18) or (t.weekday() == 5 and 10 <= t.hour < 14)
        ]
        assert 0.6 * len(answers) < len(in_hours) < len(answers)  # mostly in business hours, not only
    # The planted mail: Friday 20 Nov 2026 is the sample's last Friday with a Monday before `now`
    # (Monday 23 Nov, 09:45 < 15:00), so the mail of Friday 17:30 is answered at 09:45 that Monday.
    mails = {c["comment_id"]: c for c in bundle["comments"] if c["platform"] == "email"}
    weekend = [c for c in mails.values() if c["message"].startswith("Pedido para el lunes")]
    assert [c["created_at"] for c in weekend] == ["2026-11-20T17:30:00-05:00"]
    answer = [c for c in mails.values() if c["parent_id"] == weekend[0]["comment_id"]]
    assert [(c["author_id"], c["created_at"]) for c in answer] == [
        ("em-soporte", "2026-11-23T09:45:00-05:00")
    ]


def test_the_generator_places_replies_with_the_pipelines_business_calendar():
    """The sample's replies use tertulia.business_calendar (the arithmetic the SLA marts are tested
    against), in the community's local time. Ecuador keeps UTC-5; Dec 24 (extra) and Dec 25 are closed."""
    import datetime as dt

    from tertulia.sample import _BusinessClock

    clock = _BusinessClock(dt.date(2026, 11, 1), dt.date(2026, 12, 31))
    at = dt.datetime
    # Friday 17:30 + 45 min: 30 min until 18:00, the other 15 on Saturday from 10:00.
    assert clock.add(at(2026, 11, 20, 17, 30), 45) == at(2026, 11, 21, 10, 15)
    # Saturday 13:50 + 20 min: 10 min until 14:00, Sunday closed, Monday from 09:00.
    assert clock.add(at(2026, 11, 21, 13, 50), 20) == at(2026, 11, 23, 9, 10)
    # Wednesday Dec 23 17:50 + 20 min: Thursday 24 and Friday 25 closed, Saturday 26 from 10:00.
    assert clock.add(at(2026, 12, 23, 17, 50), 20) == at(2026, 12, 26, 10, 10)
    # Sunday night: the first opening is Monday 09:00; a deadline on the closing minute is that minute.
    assert clock.add(at(2026, 11, 22, 23, 0), 540) == at(2026, 11, 23, 18, 0)
    assert clock.is_open(at(2026, 12, 26, 13, 59)) and not clock.is_open(at(2026, 12, 26, 14, 0))
    assert not clock.opens_on(dt.date(2026, 12, 24)) and clock.opens_on(dt.date(2026, 12, 23))
