"""One JSON POST, as the webhook and Alertmanager receivers make it (urllib; no client library): 2xx is accepted,
429 and 5xx and a connection that fails are retriable, any other status is a refusal."""

import os
import ssl
import urllib.error
import urllib.request
from typing import Any

import orjson

from consumer.alerting.notify.receivers.base import ReceiverRefused, ReceiverUnavailable

MAX_ANSWER = 2000  # bytes of an error answer quoted in the message


def post_json(url: str, body: Any, *, headers: dict[str, str], timeout: float, ca_file: str = "",
              bearer_token_env: str = "") -> int:
    """POST `body` as JSON; the status on 2xx, else ReceiverUnavailable or ReceiverRefused."""
    data = orjson.dumps(body)
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "logferry-alerting")
    for name, value in headers.items():
        request.add_header(name, value)
    if bearer_token_env:
        token = os.environ.get(bearer_token_env)
        if token is None:
            raise ReceiverUnavailable(f"the environment variable {bearer_token_env} holding the token is not set")
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=ca_file or None) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            answer.read(MAX_ANSWER)
            return int(answer.status)
    except urllib.error.HTTPError as error:
        detail = error.read(MAX_ANSWER).decode("utf-8", "replace").strip()
        message = f"{url} answered {error.code} {error.reason}" + (f": {detail}" if detail else "")
        if error.code == 429 or error.code >= 500:
            raise ReceiverUnavailable(message) from None
        raise ReceiverRefused(message) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ReceiverUnavailable(f"cannot POST to {url}: {reason}") from None
