"""The per-function source archives of deploy/build.py, built into a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from deploy import build
from deploy.imports import (
    BuildError,
    LocalPackage,
    canonical,
    dependency_closure,
    distributions_for,
    is_stdlib,
    module_index,
    scan,
)
from deploy.lock import Lock
from tests.infra.conftest import ROOT, function_folders

READ_ONLY = ("me", "list-parties", "get-party", "list-guests", "calendar", "find-users")
FORBIDDEN_ON_READ_PATH = {
    "google-cloud-pubsub",
    "google-cloud-storage",
    "google-cloud-firestore",
    "pillow",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;\\]*)(?:\s*\\)?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}(?:\s*\\)?$")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not function_folders():
        pytest.skip("no functions/<name>/main.py yet: nothing to build")
    out = tmp_path_factory.mktemp("dist")
    try:
        results = build.build_all(out)
    except BuildError as exc:
        pytest.fail(f"python -m deploy.build fails: {exc}")
    return {b.deployed: b.archive for b in results}


@pytest.fixture(scope="module")
def extracted(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("extracted")
    folders = {}
    for name, archive in built.items():
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root / name)
        folders[name] = root / name
    return folders


def requirement_pins(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of an archive's requirements.txt (pip's hash-checking form)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: list[str] = []
    for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert HASH.match(stripped), f"{folder.name}: not a sha256 hash: {line!r}"
            current.append(stripped.split("=", 1)[1].rstrip(" \\"))
            continue
        match = PIN.match(stripped)
        assert match, f"{folder.name}: not an exact pin: {line!r}"
        current = []
        pins[canonical(match.group(1))] = (match.group(2), current)
    return pins


def requirement_names(folder: Path) -> dict[str, str]:
    return {name: version for name, (version, _) in requirement_pins(folder).items()}


def test_one_archive_is_built_per_function_folder_under_its_deployed_name(
    built: dict[str, Path],
) -> None:
    assert sorted(built) == sorted(f.replace("_", "-") for f in function_folders())
    manifest = json.loads((next(iter(built.values())).parent / "manifest.json").read_text())
    assert sorted(manifest["functions"]) == sorted(built)


def test_each_archive_holds_main_py_at_its_root_the_realm_package_and_the_migrations(
    built: dict[str, Path],
) -> None:
    for name, archive in built.items():
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            infos = zf.infolist()
        assert "main.py" in names, name
        assert "requirements.txt" in names, name
        assert "realm/__init__.py" in names, name
        assert any(n.startswith("realm/db/migrations/") and n.endswith(".sql") for n in names), name
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")], name
        assert not [n for n in names if n.startswith(("functions/", "tests/", "shared/"))], name
        assert names == sorted(names), f"{name}: entries not sorted"
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0), (name, info.filename)
            assert info.external_attr >> 16 == 0o100644, (name, info.filename)


def test_each_function_archives_imports_are_covered_by_its_own_requirements(
    extracted: dict[str, Path],
) -> None:
    """Re-scans what is inside each archive (not the source tree) against its requirements."""
    for name, folder in extracted.items():
        result = scan(folder / "main.py", LocalPackage(folder))
        dists, unresolved = distributions_for(result.external_modules)
        assert not unresolved, f"{name}: imports no distribution provides: {sorted(unresolved)}"
        missing = sorted({canonical(d) for d in dists} - set(requirement_names(folder)))
        assert not missing, (
            f"{name}: imports distributions missing from requirements.txt: {missing}"
        )


_IMPORT_CHECK = textwrap.dedent(
    """
    import importlib.abc, json, os, sys
    archive, blocked_file = sys.argv[1], sys.argv[2]
    blocked = set(json.load(open(blocked_file)))
    hits = []

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            parts = fullname.split(".")
            if any(".".join(parts[:i]) in blocked for i in range(1, len(parts) + 1)):
                hits.append(fullname)
                raise ImportError(f"{fullname} is not in this function's requirements.txt")
            return None

    sys.meta_path.insert(0, Block())
    sys.path.insert(0, archive)
    os.chdir(archive)
    error = None
    try:
        import main  # noqa: F401
        import realm
        assert os.path.dirname(realm.__file__).startswith(archive), realm.__file__
    except BaseException as exc:  # report, the parent decides
        error = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"blocked": hits, "error": error}))
    """
)


def test_each_function_imports_with_only_its_own_requirements_available(
    extracted: dict[str, Path], tmp_path: Path
) -> None:
    """Imports main.py from the archive in a fresh interpreter where every installed module that
    its requirements.txt does not provide raises ImportError."""
    index = module_index()
    for name, folder in extracted.items():
        allowed = set(requirement_names(folder))
        blocked = sorted(
            module
            for module, owners in index.items()
            if not owners & allowed and not is_stdlib(module) and module.split(".")[0] != "realm"
        )
        blocked_file = tmp_path / f"{name}.json"
        blocked_file.write_text(json.dumps(blocked))
        env = {
            "REALM_ENV": "test",
            "REALM_PROJECT_ID": "realm-test",
            "REALM_STATE_DIR": str(tmp_path / "state"),
            "PATH": "/usr/bin:/bin",
        }
        result = subprocess.run(
            [sys.executable, "-c", _IMPORT_CHECK, str(folder), str(blocked_file)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["blocked"] == [], (
            f"{name}: importing main.py needs modules outside requirements.txt: "
            f"{report['blocked']} ({report['error']})"
        )
        assert report["error"] is None, f"{name}: main.py does not import: {report['error']}"


def test_read_only_functions_carry_no_pubsub_storage_firestore_or_pillow(
    extracted: dict[str, Path],
) -> None:
    present = [n for n in READ_ONLY if n in extracted]
    if not present:
        pytest.skip("neither me nor list_parties exists yet")
    for name in present:
        carried = FORBIDDEN_ON_READ_PATH & set(requirement_names(extracted[name]))
        assert not carried, f"{name} carries {sorted(carried)}"


def test_only_the_calendar_function_carries_icalendar(extracted: dict[str, Path]) -> None:
    carrying = sorted(n for n, f in extracted.items() if "icalendar" in requirement_names(f))
    assert carrying == ["calendar"]


def test_requirements_are_pinned_to_the_lock_with_its_hashes(extracted: dict[str, Path]) -> None:
    lock = Lock()
    for name, folder in extracted.items():
        pins = requirement_pins(folder)
        assert "functions-framework" in pins, name
        for dist, (version, hashes) in pins.items():
            locked = lock.pin(dist)
            assert version == locked.version, (name, dist)
            assert hashes, f"{name}: {dist} has no hash, so pip would not check what it installs"
            assert sorted(hashes) == list(locked.hashes), (name, dist)


def test_what_the_tests_run_on_is_what_the_lock_says(extracted: dict[str, Path]) -> None:
    """`make` installs from the lock, so the environment the suite ran in is the one shipped."""
    from importlib import metadata

    for name, folder in extracted.items():
        for dist, version in requirement_names(folder).items():
            try:
                installed = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue  # needed only on python312 (a backport the 3.11 venv lacks, say)
            assert installed == version, f"{name}: {dist} {installed} installed, {version} locked"


def test_each_archive_carries_every_dependency_its_distributions_declare_for_python312(
    extracted: dict[str, Path],
) -> None:
    """Cross-checks the lock's graph against the installed distributions' own metadata."""
    for name, folder in extracted.items():
        pinned = set(requirement_names(folder))
        installed_roots = {d for d in pinned if _installed(d)}
        needed = dependency_closure(installed_roots)
        assert needed <= pinned, f"{name}: requirements.txt lacks {sorted(needed - pinned)}"


def _installed(dist: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_no_archive_carries_the_dev_stack_or_the_command_line(built: dict[str, Path]) -> None:
    for name, archive in built.items():
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
        assert not [n for n in names if n.startswith("realm/devstack/")], name
        assert "realm/cli.py" not in names, name
        # ...and the package still has them, so the test above is not empty by accident.
    assert (build.SHARED_DIR / "realm" / "devstack" / "server.py").is_file()
    assert (build.SHARED_DIR / "realm" / "cli.py").is_file()


def test_identical_inputs_give_byte_identical_archives(
    built: dict[str, Path], tmp_path: Path
) -> None:
    again = {b.deployed: b.archive for b in build.build_all(tmp_path)}
    for name, archive in built.items():
        assert archive.read_bytes() == again[name].read_bytes(), f"{name} differs between builds"


def test_two_builds_from_two_clones_of_one_commit_are_byte_identical(tmp_path: Path) -> None:
    """The rollback claim: rebuilding an old commit gives exactly the archives that ran then.

    Two fresh clones of HEAD (new files, new mtimes), built by separate processes under a
    different umask, time zone and hash seed, must give the same bytes, manifest and gateway
    document included.
    """
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("SKIPPED LOUDLY: not a git checkout, nothing to clone")
    outputs = []
    for n, (umask, tz) in enumerate([("0022", "UTC"), ("0077", "Pacific/Chatham")]):
        clone = tmp_path / f"clone{n}"
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
            check=True,
            capture_output=True,
        )
        out = tmp_path / f"dist{n}"
        result = subprocess.run(
            [
                "bash",
                "-c",
                f'umask {umask} && exec "$0" -m deploy.build --out "$1"',
                sys.executable,
                str(out),
            ],
            cwd=clone,
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": tz, "PYTHONHASHSEED": str(n + 1)},
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append(out)
    first = sorted(p.relative_to(outputs[0]) for p in outputs[0].rglob("*") if p.is_file())
    second = sorted(p.relative_to(outputs[1]) for p in outputs[1].rglob("*") if p.is_file())
    assert first == second
    assert any(p.suffix == ".zip" for p in first)
    for rel in first:
        assert (outputs[0] / rel).read_bytes() == (outputs[1] / rel).read_bytes(), rel


# --- the scanner itself, on a small made-up function ---------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path]:
    functions, shared = tmp_path / "functions", tmp_path / "shared"
    _write(
        functions / "list_parties" / "main.py",
        """
        import functions_framework
        from realm import lazy
        from realm.sub import thing

        @functions_framework.http
        def list_parties(request):
            return lazy.go()
        """,
    )
    _write(shared / "realm" / "__init__.py", "")
    _write(
        shared / "realm" / "lazy.py",
        """
        from __future__ import annotations
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from PIL import Image  # never runs: no Pillow
        def go():
            from google.cloud.sql.connector import Connector  # function-level import counts
            return Connector
        """,
    )
    _write(shared / "realm" / "sub" / "__init__.py", "import pydantic\n")
    _write(shared / "realm" / "sub" / "thing.py", "from . import other\n")
    _write(shared / "realm" / "sub" / "other.py", "import jwt\n")
    _write(shared / "realm" / "unused.py", "import google.cloud.pubsub_v1\n")
    _write(shared / "realm" / "migrations" / "0001_init.sql", "select 1;\n")
    (shared / "realm" / "__pycache__").mkdir()
    (shared / "realm" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    return functions, shared


def test_the_scan_follows_function_level_and_relative_imports_but_not_type_checking_blocks(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    functions, shared = sample
    [result] = build.build_all(tmp_path / "out", functions_dir=functions, shared_dir=shared)
    direct = {canonical(n) for n in result.requirements.direct}
    assert direct == {"functions-framework", "cloud-sql-python-connector", "pydantic", "pyjwt"}
    assert "pillow" not in result.requirements.all_names
    assert "google-cloud-pubsub" not in result.requirements.all_names  # only an unused module
    with zipfile.ZipFile(result.archive) as zf:
        names = zf.namelist()
    assert "realm/migrations/0001_init.sql" in names
    assert "realm/unused.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_the_build_fails_on_an_import_that_no_installed_distribution_provides(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    functions, shared = sample
    _write(shared / "realm" / "sub" / "other.py", "import not_a_real_module_xyz\n")
    with pytest.raises(BuildError, match="not_a_real_module_xyz"):
        build.build_all(tmp_path / "out", functions_dir=functions, shared_dir=shared)
