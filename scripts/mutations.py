#!/usr/bin/env python3
"""Mutation check: apply each deliberate breakage from tests/mutations.yaml and make sure a test notices.

Each entry of the YAML list is `{name, file, find, replace, tests, why}`: `find` must occur exactly once
in `file` (else the entry itself is reported broken); `tests` are pytest node ids, files or folders.
The script snapshots the project once (tracked and untracked-but-not-ignored files, as they are in the
working tree now); every run gets its own copy of that snapshot, the breakage is applied there, and
the named tests run with cwd = the copy and the copy first on sys.path/PYTHONPATH, so the copy's code
is imported, never the checkout's editable install. This file is also the pytest plugin of those runs:
it records every test's outcome and fails the self-check if any project module was imported from
outside the copy. Runs are forked from a server that imported pytest and the heavy libraries once
(scripts/mutation_forkserver.py; `--no-fork` starts fresh interpreters). The named tests also run on
unbroken copies (the baseline, once per test path, in parallel with the mutations, or taken from
`--baseline`): a breakage only counts as caught when its tests pass unbroken.

Results: `caught` (a named test failed or errored; a single hanging test fails through
pytest-timeout), `missed` (they still pass), `skipped` (every named test skipped here, e.g. no Ray or
no ../shared: inconclusive, not a failure), `broken` (the entry is invalid or names no test that
exists), `baseline-failed` (its tests fail, or do not finish, without the breakage), `timeout` (the
mutated run did not finish), `self-check-failed` (project code was imported from outside the copy).
Exit status 1 when any entry is neither caught nor skipped.

    .venv/bin/python scripts/mutations.py                  # all entries, in parallel
    .venv/bin/python scripts/mutations.py --only 'ray-*'   # a subset (shell-style patterns)
    .venv/bin/python scripts/mutations.py --check          # validate the list only, run nothing
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ophora_data", "builders", "annotation_schema", "cli", "tests")
REQUIRED = ("name", "file", "find", "replace", "tests", "why")
TIMED_OUT = 124

# This file is also a pytest plugin (`-p mutations` with scripts/ on PYTHONPATH): it records every
# test's outcome into $MUTATION_REPORT and, when $MUTATION_TREE is set, names any project module
# imported from outside that tree (the self-check). scripts/test.sh loads it in the default run, so
# that run's outcomes can serve as the baseline (`--baseline`).
_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001 - pytest's TestReport
    """Record one outcome per test: passed / failed / skipped, or error (setup or teardown failed)."""
    if report.when == "call" or report.outcome != "passed":
        if _OUTCOMES.get(report.nodeid) in ("failed", "error"):
            return
        failed_outside_call = report.when != "call" and report.outcome == "failed"
        _OUTCOMES[report.nodeid] = "error" if failed_outside_call else report.outcome


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 - pytest's Session
    if not os.environ.get("MUTATION_REPORT"):
        return
    leaked = []
    if tree := os.environ.get("MUTATION_TREE"):
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None)
            if name.split(".")[0] in PACKAGES and origin and not Path(origin).resolve().is_relative_to(tree):
                leaked.append(f"{name} from {origin}")
    report = {"outcomes": _OUTCOMES, "leaked": sorted(leaked), "exitstatus": int(exitstatus)}
    Path(os.environ["MUTATION_REPORT"]).write_text(json.dumps(report))


@dataclass
class Mutation:
    """One entry of tests/mutations.yaml; `problem` is set when the entry itself is unusable."""

    name: str
    file: str
    find: str
    replace: str
    tests: list[str]
    why: str
    problem: str = ""


@dataclass
class Outcome:
    """What happened to one mutation: `result` is caught / missed / skipped / broken / baseline-failed."""

    name: str
    file: str
    result: str
    detail: str = ""
    seconds: float = 0.0
    failed_tests: list[str] = field(default_factory=list)


def load_mutations(path: Path, root: Path) -> list[Mutation]:
    """Parse and validate the list; invalid entries come back with `problem` set, never raise."""
    import yaml

    data = yaml.safe_load(path.read_text()) or []
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a YAML list of entries, got {type(data).__name__}")
    mutations, seen = [], set()
    for index, entry in enumerate(data):
        entry = entry if isinstance(entry, dict) else {}
        tests = entry.get("tests")
        tests = [tests] if isinstance(tests, str) else list(tests or [])
        mutation = Mutation(
            name=str(entry.get("name") or f"entry-{index}"),
            file=str(entry.get("file") or ""),
            find=str(entry.get("find") or ""),
            replace=str(entry.get("replace") if entry.get("replace") is not None else ""),
            tests=[str(t) for t in tests],
            why=str(entry.get("why") or ""),
        )
        mutation.problem = entry_problem(entry, mutation, root, seen)
        seen.add(mutation.name)
        mutations.append(mutation)
    return mutations


def entry_problem(entry: dict, mutation: Mutation, root: Path, seen: set[str]) -> str:
    missing = [key for key in REQUIRED if key not in entry or entry[key] in (None, "", [])]
    if "replace" in missing and entry.get("replace") == "":
        missing.remove("replace")  # deleting the found text is a valid breakage
    if missing:
        return f"missing keys: {', '.join(missing)}"
    if mutation.name in seen:
        return "duplicate name"
    if mutation.find == mutation.replace:
        return "replace equals find: nothing is broken"
    target = root / mutation.file
    if not target.is_file():
        return f"file {mutation.file} does not exist"
    count = target.read_text().count(mutation.find)
    if count != 1:
        return f"find text occurs {count} times in {mutation.file} (must be exactly once)"
    for test in mutation.tests:
        if problem := test_spec_problem(root, test):
            return problem
    return ""


def test_spec_problem(root: Path, spec: str) -> str:
    """A static check of a node id, so one typo cannot stop the shared baseline run (pytest exit 4)."""
    path, *names = spec.split("::")
    if not (root / path).exists():
        return f"test path {path} does not exist"
    text = (root / path).read_text() if names else ""
    for name in names:
        bare = name.split("[")[0]
        if f"def {bare}(" not in text and f"class {bare}" not in text:
            return f"no test {bare!r} in {path}"
    return ""


def project_files(root: Path) -> list[str]:
    """Tracked plus untracked-but-not-ignored files, as they are in the working tree now."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    return sorted({name for name in listing.split("\0") if name and (root / name).is_file()})


