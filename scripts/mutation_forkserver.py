"""A fork server for scripts/mutations.py: pytest runs without paying their imports again and again.

A mutation check is ~100 short pytest runs; starting each from scratch costs 1.5-4 CPU-seconds of
imports (pytest, numpy, pyarrow, duckdb, torch) before a test runs. The server is a process that
imports those third-party libraries once and forks one child per run. It preloads no project code:
a child puts its own tree first on sys.path (as `python -m pytest` with cwd = the tree would), so it
imports that copy's code, which the plugin's self-check in mutations.py verifies. Each child starts
its own session, so a timeout kills everything the run started (ffmpeg, Ray). The same technique as
the standard library's multiprocessing "forkserver" start method, reduced to pytest runs.

Linux/macOS only (os.fork); scripts/mutations.py --no-fork runs plain subprocesses instead.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import json
import os
import select
import signal
import sys
import threading
import traceback
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

# Third-party modules worth importing once (never project modules: those differ per copy).
# The model libraries cost seconds each (diffusers' CogVideoX pipeline the most) and were paid again
# by every run of a tuning, privacy or score breakage; importing them creates no threads, so a fork
# after the import is safe (the sessions and thread pools that made forks hang are made in the tests).
PRELOAD = ("pytest", "pytest_timeout", "numpy", "pyarrow", "pyarrow.parquet", "duckdb", "pydantic", "yaml",
           "typer", "rich", "PIL.Image", "torch", "cv2", "onnxruntime", "open_clip", "transformers", "peft",
           "datasets", "diffusers.optimization", "diffusers.pipelines.cogvideo.pipeline_cogvideox")


class ForkServer:
    """Start with `ForkServer(drop_paths)` before any thread exists; `run(...)` is thread-safe.

    `drop_paths`: sys.path entries of the calling checkout that children must not see (the script's
    own folder, the checkout root), so only the copy's code is importable by path.
    """

    def __init__(self, drop_paths: list[str], preload: tuple[str, ...] = PRELOAD) -> None:
        if threading.active_count() > 1:
            raise RuntimeError("start the fork server before any thread: forking a threaded process is unsafe")
        requests_read, requests_write = os.pipe()
        results_read, results_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the server
            os.close(requests_write)
            os.close(results_read)
            _serve(requests_read, results_write, preload, drop_paths)
        os.close(requests_read)
        os.close(results_write)
        self.pid = pid
        self._requests = os.fdopen(requests_write, "w", buffering=1)
        self._results = os.fdopen(results_read, "r")
        self._lock = threading.Lock()
        self._waiting: dict[int, Future] = {}
        self._ids = itertools.count()
        threading.Thread(target=self._read_results, daemon=True).start()

    def run(self, cwd: Path, argv: list[str], env: dict[str, str], log: Path, timeout: float) -> int:
        """`pytest argv` in a forked child with cwd/env, its output into `log`; returns pytest's exit
        status (negative: killed by that signal). Raises TimeoutError after `timeout` seconds, once the
        child's whole session has been killed and reaped."""
        job, done = next(self._ids), Future()
        with self._lock:
            self._waiting[job] = done
            self._send({"id": job, "cwd": str(cwd), "argv": argv, "env": env, "log": str(log)})
        try:
            return done.result(timeout)
        except FutureTimeout:
            with self._lock:
                self._send({"kill": job})
            done.result(120)  # reaped by the server once killed
            raise TimeoutError(f"pytest {' '.join(argv[-3:])} ran over {timeout:.0f} s") from None

    def close(self) -> None:
        self._requests.close()  # the server sees EOF, kills what still runs and exits
        os.waitpid(self.pid, 0)

    def _send(self, message: dict) -> None:
        self._requests.write(json.dumps(message) + "\n")

    def _read_results(self) -> None:
        for line in self._results:
            message = json.loads(line)
            with self._lock:
                done = self._waiting.pop(message["id"], None)
            if done is not None:
                done.set_result(message["code"])
        with self._lock:  # the server is gone: no waiting run may hang on it
            waiting, self._waiting = self._waiting, {}
        for done in waiting.values():
            done.set_exception(RuntimeError("the fork server exited before this run finished"))


def _serve(requests: int, results: int, preload: tuple[str, ...], drop_paths: list[str]) -> None:
    """The server loop (never returns): fork a child per request, report each exit status."""
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a library that is not installed is simply not preloaded
            continue
    # The preloaded heap (torch, transformers, diffusers: millions of objects) moves to the permanent
    # generation, so the children's collections skip it: pytest's unraisable-exception plugin runs
    # gc.collect() twice per session, which took 0.5 s per run without this (Python docs, gc.freeze:
    # "call gc.freeze() right before fork()").
    gc.freeze()
    out = os.fdopen(results, "w", buffering=1)
    running: dict[int, int] = {}  # pid -> job id
    pids: dict[int, int] = {}  # job id -> pid
    pending = b""
    while True:
        ready, _, _ = select.select([requests], [], [], 0.05)
        if ready:
            chunk = os.read(requests, 1 << 16)
            if not chunk:  # the caller is gone
                for pid in running:
                    _kill(pid)
                os._exit(0)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                message = json.loads(line)
                if "kill" in message:
                    if message["kill"] in pids:
                        _kill(pids[message["kill"]])
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(message, drop_paths)
                running[pid], pids[message["id"]] = message["id"], pid
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job = running.pop(pid)
            pids.pop(job, None)
            out.write(json.dumps({"id": job, "code": os.waitstatus_to_exitcode(status)}) + "\n")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signal.SIGKILL)


def _child(job: dict, drop_paths: list[str]) -> None:
    """One pytest run (never returns): own session, own cwd, env and sys.path, output to the log."""
    code = 70
    try:
        os.setsid()
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.clear()
        os.environ.update(job["env"])
        os.chdir(job["cwd"])
        dropped = {str(Path(p).resolve()) for p in drop_paths} | {""}
        kept = [p for p in sys.path if p not in dropped and str(Path(p).resolve()) not in dropped]
        front = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [job["cwd"], *front, *kept]
        sys.argv = ["pytest", *job["argv"]]
        sys.dont_write_bytecode = True
        import pytest

        code = int(pytest.main(job["argv"]))
    except BaseException:  # noqa: BLE001 - whatever happens, the child must exit, never return to the server loop
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
