"""`[sink] type = "elasticsearch"`: an Elasticsearch 8 node or cluster (keys: consumer.sinks.engine_settings)."""

from dataclasses import dataclass
from typing import Literal

from consumer.sinks.engine_settings import EngineSettings
from logferry.config import setting


@dataclass(frozen=True, kw_only=True)
class ElasticsearchSettings(EngineSettings):
    """The Elasticsearch sink."""

    type: Literal["elasticsearch"] = setting("elasticsearch", "Sink type.")
    username_env: str = setting("LOGFERRY_ELASTICSEARCH_USERNAME", "Environment variable with the user name.")
    password_env: str = setting("LOGFERRY_ELASTICSEARCH_PASSWORD", "Environment variable with the password.")
