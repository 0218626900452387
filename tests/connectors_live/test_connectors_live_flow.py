"""The `ingest_source` Prefect flow: one source per run, its state resumed by the next run."""

from __future__ import annotations

import pytest
import yaml
from live_harness import (
    config_for,
    make_fake,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
    seed,
)


@pytest.mark.integration
def test_ingest_source_flow_lands_and_fails_clearly(prefect_harness, tmp_path, monkeypatch):
    from connectors.base import SourceError
    from flows.ingest import ingest_source

    with make_fake("youtube") as yt, make_fake("mastodon") as md:
        for api in (yt, md):
            for k, v in api.env().items():
                monkeypatch.setenv(k, v)
            seed(api)
        config = config_for(tmp_path, {"yt": yt, "md": md})
        path = tmp_path / "community.yml"
        path.write_text(
            yaml.safe_dump(
                {
                    "community": {"name": "Test"},
                    "accounts": [a.model_dump(exclude_none=True) for a in config.accounts],
                    "warehouse": {"path": str(config.warehouse_path)},
                    "sources": {n: s.model_dump() for n, s in config.sources.items()},
                }
            ),
            encoding="utf-8",
        )
        report = ingest_source("yt", str(path), since="2026-10-01")
        assert report.status == "ok" and report.count("comments") == 5
        md.expire_credentials()
        with pytest.raises(SourceError, match="rejected the access token"):
            ingest_source("md", str(path))
    assert query(config, "select platform, count(*) from raw.comments group by all") == [("youtube", 5)]
    ((error,),) = query(config, "select last_error from tertulia.connector_state where source = 'md'")
    assert "TEST_MASTODON_TOKEN" in error
