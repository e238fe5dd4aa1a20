"""scripts/mutations.py: the list is valid, and the runner tells caught from missed, broken, skipped and
a copy whose tests import code from outside it (a generated toy project, so this runs in seconds)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "mutations.py"


def load_script():
    spec = importlib.util.spec_from_file_location("mutations_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_every_entry_of_the_mutation_list_is_valid() -> None:
    mutations = load_script().load_mutations(ROOT / "tests" / "mutations.yaml", ROOT)
    assert mutations, "tests/mutations.yaml is empty"
    broken = {m.name: m.problem for m in mutations if m.problem}
    assert broken == {}, f"fix these entries (their `find` text or tests moved?): {broken}"


def test_entry_problems_are_named(tmp_path: Path) -> None:
    script = load_script()
    (tmp_path / "code.py").write_text("x = 1\nx = 1\n")
    (tmp_path / "test_code.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "list.yaml").write_text(textwrap.dedent("""\
        - {name: twice, file: code.py, find: "x = 1", replace: "x = 2", tests: [test_code.py], why: w}
        - {name: nofile, file: gone.py, find: a, replace: b, tests: [test_code.py], why: w}
        - {name: notest, file: code.py, find: "x = 1\\nx", replace: y, tests: ["test_code.py::test_y"], why: w}
        - {name: nowhy, file: code.py, find: a, replace: b, tests: [test_code.py]}
        - {name: same, file: code.py, find: "x = 1\\nx", replace: "x = 1\\nx", tests: [test_code.py], why: w}
    """))
    problems = {m.name: m.problem for m in script.load_mutations(tmp_path / "list.yaml", tmp_path)}
    assert problems["twice"] == "find text occurs 2 times in code.py (must be exactly once)"
    assert problems["nofile"] == "file gone.py does not exist"
    assert problems["notest"] == "no test 'test_y' in test_code.py"
    assert problems["nowhy"] == "missing keys: why"
    assert problems["same"] == "replace equals find: nothing is broken"


TOY_CODE = '''\
def gate(value):
    """Accept values of at least 10."""
    if value >= 10:
        return True
    return False


def untested(value):
    return value * 2
'''
TOY_TESTS = '''\
import pytest

from ophora_data.gate import gate, untested


def test_gate_boundary():
    assert gate(10) and not gate(9)


def test_untested_runs():
    untested(1)


@pytest.mark.skip(reason="never runs here")
def test_skipped():
    assert gate(10)
'''
TOY_LIST = '''\
- {name: flipped, file: ophora_data/gate.py, find: "value >= 10", replace: "value > 10",
   tests: ["tests/test_gate.py::test_gate_boundary"], why: the boundary is tested}
- {name: unnoticed, file: ophora_data/gate.py, find: "value * 2", replace: "value * 3",
   tests: ["tests/test_gate.py::test_untested_runs"], why: no test checks the result}
- {name: only-skips, file: ophora_data/gate.py, find: "value >= 10", replace: "value > 10",
   tests: ["tests/test_gate.py::test_skipped"], why: the only test skips}
- {name: stale, file: ophora_data/gate.py, find: "value >= 11", replace: "value > 10",
   tests: ["tests/test_gate.py"], why: the code moved on}
'''


def toy_project(root: Path, leak_from: Path | None = None) -> Path:
    (root / "ophora_data").mkdir(parents=True)
    (root / "ophora_data" / "__init__.py").write_text("")
    (root / "ophora_data" / "gate.py").write_text(TOY_CODE)
    (root / "tests").mkdir()
    tests = TOY_TESTS
    if leak_from is not None:  # a test that imports project code from another checkout
        tests = f"import sys\nsys.path.insert(0, {str(leak_from)!r})\nimport builders.leaky\n" + tests
    (root / "tests" / "test_gate.py").write_text(tests)
    (root / "scripts").mkdir()
    for script in (SCRIPT, SCRIPT.with_name("mutation_forkserver.py")):
        shutil.copy(script, root / "scripts" / script.name)
    (root / "mutations.yaml").write_text(TOY_LIST)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def run_script(project: Path, *extra: str) -> tuple[int, dict]:
    out = project.parent / f"{project.name}.json"
    done = subprocess.run([sys.executable, str(project / "scripts" / "mutations.py"), "--root", str(project),
                           "--list", str(project / "mutations.yaml"), "--jobs", "2", "--json", str(out), *extra],
                          capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stdout + done.stderr
    return done.returncode, json.loads(out.read_text())


@pytest.mark.parametrize("mode", ["--fork", "--no-fork"])
def test_runner_tells_caught_missed_skipped_and_broken(tmp_path: Path, mode: str) -> None:
    pytest.importorskip("pytest_timeout")
    project = toy_project(tmp_path / "toy")
    code, summary = run_script(project, mode)
    results = {r["name"]: r for r in summary["results"]}
    assert {name: r["result"] for name, r in results.items()} == {
        "flipped": "caught", "unnoticed": "missed", "only-skips": "skipped", "stale": "broken"}
    assert results["flipped"]["failed_tests"] == ["tests/test_gate.py::test_gate_boundary"]
    assert code == 1 and summary["ok"] is False and sorted(summary["failing"]) == ["stale", "unnoticed"]
    assert (project / "ophora_data" / "gate.py").read_text() == TOY_CODE  # never touches the working tree


@pytest.mark.parametrize("mode", ["--fork", "--no-fork"])
def test_runner_refuses_a_copy_that_imports_the_original(tmp_path: Path, mode: str) -> None:
    pytest.importorskip("pytest_timeout")
    other = tmp_path / "elsewhere"
    (other / "builders").mkdir(parents=True)
    (other / "builders" / "__init__.py").write_text("")
    (other / "builders" / "leaky.py").write_text("")
    project = toy_project(tmp_path / "toy", leak_from=other)
    code, summary = run_script(project, "--only", "flipped", mode)
    (result,) = summary["results"]
    assert result["result"] == "self-check-failed" and "builders" in result["detail"] and code == 1
