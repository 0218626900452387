"""The sample community: Café Tertulia, a Quito coffee roaster, written as an import bundle.

`write_sample` builds the community once at scale 1 in Python (a few thousand rows, seeded, so the same
arguments always give the same bytes) and writes one file per entity of the raw contract. For
benchmarks, `scale=N` replicates the posts, members and comments N times with DuckDB, streaming from the
scale-1 files to the final ones, so ten million comments never sit in Python's memory.

The community matches community.example.yml: its accounts, its team and their handles, its business
hours and holidays. What the demo and the tests rely on is planted on purpose and recorded in
`_facts.json` (the importer skips files starting with `_`):
- a crisis (scenario `default`): a burst of negative comments about glass in a bag of Geisha Reserva,
  on one weekday about ten days before the end, from about 10:00 local for six hours;
- or a slow burn (scenario `slow_burn`): the negative share rising over three days, volume unchanged;
- member messages left unanswered at `now` (the end day at 15:00 local), some pending, some breached.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import math
import os
import random
import shutil
import unicodedata
from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tertulia import sample_text as text
from tertulia.business_calendar import build_calendar, business_deadline, closed_dates
from tertulia.config import WEEKDAYS, BusinessHours
from tertulia.contract import ENTITIES

TIMEZONE = "America/Guayaquil"
TZ = ZoneInfo(TIMEZONE)
SCENARIOS = ("default", "slow_burn")
COMMENT_FORMATS = ("jsonl", "csv", "parquet")
NOW_LOCAL_TIME = dt.time(15, 0)


@dataclass(frozen=True)
class _Account:
    platform: str
    account_id: str
    handle: str
    name: str
    owner: str
    prefix: str


# As in community.example.yml (tests/core/test_sample_community.py checks they agree).
ACCOUNTS = (
    _Account("instagram", "ig-cafetertulia", "cafetertulia", "Café Tertulia", "tm-ana", "ig"),
    _Account("facebook", "fb-cafetertulia", "CafeTertuliaQuito", "Café Tertulia Quito", "tm-luis", "fb"),
    _Account("youtube", "yt-cafetertulia", "@cafetertulia", "Café Tertulia TV", "tm-sofia", "yt"),
)
# The chat server, the group and the support mailbox (issue 16). They draw from a random stream of their
# own (`_ChatTraffic`), so every row of the three platforms above stays what it was for a given seed.
CHAT_ACCOUNTS = (
    _Account("discord", "dsc-cafetertulia", "tertulia-bot", "Café Tertulia Club", "tm-luis", "dsc"),
    _Account("telegram", "tg-cafetertulia", "cafetertulia_bot", "Café Tertulia Comunidad", "tm-ana", "tg"),
    _Account("email", "em-soporte", "soporte@cafetertulia.ec", "Soporte Café Tertulia", "tm-sofia", "em"),
)
TEAM = (
    (
        "tm-ana",
        "Ana Paredes",
        "ana@cafetertulia.ec",
        "U0TERTANA",
        "instagram:ana.tertulia facebook:ana.paredes.ct",
    ),
    (
        "tm-luis",
        "Luis Cevallos",
        "luis@cafetertulia.ec",
        "U0TERTLUIS",
        "instagram:luis.tertulia youtube:UCluis",
    ),
    (
        "tm-sofia",
        "Sofía Andrade",
        "sofia@cafetertulia.ec",
        "U0TERTSOFIA",
        "facebook:sofia.andrade.ct youtube:UCsofia",
    ),
)
TEAM_ROLES = {"tm-ana": "Community manager", "tm-luis": "Moderator", "tm-sofia": "Customer care"}
# Opening spans per weekday (Mon=0), local time; Sunday closed. Holidays: Ecuador plus Christmas Eve.
BUSINESS_HOURS = {0: (9, 18), 1: (9, 18), 2: (9, 18), 3: (9, 18), 4: (9, 18), 5: (10, 14)}
EXTRA_HOLIDAYS = ((12, 24),)

_BY_PLATFORM = {a.platform: a for a in ACCOUNTS}
_TEAM_HANDLES: dict[str, list[str]] = {}
for _member in TEAM:
    for _pair in _member[4].split():
        _p, _h = _pair.split(":", 1)
        _TEAM_HANDLES.setdefault(_p, []).append(_h)
BRAND_AUTHORS = tuple(a.account_id for a in ACCOUNTS) + tuple(h for hs in _TEAM_HANDLES.values() for h in hs)
_ALL_BRAND_AUTHORS = BRAND_AUTHORS + tuple(a.account_id for a in CHAT_ACCOUNTS)

# Member activity by local hour and weekday (Mon=0): quiet nights, busy evenings and weekends.
_HOUR_WEIGHT = (0.3, 0.2, 0.12, 0.08, 0.08, 0.2, 0.5, 1.0, 1.6, 2.0, 2.2, 2.3,
                2.6, 2.5, 2.2, 2.1, 2.2, 2.6, 3.0, 3.4, 3.6, 3.2, 2.2, 1.0)  # fmt: skip
_WEEKDAY_WEIGHT = (0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.05)
_MEMBER_ITEMS_PER_DAY = 56.0
# Engagement of a post by its type, publishing hour and weekday: a best posting time exists.
_TYPE_FACTOR = {"reel": 1.6, "carousel": 1.3, "video": 1.2, "photo": 1.0, "text": 0.7, "link": 0.6}
_WEEKDAY_FACTOR = (0.85, 0.9, 0.95, 1.15, 1.05, 1.2, 1.1)
_POST_SLOTS = ((8, 0), (10, 30), (12, 30), (15, 0), (17, 30), (19, 30), (20, 30))
_CONTENT_TYPES = {
    "instagram": (("photo", 0.4), ("reel", 0.35), ("carousel", 0.25)),
    "facebook": (("photo", 0.35), ("video", 0.2), ("text", 0.2), ("link", 0.25)),
    "youtube": (("video", 1.0),),
}
_FOLLOWERS = {"instagram": 12840, "facebook": 8150, "youtube": 2310}
_CHANNELS = {
    "instagram": (("comment", 0.74), ("mention", 0.10), ("dm", 0.16)),
    "facebook": (("comment", 0.70), ("dm", 0.14), ("review", 0.08), ("mention", 0.08)),
    "youtube": (("comment", 1.0),),
}
_SOURCE_APPS = {
    "instagram": ("Instagram for iOS", "Instagram for Android", "Instagram Web"),
    "facebook": ("Facebook for Android", "Facebook for iOS", "Facebook Web"),
    "youtube": ("YouTube for Android", "YouTube for iOS", "YouTube Web"),
}
_BRAND_APP = "Meta Business Suite"
# Snapshot offsets of post metrics, hours after publishing: +1h, +6h, +24h, +3d, +7d, then daily to +14d.
_SNAPSHOT_HOURS = (1, 6, 24, 72, 168) + tuple(24 * d for d in range(8, 15))


# First and last names per language, for members of every platform the sample writes.
_NAMES = {
    "es": (text.FIRST_NAMES_ES, text.LAST_NAMES_ES),
    "en": (text.FIRST_NAMES_EN, text.LAST_NAMES_EN),
    "pt": (text.FIRST_NAMES_PT, text.LAST_NAMES_PT),
}


def person_name(rng: random.Random, lang: str) -> str:
    first, last = _NAMES[lang]
    return f"{rng.choice(first)} {rng.choice(last)}"


@dataclass
class SampleFacts:
    """What the sample holds and what was planted in it, for the demo, the tests and humans."""

    now: dt.datetime  # UTC, naive: the end day at 15:00 local, the instant the demo evaluates SLAs at
    crisis_start: dt.datetime | None  # UTC, naive: first comment of the planted crisis
    crisis_day: dt.date | None  # local
    crisis_post: str | None  # platform:post_id the crisis concentrates on
    slow_burn_start: dt.date | None  # local: first day of the rising negative share
    counts: dict[str, int]  # rows per entity file
    start: dt.date | None = None
    end: dt.date | None = None
    days: int = 0
    seed: int = 0
    scale: int = 1
    scenario: str = "default"
    comments_format: str = "jsonl"
    timezone: str = TIMEZONE
    # Member messages left unanswered at `now` on purpose: platform:comment_id -> what they are.
    open_items: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        what = (
            f"{self.counts.get('comments', 0):,} comments, {self.counts.get('posts', 0):,} posts, "
            f"{self.counts.get('post_metrics', 0):,} post snapshots over {self.days} days to {self.end}"
        )
        if self.crisis_start and self.crisis_post:
            local = self.crisis_start.replace(tzinfo=dt.UTC).astimezone(TZ)
            what += f"; crisis planted on {self.crisis_day} from {local:%H:%M} local on {self.crisis_post}"
        if self.slow_burn_start:
            what += f"; negative share rising from {self.slow_burn_start}"
        return (
            what
            + f"; now = {self.now:%Y-%m-%d %H:%M} UTC"
            + (f" (scale {self.scale})" if self.scale > 1 else "")
        )

    def to_json(self) -> str:
        def enc(v: Any) -> Any:
            return v.isoformat() if isinstance(v, dt.date | dt.datetime) else v

        return json.dumps({k: enc(v) for k, v in asdict(self).items()}, ensure_ascii=False, indent=2) + "\n"


def write_sample(
    out_dir: Path,
    *,
    days: int = 90,
    seed: int = 7,
    scale: int = 1,
    end: dt.date | None = None,
    scenario: str = "default",
    comments_format: str = "jsonl",
) -> SampleFacts:
    """Write the sample community into `out_dir` (created if missing; its bundle files are replaced)."""
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    if scale < 1:
        raise ValueError(f"scale must be at least 1 (got {scale})")
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")
    if comments_format not in COMMENT_FORMATS:
        raise ValueError(
            f"unknown comments format {comments_format!r}; use one of {', '.join(COMMENT_FORMATS)}"
        )
    if scenario == "slow_burn" and days < 10:
        raise ValueError(
            f"the slow_burn scenario needs at least 10 days of history for a baseline (got {days})"
        )
    end = end or dt.datetime.now(TZ).date()

    community = _Community(random.Random(seed), end - dt.timedelta(days=days - 1), end, scenario, scale)
    community.chat = _ChatTraffic(random.Random(f"chat:{seed}"), community)
    rows = community.build()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = _write_bundle(out_dir, rows, scale, comments_format)
    facts = SampleFacts(
        now=_utc(community.now),
        crisis_start=_utc(community.crisis_start) if community.crisis_start else None,
        crisis_day=community.crisis_day,
        crisis_post=community.crisis_post,
        slow_burn_start=community.slow_burn_start,
        counts=counts,
        start=community.start,
        end=end,
        days=days,
        seed=seed,
        scale=scale,
        scenario=scenario,
        comments_format=comments_format,
        open_items=community.open_items,
    )
    (out_dir / "_facts.json").write_text(facts.to_json(), encoding="utf-8")
    return facts


# ---------------------------------------------------------------------------------------------------
# Time: everything inside is local wall-clock time (Ecuador keeps UTC-5 all year, no daylight saving).


def _utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=TZ).astimezone(dt.UTC).replace(tzinfo=None)


def _local(utc: dt.datetime) -> dt.datetime:
    return utc.replace(tzinfo=dt.UTC).astimezone(TZ).replace(tzinfo=None)


def _follow_up(top: dict[str, Any]) -> dict[str, Any]:
    """Where the next message under `top` goes: the same private conversation, or a public reply to it."""
    if top["channel"] == "dm":
        return {"channel": "dm", "thread_id": top["thread_id"]}
    return {"channel": "reply", "parent": top}


def _iso(local: dt.datetime, *, naive: bool = False) -> str:
    local = local.replace(microsecond=0)
    return local.isoformat() if naive else local.replace(tzinfo=TZ).isoformat()


class _BusinessClock:
    """Opening hours and holidays, to place the brand's replies where a real team would write them.

    The arithmetic is `tertulia.business_calendar`'s, the one the SLA marts are tested against; this
    class only speaks the generator's local wall-clock time to it.
    """

    # The calendar reaches this far around the sample's days: a reply may fall after its last day (an
    # item asked on Friday evening before a long holiday weekend) and every deadline needs an answer.
    AHEAD = dt.timedelta(days=60)

    def __init__(self, start: dt.date, end: dt.date) -> None:
        years = range(start.year - 1, end.year + 2)
        hours = BusinessHours(
            weekly={WEEKDAYS[d]: [f"{a:02d}:00-{b:02d}:00"] for d, (a, b) in BUSINESS_HOURS.items()},
            holidays_country="EC",
            extra_holidays=[dt.date(y, m, d) for y in years for m, d in EXTRA_HOLIDAYS],
        )
        self.closed = closed_dates(hours, years)
        self.calendar = build_calendar(hours, TIMEZONE, start - self.AHEAD, end + self.AHEAD)
        self._opens = [iv.open_at for iv in self.calendar.intervals]
        self._open_dates = {iv.local_date for iv in self.calendar.intervals}

    def opens_on(self, day: dt.date) -> bool:
        return day in self._open_dates

    def is_open(self, t: dt.datetime) -> bool:
        u = _utc(t)
        i = bisect_right(self._opens, u) - 1
        return i >= 0 and u < self.calendar.intervals[i].close_at

    def add(self, t: dt.datetime, minutes: float) -> dt.datetime:
        """`minutes` of opening time after `t` (a time outside hours starts at the next opening)."""
        due = business_deadline(_utc(t), minutes, self.calendar)
        if due is None:  # pragma: no cover - AHEAD covers every reply the generator plans
            raise RuntimeError(f"no {minutes:.0f} opening minutes after {t} in the sample's calendar")
        return _local(due)


# ---------------------------------------------------------------------------------------------------
# The community at scale 1.


@dataclass
class _Member:
    author_id: str
    name: str
    platform: str
    lang: str
    app: str


@dataclass
class _Post:
    platform: str
    post_id: str
    published: dt.datetime
    content_type: str
    factor: float
    row: dict[str, Any]


class _Community:
    def __init__(
        self, rng: random.Random, start: dt.date, end: dt.date, scenario: str, scale: int = 1
    ) -> None:
        self.rng = rng
        # The brand's own accounts stay three at any scale, but their audience grows with the replicas.
        self.audience = scale
        self.start, self.end, self.scenario = start, end, scenario
        self.now = dt.datetime.combine(end, NOW_LOCAL_TIME)
        self.clock = _BusinessClock(start, end)
        self.posts: list[_Post] = []
        self.posts_by_platform: dict[str, list[_Post]] = {a.platform: [] for a in ACCOUNTS}
        self.comments: list[dict[str, Any]] = []
        self.members: list[_Member] = []
        self.members_by_platform: dict[str, list[_Member]] = {a.platform: [] for a in ACCOUNTS}
        self._used_ids: set[str] = set(BRAND_AUTHORS)
        self._seq = {"comment": 0, "post": 0, "dm": 0}
        self.open_items: dict[str, str] = {}
        self.crisis_day = self._pick_crisis_day() if scenario == "default" else None
        self.crisis_start: dt.datetime | None = None
        self.crisis_post: str | None = None
        self.slow_burn_start = end - dt.timedelta(days=3) if scenario == "slow_burn" else None
        self.chat: _ChatTraffic | None = None

    # -- building -----------------------------------------------------------------------------------

    def build(self) -> dict[str, list[dict[str, Any]]]:
        self._make_members()
        self._make_posts()
        self._make_everyday_comments()
        if self.crisis_day:
            self._plant_crisis()
        self._plant_open_items()
        if self.chat is not None:
            self.comments += self.chat.build()
        self.comments.sort(key=lambda c: (c["_t"], c["platform"], c["comment_id"]))
        return {
            "accounts": [
                {"platform": a.platform, "account_id": a.account_id, "handle": a.handle, "name": a.name}
                for a in (*ACCOUNTS, *(CHAT_ACCOUNTS if self.chat is not None else ()))
            ],
            "team": [
                {
                    "member_id": m,
                    "name": n,
                    "email": e,
                    "slack_user_id": s,
                    "handles": h,
                    "role": TEAM_ROLES[m],
                }
                for m, n, e, s, h in TEAM
            ],
            "posts": [p.row for p in sorted(self.posts, key=lambda p: (p.published, p.post_id))],
            "post_metrics": self._post_metrics(),
            "account_metrics": self._account_metrics(),
            "comments": [self._comment_out(c) for c in self.comments],
            "content_calendar": self._calendar(),
        }

    def _pick_crisis_day(self) -> dt.date | None:
        days = (self.end - self.start).days + 1
        if days < 8:
            return None
        day = self.end - dt.timedelta(days=10 if days >= 21 else max(3, days // 3))
        while day.weekday() >= 5 or day in self.clock.closed:
            day -= dt.timedelta(days=1)
        return day if day > self.start else None

    def _choice(self, weighted: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]

    def _poisson(self, lam: float) -> int:
        return _poisson(self.rng, lam)

    # -- members ------------------------------------------------------------------------------------

    def _new_member(self, platform: str, lang: str | None = None) -> _Member:
        rng = self.rng
        lang = lang or self._choice((("es", 0.62), ("en", 0.33), ("pt", 0.05)))
        name = person_name(rng, lang)
        while True:
            if platform == "instagram":
                slug = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
                sep = rng.choice((".", "_", ""))
                author_id = sep.join(slug.split()[:2]) + rng.choice(("", "", str(rng.randint(1, 99)), "_uio"))
            elif platform == "facebook":
                author_id = str(rng.randint(100000000000000, 100099999999999))
            else:
                alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                author_id = "UC" + "".join(rng.choice(alphabet) for _ in range(22))
            if author_id not in self._used_ids:
                break
        self._used_ids.add(author_id)
        m = _Member(author_id, name, platform, lang, rng.choice(_SOURCE_APPS[platform]))
        self.members.append(m)
        self.members_by_platform[platform].append(m)
        return m

    def _make_members(self) -> None:
        # A long tail of occasional members and a dozen very active ones (the future ambassadors).
        n = 650
        platforms = (("instagram", 0.55), ("facebook", 0.30), ("youtube", 0.15))
        weights = []
        for i in range(n):
            self._new_member(self._choice(platforms))
            w = min(self.rng.lognormvariate(0, 1.0), 2.5)
            weights.append(10 + 2 * w if i < 12 else w * (0.15 if i % 2 == 0 else 1.0))
        self._member_cum = list(_cumulative(weights))

    def _pick_member(self, platform: str | None = None) -> _Member:
        while True:
            i = bisect.bisect_right(self._member_cum, self.rng.random() * self._member_cum[-1])
            m = self.members[min(i, len(self._member_cum) - 1)]
            if platform is None or m.platform == platform:
                return m

    # -- posts --------------------------------------------------------------------------------------

    def _campaign(self, day: dt.date) -> str:
        n = (self.end - self.start).days + 1
        launch_from = self.start + dt.timedelta(days=int(n * 0.5))
        launch_to = self.crisis_day or self.start + dt.timedelta(days=int(n * 0.85))
        if launch_from <= day <= launch_to and self.rng.random() < 0.45:
            return "lanzamiento-geisha"
        if day.month == 12 and day.day <= 25 and self.rng.random() < 0.6:
            return f"navidad-{day.year}"
        if day.month == 10 and abs(day.day - 1) <= 3 and self.rng.random() < 0.7:
            return "dia-internacional-del-cafe"
        return ""

    def _add_post(
        self, acc: _Account, t: dt.datetime, content_type: str, campaign: str, caption: str
    ) -> _Post:
        rng = self.rng
        self._seq["post"] += 1
        post_id = f"{acc.prefix}-p{self._seq['post']:05d}"
        hour_factor = (
            1.4 if 19 <= t.hour <= 20 else 1.15 if 12 <= t.hour <= 13 else 0.8 if t.hour < 10 else 1.0
        )
        factor = (
            _TYPE_FACTOR[content_type]
            * hour_factor
            * _WEEKDAY_FACTOR[t.weekday()]
            * rng.lognormvariate(0, 0.25)
        )
        permalink = {
            "instagram": f"https://www.instagram.com/p/{post_id}/",
            "facebook": f"https://www.facebook.com/{acc.handle}/posts/{post_id}",
            "youtube": f"https://www.youtube.com/watch?v={post_id}",
        }[acc.platform]
        row = {
            "platform": acc.platform,
            "post_id": post_id,
            "account_id": acc.account_id,
            # Some rows without an offset: the contract reads them in the community's timezone.
            "published_at": _iso(t, naive=rng.random() < 0.15),
            "message": caption,
            "content_type": content_type,
            "permalink": permalink,
            "campaign": campaign,
        }
        post = _Post(acc.platform, post_id, t, content_type, factor, row)
        self.posts.append(post)
        self.posts_by_platform[acc.platform].append(post)
        return post

    def _make_posts(self) -> None:
        rng = self.rng
        day = self.start
        while day <= self.end:
            for acc in ACCOUNTS:
                n = {
                    "instagram": rng.choice((1, 1, 2, 2, 2)),
                    "facebook": rng.choice((1, 1, 2)),
                    "youtube": int(rng.random() < 0.5),
                }[acc.platform]
                slots = sorted(rng.sample(_POST_SLOTS, n))
                for h, m in slots:
                    t = dt.datetime.combine(day, dt.time(h, m)) + dt.timedelta(minutes=rng.randint(0, 25))
                    if t >= self.now:
                        continue
                    ctype = self._choice(_CONTENT_TYPES[acc.platform])
                    caption = rng.choice(text.CAPTIONS[ctype]).format(product=rng.choice(text.PRODUCTS))
                    self._add_post(acc, t, ctype, self._campaign(day), caption)
            if self.crisis_day and day == self.crisis_day - dt.timedelta(days=1):
                # The post the crisis will land on: the launch of the Geisha Reserva, the evening before.
                p = self._add_post(
                    _BY_PLATFORM["instagram"],
                    dt.datetime.combine(day, dt.time(19, 40)),
                    "photo",
                    "lanzamiento-geisha",
                    "Llegó el Geisha Reserva ☕ Edición limitada, pídelo ya en nuestra tienda en línea",
                )
                self.crisis_post = f"{p.platform}:{p.post_id}"
                self._crisis_post = p
            day += dt.timedelta(days=1)
        for posts in self.posts_by_platform.values():
            posts.sort(key=lambda p: p.published)
        self._post_times = {k: [p.published for p in v] for k, v in self.posts_by_platform.items()}

    def _pick_post(self, platform: str, t: dt.datetime) -> _Post | None:
        """A recent post of the platform, favouring new and engaging ones."""
        times = self._post_times[platform]
        hi = bisect.bisect_left(times, t)
        lo = bisect.bisect_left(times, t - dt.timedelta(days=6))
        if hi == 0:
            return None
        candidates = self.posts_by_platform[platform][lo:hi] or self.posts_by_platform[platform][hi - 1 : hi]
        weights = [p.factor * math.exp(-(t - p.published).total_seconds() / 86400) for p in candidates]
        return self.rng.choices(candidates, weights)[0]

    # -- comments -----------------------------------------------------------------------------------

    def _text(self, lang: str, kind: str, bank: dict[tuple[str, str], tuple[str, ...]] | None = None) -> str:
        rng = self.rng
        bank = bank or text.MEMBER
        templates = bank.get((lang, kind)) or bank[("es", kind)]
        return (
            rng.choice(templates)
            .format(
                product=rng.choice(text.PRODUCTS),
                city=rng.choice(text.CITIES),
                name=self._pick_member().author_id if bank is text.MEMBER else "",
                pos=rng.choice(text.POSITIVE_EMOJI),
                neg=rng.choice(text.NEGATIVE_EMOJI),
                link=rng.choice(text.SPAM_LINKS),
            )
            .strip()
        )

    def _brand_text(self, lang: str, kind: str, member: _Member) -> str:
        templates = (
            text.BRAND.get((lang, kind)) or text.BRAND.get((lang, "other")) or text.BRAND[("es", "other")]
        )
        return self.rng.choice(templates).format(name=member.name.split()[0]).strip()

    def _add_comment(
        self,
        *,
        platform: str,
        t: dt.datetime,
        author_id: str,
        author_name: str,
        message: str,
        channel: str,
        app: str,
        post: _Post | None = None,
        parent: dict[str, Any] | None = None,
        thread_id: str | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        self._seq["comment"] += 1
        cid = f"{_BY_PLATFORM[platform].prefix}-c{self._seq['comment']:06d}"
        updated = t
        if author_id not in BRAND_AUTHORS and rng.random() < 0.04:
            # Edited a little later: a newer updated_at must replace the first version on re-import.
            updated = min(t + dt.timedelta(minutes=rng.randint(1, 90), seconds=rng.randint(0, 59)), self.now)
        c = {
            "_t": t,
            "_updated": updated,
            "platform": platform,
            "comment_id": cid,
            "post_id": post.post_id if post else (parent["post_id"] if parent else ""),
            "parent_id": parent["comment_id"] if parent else "",
            "thread_id": thread_id or (parent["thread_id"] if parent else cid),
            "author_id": author_id,
            "author_name": author_name,
            "message": message,
            "channel": channel,
            "like_count": rng.choice((0, 0, 0, 1, 1, 2, 3, 5, 8)) if channel != "dm" else 0,
            "source_app": app,
        }
        self.comments.append(c)
        return c

    def _member_says(self, m: _Member, t: dt.datetime, message: str, top: dict[str, Any]) -> dict[str, Any]:
        """A member's follow-up in an existing thread (or the next message of a conversation)."""
        return self._add_comment(
            platform=m.platform,
            t=t,
            author_id=m.author_id,
            author_name=m.name,
            message=message,
            app=m.app,
            **_follow_up(top),
        )

    def _brand_says(self, platform: str, t: dt.datetime, message: str, top: dict[str, Any]) -> dict[str, Any]:
        acc = _BY_PLATFORM[platform]
        author, name = acc.account_id, acc.name
        if top["channel"] != "dm":
            # Public replies come from the account itself or from a team member's own handle.
            author = acc.account_id if self.rng.random() < 0.6 else self.rng.choice(_TEAM_HANDLES[platform])
            name = acc.name if author == acc.account_id else author
        return self._add_comment(
            platform=platform,
            t=t,
            author_id=author,
            author_name=name,
            message=message,
            app=_BRAND_APP,
            **_follow_up(top),
        )

    def _reply_time(self, t: dt.datetime, median_minutes: float) -> dt.datetime:
        rng = self.rng
        if rng.random() < (0.15 if not self.clock.is_open(t) and 7 <= t.hour < 22 else 0.03):
            # The community manager on call answers off hours now and then, mostly in the evening.
            return t + dt.timedelta(minutes=rng.lognormvariate(math.log(90), 0.8))
        minutes = rng.lognormvariate(math.log(median_minutes), 0.9)
        if rng.random() < 0.07:
            minutes *= 8  # slow ones, often answered the next business day
        return self.clock.add(t, minutes) + dt.timedelta(seconds=rng.randint(0, 59))

    def _start_item(
        self, m: _Member, t: dt.datetime, channel: str, message: str, post: _Post | None = None
    ) -> dict[str, Any]:
        thread_id = None
        if channel == "dm":
            self._seq["dm"] += 1
            thread_id = f"{_BY_PLATFORM[m.platform].prefix}-dm-{self._seq['dm']:05d}"
        return self._add_comment(
            platform=m.platform,
            t=t,
            author_id=m.author_id,
            author_name=m.name,
            message=message,
            channel=channel,
            app=m.app,
            post=post,
            thread_id=thread_id,
        )

    def _conversation(
        self, m: _Member, top: dict[str, Any], kind: str, lang: str, answer_p: float, median: float
    ) -> None:
        """What follows a member's message: a nudge, the brand's answer (or none), thanks, a chime-in."""
        rng = self.rng
        t = top["_t"]
        if kind in ("question", "complaint", "price") and rng.random() < 0.08:
            nudge_t = t + dt.timedelta(minutes=rng.uniform(2, 40))
            if nudge_t < self.now:
                self._member_says(m, nudge_t, self._text(lang, "nudge"), top)
        if top["channel"] in ("comment", "review") and rng.random() < 0.07:
            other = self._pick_member(m.platform)
            chime_t = t + dt.timedelta(minutes=rng.uniform(10, 600))
            if other is not m and chime_t < self.now:
                self._member_says(other, chime_t, self._text(other.lang, "chime"), top)
        if rng.random() >= answer_p:
            return
        reply_t = self._reply_time(t, median)
        if reply_t >= self.now:
            return  # not answered yet at the end of the sample
        self._brand_says(m.platform, reply_t, self._brand_text(lang, kind, m), top)
        if rng.random() < 0.08:
            thanks_t = reply_t + dt.timedelta(minutes=rng.uniform(5, 240))
            if thanks_t < self.now:
                self._member_says(m, thanks_t, self._text(lang, "thanks"), top)
                closing = self.clock.add(thanks_t, rng.uniform(5, 120))
                if rng.random() < 0.4 and closing < self.now:
                    self._brand_says(m.platform, closing, self._brand_text(lang, "thanks", m), top)
        elif top["channel"] == "dm" and rng.random() < 0.2:
            # A second round in the same conversation, answered again.
            again = reply_t + dt.timedelta(minutes=rng.uniform(10, 300))
            if again < self.now:
                self._member_says(m, again, self._text(lang, "question"), top)
                back = self._reply_time(again, median)
                if back < self.now:
                    self._brand_says(m.platform, back, self._brand_text(lang, "question", m), top)

    def _negative_share(self, day: dt.date) -> float:
        """Share of complaints among members' messages; the slow burn raises it day by day."""
        if self.slow_burn_start and day >= self.slow_burn_start:
            return (0.25, 0.4, 0.55)[min((day - self.slow_burn_start).days, 2)]
        return 0.12

    def _member_item(self, t: dt.datetime) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            # Spam comes from throwaway accounts, one message each, never answered.
            platform = self._choice((("instagram", 0.6), ("facebook", 0.25), ("youtube", 0.15)))
            spammer = self._new_member(platform, rng.choice(("es", "en", "es", "pt")))
            post = self._pick_post(platform, t)
            if post:
                self._start_item(spammer, t, "comment", self._text(spammer.lang, "spam"), post)
            return
        m = self._pick_member()
        channel = self._choice(_CHANNELS[m.platform])
        post = self._pick_post(m.platform, t) if channel == "comment" else None
        if channel == "comment" and post is None:
            if m.platform == "youtube":
                return  # nothing published yet to comment on
            channel = "mention"
        lang = m.lang if rng.random() < 0.9 else rng.choice(("es", "en"))
        neg = self._negative_share(t.date())
        if rng.random() < neg:
            kind = (
                "price"
                if self.slow_burn_start and t.date() >= self.slow_burn_start and rng.random() < 0.8
                else "complaint"
            )
        elif channel == "dm":
            kind = self._choice((("question", 0.7), ("praise", 0.18), ("other", 0.12)))
        else:
            kind = self._choice((("praise", 0.45), ("question", 0.32), ("other", 0.23)))
        if channel == "review":
            kind = "complaint" if kind in ("complaint", "price") else "praise"
            message = self._text(lang, kind, text.REVIEW)
        else:
            message = self._text(lang, kind)
        top = self._start_item(m, t, channel, message, post)
        answer_p = {"question": 0.93, "complaint": 0.95, "price": 0.8, "praise": 0.75, "other": 0.45}[kind]
        if channel == "dm":
            answer_p = 0.95
        self._conversation(m, top, kind, lang, answer_p, 25 if kind != "complaint" else 18)

    def _make_everyday_comments(self) -> None:
        rng = self.rng
        hour_total = sum(_HOUR_WEIGHT)
        n_days = (self.end - self.start).days + 1
        t = dt.datetime.combine(self.start, dt.time(0))
        while t < self.now:
            growth = 0.85 + 0.3 * (t.date() - self.start).days / max(n_days, 1)
            rate = (
                _MEMBER_ITEMS_PER_DAY
                * _HOUR_WEIGHT[t.hour]
                / hour_total
                * _WEEKDAY_WEIGHT[t.weekday()]
                * growth
            )
            for _ in range(self._poisson(rate)):
                at = t + dt.timedelta(seconds=rng.randrange(3600))
                if at < self.now:
                    self._member_item(at)
            t += dt.timedelta(hours=1)

    def _plant_crisis(self) -> None:
        """Glass in the Geisha Reserva: a burst of angry messages from about 10:00, decaying the next day."""
        rng = self.rng
        day = self.crisis_day
        assert day is not None
        post = self._crisis_post
        # Messages per local hour: six loud hours, then the next days' tail.
        schedule = [
            (dt.datetime.combine(day, dt.time(h)), n)
            for h, n in zip(range(10, 16), (14, 26, 30, 28, 22, 16), strict=True)
        ]
        schedule += [(dt.datetime.combine(day, dt.time(h)), 4) for h in range(16, 21)]
        nxt = day + dt.timedelta(days=1)
        schedule += [(dt.datetime.combine(nxt, dt.time(h)), 3) for h in range(8, 20)]
        schedule += [(dt.datetime.combine(nxt + dt.timedelta(days=1), dt.time(h)), 1) for h in range(9, 19)]
        first = True
        for hour, n in schedule:
            for _ in range(n):
                if first:
                    t = hour + dt.timedelta(minutes=2, seconds=rng.randrange(60))
                else:
                    t = hour + dt.timedelta(seconds=rng.randrange(3600))
                if t >= self.now:
                    continue
                where = self._choice((("post", 0.68), ("other", 0.14), ("dm", 0.10), ("mention", 0.08)))
                platform = (
                    "instagram"
                    if where in ("post", "mention")
                    else self._choice((("instagram", 0.5), ("facebook", 0.4), ("youtube", 0.1)))
                )
                if first:
                    where, platform = "post", "instagram"
                lang = self._choice((("es", 0.78), ("en", 0.19), ("pt", 0.03)))
                # Crises bring people who never wrote before as well as regulars.
                m = self._new_member(platform, lang) if rng.random() < 0.5 else self._pick_member(platform)
                channel = {"post": "comment", "other": "comment", "dm": "dm", "mention": "mention"}[where]
                if platform == "youtube":
                    channel = "comment"
                target = (
                    post
                    if where == "post"
                    else self._pick_post(platform, t)
                    if channel == "comment"
                    else None
                )
                if channel == "comment" and target is None:
                    continue
                top = self._start_item(m, t, channel, self._text(lang, "crisis"), target)
                if first:
                    self.crisis_start, first = t, False
                self._conversation(m, top, "crisis", lang, 0.45, 50)

    def _plant_open_items(self) -> None:
        """Member messages nobody has answered at `now`, at known distances from it."""
        rng = self.rng
        today = self.end
        yesterday = today - dt.timedelta(days=1)
        # At 15:00 on a weekday, under community.example.yml's policies: the first is pending, the second
        # at risk (26 of 30 minutes), the DM and yesterday's complaint breached, the question pending.
        planted = (
            (dt.datetime.combine(today, dt.time(14, 48)), "instagram", "comment", "es", "complaint",
             "Mi pedido llegó con la bolsa rota y nadie me responde 😡"),
            (dt.datetime.combine(today, dt.time(14, 34)), "instagram", "comment", "en", "complaint",
             "My order arrived damaged and nobody answers 😠"),
            (dt.datetime.combine(today, dt.time(11, 30)), "facebook", "comment", "es", "question",
             "¿Tienen envíos a Guayaquil? Necesito regalar un café el viernes"),
            (dt.datetime.combine(today, dt.time(13, 20)), "instagram", "dm", "es", "question",
             "Hola, ¿me confirman si mi pedido 4471 sale hoy?"),
            (dt.datetime.combine(yesterday, dt.time(17, 40)), "facebook", "comment", "es", "complaint",
             "Llevo dos semanas esperando mi reembolso por un pedido cancelado"),
        )  # fmt: skip
        for t, platform, channel, lang, kind, message in planted:
            m = self._new_member(platform, lang)
            post = self._pick_post(platform, t) if channel == "comment" else None
            if channel == "comment" and post is None:
                continue
            c = self._start_item(m, t + dt.timedelta(seconds=rng.randrange(60)), channel, message, post)
            age = int((self.now - c["_t"]).total_seconds() // 60)
            what = f"{kind} ({channel}), {age} min before now"
            self.open_items[f"{platform}:{c['comment_id']}"] = what

    # -- metrics and calendar ------------------------------------------------------------------------

    def _post_metrics(self) -> list[dict[str, Any]]:
        rng = self.rng
        # Comment counters are the comments actually in the bundle, as of each snapshot.
        on_post: dict[tuple[str, str], list[dt.datetime]] = {}
        for c in self.comments:
            if c["post_id"] and c["channel"] in ("comment", "reply"):
                on_post.setdefault((c["platform"], c["post_id"]), []).append(c["_t"])
        rows = []
        for p in sorted(self.posts, key=lambda p: (p.published, p.post_id)):
            times = sorted(on_post.get((p.platform, p.post_id), []))
            final_impressions = _FOLLOWERS[p.platform] * 0.35 * p.factor
            reach_share = rng.uniform(0.6, 0.85)
            rates = {
                "reactions": 0.045 * p.factor,
                "shares": 0.004 * p.factor,
                "saves": 0.006 if p.platform == "instagram" else 0.0,
                "clicks": 0.02 if p.content_type == "link" else 0.003,
                "video_views": 0.7 if p.content_type in ("reel", "video") else 0.0,
            }
            if self.crisis_post == f"{p.platform}:{p.post_id}":
                rates["shares"] *= 12  # the crisis post gets shared around
            tau = rng.uniform(10, 30)
            for hours in _SNAPSHOT_HOURS:
                at = p.published + dt.timedelta(hours=hours, minutes=rng.randint(0, 9))
                if at > self.now:
                    break
                f = 1 - math.exp(-hours / tau)
                impressions = round(final_impressions * f)
                row = {
                    "platform": p.platform,
                    "post_id": p.post_id,
                    "captured_at": _iso(at),
                    "impressions": impressions,
                    "reach": round(final_impressions * reach_share * f),
                    "reactions": round(final_impressions * rates["reactions"] * f),
                    "comments": bisect.bisect_right(times, at),
                    "shares": round(final_impressions * rates["shares"] * f),
                    "saves": round(final_impressions * rates["saves"] * f)
                    if p.platform == "instagram"
                    else "",
                    "clicks": round(final_impressions * rates["clicks"] * f)
                    if p.platform != "youtube"
                    else "",
                    "video_views": round(final_impressions * rates["video_views"] * f)
                    if rates["video_views"]
                    else "",
                }
                rows.append(row)
        return rows

    def _account_metrics(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        daily_impr: dict[tuple[str, dt.date], float] = {}
        for p in self.posts:
            key = (p.platform, p.published.date())
            daily_impr[key] = daily_impr.get(key, 0.0) + _FOLLOWERS[p.platform] * 0.2 * p.factor
        for acc in ACCOUNTS:
            followers = float(_FOLLOWERS[acc.platform])
            day = self.start
            # The end day is still running at `now`: platforms report full days only.
            while day < self.end:
                followers *= 1 + rng.gauss(0.0008, 0.0006)
                if self.crisis_day and day == self.crisis_day and acc.platform == "instagram":
                    followers *= 0.994  # unfollows on the crisis day
                impressions = daily_impr.get((acc.platform, day), 0.0) + followers * rng.uniform(0.05, 0.1)
                impressions = round(impressions * self.audience)
                rows.append(
                    {
                        "platform": acc.platform,
                        "account_id": acc.account_id,
                        "date": day.isoformat(),
                        "followers": round(followers * self.audience),
                        "impressions": impressions,
                        "reach": round(impressions * rng.uniform(0.55, 0.8)),
                    }
                )
                day += dt.timedelta(days=1)
        return rows

    def _calendar(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []

        def add(platform: str, planned: dt.datetime, topic: str, ctype: str, post_id: str) -> None:
            acc = _BY_PLATFORM[platform]
            rows.append(
                {
                    "planned_id": f"cal-{len(rows) + 1:05d}",
                    "platform": platform,
                    "account_id": acc.account_id,
                    "planned_at": _iso(planned),
                    "topic": topic,
                    "content_type": ctype,
                    "owner": acc.owner,
                    "post_id": post_id,
                }
            )

        for p in sorted(self.posts, key=lambda p: (p.published, p.post_id)):
            if rng.random() < 0.12:
                continue  # published without being planned
            slot = p.published.replace(minute=p.published.minute - p.published.minute % 15, second=0)
            if rng.random() < 0.12:
                slot -= dt.timedelta(minutes=rng.choice((45, 60, 90, 120)))  # published late
            topic = p.row["campaign"] or rng.choice(text.CALENDAR_TOPICS)
            add(p.platform, slot, topic, p.content_type, p.post_id)
            if rng.random() < 0.06:
                # Planned but never published.
                skipped = slot + dt.timedelta(hours=rng.choice((3, 5, 26)))
                if skipped < self.now:
                    add(p.platform, skipped, rng.choice(text.CALENDAR_TOPICS), p.content_type, "")
        for i, (platform, hours) in enumerate((("instagram", 4), ("facebook", 20), ("youtube", 44))):
            # Coming up after `now`: planned, not due yet.
            add(
                platform,
                self.now + dt.timedelta(hours=hours, minutes=30 * i),
                rng.choice(text.CALENDAR_TOPICS),
                _CONTENT_TYPES[platform][0][0],
                "",
            )
        return rows

    def _comment_out(self, c: dict[str, Any]) -> dict[str, Any]:
        out = {
            k: c[k]
            for k in (
                "platform",
                "comment_id",
                "post_id",
                "parent_id",
                "thread_id",
                "author_id",
                "author_name",
            )
        }
        out["created_at"] = _iso(c["_t"])
        out["updated_at"] = _iso(c["_updated"])
        for k in ("message", "channel", "like_count", "source_app"):
            out[k] = c[k]
        return out


# Chat and mail traffic: items a day, languages, median business minutes to the team's answer.
_CHAT_PROFILES: dict[str, dict[str, Any]] = {
    "discord": {"per_day": 5.0, "members": 70, "langs": (("es", 0.55), ("en", 0.45)), "median": 20},
    "telegram": {"per_day": 4.0, "members": 50, "langs": (("es", 0.8), ("en", 0.2)), "median": 25},
    "email": {"per_day": 3.0, "members": 90, "langs": (("es", 0.75), ("en", 0.25)), "median": 150},
}
_CHAT_KINDS = (("question", 0.42), ("complaint", 0.16), ("praise", 0.2), ("other", 0.22))
_EMAIL_KINDS = (("question", 0.6), ("complaint", 0.3), ("praise", 0.1))
_CHAT_ANSWER_P = {"question": 0.9, "complaint": 0.95, "praise": 0.5, "other": 0.25}
_CHAT_APPS = {
    "discord": ("Discord for Android", "Discord for iOS", "Discord Desktop"),
    "telegram": ("Telegram for Android", "Telegram for iOS", "Telegram Desktop"),
    "email": ("Gmail", "Outlook", "Apple Mail"),
}
_CHAT_BRAND_APP = {"discord": "Tertulia bot", "telegram": "Tertulia bot", "email": "Google Workspace"}
_MAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com")


class _ChatTraffic:
    """A Discord server, a Telegram group and a support mailbox, drawn from their own random stream.

    Chat: a member's message opens a thread (`comment`); nudges and the team's answer are `reply`s in it.
    Mail: every message is `email`; a thread's first mail carries its subject, answers point to it.
    Mail comes mostly in office hours and waits longer; answers fall in business hours, now and then in
    the evening (the person on call), and some never come."""

    def __init__(self, rng: random.Random, community: _Community) -> None:
        self.rng = rng
        self.clock, self.start, self.now = community.clock, community.start, community.now
        self.slow_burn_start, self.negative_share = community.slow_burn_start, community._negative_share
        self.rows: list[dict[str, Any]] = []
        self.seq = dict.fromkeys(_CHAT_PROFILES, 0)
        self.members: dict[str, list[_Member]] = {p: [] for p in _CHAT_PROFILES}
        self.weights: dict[str, list[float]] = {p: [] for p in _CHAT_PROFILES}
        self.used: set[str] = set(_ALL_BRAND_AUTHORS)

    def build(self) -> list[dict[str, Any]]:
        for platform, profile in _CHAT_PROFILES.items():
            for i in range(profile["members"]):
                self._new_member(platform)
                # A few regulars write most of the messages.
                self.weights[platform].append(8.0 if i < 6 else self.rng.lognormvariate(0, 1.0))
        hour_total = sum(_HOUR_WEIGHT)
        t = dt.datetime.combine(self.start, dt.time(0))
        while t < self.now:
            for platform, profile in _CHAT_PROFILES.items():
                if platform == "email":
                    # Mail is written in office hours and on weekdays more than chat is.
                    shape = (1.6 if 8 <= t.hour < 19 else 0.35) * (1.2 if t.weekday() < 5 else 0.45)
                else:
                    shape = _HOUR_WEIGHT[t.hour] / hour_total * 24 * _WEEKDAY_WEIGHT[t.weekday()]
                for _ in range(self._poisson(profile["per_day"] / 24 * shape)):
                    at = t + dt.timedelta(seconds=self.rng.randrange(3600))
                    if at < self.now:
                        self._item(platform, at)
            t += dt.timedelta(hours=1)
        self._plant_weekend_mail()
        return self.rows

    def _poisson(self, lam: float) -> int:
        return _poisson(self.rng, lam)

    def _new_member(self, platform: str) -> _Member:
        rng = self.rng
        lang = rng.choices(*zip(*_CHAT_PROFILES[platform]["langs"], strict=True))[0]
        name = person_name(rng, lang)
        while True:
            if platform == "discord":
                author_id = str(rng.randint(10**17, 10**18 - 1))  # a user snowflake
            elif platform == "telegram":
                author_id = str(rng.randint(10**8, 8 * 10**9))
            else:
                slug = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
                local = rng.choice((".", "_", "")).join(slug.split()[:2]) + rng.choice(
                    ("", str(rng.randint(1, 99)))
                )
                author_id = f"{local}@{rng.choice(_MAIL_DOMAINS)}"
            if author_id not in self.used:
                break
        self.used.add(author_id)
        m = _Member(author_id, name, platform, lang, rng.choice(_CHAT_APPS[platform]))
        self.members[platform].append(m)
        return m

    def _add(
        self, platform: str, t: dt.datetime, who: _Member | None, message: str, top: dict | None
    ) -> dict:
        rng = self.rng
        self.seq[platform] += 1
        acc = next(a for a in CHAT_ACCOUNTS if a.platform == platform)
        cid = f"{acc.prefix}-c{self.seq[platform]:06d}"
        updated = t
        if who is not None and platform != "email" and rng.random() < 0.04:
            updated = min(t + dt.timedelta(minutes=rng.randint(1, 30), seconds=rng.randint(0, 59)), self.now)
        c = {
            "_t": t,
            "_updated": updated,
            "platform": platform,
            "comment_id": cid,
            "post_id": "",
            "parent_id": top["comment_id"] if top else "",
            "thread_id": top["thread_id"] if top else cid,
            "author_id": who.author_id if who else acc.account_id,
            "author_name": who.name if who else acc.name,
            "message": message,
            "channel": "email" if platform == "email" else ("reply" if top else "comment"),
            "like_count": 0 if platform == "email" else rng.choice((0, 0, 0, 1, 2)),
            "source_app": who.app if who else _CHAT_BRAND_APP[platform],
        }
        self.rows.append(c)
        return c

    def _text(
        self, bank: dict[tuple[str, str], tuple[str, ...]], lang: str, kind: str, name: str = ""
    ) -> str:
        rng = self.rng
        templates = bank.get((lang, kind)) or bank[("es", kind)]
        return (
            rng.choice(templates)
            .format(
                product=rng.choice(text.PRODUCTS),
                city=rng.choice(text.CITIES),
                pos=rng.choice(text.POSITIVE_EMOJI),
                neg=rng.choice(text.NEGATIVE_EMOJI),
                name=name,
            )
            .strip()
        )

    def _reply_time(self, platform: str, t: dt.datetime) -> dt.datetime:
        rng = self.rng
        on_call = 0.2 if platform != "email" else 0.05
        if not self.clock.is_open(t) and 7 <= t.hour < 22 and rng.random() < on_call:
            return t + dt.timedelta(minutes=rng.lognormvariate(math.log(45), 0.7))
        minutes = rng.lognormvariate(math.log(_CHAT_PROFILES[platform]["median"]), 0.9)
        if rng.random() < 0.08:
            minutes *= 6  # lost in the queue, found the next business day
        return self.clock.add(t, minutes) + dt.timedelta(seconds=rng.randint(0, 59))

    def _item(self, platform: str, t: dt.datetime) -> None:
        rng = self.rng
        cum = _cumulative(self.weights[platform])
        m = self.members[platform][min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)]
        mail = platform == "email"
        kinds = _EMAIL_KINDS if mail else _CHAT_KINDS
        if self.slow_burn_start and t.date() >= self.slow_burn_start:
            # The slow burn's complaints reach the chat and the mailbox too, at the same rising share.
            calm = tuple(k for k in kinds if k[0] != "complaint")
            complaint = rng.random() < self.negative_share(t.date())
            kind = "complaint" if complaint else rng.choices(*zip(*calm, strict=True))[0]
        else:
            kind = rng.choices(*zip(*kinds, strict=True))[0]
        top = self._add(
            platform, t, m, self._text(text.EMAIL_MEMBER if mail else text.CHAT_MEMBER, m.lang, kind), None
        )
        if kind in ("question", "complaint") and rng.random() < 0.1:
            nudge = t + dt.timedelta(minutes=rng.uniform(5, 90 if not mail else 1440))
            if nudge < self.now:
                again = "¿Alguien? 🙏" if m.lang == "es" else "Anyone? 🙏"
                if mail:
                    again = (
                        "Quedo atento a su respuesta." if m.lang == "es" else "Looking forward to your reply."
                    )
                self._add(platform, nudge, m, again, top)
        if rng.random() >= (_CHAT_ANSWER_P[kind] if not mail else 0.93):
            return  # nobody answers: the team missed it, or it needed no answer
        answer = self._reply_time(platform, t)
        if answer >= self.now:
            return  # still waiting at the end of the sample
        bank = text.EMAIL_BRAND if mail else text.CHAT_BRAND
        brand_kind = kind if kind in ("question", "complaint", "praise") or not mail else "question"
        self._add(platform, answer, None, self._text(bank, m.lang, brand_kind, m.name.split()[0]), top)
        if rng.random() < 0.15:
            thanks = answer + dt.timedelta(minutes=rng.uniform(3, 180))
            if thanks < self.now:
                self._add(platform, thanks, m, "¡Gracias! 🙌" if m.lang == "es" else "Thanks! 🙌", top)

    def _plant_weekend_mail(self) -> None:
        """The latest Friday-evening mail answered on Monday at 09:45 that fits in the sample."""
        day = self.now.date() - dt.timedelta(days=3)
        while day >= self.start:
            monday = day + dt.timedelta(days=3)
            if day.weekday() == 4 and self.clock.opens_on(day) and self.clock.opens_on(monday):
                asked = dt.datetime.combine(day, dt.time(17, 30))
                answered = dt.datetime.combine(monday, dt.time(9, 45))
                if answered < self.now:
                    m = self.members["email"][0]
                    question, answer = text.WEEKEND_MAIL
                    top = self._add("email", asked, m, question, None)
                    self._add("email", answered, None, answer, top)
                    return
            day -= dt.timedelta(days=1)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


# ---------------------------------------------------------------------------------------------------
# Writing the bundle.

_NATIVE_FORMAT = {
    "accounts": "csv",
    "team": "csv",
    "posts": "jsonl",
    "post_metrics": "csv",
    "account_metrics": "csv",
    "comments": "jsonl",
    "content_calendar": "csv",
}
# Entities that grow with --scale, with their id columns (suffixed per replica) and time columns
# (shifted per replica). Accounts, team and account metrics describe the brand, which stays one.
_REPLICATED = {
    "posts": (("post_id",), ("published_at",)),
    "post_metrics": (("post_id",), ("captured_at",)),
    "comments": (("comment_id", "post_id", "parent_id", "thread_id"), ("created_at", "updated_at")),
    "content_calendar": (("planned_id", "post_id"), ("planned_at",)),
}


def _columns(entity: str, rows: list[dict[str, Any]]) -> list[str]:
    names = ENTITIES[entity].column_names
    extra = [k for k in (rows[0] if rows else {}) if k not in names]
    present = [n for n in names if not rows or n in rows[0]]
    return present + extra


def _write_native(path: Path, entity: str, rows: list[dict[str, Any]]) -> None:
    cols = _columns(entity, rows)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if path.suffix == ".jsonl":
            for r in rows:
                f.write(
                    json.dumps({c: (r.get(c) if r.get(c) != "" else None) for c in cols}, ensure_ascii=False)
                )
                f.write("\n")
        else:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow([r.get(c, "") for c in cols])


def _write_bundle(
    out_dir: Path, rows: dict[str, list[dict[str, Any]]], scale: int, comments_format: str
) -> dict[str, int]:
    # Only the file names this generator writes are replaced; anything else in the folder is left alone.
    for ext in COMMENT_FORMATS:
        (out_dir / f"comments.{ext}").unlink(missing_ok=True)
    work = out_dir / f".sample-work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    counts: dict[str, int] = {}
    try:
        for entity, entity_rows in rows.items():
            native = _NATIVE_FORMAT[entity]
            target_fmt = comments_format if entity == "comments" else native
            base = work / f"{entity}.{native}"
            _write_native(base, entity, entity_rows)
            target = out_dir / f"{entity}.{target_fmt}"
            replicas = scale if entity in _REPLICATED else 1
            if replicas == 1 and target_fmt == native:
                os.replace(base, target)
            else:
                _replicate(base, target, entity, _columns(entity, entity_rows), replicas)
            counts[entity] = len(entity_rows) * replicas
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return counts


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _replicate(base: Path, target: Path, entity: str, cols: list[str], replicas: int) -> None:
    """Stream `replicas` copies of a scale-1 file into `target` with DuckDB.

    Replica 0 is the base itself; replica r >= 1 suffixes its ids (and its members' author ids) with
    `-r<r>` and moves its times up to ten minutes earlier, so replicas neither collide nor land past
    `now`. The SQL text is built from this module's own constants and paths only, never from data.
    """
    import duckdb

    ids, times = _REPLICATED.get(entity, ((), ()))
    suffix = "(case when r.range = 0 then '' else '-r' || r.range end)"
    shift = "((r.range * 7919) % 600)"
    brand = ", ".join(_sql_str(a) for a in _ALL_BRAND_AUTHORS)
    select = []
    for c in cols:
        q = f'b."{c}"'
        if c in ids:
            expr = f"case when coalesce({q}, '') = '' then {q} else {q} || {suffix} end"
        elif c == "author_id":
            expr = f"case when {q} in ({brand}) then {q} else {q} || {suffix} end"
        elif c in times:
            # Text in, text out: the offset (or its absence) is kept exactly as in the base row.
            expr = (
                f"case when coalesce({q}, '') = '' then {q} else strftime(cast(substr({q}, 1, 19) as timestamp)"
                f" - to_seconds({shift}), '%Y-%m-%dT%H:%M:%S') || substr({q}, 20) end"
            )
        else:
            expr = q
        select.append(f'{expr} as "{c}"')
    if base.suffix == ".jsonl":
        types = ", ".join(f"{_sql_str(c)}: '{'BIGINT' if c == 'like_count' else 'VARCHAR'}'" for c in cols)
        source = f"read_json({_sql_str(str(base))}, format = 'newline_delimited', columns = {{{types}}})"
    else:
        source = f"read_csv({_sql_str(str(base))}, header = true, all_varchar = true)"
    fmt = {".jsonl": "format json", ".csv": "format csv, header true", ".parquet": "format parquet"}[
        target.suffix
    ]
    tmp = target.with_name(f".{target.name}.part")
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        con.execute(
            f"copy (select {', '.join(select)} from range({int(replicas)}) as r cross join {source} as b) "  # noqa: S608
            f"to {_sql_str(str(tmp))} ({fmt})"
        )
    finally:
        con.close()
    os.replace(tmp, target)
