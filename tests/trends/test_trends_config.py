"""The `trends:` section of community.yml: defaults, checked keys, and what reaches dbt."""

from __future__ import annotations

import pytest

from tertulia.config import ConfigError, parse_config
from tertulia.dbt_runner import dbt_vars


def test_defaults_and_what_dbt_gets():
    config = parse_config({"community": {"name": "t"}})
    assert (config.trends.min_authors, config.trends.baseline_periods, config.trends.min_score) == (
        3,
        4,
        1.96,
    )
    assert config.trends.prior_weight == 0.1
    assert (config.trends.alert.min_authors, config.trends.alert.min_score) == (5, 3.0)
    assert config.trends.alert.min_negative_share == 0.6
    # the alert's thresholds are Python's; the models get the rest
    assert dbt_vars(config)["trends"] == {
        "min_authors": 3,
        "baseline_periods": 4,
        "min_score": 1.96,
        "prior_weight": 0.1,
    }


def test_misspelt_key_and_bad_values_are_named():
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "community": {"name": "t"},
                "trends": {"min_author": 3, "baseline_periods": 0, "alert": {"min_negative_share": 1.5}},
            }
        )
    text = str(err.value)
    assert "trends.min_author: unknown key" in text
    assert "trends.baseline_periods" in text
    assert "trends.alert.min_negative_share" in text
