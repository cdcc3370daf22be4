"""Static import analysis: which modules a function's code can load, and from which distributions.

The scan is an AST walk, never an import: it follows ``main.py`` and, transitively, every
``realm`` module it reaches, counting imports anywhere in a module (top level, inside functions,
inside ``try``), but not those under ``if TYPE_CHECKING:`` which never run.  Every other module is
either part of the standard library or must map to an installed distribution; anything else is
an error, so a forgotten dependency fails the build rather than the first cold start.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

LOCAL_PACKAGE = "realm"

# The deployed runtime (Cloud Functions gen2, python312 on Linux): dependency markers are
# evaluated for it, not for the interpreter that happens to run the build.
TARGET_MARKER_ENV: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
}


class BuildError(Exception):
    """The archive cannot be built as asked; the message says what to fix."""


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_type_checking_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(node: ast.AST) -> Iterator[ast.AST]:
    """Like ast.walk, minus the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` stays)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking_guard(child):
            for other in child.orelse:
                yield other
                yield from _walk_runtime(other)
            continue
        yield child
        yield from _walk_runtime(child)


@dataclass(frozen=True)
class ImportRef:
    """``module`` is imported; ``names`` are the names taken from it (``from module import x``)."""

    module: str
    names: tuple[str, ...] = ()


def imports_of(source: str, filename: str, package: str | None) -> list[ImportRef]:
    """Every import statement that can run in ``source``, with relative imports resolved.

    ``package`` is the dotted package the file belongs to (``None`` for a top-level script).
    """
    tree = ast.parse(source, filename=filename)
    refs: list[ImportRef] = []
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            refs.extend(ImportRef(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            if node.level == 0:
                if node.module is None:  # pragma: no cover - not valid Python
                    continue
                refs.append(ImportRef(node.module, names))
                continue
            if package is None:
                raise BuildError(f"{filename}: relative import outside a package")
            parts = package.split(".")
            if node.level - 1 >= len(parts):
                raise BuildError(f"{filename}: relative import beyond the top-level package")
            base = parts[: len(parts) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
            refs.append(ImportRef(module, names))
    return refs


@dataclass
class LocalPackage:
    """The source tree of the local package (``shared/realm``) and its module files."""

    root: Path  # the folder that contains the package folder, e.g. shared/
    name: str = LOCAL_PACKAGE

    def module_file(self, module: str) -> Path | None:
        if module != self.name and not module.startswith(self.name + "."):
            return None
        rel = Path(*module.split("."))
        package_init = self.root / rel / "__init__.py"
        if package_init.is_file():
            return package_init
        plain = (self.root / rel).with_suffix(".py")
        return plain if plain.is_file() else None

    def is_package(self, module: str) -> bool:
        path = self.module_file(module)
        return path is not None and path.name == "__init__.py"


@dataclass
class ScanResult:
    local_modules: set[str] = field(default_factory=set)
    external_modules: set[str] = field(default_factory=set)  # dotted names, stdlib excluded


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top == "__future__"


def scan(entry: Path, local: LocalPackage) -> ScanResult:
    """Follow imports from ``entry`` (a function's main.py) through the local package."""
    result = ScanResult()
    pending: list[tuple[Path, str | None]] = [(entry, None)]
    seen_files: set[Path] = set()

    def visit_local(module: str) -> bool:
        path = local.module_file(module)
        if path is None:
            return False
        for parent in [*_parents(module), module]:
            if parent in result.local_modules:
                continue
            parent_path = local.module_file(parent)
            if parent_path is None:
                continue
            result.local_modules.add(parent)
            package = parent if local.is_package(parent) else parent.rpartition(".")[0]
            pending.append((parent_path, package))
        return True

    while pending:
        path, package = pending.pop()
        if path in seen_files:
            continue
        seen_files.add(path)
        for ref in imports_of(path.read_text(encoding="utf-8"), str(path), package):
            top = ref.module.split(".")[0]
            if top == local.name:
                if not visit_local(ref.module):
                    raise BuildError(f"{path}: imports {ref.module}, which is not in {local.root}")
                for name in ref.names:  # ``from realm import db`` loads realm/db/__init__.py
                    visit_local(f"{ref.module}.{name}")
            elif is_stdlib(ref.module):
                continue
            else:
                result.external_modules.add(ref.module)
                result.external_modules.update(f"{ref.module}.{name}" for name in ref.names)
    return result


# --- modules -> distributions ------------------------------------------------------------


@cache
def module_index() -> Mapping[str, frozenset[str]]:
    """Dotted module name -> canonical names of the installed distributions that ship it.

    Built from each distribution's RECORD, so namespace packages (``google.cloud.*``) resolve to
    the distribution that owns the sub-package, not to every ``google-*`` distribution.
    """
    index: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        owner = canonical(name)
        for file in dist.files or ():
            parts = file.parts
            if not parts or parts[0] in ("..", "") or "__pycache__" in parts:
                continue
            if parts[0].endswith((".dist-info", ".egg-info", ".data")):
                continue
            last = parts[-1]
            if last == "__init__.py":
                module_parts = parts[:-1]
            elif last.endswith(".py"):
                module_parts = (*parts[:-1], last[:-3])
            elif last.endswith((".so", ".pyd")):
                module_parts = (*parts[:-1], last.split(".")[0])
            else:
                continue
            if not module_parts or not all(p.isidentifier() for p in module_parts):
                continue
            index.setdefault(".".join(module_parts), set()).add(owner)
    return {module: frozenset(owners) for module, owners in index.items()}


def distributions_for(modules: Iterable[str]) -> tuple[set[str], set[str]]:
    """Map imported module names to distributions: (distributions, modules no one ships).

    A name that is only a prefix of an indexed module (``google.cloud`` in
    ``from google.cloud import storage``) or an attribute of one (``jwt.PyJWKClient``) resolves
    through its longest indexed prefix or is covered by a sibling reference.
    """
    index = module_index()
    dists: set[str] = set()
    unresolved: set[str] = set()
    all_modules = set(modules)
    for module in sorted(all_modules):
        candidates = [*reversed(_parents(module)), module]
        candidates.sort(key=len, reverse=True)
        owners = next((index[c] for c in candidates if c in index), None)
        if owners is not None:
            dists.update(owners)
            continue
        # A namespace prefix: fine when something imported below it resolved.
        if any(other.startswith(module + ".") for other in all_modules):
            continue
        unresolved.add(module)
    return dists, unresolved


# --- requirement pins ----------------------------------------------------------------------


def installed_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise BuildError(
            f"distribution {dist!r} is needed but not installed in this environment; "
            "install the project with its extras (pip install -e '.[dev]') and rebuild"
        ) from None


def _requirement_applies(req: Requirement, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    marker: Marker = req.marker
    return any(marker.evaluate({**TARGET_MARKER_ENV, "extra": extra}) for extra in ("", *extras))


def dependency_closure(roots: Iterable[str]) -> set[str]:
    """The roots plus everything they require on the target runtime (canonical names)."""
    todo: list[tuple[str, frozenset[str]]] = [(canonical(r), frozenset()) for r in roots]
    done: dict[str, frozenset[str]] = {}
    while todo:
        name, extras = todo.pop()
        if name in done and extras <= done[name]:
            continue
        done[name] = done.get(name, frozenset()) | extras
        installed_version(name)
        for raw in metadata.requires(name) or ():
            req = Requirement(raw)
            if _requirement_applies(req, done[name]):
                todo.append((canonical(req.name), frozenset(req.extras)))
    return set(done)
