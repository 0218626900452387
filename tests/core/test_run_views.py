"""The SLA artifact lists what needs an answer first, as a community manager reads it."""

from __future__ import annotations

from tertulia import warehouse
from tertulia.run_views import sla_attention_rows


def test_sla_attention_lists_at_risk_first_then_breached_in_the_last_day(example_config):
    con = warehouse.connect(example_config.warehouse_path)
    try:
        con.execute("create schema marts")
        con.execute("create schema staging")
        con.execute(
            "create table marts.fct_sla_events (status varchar, is_active boolean, platform varchar, "
            "account_id varchar, channel varchar, policy_name varchar, arrived_at timestamp, "
            "sla_breach_at timestamp, owner_member_id varchar, item_message varchar, evaluated_at timestamp)"
        )
        con.execute("""insert into marts.fct_sla_events values
            ('at_risk', true, 'instagram', 'ig-cafetertulia', 'comment', 'same_day', '2026-11-27 15:00', '2026-11-27 20:00', 'tm-x', 'a', '2026-11-27 18:00'),
            ('at_risk', true, 'instagram', 'ig-cafetertulia', 'dm', 'dm_1h', '2026-11-27 17:50', '2026-11-27 19:00', 'tm-ana', 'b', '2026-11-27 18:00'),
            ('breached', true, 'facebook', 'fb-cafetertulia', 'comment', 'same_day', '2026-11-26 22:00', '2026-11-27 10:00', 'tm-ana', 'c', '2026-11-27 18:00'),
            ('breached', true, 'facebook', 'fb-cafetertulia', 'comment', 'same_day', '2026-11-19 22:00', '2026-11-20 10:00', 'tm-ana', 'd', '2026-11-27 18:00'),
            ('breached', false, 'facebook', 'fb-cafetertulia', 'comment', 'same_day', '2026-11-27 08:00', '2026-11-27 12:00', 'tm-ana', 'e', '2026-11-27 18:00'),
            ('met', false, 'facebook', 'fb-cafetertulia', 'comment', 'same_day', '2026-11-27 08:00', '2026-11-27 12:00', 'tm-ana', 'f', '2026-11-27 18:00')
        """)  # fmt: skip
        con.execute(
            "create table staging.stg_social__team as select 'tm-ana' as member_id, 'Ana Paredes' as member_name"
        )
    finally:
        con.close()
    rows = sla_attention_rows(example_config)
    # b's deadline (19:00 UTC) is nearer than a's; c breached 8 h before the evaluation; d a week ago is
    # history; e was answered (not active); f met. Guayaquil is UTC-5.
    assert [(r["message"], r["status"], r["deadline"], r["owner"], r["account"]) for r in rows] == [
        ("b", "at risk", "2026-11-27 14:00 (America/Guayaquil)", "Ana Paredes", "Café Tertulia (instagram)"),
        ("a", "at risk", "2026-11-27 15:00 (America/Guayaquil)", "tm-x", "Café Tertulia (instagram)"),
        (
            "c",
            "breached",
            "2026-11-27 05:00 (America/Guayaquil)",
            "Ana Paredes",
            "Café Tertulia Quito (facebook)",
        ),
    ]
    assert rows[0]["arrived"] == "2026-11-27 12:50 (America/Guayaquil)"
