"""The child process of ``python -m review``: runs the program under the mocks and returns its raw graph.

Started by :mod:`review.isolate` as ``python -c 'from review.child import main; main()' FD ROOT``. It reads
one JSON request from stdin (the project, the stack and its config, already validated by the parent), runs the
program, writes one JSON answer to file descriptor ``FD`` and ends with ``os._exit`` (so nothing the program
registered with ``atexit`` runs). The answer is ``{"version": 1, "graph": {...}}`` (see
:func:`review.engine.capture_stack`) or ``{"version": 1, "error": {"kind": "input" | "program", "message"}}``.

Nothing here is trusted by the parent: the program runs in this process and may replace any of it. The parent
validates the answer and does all judging, pricing and rendering itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from .engine import ProgramError, capture_stack
    from .project import InputError, Project, StackConfig

    try:
        project = Project(name=request["project"], root=Path(request["root"]), main=Path(request["main"]))
        raw, _ = capture_stack(project, request["stack"],
                               StackConfig(values=request["config"], secret_keys=request["secret_keys"]),
                               keep_prints=False)  # the parent reads this process's stdout and stderr apart
        return {"version": 1, "graph": raw}
    except InputError as exc:
        return {"version": 1, "error": {"kind": "input", "message": str(exc)}}
    except ProgramError as exc:
        return {"version": 1, "error": {"kind": "program", "message": str(exc)}}
    except KeyboardInterrupt:
        return {"version": 1, "error": {"kind": "program", "message": "the program was interrupted"}}
    except Exception as exc:
        return {"version": 1, "error": {"kind": "program",
                                        "message": f"the capture failed: {type(exc).__name__}: {exc}"}}


def main() -> None:
    """Entry point of the child (see the module docstring)."""
    fd = int(sys.argv[1])
    os.set_inheritable(fd, False)
    # A short-lived process that imports a provider SDK and records a graph: hundreds of thousands of long-lived
    # objects, which the collector at its default thresholds (700, 10, 10) walks again and again. Collecting every
    # 100 000 allocations cuts a capture by 10-25 % (more on big stacks); the process ends with os._exit anyway.
    gc.set_threshold(100_000, 20, 20)
    request = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a program that reads stdin sees end of file
    os.close(devnull)
    try:
        answer = _answer(request)
        data = json.dumps(answer, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        data = json.dumps({"version": 1, "error": {"kind": "program", "message":
                                                   f"the program's graph cannot be returned: {exc}"}})
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    view = memoryview(data.encode())
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)
    os._exit(0)
