"""Settings as data: settings.toml, beside this module, names each setting, its default and its help.

Like Datasette's settings table, one list documents, validates and exposes
every knob: the environment variable HYPEWATCH_<NAME> and the command-line
option --<name> are generated from it, so they can never drift apart.

The environment is read here rather than with click's ``envvar=``: click takes
an empty variable as unset (``HYPEWATCH_CONCURRENCY=`` must be an error, not
16), reads booleans more loosely (``t``, ``y``) and reports a bad value as a
usage error about the option instead of naming the variable; and ``resolve``
also serves callers that have no command line.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

SETTINGS_FILE = Path(__file__).with_name("settings.toml")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    used_by: tuple[str, ...]

    @property
    def envvar(self) -> str:
        return f"HYPEWATCH_{self.name.upper()}"

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def type(self) -> type:
        return type(self.default)


def _load() -> tuple[Setting, ...]:
    data = tomllib.loads(SETTINGS_FILE.read_text(encoding="utf-8"))
    return tuple(Setting(s["name"], s["default"], s["help"], tuple(s.get("used_by", ()))) for s in data["setting"])


SETTINGS: tuple[Setting, ...] = _load()
BY_NAME = {s.name: s for s in SETTINGS}


def _convert(setting: Setting, raw: str) -> Any:
    if setting.type is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{setting.envvar}={raw!r}: expected true or false")
    try:
        return setting.type(raw)
    except ValueError:
        raise ValueError(f"{setting.envvar}={raw!r}: expected a {setting.type.__name__}") from None


def resolve(cli_values: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting's value: command line over environment over default."""
    environ = os.environ if environ is None else environ
    cli_values = cli_values or {}
    values = {}
    for s in SETTINGS:
        if cli_values.get(s.name) is not None:
            values[s.name] = cli_values[s.name]
        elif s.envvar in environ:
            values[s.name] = _convert(s, environ[s.envvar])
        else:
            values[s.name] = s.default
    return values


def setting_options(command: str):
    """Decorator adding a --<name> option for each setting the command uses.

    Options default to None so `resolve` can tell "not given" from a value and
    fall back to the environment, then the default.
    """

    def decorate(func):
        for s in reversed([s for s in SETTINGS if command in s.used_by]):
            if s.type is bool:
                decl = f"{s.option}/--no-{s.option[2:]}"
                opt = click.option(decl, s.name, default=None, help=f"{s.help} [env {s.envvar}; default: {s.default}]")
            else:
                opt = click.option(s.option, s.name, type=s.type, default=None, metavar=s.type.__name__.upper(),
                                   help=f"{s.help} [env {s.envvar}; default: {s.default!r}]")
            func = opt(func)
        return func

    return decorate


def pop_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the settings' option values out of a command's kwargs and resolve them."""
    given = {name: kwargs.pop(name) for name in list(kwargs) if name in BY_NAME}
    return resolve(given)
