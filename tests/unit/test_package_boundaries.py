"""The shape of the ``realm`` package: no import cycle, and imports only point down the layers.

The layers (LAYOUT.md), from the top:

    devstack, cli        local-only: the dev stack and the ``realm`` command
    edge                 the HTTP edge: @endpoint, auth, the API models
    hosting, people, …   the features
    events, media        what the features hand work to
    db                   the pool, migrations, quotas
    ground               config, clock, errors, logs, outages, process, cursors, text,
                         url_tokens

A module may import its own group and any group below it; a feature may ask another feature
(hosting asks people about users); events and media never import a feature; only the dev stack
and the command import the dev stack. Imports are read statically (deploy/imports.py), every
import that can run counted, function-level ones included, ``if TYPE_CHECKING:`` not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.imports import imports_of

SHARED = Path(__file__).resolve().parents[2] / "shared"
FUNCTIONS = SHARED.parent / "functions"

GROUND = {
    "realm",
    "config",
    "clock",
    "errors",
    "logs",
    "outages",
    "process",
    "cursors",
    "text",
    "url_tokens",
}
FEATURES = {"hosting", "people", "accounts"}
RANK = {
    **dict.fromkeys(GROUND, 0),
    "db": 1,
    "events": 2,
    "media": 2,
    **dict.fromkeys(FEATURES, 3),
    "edge": 4,
    "devstack": 5,
    "cli": 5,
}
LOCAL_ONLY = {"devstack", "cli"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SHARED / "realm").rglob("*.py")):
        parts = list(path.relative_to(SHARED).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported_by(module: str) -> set[str]:
    """The realm modules that ``module`` can import at run time."""
    path = MODULES[module]
    found = set()
    for ref in imports_of(path.read_text(encoding="utf-8"), str(path), _package_of(module)):
        if ref.module in MODULES:
            found.add(ref.module)
        found.update(f"{ref.module}.{n}" for n in ref.names if f"{ref.module}.{n}" in MODULES)
    return found - {module}


GRAPH = {module: imported_by(module) for module in MODULES}


def group(module: str) -> str:
    parts = module.split(".")
    return "realm" if len(parts) == 1 else parts[1]


def test_every_module_of_the_package_belongs_to_a_known_group() -> None:
    unknown = sorted({group(m) for m in MODULES} - set(RANK))
    assert not unknown, f"add these groups to the layers of this test and LAYOUT.md: {unknown}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_realm_package_has_no_import_cycle() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle between modules.
    graph = {
        module: {
            t
            for t in targets
            if not (MODULES[t].name == "__init__.py" and module.startswith(t + "."))
        }
        for module, targets in GRAPH.items()
    }
    assert cycles(graph) == []


def violations(module: str, targets: set[str]) -> list[str]:
    """What is wrong with ``module`` importing ``targets``, as sentences."""
    mine = group(module)
    wrong = []
    for target in sorted(targets):
        theirs = group(target)
        if theirs == mine:
            continue
        if RANK[theirs] > RANK[mine]:
            wrong.append(f"{target} ({theirs} is above {mine})")
        elif theirs in LOCAL_ONLY and mine not in LOCAL_ONLY:
            wrong.append(f"{target} (only the dev stack and the command use it)")
        elif mine in GROUND and theirs not in GROUND:
            wrong.append(f"{target} (the ground imports only the ground)")
    return wrong


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_only_down_the_layers(module: str) -> None:
    assert violations(module, GRAPH[module]) == [], f"{module} imports the wrong way"


def test_the_layer_rule_refuses_upward_and_local_only_imports() -> None:
    assert violations("realm.db.pool", {"realm.edge.http"}) == [
        "realm.edge.http (edge is above db)"
    ]
    assert violations("realm.events.outbox", {"realm.hosting.parties"}) != []
    assert violations("realm.edge.http", {"realm.devstack.tokens"}) != []
    assert violations("realm.hosting.parties", {"realm.people.users", "realm.db.pool"}) == []


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in FUNCTIONS.glob("*/main.py")))
def test_no_function_imports_the_dev_stack_or_the_command(folder: str) -> None:
    path = FUNCTIONS / folder / "main.py"
    refs = imports_of(path.read_text(encoding="utf-8"), str(path), None)
    local_only = [
        r.module for r in refs if group(r.module) in LOCAL_ONLY and r.module.startswith("realm.")
    ]
    assert not local_only, f"functions/{folder} imports {local_only}: not shipped in an archive"
