"""Crisis alert rule on hand-built incidents: one thread per episode, updates, resolved note, no repeats.

How signal incidents merge into one crisis per account is SQL (int_crisis_episodes) with its dbt unit
test in dbt_project/models/intermediate/crisis/_crisis__models.yml."""

from __future__ import annotations

import datetime as dt

import duckdb

from alerts.crisis_rules import Episode, Incident, crisis_alerts, episode_alerts, without_covered_community

T0 = dt.datetime(2026, 11, 10, 15, 0)
H = dt.timedelta(hours=1)


def inc(signal, start, hours=1, sev="critical", platform="instagram", account="ig-cafetertulia", **kw):
    defaults = dict(peak_observed=20.0, peak_baseline=2.0, peak_ratio=10.0)
    defaults.update(kw)
    return Incident(
        incident_id=f"{platform}:{account}:{signal}:{start:%Y-%m-%dT%H}",
        platform=platform,
        account_id=account,
        signal=signal,
        started_at=start,
        last_fired_at=start + hours * H,
        peak_severity=sev,
        **defaults,
    )


def test_community_incident_is_dropped_when_an_account_one_overlaps():
    acc = Episode("instagram", "ig-cafetertulia", [inc("volume_spike", T0, 2)])
    # starts an hour after the account's crisis: repeats its alert
    overlapping = Episode("all", "all", [inc("volume_spike", T0 + H, 2, platform="all", account="all")])
    # the account's crisis ended at T0 + 2h + 3 quiet hours: one starting then is news
    after = Episode("all", "all", [inc("negative_share", T0 + 5 * H, 5, platform="all", account="all")])
    alone = Episode("all", "all", [inc("negative_share", T0 + 48 * H, 5, platform="all", account="all")])
    eps = without_covered_community([acc, overlapping, after, alone], quiet_hours=3)
    assert [(e.platform, e.started_at) for e in eps] == [
        ("instagram", T0),
        ("all", T0 + 5 * H),
        ("all", T0 + 48 * H),
    ]


def test_root_alert_with_facts_links_and_member_text(example_config):
    ep = Episode(
        "instagram",
        "ig-cafetertulia",
        [inc("volume_spike", T0, 2)],
        inbound_count=40,
        negative_count=30,
        post_keys="instagram:p1,instagram:p2",
        top_keywords="vidrio,glass",
    )
    comments = ["<!channel> hay VIDRIO en la bolsa " + "x" * 400, "otro", "tercero", "cuarto"]
    alerts = episode_alerts(
        ep,
        example_config,
        T0 + 30 * dt.timedelta(minutes=1),
        comments=comments,
        permalinks={"instagram:p1": "https://instagram.com/p/p1"},
    )
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.kind, a.severity, a.dedupe_key, a.thread_key) == (
        "crisis",
        "critical",
        "crisis:instagram:ig-cafetertulia:volume_spike:2026-11-10T15:open",
        "crisis:instagram:ig-cafetertulia:volume_spike:2026-11-10T15",
    )
    facts = dict(a.facts)
    assert facts["Account"] == "instagram cafetertulia"
    assert facts["Volume spike"] == "20 messages in 60 minutes vs 2 usual in that hour (×10.0)"
    assert facts["Keywords"] == "glass, vidrio"
    assert facts["Posts"] == "instagram:p1, instagram:p2"
    assert facts["Messages"] == "40 inbound, 30 negative"
    assert a.owner == "tm-ana"
    assert [link.url for link in a.links] == ["https://instagram.com/p/p1"]  # p2 has no permalink
    # raw member text (escaping is the renderer's job), cut to 280 characters, three at most
    assert len(a.member_text) == 3
    assert a.member_text[0].startswith("<!channel> hay VIDRIO") and len(a.member_text[0]) == 280
    assert a.member_text[0].endswith("…")
    assert not a.resolves


def test_growth_escalation_and_resolution_each_once(example_config):
    first = inc("volume_spike", T0, 2, sev="warning")
    later = inc(
        "negative_share", T0 + 2 * H, 4, sev="critical", peak_observed=0.6, peak_baseline=0.1, peak_ratio=6.0
    )
    ep = Episode("instagram", "ig-cafetertulia", [first, later], alert_at=T0, first_severity="warning")
    keys_at = {}
    for now in (T0 + H, T0 + 3 * H, T0 + 20 * H):
        keys_at[now] = [a.dedupe_key for a in episode_alerts(ep, example_config, now)]
    root = "crisis:instagram:ig-cafetertulia:volume_spike:2026-11-10T15"
    assert keys_at[T0 + H] == [f"{root}:open"]
    assert keys_at[T0 + 3 * H] == [
        f"{root}:open",
        f"{root}:signal:negative_share",
        f"{root}:severity:critical",
    ]
    # ended: last firing hour ends at T0+6h, plus 3 quiet hours -> over from T0+9h
    final = episode_alerts(ep, example_config, T0 + 20 * H)
    assert keys_at[T0 + 20 * H][-1] == f"{root}:resolved"
    assert final[-1].resolves and final[-1].severity == "info"
    assert dict(final[-1].facts)["Peak severity"] == "critical"
    growth = [a for a in final if ":signal:" in a.dedupe_key][0]
    assert dict(growth.facts)["Negative share"] == "60% negative over 24 h vs 10% usual (×6.0)"


