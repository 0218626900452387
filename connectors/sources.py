"""Which class reads which platform, and the sources community.yml configures.

Adding a platform is one module with one `LiveConnector` subclass plus one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from connectors.base import SourceError
from connectors.live import LiveConnector
from tertulia.config import Config, ConnectorSource

# platform (sources.<name>.platform) -> "module:Class"; imported only when a source uses it
PLATFORM_CONNECTORS: dict[str, str] = {
    "youtube": "connectors.youtube:YouTubeConnector",
    "facebook": "connectors.meta:FacebookPageConnector",
    "instagram": "connectors.meta:InstagramConnector",
    "reddit": "connectors.reddit:RedditConnector",
    "discourse": "connectors.discourse:DiscourseConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "discord": "connectors.discord:DiscordConnector",
    "telegram": "connectors.telegram:TelegramConnector",
    "email": "connectors.mailbox:EmailConnector",
}


def connector_class(platform: str, *, source_name: str = "?") -> type[LiveConnector]:
    target = PLATFORM_CONNECTORS.get(platform)
    if target is None:
        raise SourceError(
            f"source {source_name}: no live connector for platform {platform!r}; use one of "
            f"{', '.join(sorted(PLATFORM_CONNECTORS))} (file exports of other platforms go through bundle_dir)."
        )
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def selected_sources(config: Config, names: list[str] | None = None) -> list[tuple[str, ConnectorSource]]:
    """The sources to run: the named ones (even if disabled), else every enabled one, in file order."""
    if names is None:
        return [(n, s) for n, s in config.sources.items() if s.enabled]
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        known = ", ".join(config.sources) or "none"
        raise SourceError(
            f"no source named {', '.join(unknown)} under `sources:` in community.yml (configured: {known})."
        )
    return [(n, config.sources[n]) for n in names]


def build_connector(config: Config, name: str, **kwargs: Any) -> LiveConnector:
    source = config.sources[name]
    return connector_class(source.platform, source_name=name)(name, source, config, **kwargs)
