"""The project's one lock file, ``uv.lock``, read for the archives' ``requirements.txt``.

``make`` and CI install from this file (``uv sync --locked``); the build pins each function's
requirements from it too, so that what is deployed is exactly what was installed and tested,
whatever happens to be installed in the environment that runs the build. Each pin carries
every hash the lock records for that release, so pip on Cloud Build installs in hash-checking
mode and refuses any file the lock did not see.

The dependency closure is walked in the lock's own graph (uv records each dependency with the
environment marker under which it applies), evaluated for the functions' runtime (python312 on
Linux, :data:`deploy.imports.TARGET_MARKER_ENV`), not for the interpreter running the build.
Why uv and not pip-compile: docs/decisions/0008-one-lock-file-uv.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.markers import Marker

from deploy.imports import TARGET_MARKER_ENV, BuildError, canonical

LOCK_FILE = Path(__file__).resolve().parents[1] / "uv.lock"


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    hashes: tuple[str, ...]  # "sha256:...", sorted

    def render(self) -> str:
        """One requirement in pip's hash-checking form."""
        if not self.hashes:
            return f"{self.name}=={self.version}"
        lines = [f"{self.name}=={self.version} \\"]
        lines += [f"    --hash={h} \\" for h in self.hashes[:-1]]
        lines.append(f"    --hash={self.hashes[-1]}")
        return "\n".join(lines)


def _applies(entry: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    marker = entry.get("marker")
    return marker is None or Marker(str(marker)).evaluate(dict(env))


class Lock:
    """The packages of uv.lock by canonical name."""

    def __init__(self, path: Path = LOCK_FILE) -> None:
        if not path.is_file():
            raise BuildError(f"{path} does not exist: run `make lock` (uv lock)")
        with path.open("rb") as handle:
            self._doc = tomllib.load(handle)
        self.path = path

    @cached_property
    def packages(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for package in self._doc.get("package", []):
            name = canonical(package["name"])
            if name in found:
                # Two versions of one package (a fork by Python version) would need the
                # resolution markers to choose; this project's lock has none, and says so if
                # it ever does rather than pinning the wrong one.
                raise BuildError(
                    f"{self.path}: {name} is locked at more than one version; "
                    "deploy/lock.py does not choose between forks"
                )
            found[name] = package
        return found

    def package(self, name: str) -> dict[str, Any]:
        try:
            return self.packages[canonical(name)]
        except KeyError:
            raise BuildError(
                f"{name} is not in {self.path.name}: declare it in pyproject.toml and run "
                "`make lock`"
            ) from None

    def pin(self, name: str) -> Pin:
        package = self.package(name)
        hashes = [package["sdist"]["hash"]] if "sdist" in package else []
        hashes += [wheel["hash"] for wheel in package.get("wheels", [])]
        return Pin(canonical(name), str(package["version"]), tuple(sorted(set(hashes))))

    def closure(self, roots: Iterable[str], env: Mapping[str, str] = TARGET_MARKER_ENV) -> set[str]:
        """The roots and everything they need on ``env``, following extras (canonical names)."""
        todo: list[tuple[str, frozenset[str]]] = [(canonical(r), frozenset()) for r in roots]
        done: dict[str, frozenset[str]] = {}
        while todo:
            name, extras = todo.pop()
            if name in done and extras <= done[name]:
                continue
            done[name] = done.get(name, frozenset()) | extras
            package = self.package(name)
            entries = list(package.get("dependencies", []))
            optional = package.get("optional-dependencies", {})
            for extra in done[name]:
                entries += optional.get(extra, [])
            for entry in entries:
                if _applies(entry, {**env, "extra": ""}):
                    todo.append((canonical(entry["name"]), frozenset(entry.get("extra", []))))
        return set(done)