def snapshot(root: Path, files: list[str], target: Path) -> int:
    """Copy `files` once into `target`: every run then starts from the same state, whatever others
    change in the working tree meanwhile (a file deleted since it was listed is left out)."""
    copied = 0
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(root / name, destination)
            copied += 1
        except FileNotFoundError:
            continue
    return copied


def make_tree(pristine: Path, venv: Path, tree: Path) -> Path:
    """A fresh copy of the snapshot in `tree`, with `.venv` linked (this script, the plugin, is in it)."""
    shutil.copytree(pristine, tree, symlinks=True)
    if venv.exists():
        (tree / ".venv").symlink_to(venv)
    return tree


def apply(mutation: Mutation, tree: Path) -> None:
    target = tree / mutation.file
    text = target.read_text()
    if text.count(mutation.find) != 1:  # the tree is a snapshot: the file may have changed since validation
        raise ValueError(f"find text occurs {text.count(mutation.find)} times in the copy of {mutation.file}")
    target.write_text(text.replace(mutation.find, mutation.replace))


def run_pytest(tree: Path, tests: list[str], report: Path, timeout: float, first_failure: bool,
               markers: str, server=None) -> tuple[int, dict, str]:  # noqa: ANN001 - a ForkServer or None
    """Run `tests` in `tree` (forked from `server`, else a fresh interpreter); returns (exit status,
    plugin report, output tail); TIMED_OUT when the run was stopped."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(tree / "scripts"), *filter(None, [env.get("PYTHONPATH")])])
    env.update(MUTATION_TREE=str(tree.resolve()), MUTATION_REPORT=str(report), PYTHONDONTWRITEBYTECODE="1")
    # pytest-timeout fails a single hanging test (a hang is noticed); the outer limit stops a run whose
    # tests are merely many or slow, which is reported as a timeout, not as a catch.
    argv = ["-q", "-p", "no:cacheprovider", "-p", "mutations", "-m", markers, "--timeout", str(int(timeout)),
            "-o", "console_output_style=classic", *(["-x"] if first_failure else []), *tests]
    log = report.with_suffix(".log")
    try:
        if server is not None:
            code = server.run(tree, argv, env, log, 3 * timeout)
        else:
            with log.open("w") as out:
                child = subprocess.Popen([sys.executable, "-m", "pytest", *argv], cwd=tree, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
                try:
                    code = child.wait(3 * timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, 9)  # the whole session: ffmpeg, Ray and the like too
                    child.wait()
                    raise TimeoutError from None
    except TimeoutError:
        code = TIMED_OUT
    output = log.read_text(errors="replace") if log.is_file() else ""
    data = json.loads(report.read_text()) if report.is_file() else {"outcomes": {}, "leaked": []}
    return code, data, output[-3000:]


def selected(outcomes: dict[str, str], specs: list[str]) -> dict[str, str]:
    """The outcomes of the tests an entry names (a file, a test, a class, or a parametrised test)."""
    def matches(nodeid: str, spec: str) -> bool:
        return nodeid == spec or nodeid.startswith((spec + "::", spec + "[", spec.rstrip("/") + "/"))
    return {nodeid: outcome for nodeid, outcome in outcomes.items() if any(matches(nodeid, s) for s in specs)}


def judge(mutation: Mutation, code: int, data: dict, output: str, baseline: dict[str, str],
          baseline_problems: dict[str, str]) -> Outcome:
    """Turn one mutated run into a result, given the unbroken outcomes of the same tests and the
    baseline runs that did not finish ({test file: why})."""
    outcome = Outcome(mutation.name, mutation.file, "caught")
    if data.get("leaked"):
        outcome.result, outcome.detail = "self-check-failed", "imported outside the copy: " + data["leaked"][0]
        return outcome
    for path in {spec.split("::")[0] for spec in mutation.tests}:
        if path in baseline_problems:
            outcome.result, outcome.detail = "baseline-failed", f"{path}: {baseline_problems[path]}"
            return outcome
    unbroken = selected(baseline, mutation.tests)
    bad = sorted(n for n, o in unbroken.items() if o in ("failed", "error"))
    if bad:
        outcome.result, outcome.detail = "baseline-failed", f"fails without the breakage: {bad[0]}"
        return outcome
    if not unbroken:
        outcome.result, outcome.detail = "broken", "the named tests collect nothing (check the node ids)"
        return outcome
    if all(o == "skipped" for o in unbroken.values()):
        outcome.result, outcome.detail = "skipped", "every named test skips here; cannot judge"
        return outcome
    mutated = selected(data.get("outcomes", {}), mutation.tests)
    outcome.failed_tests = sorted(n for n, o in mutated.items() if o in ("failed", "error"))
    if outcome.failed_tests:
        outcome.detail = outcome.failed_tests[0]
    elif code == TIMED_OUT:
        outcome.result, outcome.detail = "timeout", "the run did not finish in time; nothing was judged"
    elif code not in (0, 5):  # e.g. a collection error the breakage caused
        outcome.detail = f"pytest exit {code}: " + (output.strip().splitlines() or [""])[-1][:160]
    else:
        outcome.result, outcome.detail = "missed", "the named tests still pass"
    return outcome


def baseline_groups(specs: list[str]) -> dict[str, list[str]]:
    """The named tests grouped by test path (one baseline run each, in parallel); a path named whole
    absorbs its node ids, so every test runs once."""
    groups: dict[str, set[str]] = {}
    for spec in specs:
        groups.setdefault(spec.split("::")[0], set()).add(spec)
    return {path: [path] if path in found else sorted(found) for path, found in sorted(groups.items())}


def load_baseline(path: Path) -> dict[str, str]:
    """Outcomes recorded by this plugin in an unbroken run of the same tree (scripts/test.sh's default run)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--baseline {path}: cannot read it ({exc})") from None
    return dict(data.get("outcomes") or {})


def print_table(outcomes: list[Outcome]) -> None:
    width = max([len(o.name) for o in outcomes] + [8])
    print(f"\n{'breakage':<{width}}  {'result':<17} {'secs':>6}  detail")
    for o in outcomes:
        print(f"{o.name:<{width}}  {o.result:<17} {o.seconds:>6.1f}  {o.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", type=Path, default=ROOT / "tests" / "mutations.yaml", help="the YAML list")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project to copy (default: this checkout)")
    parser.add_argument("--only", action="append", default=[], help="run entries whose name matches (repeatable)")
    parser.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="parallel runs")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds per test (a hanging test fails, so the breakage is caught); a whole run "
                             "may take 3x this before it is stopped and reported as a timeout")
    parser.add_argument("--markers", default="not gpu", help="pytest -m expression for the named tests")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--baseline", type=Path,
                        help="outcomes JSON of an unbroken run of this tree (written by this plugin: scripts/test.sh "
                             "runs pytest with `-p mutations` and MUTATION_REPORT); tests found there are not "
                             "run again unbroken")
    parser.add_argument("--save-baseline", type=Path,
                        help="write the outcomes of this run's unbroken runs (and --baseline's) to this file, "
                             "for a later --baseline")
    parser.add_argument("--keep", action="store_true", help="keep the temporary trees (their path is printed)")
    parser.add_argument("--fork", action=argparse.BooleanOptionalAction, default=hasattr(os, "fork"),
                        help="fork each run from a server that imported pytest, numpy, pyarrow, torch ... once "
                             "(default where os.fork exists); --no-fork starts a fresh interpreter per run")
    parser.add_argument("--check", action="store_true", help="only validate the list; run nothing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    mutations = load_mutations(args.list, root)
    if args.only:
        mutations = [m for m in mutations if any(fnmatch.fnmatch(m.name, p) for p in args.only)]
        if not mutations:
            parser.error(f"--only {args.only} matches no entry")
    started = time.monotonic()
    results = {m.name: Outcome(m.name, m.file, "broken", m.problem) for m in mutations if m.problem}
    runnable = [m for m in mutations if not m.problem]
    if not args.check and runnable:
        results.update(run_all(runnable, root, args))
    else:
        for m in runnable:
            results[m.name] = Outcome(m.name, m.file, "valid", "not run (--check)")
    ordered = [results[m.name] for m in mutations]
    print_table(ordered)
    counts: dict[str, int] = {}
    for o in ordered:
        counts[o.result] = counts.get(o.result, 0) + 1
    failing = [o.name for o in ordered if o.result not in ("caught", "skipped", "valid")]
    summary = {"ok": not failing, "counts": counts, "failing": failing,
               "seconds": round(time.monotonic() - started, 1), "results": [asdict(o) for o in ordered]}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: summary[k] for k in ("ok", "counts", "failing", "seconds")}))
    return 0 if not failing else 1


