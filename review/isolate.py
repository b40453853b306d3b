"""Run a program in a child process under a time limit and take back only its graph (see docs/architecture.md).

The parent (``python -m review``) reads and validates the project and stack files itself, then starts
:mod:`review.child` in a new session (its own process group) with:

* a minimal environment (:data:`PASSED_ENV`; ``HOME`` and ``TMPDIR`` point to a fresh scratch directory):
  no cloud credentials, tokens or CI variables reach the program (under mocks it needs none);
* stdin: one JSON request (project, stack, config); stdout and stderr: pipes whose text the parent keeps
  apart from the report (:class:`ProgramOutput`, at most :data:`KEEP_OUTPUT` bytes each);
* one more pipe for the answer, at most :data:`MAX_ANSWER_BYTES`, which the parent parses and validates
  strictly (:func:`validate_answer`): anything malformed, oversized or missing is one :class:`ProgramError`.

When the child ends, times out (``--timeout``) or the parent is interrupted, the whole process group is killed.
Nothing the program does inside the child (exit codes, signals, prints, replacing the review's functions) can
reach the judging, pricing or rendering, which run in the parent on the validated graph.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .project import InputError, ProgramError, Project, StackConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT = 300.0
"""Seconds a program may run (``--timeout``)."""
MAX_ANSWER_BYTES = 256 * 1024 * 1024
"""Largest graph (JSON) the parent accepts from the child."""
KEEP_OUTPUT = 64 * 1024
"""Bytes of the program's stdout and of its stderr kept for display (the rest is read and counted)."""
MAX_DEPTH = 64
"""Deepest nesting of a value in the graph."""
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "PYTHONPATH",
              "PYTHONUTF8", "PYTHONIOENCODING", "VIRTUAL_ENV", "SYSTEMROOT")
"""Environment variables the program sees (plus HOME/TMPDIR and the PULUMI_* the engine sets)."""

_BOOT = "import sys; sys.path.insert(0, sys.argv[2]); from review.child import main; main()"
"""The child's command: its working directory is the empty scratch directory, so ``sys.path[0]`` holds nothing
the program could use to replace ``review.child`` before it starts."""


@dataclass
class ProgramOutput:
    """What the program printed, kept apart from the report."""

    stdout: bytes = b""
    stderr: bytes = b""
    stdout_total: int = 0
    stderr_total: int = 0


# -- the answer's schema ---------------------------------------------------------------------------------------