def test_a_signal_that_already_fired_is_not_announced_again(example_config):
    # a slow burn: the share fires for a day; keywords fire at the root hour, pause, and fire again
    # twice (each after more than 3 quiet hours: three keyword incidents in one crisis); a post turns
    # negative twice later on
    ep = Episode(
        "instagram",
        "ig-cafetertulia",
        [
            inc("negative_share", T0, 24, sev="warning"),
            inc("crisis_keywords", T0, 2, sev="warning"),
            inc("crisis_keywords", T0 + 6 * H, 2, sev="warning"),
            inc("post_turning_negative", T0 + 7 * H, 1, sev="warning"),
            inc("crisis_keywords", T0 + 12 * H, 2, sev="warning"),
            inc("post_turning_negative", T0 + 14 * H, 1, sev="warning"),
        ],
        alert_at=T0,
        first_severity="warning",
    )
    root = "crisis:instagram:ig-cafetertulia:negative_share:2026-11-10T15"
    keys = [a.dedupe_key for a in episode_alerts(ep, example_config, T0 + 20 * H)]
    # the keywords were in the root alert; the post joins once, the first time
    assert keys == [f"{root}:open", f"{root}:signal:post_turning_negative"]
    titles = [a.title for a in episode_alerts(ep, example_config, T0 + 20 * H)]
    assert sum("now firing too" in t for t in titles) == 1


def test_a_crisis_reopened_within_the_cooldown_is_back_and_resolved_again(example_config):
    # volume fires 15:00-17:00: over at 20:00 (3 quiet hours). Keywords and a post fire at 22:00, within
    # the 6-hour cooldown after the end: the same crisis (int_crisis_episodes), re-opened.
    ep = Episode(
        "instagram",
        "ig-cafetertulia",
        [
            inc("volume_spike", T0, 2),
            inc("crisis_keywords", T0 + 7 * H, 1, sev="warning"),
            inc("post_turning_negative", T0 + 7 * H, 2, sev="warning"),
        ],
        alert_at=T0,
        first_severity="critical",
    )
    root = "crisis:instagram:ig-cafetertulia:volume_spike:2026-11-10T15"

    def keys(now):
        return [a.dedupe_key for a in episode_alerts(ep, example_config, now)]

    assert keys(T0 + 6 * H) == [f"{root}:open", f"{root}:resolved"]
    assert keys(T0 + 7 * H) == [f"{root}:open", f"{root}:resolved", f"{root}:reopened:1"]
    # the keywords and the post are in the "is back" message, not announced as joining; over again when
    # the post's last hour ends (22:00 + 2 h = 00:00) plus 3 quiet hours: 03:00
    final = episode_alerts(ep, example_config, T0 + 20 * H)
    assert [a.dedupe_key for a in final] == [
        f"{root}:open",
        f"{root}:resolved",
        f"{root}:reopened:1",
        f"{root}:resolved:1",
    ]
    back, over = final[2], final[3]
    assert back.title == "Crisis on instagram cafetertulia is back: crisis keywords, post turning negative"
    assert (back.occurred_at, back.severity, back.thread_key) == (T0 + 7 * H, "warning", root)
    assert (over.occurred_at, over.resolves) == (T0 + 12 * H, True)
    assert final[1].occurred_at == T0 + 5 * H
    # only "is back" re-opens the thread (delivery updates its root, which said "Resolved"); only the
    # two notes resolve it
    assert [(a.reopens, a.resolves) for a in final] == [
        (False, False),
        (False, True),
        (True, False),
        (False, True),
    ]


def test_not_resolved_while_quiet_hours_have_not_passed(example_config):
    ep = Episode("instagram", "ig-cafetertulia", [inc("volume_spike", T0, 2)])
    keys = [a.dedupe_key for a in episode_alerts(ep, example_config, T0 + 4 * H)]
    assert not any(k.endswith(":resolved") for k in keys)


def test_watch_only_episode_is_not_alerted(example_config):
    ep = Episode("instagram", "ig-cafetertulia", [inc("volume_spike", T0, 1, sev="watch")])
    assert episode_alerts(ep, example_config, T0 + 2 * H) == []


def test_no_marts_no_alerts(example_config):
    con = duckdb.connect()
    assert crisis_alerts(con, example_config, T0) == []