def run_all(mutations: list[Mutation], root: Path, args: argparse.Namespace) -> dict[str, Outcome]:
    """One unbroken run per test path (the baseline) and one run per mutation, `args.jobs` at a time,
    each in its own copy of the project."""
    workspace = Path(tempfile.mkdtemp(prefix="ophora-mutations-"))
    # ../shared next to the copies, as it sits next to the checkout (tests find real data there).
    if (root.parent / "shared").exists():
        (workspace / "shared").symlink_to(root.parent / "shared")
    pristine = workspace / "snapshot"
    copied = snapshot(root, project_files(root), pristine)
    groups = baseline_groups([t for m in mutations for t in m.tests])
    known = load_baseline(args.baseline) if args.baseline else {}
    # A path whose named tests all have an outcome in the given baseline needs no unbroken run here.
    groups = {path: specs for path, specs in groups.items() if not all(selected(known, [s]) for s in specs)}
    print(f"mutations: {len(mutations)} breakages, {len(groups)} baseline runs"
          f"{' (the rest from ' + str(args.baseline) + ')' if args.baseline else ''}, {copied} files per copy, "
          f"{args.jobs} jobs, in {workspace}", flush=True)

    def job(index: int, mutation: Mutation | None, tests: list[str]) -> tuple[int, dict, str, float]:
        t0 = time.monotonic()
        tree = workspace / f"tree-{index}"
        try:
            make_tree(pristine, root / ".venv", tree)
            if mutation is not None:
                apply(mutation, tree)
            code, data, output = run_pytest(tree, tests, workspace / f"report-{index}.json", args.timeout,
                                            mutation is not None, args.markers, server)
        except (ValueError, OSError, RuntimeError) as exc:  # a stale entry, a failed copy, a dead fork server
            code, data, output = -1, {"outcomes": {}, "leaked": [], "error": f"{type(exc).__name__}: {exc}"}, ""
        finally:
            if not args.keep:
                shutil.rmtree(tree, ignore_errors=True)
        return code, data, output, time.monotonic() - t0

    work = [(f"baseline {path}", None, tests) for path, tests in groups.items()]
    work += [(m.name, m, m.tests) for m in mutations]
    raw: dict[str, tuple[int, dict, str, float]] = {}
    server = None
    if args.fork:
        from mutation_forkserver import ForkServer  # scripts/ is on sys.path when this runs as a script

        server = ForkServer(drop_paths=[str(root), str(Path(__file__).resolve().parent)])
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(job, i, m, tests): name for i, (name, m, tests) in enumerate(work)}
            for future in as_completed(futures):
                name = futures[future]
                raw[name] = future.result()
                print(f"  done {name} ({raw[name][3]:.1f}s, exit {raw[name][0]})", flush=True)
    finally:
        if server is not None:
            server.close()
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)
    baseline: dict[str, str] = dict(known)
    problems: dict[str, str] = {}
    leaked: list[str] = []
    for path in groups:
        code, data, output, _ = raw[f"baseline {path}"]
        baseline.update(data.get("outcomes", {}))
        leaked += data.get("leaked", [])
        if code == TIMED_OUT:
            problems[path] = "the unbroken run timed out"
        elif code not in (0, 1, 5) or not data.get("outcomes"):
            problems[path] = f"the unbroken run ended with pytest exit {code}"
            print(f"baseline {path} (exit {code}):\n{output}", file=sys.stderr)
    if args.save_baseline and not problems and not leaked:
        args.save_baseline.parent.mkdir(parents=True, exist_ok=True)
        args.save_baseline.write_text(json.dumps({"outcomes": baseline}))
    outcomes = {}
    for m in mutations:
        code, data, output, seconds = raw[m.name]
        if code == -1:
            outcome = Outcome(m.name, m.file, "broken", data["error"])
        elif leaked:
            outcome = Outcome(m.name, m.file, "self-check-failed", "baseline imported outside the copy: " + leaked[0])
        else:
            outcome = judge(m, code, data, output, baseline, problems)
        outcome.seconds = round(seconds, 1)
        outcomes[m.name] = outcome
    return outcomes


if __name__ == "__main__":
    sys.exit(main())