@functools.cache
def answer_schema() -> Any:
    """The pydantic model of the child's answer (built on first use: pydantic is slow to import)."""
    from pydantic import BaseModel, ConfigDict

    class _Strict(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")

    class _Options(BaseModel):
        model_config = ConfigDict(strict=True, extra="allow")

        protect: bool = False
        retainOnDelete: bool = False
        dependsOn: list[str] = []
        ignoreChanges: list[str] = []
        deleteBeforeReplace: bool | None = None
        aliases: list[str | dict[str, Any]] = []
        additionalSecretOutputs: list[str] = []
        replaceOnChanges: list[str] = []
        customTimeouts: dict[str, str] = {}
        importId: str | None = None
        deletedWith: str | None = None


    class _Resource(_Strict):
        urn: str
        type: str
        name: str
        parent: str | None
        custom: bool
        provider: str | None
        inputs: dict[str, Any]
        options: _Options
        id: str | None
        outputs: dict[str, Any]
        property_dependencies: dict[str, list[str]]


    class _Graph(_Strict):
        project: str
        stack: str
        stack_urn: str
        resources: list[_Resource]
        outputs: dict[str, Any]
        logs: list[str]


    class _Error(_Strict):
        kind: Literal["input", "program"]
        message: str


    class _Answer(_Strict):
        version: Literal[1]
        graph: _Graph | None = None
        error: _Error | None = None

    return _Answer


def one_line(text: str, limit: int = 400) -> str:
    """Text the program controls, made safe to print as one line: control characters shown escaped, bounded."""
    out = []
    for ch in " ".join(str(text).split()):
        out.append(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii"))
    line = "".join(out)
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def validate_answer(data: bytes) -> dict[str, Any]:
    """The child's answer, parsed and checked; raises :class:`ProgramError` / :class:`InputError`."""
    if not data:
        raise ProgramError("the program ended the review's child process before its graph was returned")
    if len(data) > MAX_ANSWER_BYTES:
        raise ProgramError(f"the program's answer is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
    try:
        doc = json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ProgramError(f"the program's answer is not valid JSON ({one_line(str(exc), 120)})") from None
    if not _depth_ok(doc):
        raise ProgramError(f"the program's graph nests values deeper than {MAX_DEPTH} levels")
    from pydantic import ValidationError

    try:
        answer = answer_schema().model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ProgramError(f"the program's answer is malformed at {one_line(where, 120) or 'top'}: "
                           f"{one_line(first.get('msg', ''), 160)}") from None
    if answer.error is not None:
        cls = InputError if answer.error.kind == "input" else ProgramError
        raise cls(one_line(answer.error.message))
    if answer.graph is None:
        raise ProgramError("the program's answer holds neither a graph nor an error")
    return doc["graph"]


# -- the child process -------------------------------------------------------------------------------------------

class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the first ``keep`` bytes and counting all of them."""

    def __init__(self, fd: int, keep: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.keep = fd, keep
        self.chunks: list[bytes] = []
        self.kept = 0
        self.total = 0
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while True:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                self.total += len(chunk)
                if self.kept < self.keep:
                    part = chunk[:self.keep - self.kept]
                    self.chunks.append(part)
                    self.kept += len(part)
        except OSError:
            pass
        finally:
            self.done.set()

    def data(self) -> bytes:
        return b"".join(self.chunks)


def child_env(scratch: str, project: str, stack: str) -> dict[str, str]:
    """The child's environment: :data:`PASSED_ENV` from ours, a scratch HOME/TMPDIR, the engine's PULUMI_*."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(HOME=scratch, TMPDIR=scratch, PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true",
               PYTHONUNBUFFERED="1")
    return env


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """The child has ended (on Linux without reaping it, so its process group id cannot be reused yet)."""
    if not hasattr(os, "waitid"):  # macOS: poll (reaps; the group is killed right after)
        return proc.poll() is not None
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not end"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def run_isolated(project: Project, stack: str, config: StackConfig, *,
                 timeout: float = DEFAULT_TIMEOUT) -> tuple[dict[str, Any], ProgramOutput]:
    """Run the project's program for ``stack`` in a child process; return its raw graph and its output.

    Raises :class:`InputError` (bad input the child found), :class:`ProgramError` (the program failed,
    misbehaved or ran longer than ``timeout`` seconds); ``KeyboardInterrupt`` passes through after the child's
    process group is killed.
    """
    if not math.isfinite(timeout) or timeout <= 0:
        raise InputError("--timeout must be a positive number of seconds")
    request = json.dumps({"project": project.name, "root": str(project.root), "main": str(project.main),
                          "stack": stack, "config": config.values, "secret_keys": list(config.secret_keys)},
                         default=str).encode()
    scratch = tempfile.mkdtemp(prefix="review-program-")
    answer_r, answer_w = os.pipe()
    proc = None
    drains: list[_Drain] = []
    try:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(answer_w), str(REPO_ROOT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(answer_w,),
                env=child_env(scratch, project.name, stack), cwd=scratch, start_new_session=True)
        except OSError as exc:
            raise ProgramError(f"cannot start the program's process: {exc}") from None
        finally:
            os.close(answer_w)
        answer = _Drain(answer_r, MAX_ANSWER_BYTES + 1)
        out = _Drain(proc.stdout.fileno(), KEEP_OUTPUT)
        err = _Drain(proc.stderr.fileno(), KEEP_OUTPUT)
        drains = [answer, out, err]
        for d in drains:
            d.start()
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except OSError:  # the child ended before reading its request; reported below
            pass
        deadline = time.monotonic() + timeout
        pause = 0.002
        while not _exited(proc):
            if time.monotonic() >= deadline:
                _kill_group(proc.pid)
                raise ProgramError(f"the program did not finish within {timeout:g} s (--timeout); it was stopped")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        _kill_group(proc.pid)  # whatever the program left running in its process group
        code = proc.wait()
        answer.done.wait(2.0)
        out.done.wait(0.5)
        err.done.wait(0.5)
        output = ProgramOutput(out.data(), err.data(), out.total, err.total)
        if not answer.done.is_set():
            raise ProgramError("the program left a process holding the review's answer pipe open")
        data = answer.data()
        if not data:
            raise ProgramError(f"the program's process {_describe_exit(code)} before its graph was returned")
        if answer.total > MAX_ANSWER_BYTES:
            raise ProgramError(f"the program's answer is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
        graph = validate_answer(data)
        if code != 0:
            raise ProgramError(f"the program's process {_describe_exit(code)} after returning its graph")
        graph["project"], graph["stack"] = project.name, stack
        return graph, output
    finally:
        if proc is not None and proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        # A pipe still being read is left open (a process the program detached may hold its other end).
        if proc is not None:
            for stream, drain in zip((proc.stdout, proc.stderr), drains[1:] or (None, None), strict=True):
                if drain is None or drain.done.is_set():
                    stream.close()
        if not drains or drains[0].done.is_set():
            os.close(answer_r)
        shutil.rmtree(scratch, ignore_errors=True)
