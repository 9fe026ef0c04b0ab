"""What every command line shares: options whose default lives in a config, and the resume command.

Each default is written once, where the library declares the option (STYLE.md, section 7).
An option that sets a config field says which with :class:`Default` in its annotation and
defaults to ``None``, "not given"::

    sft_lr: Annotated[
        float | None, typer.Option(help="SFT learning rate."), Default("augment.stages:CookieSFTConfig.learning_rate")
    ] = None

- The command builds the config from what was given, ``CookieSFTConfig(**given(ctx, CookieSFTConfig))``:
  an option left out falls back to the class's default, and an option given overrides a YAML
  value whatever its value (``--visits all`` over ``visits: first``).
- ``--help`` shows the class's default, read only when help is asked for (a TRL config takes
  seconds to import; a command that does not need it does not pay): commands are declared with
  ``cls=ConfigDefaults``.
- :func:`resume_command` is the command as given on the command line, for "resume with: ...".
"""

from __future__ import annotations

import importlib
import inspect
import shlex
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from enum import Enum
from functools import cache
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption


@dataclass(frozen=True, init=False)
class Default:
    """Where an option's default lives: ``"module:Class.field"`` or ``"module:function.parameter"``.

    Several homes: the option sets every one of them (``--seed`` for each stage). ``parse`` turns
    the command-line value into the field's (``"real,degraded"`` -> ``("real", "degraded")``);
    enums become their values without it. ``show`` writes the field's default as the option
    takes it, for ``--help`` (``("ad", "hc")`` -> ``both``).
    """

    homes: tuple[str, ...]
    parse: Callable[[Any], Any] | None
    show: Callable[[Any], str] | None

    def __init__(
        self, *homes: str, parse: Callable[[Any], Any] | None = None, show: Callable[[Any], str] | None = None
    ):
        object.__setattr__(self, "homes", homes)
        object.__setattr__(self, "parse", parse)
        object.__setattr__(self, "show", show)

    def value(self, given: Any) -> Any:
        """The field value of a command-line value."""
        if self.parse is not None:
            return self.parse(given)
        return given.value if isinstance(given, Enum) else given

    def defaults(self) -> dict[str, Any]:
        """Home -> its default."""
        return {home: default_of(home) for home in self.homes}


def _owner_and_name(home: str) -> tuple[Any, str]:
    module, _, path = home.partition(":")
    *owner_path, name = path.split(".")
    owner: Any = importlib.import_module(module)
    for part in owner_path:
        owner = getattr(owner, part)
    return owner, name


def default_of(home: str | tuple[type, str]) -> Any:
    """The default of a config field (pydantic or TRL dataclass, pydantic model) or of a function parameter.

    >>> default_of("detect.readers:ReadOptions.visits").value
    'all'
    """
    owner, name = _owner_and_name(home) if isinstance(home, str) else home
    pydantic_fields = getattr(owner, "__pydantic_fields__", None)
    if pydantic_fields is not None:  # a pydantic dataclass or model
        if name not in pydantic_fields:
            raise KeyError(f"{owner.__qualname__} has no field {name!r}")
        return pydantic_fields[name].get_default(call_default_factory=True)
    if is_dataclass(owner):
        for f in fields(owner):
            if f.name == name:
                if f.default is not MISSING:
                    return f.default
                if f.default_factory is not MISSING:
                    return f.default_factory()
                raise KeyError(f"{owner.__qualname__}.{name} has no default")
        raise KeyError(f"{owner.__qualname__} has no field {name!r}")
    parameter = inspect.signature(owner).parameters[name]
    if parameter.default is inspect.Parameter.empty:
        raise KeyError(f"{owner.__qualname__}({name}) has no default")
    return parameter.default


def qualified(target: type | Callable) -> str:
    """``module:QualName``, as a :class:`Default` names its owner."""
    return f"{target.__module__}:{target.__qualname__}"


@cache
def declared_defaults(callback: Callable) -> Mapping[str, Default]:
    """Parameter name -> its :class:`Default`, read from a command function's annotations."""
    function = inspect.unwrap(callback)
    hints = typing.get_type_hints(function, include_extras=True)
    found = {}
    for name, hint in hints.items():
        for extra in getattr(hint, "__metadata__", ()):
            if isinstance(extra, Default):
                found[name] = extra
    return found


def given(ctx: typer.Context, target: type | Callable) -> dict[str, Any]:
    """``target``'s fields set by the options given on the command line (field -> value)."""
    owner = qualified(target)
    out = {}
    for name, default in declared_defaults(ctx.command.callback).items():
        value = ctx.params.get(name)
        if value is None:
            continue
        for home in default.homes:
            home_owner, _, field_name = home.rpartition(".")
            if home_owner == owner:
                out[field_name] = default.value(value)
    return out


def shown(default: Default, param: Any) -> str:
    """The default as ``--help`` shows it; homes that differ are each named."""
    by_value: dict[str, list[str]] = {}
    for home, value in default.defaults().items():
        text = default.show(value) if default.show is not None else _as_given(value, param)
        by_value.setdefault(text, []).append(home.partition(":")[2].rpartition(".")[0])
    if len(by_value) == 1:
        return next(iter(by_value))
    return "; ".join(f"{value} for {', '.join(owners)}" for value, owners in by_value.items())


def _as_given(value: Any, param: Any) -> str:
    """A field's value written as the option would take it."""
    if isinstance(value, bool) and getattr(param, "secondary_opts", None):
        return (param.opts[0] if value else param.secondary_opts[0]).lstrip("-")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ",".join(_as_given(v, param) for v in value) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_as_given(v, param)}" for k, v in value.items())
    return "none" if value is None else str(value)


class ConfigDefaults(TyperCommand):
    """A command whose ``--help`` shows, for each option declared with :class:`Default`, its config's default."""

    # ctx: Any, as the base class types it with typer's private copy of click
    def format_help(self, ctx: Any, formatter: Any) -> None:
        defaults = declared_defaults(self.callback)
        for param in self.params:
            if param.name in defaults and isinstance(param, TyperOption | TyperArgument):
                param.show_default = shown(defaults[param.name], param)
        super().format_help(ctx, formatter)


def resume_command(ctx: typer.Context) -> str:
    """This command as given on the command line, to print for a resume (options set by environment left out)."""
    words = ctx.command_path.split()
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE":  # Typer vendors Click: compare by name
            continue
        value = ctx.params[param.name]
        if param.param_type_name == "argument":  # Typer vendors Click: no isinstance with click's classes
            words += [_word(v) for v in (value if isinstance(value, list | tuple) else [value])]
        elif getattr(param, "is_flag", False) and isinstance(value, bool):
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            for v in value if getattr(param, "multiple", False) else [value]:
                words += [param.opts[0], _word(v)]
    return shlex.join(words)


def _word(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)
