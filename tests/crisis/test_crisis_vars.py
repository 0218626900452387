"""community.yml crisis thresholds reach dbt."""

from __future__ import annotations


def test_thresholds_reach_dbt_as_vars(example_config):
    from tertulia.dbt_runner import dbt_vars

    crisis = dbt_vars(example_config)["crisis"]
    assert crisis["volume_spike"] == {"baseline_weeks": 4, "min_count": 8, "min_ratio": 3.0, "min_z": 3.5}
    assert crisis["end_after_quiet_hours"] == 3 and "keywords" not in crisis
