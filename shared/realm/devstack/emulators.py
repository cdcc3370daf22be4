"""The official gcloud Pub/Sub and Firestore emulators, for ``make run``, ``make test`` and the
benchmarks: found, started on free loopback ports, wired up, stopped.

They are Java programs shipped as gcloud components (``pubsub-emulator``,
``cloud-firestore-emulator``); we start their jars with ``java`` directly (bound to 127.0.0.1),
so neither gcloud nor an account is needed. Where they are not installed, ``unavailable()``
says why, and the callers fall back (see ``realm.publishing`` and ``realm.notifications``).

Wiring Pub/Sub means creating one topic per event type and, for each topic with a local
consumer, a push subscription to ``<base>/<event function>``: locally that stands in for the
Eventarc triggers of the cloud. The topology is ``realm.publishing.PUSH_ROUTES``.

Nothing here reads ``realm.config``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm.devstack.ports import free_port, wait_for_port

_SDK_ROOTS = (
    "/usr/lib/google-cloud-sdk",
    "/usr/share/google-cloud-sdk",
    "/opt/google-cloud-sdk",
    str(Path.home() / "google-cloud-sdk"),
)
FIRESTORE_MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
HOSTS_FILE = "emulators.json"


def _sdk_roots() -> list[Path]:
    roots = [Path(os.environ["REALM_GCLOUD_SDK"])] if os.environ.get("REALM_GCLOUD_SDK") else []
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(Path(gcloud).resolve().parent.parent)
    roots += [Path(root) for root in _SDK_ROOTS]
    return roots


def pubsub_jar() -> Path | None:
    for root in _sdk_roots():
        jars = sorted((root / "platform/pubsub-emulator/lib").glob("cloud-pubsub-emulator-*.jar"))
        if jars:
            return jars[-1]
    return None


def firestore_jar() -> Path | None:
    for root in _sdk_roots():
        jar = root / "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
        if jar.is_file():
            return jar
    return None


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin/java").is_file():
        return str(Path(home) / "bin/java")
    return shutil.which("java")


def unavailable() -> str | None:
    """Why the emulators cannot run here, or None when they can."""
    missing = []
    if java() is None:
        missing.append("java (apt-get install openjdk-17-jre-headless)")
    if pubsub_jar() is None:
        missing.append("the Pub/Sub emulator (gcloud component pubsub-emulator)")
    if firestore_jar() is None:
        missing.append("the Firestore emulator (gcloud component cloud-firestore-emulator)")
    return "not installed: " + ", ".join(missing) if missing else None


@dataclass
class Emulator:
    """One emulator process on 127.0.0.1:``port``, stopped by its own PID."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def launch(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.log_path.parent,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.process is not None
        try:
            wait_for_port(self.port, timeout, self.name)
        except TimeoutError:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} did not start:\n{tail}") from None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: see {self.log_path}")

    def start(self, timeout: float = 90) -> Emulator:
        self.launch()
        self.wait_ready(timeout)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# A small heap and no JIT warm-up tax worth paying for a short-lived local process.
_JVM = ["-Xms64m", "-Xmx1g", "-XX:+UseSerialGC", "-Duser.language=en"]


def pubsub(log_dir: Path, port: int = 0) -> Emulator:
    jar, java_bin = pubsub_jar(), java()
    if jar is None or java_bin is None:
        raise RuntimeError(f"Pub/Sub emulator {unavailable()}")
    port = port or free_port()
    command = [java_bin, *_JVM, "-jar", str(jar), "--host=127.0.0.1", f"--port={port}"]
    return Emulator("Pub/Sub emulator", command, port, log_dir / "pubsub-emulator.log")


def firestore(log_dir: Path, project: str, port: int = 0, rules: Path | None = None) -> Emulator:
    jar, java_bin = firestore_jar(), java()
    if jar is None or java_bin is None:
        raise RuntimeError(f"Firestore emulator {unavailable()}")
    port = port or free_port()
    command = [
        java_bin,
        *_JVM,
        "-cp",
        str(jar),
        FIRESTORE_MAIN,
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--project_id={project}",
        # Its extra WebSocket/WebChannel ports are bound to --host as well: loopback only.
    ]
    if rules is not None and rules.is_file():
        command.append(f"--rules={rules}")
    return Emulator("Firestore emulator", command, port, log_dir / "firestore-emulator.log")


def _publisher(host: str) -> Any:
    import grpc  # type: ignore[import-untyped]
    from google.cloud.pubsub_v1 import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    return PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host)))


def _subscriber(host: str) -> Any:
    import grpc
    from google.cloud.pubsub_v1 import SubscriberClient
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(host)))


def wire_pubsub(
    host: str, project: str, push_base_url: str | None, served: Iterable[str] = ()
) -> list[str]:
    """Creates the topics, and push subscriptions to the event functions in ``served`` (their
    deployed names) under ``push_base_url``; an existing subscription is re-pointed at it.
    Safe to repeat. Returns the subscription paths that push."""
    from google.api_core.exceptions import AlreadyExists
    from google.cloud.pubsub_v1.types import PushConfig

    from realm.events.outbox import TOPICS
    from realm.events.publishing import PUSH_ROUTES, subscription_name

    publisher, subscriber = _publisher(host), _subscriber(host)
    served = set(served)
    pushing = []
    try:
        for topic in TOPICS:
            topic_path = publisher.topic_path(project, topic)
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=topic_path, timeout=30)
            route = PUSH_ROUTES.get(topic)
            if push_base_url is None or route is None or route not in served:
                continue
            path = subscriber.subscription_path(project, subscription_name(topic))
            push = PushConfig(push_endpoint=f"{push_base_url.rstrip('/')}/{route}")
            try:
                subscriber.create_subscription(
                    name=path,
                    topic=topic_path,
                    push_config=push,
                    ack_deadline_seconds=30,
                    timeout=30,
                )
            except AlreadyExists:
                subscriber.modify_push_config(subscription=path, push_config=push, timeout=30)
            pushing.append(path)
    finally:
        publisher.transport.close()
        subscriber.close()
    return pushing


