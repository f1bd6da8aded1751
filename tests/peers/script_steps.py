"""The plumbing both scripted MCP clients share (mcp_client.py, SDK 1.x; mcp2_client.py, SDK 2.x):
JSON lines on stdout, one-line error descriptions, and the argparse actions that turn the command
line into an ordered list of steps. Standard library only: each client imports it from its own
directory, whichever venv runs it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def err(msg: str) -> None:
    """A diagnostic on stderr, prefixed with the script's name."""
    sys.stderr.write(f"{Path(sys.argv[0]).stem}: {msg}\n")
    sys.stderr.flush()


def find_error(exc: BaseException, kind: type[BaseException]) -> Any:
    """The first exception of type `kind` in `exc`, looking inside exception groups."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for e in exc.exceptions:
            found = find_error(e, kind)
            if found is not None:
                return found
    return None


def describe(exc: BaseException) -> str:
    """A one-line description of an exception, looking inside exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StepAction(argparse.Action):
    """Appends {kind, values, expect_error, progress} to namespace.steps."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        expect = bool(getattr(namespace, "_pending_expect", False))
        progress = bool(getattr(namespace, "_pending_progress", False))
        namespace._pending_expect = False
        namespace._pending_progress = False
        if values is None:
            values = []
        elif isinstance(values, str):
            values = [values]
        steps.append({"kind": self.dest, "values": list(values), "expect_error": expect,
                      "progress": progress})
        namespace.steps = steps


class FlagAction(argparse.Action):
    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True)
