"""Settings as data: every setting documented in the README, env and CLI overrides in that order."""

from pathlib import Path

import pytest

from hypewatch.settings import SETTINGS, resolve

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    assert f"| `{setting.name}` |" in README, f"add {setting.name} to the README's settings table"
    assert setting.envvar in README


def test_precedence_cli_over_env_over_default():
    assert resolve({}, {})["concurrency"] == 16
    assert resolve({}, {"HYPEWATCH_CONCURRENCY": "3"})["concurrency"] == 3
    assert resolve({"concurrency": 5}, {"HYPEWATCH_CONCURRENCY": "3"})["concurrency"] == 5
    assert resolve({}, {"HYPEWATCH_FULLTEXT": "no"})["fulltext"] is False


def test_bad_environment_value_is_explained():
    with pytest.raises(ValueError, match="HYPEWATCH_CONCURRENCY='many': expected a int"):
        resolve({}, {"HYPEWATCH_CONCURRENCY": "many"})
