"""Run the `sanchika` command in the test process: the same `main(argv)` the console script
calls, with its own environment, standard input and captured output. Starting a Python
process per command cost 1–2 s of imports; the commands themselves take milliseconds.
`tests/integration/test_ops_cli.py::test_version` still starts the real console script once."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from engine.config import Settings


@dataclass(frozen=True)
class CliResult:
    """What a finished command left, named as `subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


class _Stdin(io.StringIO):
    """Standard input that is not a terminal (a pipe, as under `echo pw | sanchika …`)."""

    def isatty(self) -> bool:
        return False


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that points the command at a test's data folder and database."""
    return {"SANCHIKA_DATA_DIR": str(settings.data_dir),
            "SANCHIKA_DATABASE_URL": settings.database_url, **extra}


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """Only the SANCHIKA_ variables of `env` (plus the test-only cheap hash) are seen."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("SANCHIKA_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("SANCHIKA_")})
    os.environ.setdefault("SANCHIKA_TEST_CHEAP_HASH", saved.get("SANCHIKA_TEST_CHEAP_HASH", "1"))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(target: Settings | Mapping[str, str], *args: str, stdin: str = "") -> CliResult:
    """`sanchika ARGS…` against `target` (a test's settings, or an environment mapping)."""
    from web.cli.main import main

    env = env_of(target) if isinstance(target, Settings) else target
    out, err = io.StringIO(), io.StringIO()
    umask = os.umask(0o022)  # main() tightens the umask for the process: put it back after
    os.umask(umask)
    saved_stdin = sys.stdin
    sys.stdin = _Stdin(stdin)
    try:
        with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None
                                                                       else 1)
                if isinstance(exit_.code, str):
                    err.write(exit_.code + "\n")
    finally:
        sys.stdin = saved_stdin
        os.umask(umask)
    return CliResult(int(code or 0), out.getvalue(), err.getvalue())
