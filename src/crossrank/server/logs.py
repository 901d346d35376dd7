"""The server's log: one JSON object a line, with a timestamp and a level, and no progress bars.

Every line of ``crossrank serve`` (uvicorn's own included) looks like::

    {"ts": "2025-06-01T12:00:00.123Z", "level": "warning", "logger": "crossrank.server",
     "msg": "request timed out", "request_id": "4b0b...", "route": "/v1/rerank",
     "status": 503, "latency_ms": 30012.4, "documents": 300, "reason": "timeout"}

so a log shipper can parse it and a person can still read it. Extra fields are
passed as ``extra={"fields": {...}}``.

Example:
    ```python
    import logging
    record = logging.makeLogRecord({"name": "crossrank.server", "levelname": "INFO", "msg": "ready",
                                    "created": 0.0, "fields": {"model": "m"}})
    JsonFormatter().format(record)
    # -> '{"ts": "1970-01-01T00:00:00.000Z", "level": "info", "logger": "crossrank.server", "msg": "ready", "model": "m"}'
    ```
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from crossrank.server.errors import encodable


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: ts (UTC, ms), level, logger, msg, fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        millis = int((record.created - seconds) * 1000)
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info:
            # The traceback stays in the one line (escaped newlines), so it is not split
            # into lines without a level or a timestamp.
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(encodable(line), ensure_ascii=False, default=str)


def log_config(level: str, *, whole_process: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server: uvicorn's loggers and crossrank's, in JSON.

    Passed to uvicorn as ``log_config``, so it replaces uvicorn's plain-text format. With
    ``whole_process`` (a process that is only the server) the root logger gets the JSON
    handler too, so libraries' warnings and ``warnings.warn`` are JSON lines as well;
    without it the host program's own logging is left alone.

    Example:
        ```python
        log_config("info")["loggers"]["crossrank"]["level"]
        # -> 'INFO'
        ```
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    loud = level.upper()
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": loud, "propagate": False},
            "uvicorn.error": {"level": loud},
            # Requests are logged by crossrank's middleware (with the request id), not twice.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "crossrank": {"handlers": ["stderr"], "level": loud, "propagate": False},
        },
    }
    if whole_process:
        config["root"] = {"handlers": ["stderr"], "level": "WARNING"}
    return config


_whole_process = False


def own_the_process() -> None:
    """This process is the server: warnings go to the log, progress bars are off.

    Call with ``log_config(..., whole_process=True)`` in force; ``adopt_library_logging``
    then also reroutes transformers' own handler.
    """
    global _whole_process
    logging.captureWarnings(True)  # warnings.warn() -> the "py.warnings" logger -> root -> JSON
    quiet_progress_bars()
    _whole_process = True


def adopt_library_logging() -> None:
    """Send transformers' log lines through the root logger's JSON handler.

    transformers writes to stderr through a plain-text handler of its own; the loading
    thread calls this once transformers is imported anyway. A no-op unless
    ``own_the_process`` ran, so an app embedded in another program leaves its logging alone.
    """
    if not _whole_process:
        return
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_default_handler()
    transformers_logging.enable_propagation()


def quiet_progress_bars() -> None:
    """Turn off tqdm bars (model loading, scoring) for this process.

    A server's log is read line by line; a bar redrawn with carriage returns is noise
    there. Environment variables cover libraries not imported yet; the calls cover
    those already imported.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
