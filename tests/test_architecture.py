"""The house's rules about who imports whom, read from the source with `ast`.

Every import counts: those at the top of a module, those inside functions (lazy) and those under
`TYPE_CHECKING`, because each one is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agents", "tools", "memory", "ui")
LAYER_BELOW = {"ui": {"agents", "memory", "tools"}, "agents": {"memory", "tools"}, "memory": {"tools"}, "tools": set()}
UI_MAY_IMPORT = {"agents.run", "agents.state", "agents.project", "agents.events", "agents.errors", "tools.settings"}
CREW = (
    "writer",
    "director",
    "composer",
    "sound_designer",
    "designer",
    "render",
    "coverage",
    "editor",
    "critic",
    "revise",
    "gates",
)
NODES = {f"agents.{name}" for name in CREW}
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(folders: Iterable[str]) -> dict[str, Path]:
    return {module_name(path): path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))}


MODULES = source_files(PACKAGES)


def imported_modules(module: str, source: str, known: set[str], *, is_package: bool = False) -> set[str]:
    """The project modules `source` imports, each resolved to the module (not the package) it names."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != module)
    return found


def import_graph() -> dict[str, set[str]]:
    known = set(MODULES)
    return {
        name: imported_modules(name, path.read_text(encoding="utf-8"), known, is_package=path.name == "__init__.py")
        for name, path in MODULES.items()
    }


GRAPH = import_graph()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
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


def test_the_cycle_finder_finds_a_lazy_cycle_and_passes_a_chain() -> None:
    known = {"tools.a", "tools.b", "tools.c"}
    sources = {
        "tools.a": "from tools.b import thing\n",
        "tools.b": "def later():\n    from tools.c import other\n",
        "tools.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tools.a\n",
    }
    graph = {name: imported_modules(name, source, known) for name, source in sources.items()}
    assert graph == {"tools.a": {"tools.b"}, "tools.b": {"tools.c"}, "tools.c": {"tools.a"}}
    assert cycles(graph) == [["tools.a", "tools.b", "tools.c"]]
    graph["tools.c"] = set()
    assert cycles(graph) == []


def test_imports_are_read_at_every_depth() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tools.settings import Settings\n"
    source += "def f():\n    import tools.files\n    from tools.render import spec\n"
    assert imported_modules("agents.state", source, set(MODULES)) == {
        "tools.settings",
        "tools.files",
        "tools.render.spec",
    }


@pytest.mark.parametrize("package", ["agents", "tools", "memory"])
def test_no_import_cycle(package: str) -> None:
    inside = {name: {t for t in targets if t.split(".")[0] == package} for name, targets in GRAPH.items()}
    inside = {name: targets for name, targets in inside.items() if name.split(".")[0] == package}
    assert cycles(inside) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_import_only_downwards(package: str) -> None:
    allowed = LAYER_BELOW[package] | {package}
    wrong = {
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in allowed
    }
    assert sorted(wrong) == []


def test_ui_imports_only_the_surface_of_agents_and_the_settings() -> None:
    wrong = {
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.startswith("ui")
        for target in targets
        if not target.startswith("ui") and target not in UI_MAY_IMPORT
    }
    assert sorted(wrong) == []


def test_crew_members_do_not_import_each_other() -> None:
    wrong = {f"{name} -> {target}" for name in NODES for target in GRAPH[name] if target in NODES}
    assert sorted(wrong) == []


def test_no_module_outside_tests_is_long() -> None:
    everything = source_files((*PACKAGES, "bench"))
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in everything.items()}
    assert {name: lines for name, lines in lengths.items() if lines > MAX_LINES} == {}
