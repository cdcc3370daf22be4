"""``gcp-storage-emulator`` (PyPI) for ``make run`` and ``make test``: a Cloud Storage stand-in on a
free loopback port, in its own process, stopped by its PID (the same ``Emulator`` process
handling as the gcloud emulators).

``google-cloud-storage`` talks to it unchanged once ``STORAGE_EMULATOR_HOST`` is set, so the
media code that runs locally is the code that runs in the cloud. ``make run`` keeps its objects
under the state directory; tests keep them in memory.

Nothing here reads ``realm.config``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from realm.devstack.emulators import Emulator
from realm.devstack.ports import free_port

BUCKET = "realm-local-media"  # the same default as realm.media.LOCAL_BUCKET


def available() -> bool:
    return importlib.util.find_spec("gcp_storage_emulator") is not None


def storage(log_path: Path, *, data_dir: Path | None = None, bucket: str = BUCKET) -> Emulator:
    """The emulator process on a free port, not yet started; ``data_dir`` None: in memory.
    ``STORAGE_EMULATOR_HOST`` is ``http://`` + its ``host``."""
    port = free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["--data-dir", str(data_dir)]
    command += ["start", "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    command += ["--default-bucket", bucket]
    if data_dir is None:
        command.append("--in-memory")
    return Emulator("the storage emulator", command, port, log_path)
