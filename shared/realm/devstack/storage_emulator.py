"""``gcp-storage-emulator`` (PyPI) for ``make run`` and ``make test``: a Cloud Storage stand-in on a
free loopback port, in its own process, stopped by its PID.

``google-cloud-storage`` talks to it unchanged once ``STORAGE_EMULATOR_HOST`` is set, so the
media code that runs locally is the code that runs in the cloud. ``make run`` keeps its objects
under the state directory; tests keep them in memory.

Nothing here reads ``realm.config``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from realm.devstack.ports import free_port, wait_for_port

BUCKET = "realm-local-media"  # the same default as realm.media.LOCAL_BUCKET


def available() -> bool:
    return importlib.util.find_spec("gcp_storage_emulator") is not None


class StorageEmulator:
    def __init__(
        self, log_path: Path, *, data_dir: Path | None = None, bucket: str = BUCKET
    ) -> None:
        self.log_path = log_path
        self.data_dir = data_dir  # None: in memory
        self.bucket = bucket
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The value of STORAGE_EMULATOR_HOST."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> StorageEmulator:
        self.port = free_port()
        command = [sys.executable, "-m", "gcp_storage_emulator"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command += ["--data-dir", str(self.data_dir)]
        command += ["start", "--host", "127.0.0.1", "--port", str(self.port), "--quiet"]
        command += ["--default-bucket", self.bucket]
        if self.data_dir is None:
            command.append("--in-memory")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.log_path.parent,
            )
        try:
            wait_for_port(self.port, timeout, "the storage emulator")
        except TimeoutError:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the storage emulator did not start:\n{tail}") from None
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
