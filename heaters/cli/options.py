"""Click options shared by several commands, and :func:`grouped`: options that reach a
command as one object."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

F = TypeVar("F", bound=Callable[..., Any])

verbose_option = click.option(
    "--verbose", "-v", count=True, help="More logging (-v: info, -vv: debug)."
)
"""The ``-v/--verbose`` counter shared by the long-running commands."""

json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print JSON (one object per line) for scripts."
)
"""The ``--json`` flag of the commands that print results."""


def grouped(
    keyword: str, into: type[Any], options: Sequence[Callable[[Any], Any]]
) -> Callable[[F], F]:
    """A decorator that puts ``options`` on a command and hands their values to it as one
    keyword argument, ``keyword=into(**values)``.

    ``into`` is a dataclass whose field names are the options' parameter names (each option
    must have one field, and each field one option); the command takes ``keyword`` instead of
    the options' own parameters. Commands that share options so share one parameter for them.
    """
    names = [f.name for f in dataclasses.fields(into)]

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[keyword] = into(**{name: kwargs.pop(name) for name in names})
            return func(*args, **kwargs)

        decorated: Callable[..., Any] = command
        for option in reversed(options):
            decorated = option(decorated)
        return cast(F, decorated)

    return decorate