def firestore_reset(host: str, project: str) -> None:
    """Deletes every document in the emulator (its own admin endpoint)."""
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents",
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@dataclass
class Running:
    pubsub: Emulator
    firestore: Emulator

    def env(self) -> dict[str, str]:
        return {
            "PUBSUB_EMULATOR_HOST": self.pubsub.host,
            "FIRESTORE_EMULATOR_HOST": self.firestore.host,
        }

    def stop(self) -> None:
        try:
            self.pubsub.stop()
        finally:
            self.firestore.stop()


def start_both(log_dir: Path, project: str, rules: Path | None = None) -> Running:
    """Starts both emulators at once (each takes a few seconds of JVM start-up)."""
    running = Running(pubsub(log_dir), firestore(log_dir, project, rules=rules))
    running.pubsub.launch()
    try:
        running.firestore.launch()
        running.pubsub.wait_ready()
        running.firestore.wait_ready()
    except BaseException:
        running.stop()
        raise
    return running


# What a running `realm serve` tells the other `realm` commands (notifications, pushes, token):
# where its emulators, stand-ins and database are, and the project they serve.
STACK_VARIABLES = (
    "PUBSUB_EMULATOR_HOST",
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "REALM_FCM_ENDPOINT",
    "REALM_PROJECT_ID",
    "DATABASE_URL",
)


def write_hosts(state_dir: Path, env: dict[str, str]) -> Path:
    """Where a running ``realm serve`` left its services, for other ``realm`` commands.
    Readable by its owner only: the local database's URL carries its (generated) password."""
    path = state_dir / HOSTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps({**env, "pid": os.getpid(), "at": time.time()}) + "\n")
    return path


def read_hosts(state_dir: Path) -> dict[str, str]:
    """The variables a running ``realm serve`` wrote, if it is still running."""
    path = state_dir / HOSTS_FILE
    try:
        saved = json.loads(path.read_text())
        os.kill(int(saved["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: str(saved[name]) for name in STACK_VARIABLES if name in saved}


@dataclass
class LocalEvents:
    """How ``realm serve`` moves events: the emulators (ours or given), or the fallback."""

    mode: str  # "emulators" (started here), "given" (from the environment), "fallback"
    running: Running | None = None
    pubsub_host: str | None = None
    why_fallback: str = ""

    def wire(self, project: str, base_url: str, served: Iterable[str]) -> list[str]:
        if self.pubsub_host is None:
            return []
        return wire_pubsub(self.pubsub_host, project, base_url, served)


def start_local(stack: Any, state_dir: Path, project: str, rules: Path | None) -> LocalEvents:
    """For ``realm serve``: the emulators named in the environment if both are, else ours when
    installed (their stop registered with ``stack``), else the fallback. Sets the emulator
    variables in ``os.environ`` before any client is created."""
    given = os.environ.get("PUBSUB_EMULATOR_HOST"), os.environ.get("FIRESTORE_EMULATOR_HOST")
    if all(given):
        print(f"using the emulators from the environment: Pub/Sub {given[0]}, Firestore {given[1]}")
        return LocalEvents("given", pubsub_host=given[0])
    # REALM_EMULATORS=off: the fallback even where the emulators are installed. A test run
    # starts the emulators itself (tests/conftest.py) and passes them on; a server it starts
    # without them uses the fallback rather than two JVMs of its own.
    why = unavailable()
    if why is None and os.environ.get("REALM_EMULATORS", "").lower() == "off":
        why = "turned off (REALM_EMULATORS=off)"
    if why is None and os.environ.get("REALM_ENV") == "test":
        why = "not given to this server by the test run"
    if why is not None:
        for name in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
            os.environ.pop(name, None)
        return LocalEvents("fallback", why_fallback=why)
    running = start_both(state_dir / "emulators", project, rules)
    stack.started("emulators", running.stop)
    os.environ.update(running.env())
    print(
        f"Pub/Sub emulator on {running.pubsub.host}, Firestore emulator on "
        f"{running.firestore.host} (logs in {state_dir / 'emulators'})"
    )
    return LocalEvents("emulators", running, running.pubsub.host)


class RelayTimer:
    """Calls ``POST <base>/<function>`` (relay-outbox unless told otherwise) every ``interval``
    seconds, as Cloud Scheduler does in the cloud, until stopped."""

    def __init__(self, base_url: str, interval: float, function: str = "relay-outbox") -> None:
        import threading

        self.url = f"{base_url.rstrip('/')}/{function}"
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{function}-timer", daemon=True)

    def start(self) -> RelayTimer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        import urllib.error

        while not self._stopped.wait(self.interval):
            request = urllib.request.Request(self.url, data=b"", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
            except urllib.error.HTTPError as error:
                # 503: some events could not be published; the function logged why.
                error.read()
            except OSError as error:
                print(f"timer: {self.url} unreachable: {error}", flush=True)
