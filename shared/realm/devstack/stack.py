"""The local stack behind ``make run`` and ``make test``: what is started, and stopping it all.

Nothing here reads ``realm.config``: the stack decides the environment (``DATABASE_URL`` and
the emulator hosts) before the shared layer reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from realm.devstack import postgres


def state_dir() -> Path:
    return Path(os.environ.get("REALM_STATE_DIR") or ".realm").absolute()


class Stack:
    """Remembers how to stop what it started, and stops it in reverse order, once, and only
    from the process that started it."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._owner = os.getpid()

    def started(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def postgres(self, *, durable: bool) -> None:
        """Starts a private PostgreSQL and points DATABASE_URL at it, unless one is given."""
        if os.environ.get("DATABASE_URL"):
            print("using DATABASE_URL from the environment")
            return
        server = (
            postgres.Postgres(postgres.default_root(state_dir()))
            if durable
            else postgres.throwaway()
        )
        server.start()
        self.started("PostgreSQL", server.stop)
        os.environ["DATABASE_URL"] = server.url
        print(f"PostgreSQL {server.data_dir} on 127.0.0.1:{server.port}")

    def storage(self, *, durable: bool) -> None:
        """Starts gcp-storage-emulator and points STORAGE_EMULATOR_HOST and REALM_MEDIA_BUCKET
        at it, unless an emulator is given; without the package, media go to a directory."""
        from realm.devstack import storage_emulator

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            print(f"using STORAGE_EMULATOR_HOST={os.environ['STORAGE_EMULATOR_HOST']}")
            return
        if not storage_emulator.available():
            print("gcp-storage-emulator is not installed: media are kept in a local directory")
            return
        bucket = os.environ.get("REALM_MEDIA_BUCKET") or storage_emulator.BUCKET
        emulator = storage_emulator.storage(
            state_dir() / "logs" / "storage-emulator.log",
            data_dir=state_dir() / "storage" if durable else None,
            bucket=bucket,
        ).start(timeout=30)
        self.started("storage emulator", emulator.stop)
        os.environ["STORAGE_EMULATOR_HOST"] = f"http://{emulator.host}"
        os.environ["REALM_MEDIA_BUCKET"] = bucket
        print(f"storage emulator on http://{emulator.host}, bucket {bucket}")

    def stop(self) -> None:
        if os.getpid() != self._owner:
            return
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception as error:
                print(f"could not stop {name}: {error}")
