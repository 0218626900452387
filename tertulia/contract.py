"""The raw contract: the entities a bundle (or a live connector) delivers, their columns and keys.

This is the project's public data contract (documented in docs/bundle-format.md). Every connector,
file or API, lands records in these shapes into the warehouse's `raw` schema; dbt staging is the only
place that renames and casts them.

Raw columns are stored as text exactly as delivered, so a value that does not parse is kept and
quarantined with a reason instead of being lost in a failed cast. `kind` says what the value must
parse as; the file connector checks it row by row in SQL and staging casts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds a raw value must parse as.
TEXT = "text"
TIMESTAMP = "timestamp"  # ISO 8601; without an offset it is read in the community's timezone
DATE = "date"
INTEGER = "integer"

# The largest counter (likes, impressions, views...) a row may hold. The largest real ones are in the
# tens of billions (a video's lifetime views); a value past a trillion is a sentinel or a corrupted
# export. The bound also keeps sums safe: the marts add counters over members, posts and days into
# 64-bit integers, and 2^63-1 likes on two comments of one member overflowed that sum and stopped
# the build (found by tests/connectors/test_connectors_fuzz.py). All nines, so that "at most 12 digits"
# is the same rule (connectors.landing's fast path for plain counters).
MAX_COUNTER = 999_999_999_999


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT
    required: bool = True  # the column must be present in the file header / record
    nullable: bool = True  # the value may be empty
    # A timestamp more than `quality.future_tolerance_minutes` past the run's instant is quarantined at
    # landing and fails the gates, unless the column holds the future by design (a content calendar
    # plans ahead). The one home of that exception: the importer and the quality suites both read it.
    future_allowed: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Column that decides which of two versions of the same key wins. None: the later load wins.
    version_column: str | None = None
    description: str = ""
    # Values allowed in a column (checked at landing; others are quarantined).
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(
    name: str, kind: str = TEXT, *, required: bool = True, nullable: bool = True, future_allowed: bool = False
) -> Column:
    return Column(name, kind, required, nullable, future_allowed)


PLATFORMS = (
    "instagram",
    "facebook",
    "youtube",
    "tiktok",
    "x",
    "linkedin",
    "reddit",
    "discourse",
    "mastodon",
    "google_business",
    "discord",
    "telegram",
    "email",
)
CHANNELS = ("comment", "reply", "mention", "dm", "review", "email")


def _by_platform(
    name: str, key: tuple[str, ...], *columns: Column, allowed: dict[str, tuple[str, ...]] | None = None, **kw
) -> Entity:
    """An entity of platform records: `platform` is its first column and the first part of its key,
    never empty, and one of PLATFORMS (landing quarantines another value). One home for that rule."""
    return Entity(
        name,
        key=("platform", *key),
        columns=(_c("platform", nullable=False), *columns),
        allowed={"platform": PLATFORMS, **(allowed or {})},
        **kw,
    )


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        _by_platform(
            "accounts",
            ("account_id",),
            _c("account_id", nullable=False),
            _c("handle"),
            _c("name"),
            description="The brand's own accounts on each platform.",
        ),
        _by_platform(
            "posts",
            ("post_id",),
            _c("post_id", nullable=False),
            _c("account_id", nullable=False),
            _c("published_at", TIMESTAMP, nullable=False),
            _c("message"),
            _c("content_type"),
            _c("permalink"),
            _c("campaign", required=False),
            description="Posts published by the brand's accounts.",
        ),
        _by_platform(
            "post_metrics",
            ("post_id", "captured_at"),
            _c("post_id", nullable=False),
            _c("captured_at", TIMESTAMP, nullable=False),
            _c("impressions", INTEGER),
            _c("reach", INTEGER),
            _c("reactions", INTEGER),
            _c("comments", INTEGER),
            _c("shares", INTEGER),
            _c("saves", INTEGER, required=False),
            _c("clicks", INTEGER, required=False),
            _c("video_views", INTEGER, required=False),
            description="Lifetime counters of a post as of captured_at (snapshots).",
        ),
        _by_platform(
            "account_metrics",
            ("account_id", "date"),
            _c("account_id", nullable=False),
            _c("date", DATE, nullable=False),
            _c("followers", INTEGER),
            _c("impressions", INTEGER),
            _c("reach", INTEGER),
            description="Daily values of an account (followers at end of day, that day's impressions and reach).",
        ),
        _by_platform(
            "comments",
            ("comment_id",),
            _c("comment_id", nullable=False),
            _c("post_id"),
            _c("parent_id"),
            _c("thread_id"),
            _c("author_id", nullable=False),
            _c("author_name"),
            _c("created_at", TIMESTAMP, nullable=False),
            _c("updated_at", TIMESTAMP, required=False),
            _c("message"),
            _c("channel", nullable=False),
            _c("like_count", INTEGER, required=False),
            _c("is_deleted", TEXT, required=False),
            version_column="updated_at",
            description="Comments, replies, mentions, direct messages and reviews, by members and by the brand.",
            allowed={"channel": CHANNELS},
        ),
        Entity(
            "content_calendar",
            key=("planned_id",),
            columns=(
                _c("planned_id", nullable=False),
                _c("platform", nullable=False),
                _c("account_id", nullable=False),
                _c("planned_at", TIMESTAMP, nullable=False, future_allowed=True),
                _c("topic"),
                _c("content_type"),
                _c("owner"),
                _c("post_id"),
            ),
            description="Planned posts; post_id is empty until published.",
            allowed={"platform": PLATFORMS},
        ),
        Entity(
            "team",
            key=("member_id",),
            columns=(
                _c("member_id", nullable=False),
                _c("name"),
                _c("email"),
                _c("slack_user_id"),
                _c("handles"),
                _c("role", required=False),  # added later: exports without it still land
            ),
            description="The community team; handles are `platform:author_id` pairs separated by spaces or commas; "
            "role is free text (community manager, moderator, support).",
        ),
    )
}

# Columns every raw table carries besides the contract's own.
META_COLUMNS = (
    "_extra",  # JSON object of the columns the contract does not name, kept as delivered
    "_source",  # file path or connector name the row came from
    "_source_line",  # line (CSV/JSONL, 1-based, header excluded for CSV) or row number (Parquet)
    "_batch_id",  # id of the import batch that last wrote the row
    "_loaded_at",  # when that batch landed (UTC)
)
