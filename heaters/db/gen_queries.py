"""Generate ``heaters/db/_typed_queries.py``: the named queries as a typed Protocol.

``python -m heaters.db.gen_queries`` rewrites the file from ``queries/*.sql`` (``--check``
exits 1 when the checked-in file differs). Each named query becomes one method of
``Queries`` with its ``:name`` parameters keyword-only (typed ``Any``), so mypy checks every
``db.q.<name>(conn, …)`` call: the name exists and every parameter is spelled right. Return
types by aiosql operation: ``^`` → ``asyncpg.Record | None``; ``$`` (a value) and ``<!``
(the returned column, or row) → ``Any``; ``!`` → ``str`` (the status); ``*!`` → ``None``
(takes a sequence of parameter mappings); no suffix → ``AsyncIterator[asyncpg.Record]``.
"""

from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
from pathlib import Path

import aiosql
from aiosql.types import SQLOperationType

TARGET = Path(__file__).with_name("_typed_queries.py")

_HEADER = '''# ruff: noqa: E501
"""The named queries of ``queries/*.sql`` as a typed Protocol (generated: do not edit).

Regenerate with ``python -m heaters.db.gen_queries`` after changing a ``.sql`` file
(``tests/db/test_typed_queries.py`` fails while this file is stale).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

import asyncpg


class Queries(Protocol):
    """``Database.q``: one method per named query; the connection first, then the query's
    parameters by name."""
'''

_RETURNS = {
    SQLOperationType.SELECT_ONE: "asyncpg.Record | None",
    SQLOperationType.SELECT_VALUE: "Any",
    SQLOperationType.INSERT_RETURNING: "Any",
    SQLOperationType.INSERT_UPDATE_DELETE: "str",
    SQLOperationType.INSERT_UPDATE_DELETE_MANY: "None",
}


def _doc(text: str | None, extra: str = "") -> str:
    lines = [ln.rstrip() for ln in (text or "").strip().splitlines()]
    if extra:
        lines.append(extra)
    if not lines:
        return ""
    body = "\n        ".join(ln.replace("\\", "\\\\").replace('"""', "'''") for ln in lines)
    return f'        """{body}"""\n'


def generate() -> str:
    """The module text for the current ``queries/*.sql``."""
    from heaters.db.pool import QUERIES_DIR

    q = aiosql.from_path(QUERIES_DIR, "asyncpg", mandatory_parameters=False)
    out = [_HEADER]
    for name in sorted(q.available_queries):
        fn = getattr(q, name)
        if name.endswith("_cursor") and name[: -len("_cursor")] in q.available_queries:
            continue  # aiosql's cursor twin of a select: not used
        op = fn.operation
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        if op is SQLOperationType.INSERT_UPDATE_DELETE_MANY:
            doc = _doc(fn.__doc__, f"Each mapping has the keys: {', '.join(params)}.")
            out.append(
                f"\n    async def {name}(\n"
                "        self, conn: Any, parameters: Sequence[Mapping[str, Any]], /\n"
                f"    ) -> None:\n{doc}        ...\n"
            )
            continue
        doc = _doc(fn.__doc__)
        kw = "".join(f", {p}: Any" for p in params)
        star = ", *" if params else ""
        if op is SQLOperationType.SELECT:
            sig = f"    def {name}(self, conn: Any{star}{kw}) -> AsyncIterator[asyncpg.Record]:"
        elif op in _RETURNS:
            sig = f"    async def {name}(self, conn: Any{star}{kw}) -> {_RETURNS[op]}:"
        else:  # pragma: no cover - scripts are not used
            raise ValueError(f"query {name}: unsupported operation {op}")
        out.append(f"\n{sig}\n{doc}        ...\n")
    return _ruff_format("".join(out))


def _ruff_format(text: str) -> str:
    """``text`` as ``ruff format`` writes it (the project's style: the file stays clean)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    """Write the file (or, with ``--check``, say whether it is up to date: 0 yes, 1 no)."""
    parser = argparse.ArgumentParser(prog="python -m heaters.db.gen_queries")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    text = generate()
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != text:
            print(f"{TARGET} is stale: run python -m heaters.db.gen_queries", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.write_text(text)
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
