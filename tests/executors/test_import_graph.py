"""Import structure: the executors depend one way (local -> ray_executor, both -> batch), and the
library has no module-level import cycles. Static (ast) plus one fresh interpreter for what the
static view cannot see (imports reached through other modules)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ophora_data", "builders")


def module_files() -> dict[str, Path]:
    files = {"cli": ROOT / "cli.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(name: str, path: Path, known: set[str], module_level: bool) -> set[str]:
    """Project modules `name` imports: at module level only (what runs on import), or anywhere."""
    tree = ast.parse(path.read_text())
    nodes = [n for n in tree.body if not _is_type_checking(n)] if module_level else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {module for module in found if module in known and module != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_executors_depend_one_way() -> None:
    files = module_files()
    known = set(files)
    local, ray, batch = (f"ophora_data.executors.{m}" for m in ("local", "ray_executor", "batch"))
    deps = {m: imported_modules(m, files[m], known, module_level=False) for m in (local, ray, batch)}
    assert local not in deps[ray], "ray_executor imports local: the executors would import each other"
    assert not {local, ray} & deps[batch], "batch.py must not import either executor"
    assert batch in deps[local] and batch in deps[ray], "both executors share executors/batch.py"


def test_ray_executor_does_not_load_the_local_executor() -> None:
    code = (
        "import sys, ophora_data.executors.ray_executor\n"
        "print('ophora_data.executors.local' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "importing ray_executor pulls in executors/local.py"


def test_no_module_level_import_cycles() -> None:
    files = module_files()
    graph = {name: imported_modules(name, path, set(files), module_level=True) for name, path in files.items()}
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
