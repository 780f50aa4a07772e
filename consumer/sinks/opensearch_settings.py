"""`[sink] type = "opensearch"`: an OpenSearch node or cluster (keys: consumer.sinks.engine_settings)."""

from dataclasses import dataclass
from typing import Literal

from consumer.sinks.engine_settings import EngineSettings
from logferry.config import setting


@dataclass(frozen=True, kw_only=True)
class OpenSearchSettings(EngineSettings):
    """The OpenSearch sink."""

    type: Literal["opensearch"] = setting("opensearch", "Sink type.")
    username_env: str = setting("LOGFERRY_OPENSEARCH_USERNAME", "Environment variable with the user name.")
    password_env: str = setting("LOGFERRY_OPENSEARCH_PASSWORD", "Environment variable with the password.")
