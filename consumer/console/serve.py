"""`consumer serve`: the web console on `--listen` (loopback by default) until SIGTERM or Ctrl-C."""

import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Mapping

from consumer.config import ConsumerConfig
from consumer.console.listen import DEFAULT_LISTEN, TOKEN_ENV, access_for, parse_listen
from logferry.errors import LogferryError

log = logging.getLogger("consumer.console")
GRACEFUL_SHUTDOWN_S = 3  # open live tails are closed after this on a stop request


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, whose stop on SIGTERM/SIGINT is an exit 0 (uvicorn raises the signal again after its
        shutdown, which makes the exit status "killed by SIGTERM")."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def run_console(config: ConsumerConfig, listen: str = DEFAULT_LISTEN, environ: Mapping[str, str] = os.environ) -> int:
    address = parse_listen(listen)
    access = access_for(address, environ.get(TOKEN_ENV))  # ValueError (exit 2) before anything opens
    try:
        import uvicorn

        from consumer.console.app import build_app
    except ImportError as error:
        raise LogferryError(f"the console needs the `console` extra (pip install 'logferry[console]'): {error}") from None
    app = build_app(config, access)
    log.info("The console is serving.", extra={"url": address.url, "sink": config.sink.type,
                                                "token": access.token is not None,
                                                "alerts_state": config.console.alerts_state or None})
    server = _server_class()(uvicorn.Config(
        app, host=address.host, port=address.port, log_config=None, access_log=False, server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="on",
    ))
    server.run()
    return 0 if server.started else 1
