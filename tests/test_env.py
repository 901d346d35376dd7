"""crossrank.env: each app's own prefix, the old shared names read with a warning, settings from CLI flags."""

from __future__ import annotations

import pytest

pytest.importorskip("pydantic_settings")

from env_helpers import built_quietly, without_crossrank_variables
from pydantic_settings import SettingsConfigDict

from crossrank.env import CrossrankSettings, SettingsError


class DemoSettings(CrossrankSettings):
    model_config = SettingsConfigDict(env_prefix="CROSSRANK_DEMO_", env_ignore_empty=True)
    top_k: int = 30
    min_probability: float | str | None = "model"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    without_crossrank_variables(monkeypatch)


def test_the_own_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_DEMO_TOP_K", "7")
    assert built_quietly(DemoSettings).top_k == 7


def test_an_old_shared_name_is_read_with_a_warning_naming_the_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSRANK_TOP_K", "12")
    with pytest.warns(DeprecationWarning, match="CROSSRANK_TOP_K.*CROSSRANK_DEMO_TOP_K"):
        assert DemoSettings().top_k == 12
    monkeypatch.setenv("CROSSRANK_DEMO_TOP_K", "5")
    assert DemoSettings().top_k == 5  # the new name wins


def test_from_flags_takes_the_given_flags_and_leaves_the_rest_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSRANK_DEMO_TOP_K", "9")
    assert built_quietly(DemoSettings.from_flags, top_k=None).top_k == 9  # None: the flag was not given
    assert built_quietly(DemoSettings.from_flags, top_k=3).top_k == 3


def test_from_flags_names_every_wrong_field_on_one_line() -> None:
    with pytest.raises(SettingsError) as caught:
        DemoSettings.from_flags(top_k="many", min_probability="often")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("top_k: ") and "min_probability: " in message
    assert "CROSSRANK_DEMO_MIN_PROBABILITY" in message  # the threshold error names this app's variable
