"""Environment variables of crossrank's settings: one prefix per app, and the old shared names.

The RAG app (``RagSettings``) reads ``CROSSRANK_RAG_<FIELD>`` and the HTTP server
(``ServerSettings``) ``CROSSRANK_SERVER_<FIELD>``. Both used to read ``CROSSRANK_<FIELD>``,
so a variable meant for one reached the other as well (docker-compose's
``CROSSRANK_MIN_PROBABILITY`` for the RAG app also gated the server's endpoints). The old
names still work for one release: a settings class derived from ``CrossrankSettings``
reads them after its own names, and warns (a ``DeprecationWarning`` and a log line,
naming the old and the new variable) for each one it uses. When both names are set, the
new one wins. An empty variable, old or new, counts as unset (``env_ignore_empty``): an
empty old name means the default, and an empty new name lets a set old one through.

Example:
    ```python
    import os
    from pydantic_settings import SettingsConfigDict

    class DemoSettings(CrossrankSettings):
        model_config = SettingsConfigDict(env_prefix="CROSSRANK_DEMO_", env_ignore_empty=True)
        top_k: int = 30

    os.environ["CROSSRANK_TOP_K"] = "12"
    DemoSettings().top_k  # warns: CROSSRANK_TOP_K is deprecated, set CROSSRANK_DEMO_TOP_K
    # -> 12
    os.environ["CROSSRANK_DEMO_TOP_K"] = "5"
    DemoSettings().top_k  # the new name wins, no warning
    # -> 5
    del os.environ["CROSSRANK_TOP_K"], os.environ["CROSSRANK_DEMO_TOP_K"]
    ```
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any, TypeVar

from pydantic import field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from crossrank.policy import ThresholdChoice, parse_threshold

#: The prefix every app shared before each had its own.
LEGACY_PREFIX = "CROSSRANK_"

log = logging.getLogger(__name__)


class LegacyEnvSettingsSource(EnvSettingsSource):
    """``CROSSRANK_<FIELD>`` for the fields no earlier source (arguments, the new names) set.

    The settings class's own parsing rules apply (empty means unset, ``none``, case).

    Args:
        settings_cls: The settings class.
        new_prefix: The class's own prefix, for the warning (``CROSSRANK_RAG_``).
    """

    def __init__(self, settings_cls: type[BaseSettings], new_prefix: str) -> None:
        super().__init__(settings_cls, env_prefix=LEGACY_PREFIX)
        self.new_prefix = new_prefix.upper()

    def __call__(self) -> dict[str, Any]:
        # current_state: what the sources before this one (arguments, new names) produced.
        used = {key: value for key, value in super().__call__().items() if key not in self.current_state}
        for key in used:
            old, new = f"{LEGACY_PREFIX}{key.upper()}", f"{self.new_prefix}{key.upper()}"
            message = (
                f"environment variable {old} is deprecated and will stop working in the next release; "
                f"set {new} instead (the un-prefixed name is read by every crossrank app)"
            )
            warnings.warn(message, DeprecationWarning, stacklevel=_caller_stacklevel())
            log.warning("%s", message)
        return used


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside pydantic and this module: the settings' caller."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(("pydantic", __name__)):
        frame, level = frame.f_back, level + 1
    return level


_S = TypeVar("_S", bound="CrossrankSettings")


class SettingsError(ValueError):
    """Settings that cannot be built; the message names each wrong field and why, on one line."""


class CrossrankSettings(BaseSettings):
    """Base of crossrank's settings classes: the class's own ``env_prefix``, then the legacy names.

    A subclass sets ``env_prefix`` (``CROSSRANK_RAG_``, ``CROSSRANK_SERVER_``) in its
    ``model_config``. Sources, first wins: arguments, ``<env_prefix><FIELD>``,
    ``CROSSRANK_<FIELD>`` (deprecated, with a warning), then the defaults. A
    ``min_probability`` field is read as a threshold choice (a probability, ``model`` or
    ``none``), its errors naming the class's own variable.
    """

    @classmethod
    def from_flags(cls: type[_S], **flags: Any) -> _S:
        """The settings from the command-line flags that were given (not ``None``); the rest from the environment.

        Raises:
            SettingsError: One line naming each field that is wrong and why.

        Example:
            ```python
            RagSettings.from_flags(collection="handbook", top_k=None).collection
            # -> 'handbook'
            ```
        """
        from pydantic import ValidationError

        given = {name: value for name, value in flags.items() if value is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            raise SettingsError(problems) from None

    @field_validator("min_probability", mode="before", check_fields=False)
    @classmethod
    def _threshold(cls, value: object) -> ThresholdChoice:
        variable = f"{cls.model_config.get('env_prefix', '')}MIN_PROBABILITY"
        return parse_threshold(value, f"min_probability ({variable})")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        prefix = getattr(env_settings, "env_prefix", settings_cls.model_config.get("env_prefix", ""))
        if prefix.upper() == LEGACY_PREFIX:
            return init_settings, env_settings, dotenv_settings, file_secret_settings
        legacy = LegacyEnvSettingsSource(settings_cls, new_prefix=prefix)
        return init_settings, env_settings, legacy, dotenv_settings, file_secret_settings
