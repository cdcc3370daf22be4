"""The ``realm`` command: run the local stack, migrate, seed, mint tokens, generate the OpenAPI
document.

Commands import the shared layer only once the environment is settled, because
``realm.config`` reads it once, at import.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from realm.devstack.stack import Stack, state_dir

    os.environ.setdefault("REALM_ENV", "local")
    os.environ.setdefault("REALM_STATE_DIR", str(state_dir()))
    os.environ.setdefault("REALM_PUBLIC_BASE_URL", f"http://127.0.0.1:{args.port}")
    if args.auth_emulator:
        problem = _auth_emulator_environment()
        if problem is not None:
            print(f"--auth-emulator: {problem}", file=sys.stderr)
            return 2
    # Ctrl-C and a polite kill both end up in the `finally` that stops what we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C even when started from a context that ignores SIGINT (a background job of a
    # non-interactive shell inherits SIG_IGN, and Python then installs no handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = Stack()
    try:
        # Node takes seconds to start the Auth emulator: it starts while the rest does.
        auth = _launch_auth_emulator(stack, args.auth_port) if args.auth_emulator else None
        _start_fcm_stand_in(stack, args.fcm_port)
        stack.postgres(durable=True)
        stack.storage(durable=True)
        if auth is not None:
            _wait_for_auth_emulator(auth)
        from realm import db
        from realm.config import settings
        from realm.db import migrate
        from realm.devstack import seed, server, tokens

        applied = migrate.migrate(db.pool())
        print(f"migrations applied: {[m.version for m in applied] or 'none pending'}")
        if not args.no_seed:
            with db.transaction() as tx:
                seed.seed(tx)
            print("seed data loaded (hosts 12-16, guests 20-24, parties 37-41)")
            if auth is not None:
                _seed_auth_emulator(auth.host, settings.project_id, settings.state_dir)
        assert settings.local_key_file is not None
        tokens.ensure_key(settings.local_key_file)
        events = _start_events(stack, settings.state_dir, settings.project_id)
        _tell_other_commands(stack, settings.state_dir)
        httpd = server.make(args.host, args.port, server.build_app())
        base = f"http://{args.host}:{httpd.server_port}"
        for name in server.function_names():
            print(f"  {base}/{server.deployed_name(name)}")
        _wire_events(stack, events, settings.project_id, base, args.relay_every)
        _remind(stack, base, args.reminders_every)
        print(
            f"serving on {base}  (token: .venv/bin/realm token host-1; Ctrl-C stops all)",
            flush=True,
        )
        httpd.serve_forever()  # returns on Ctrl-C (werkzeug catches the KeyboardInterrupt)
    except KeyboardInterrupt:
        pass  # Ctrl-C during start-up
    finally:
        print("\nstopping what this run started", flush=True)
        stack.stop()
    return 0


def _auth_emulator_environment() -> str | None:
    """Settles the environment the Auth emulator's tokens need (realm.config refuses any
    other): a local run of a demo- project."""
    from realm.devstack import auth_emulator

    if os.environ.get("REALM_ENV") != "local":
        return f"needs REALM_ENV=local, not {os.environ.get('REALM_ENV')!r}"
    project = os.environ.setdefault("REALM_PROJECT_ID", auth_emulator.DEFAULT_PROJECT)
    if not project.startswith("demo-"):
        return f"needs a demo- project id (REALM_PROJECT_ID), not {project!r}"
    return auth_emulator.unavailable()


def _launch_auth_emulator(stack: Any, port: int) -> Any:
    from realm.devstack import auth_emulator
    from realm.devstack.stack import state_dir

    emulator = auth_emulator.emulator(
        state_dir() / "emulators", os.environ["REALM_PROJECT_ID"], port
    )
    emulator.launch()
    stack.started("Firebase Auth emulator", emulator.stop)
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = emulator.host
    return emulator


def _wait_for_auth_emulator(emulator: Any) -> None:
    from realm.devstack import auth_emulator

    emulator.wait_ready(timeout=120)
    auth_emulator.wait_ready(emulator.host)
    print(
        f"Firebase Auth emulator on {emulator.host}, project"
        f" {os.environ['REALM_PROJECT_ID']}: the functions accept its tokens (and only those)"
    )


def _seed_auth_emulator(host: str, project: str, state: Any) -> None:
    from realm.devstack import auth_emulator, seed

    secret = auth_emulator.password(state)
    users = [(uid, name, f"{uid}@seed.realm.test") for _, name, uid in seed.HOSTS + seed.GUESTS]
    count = auth_emulator.seed(host, project, users, secret)
    print(
        f"{count} seed users in the Auth emulator (host-1@seed.realm.test ...), password in"
        f" {state / 'auth-emulator-password'}"
    )


def _start_fcm_stand_in(stack: Any, port: int) -> None:
    """The stand-in FCM endpoint the functions push to (realm.devstack.fcm), unless one is
    given in REALM_FCM_ENDPOINT."""
    if os.environ.get("REALM_FCM_ENDPOINT"):
        print(f"push: using REALM_FCM_ENDPOINT={os.environ['REALM_FCM_ENDPOINT']}")
        return
    from realm.devstack.fcm import StandInFcm

    stand_in = StandInFcm(port).start()
    stack.started("FCM stand-in", stand_in.stop)
    os.environ["REALM_FCM_ENDPOINT"] = stand_in.url
    print(f"push: FCM stand-in on {stand_in.url} (`realm pushes <auth_uid>` shows what it got)")


def _tell_other_commands(stack: Any, state: Any) -> None:
    from realm.devstack import emulators

    given = {k: os.environ[k] for k in emulators.STACK_VARIABLES if os.environ.get(k)}
    path = emulators.write_hosts(state, given)
    stack.started("stack file", lambda: path.unlink(missing_ok=True))


def _from_running_serve() -> None:
    """Takes the addresses a running `realm serve` wrote (before realm.config is read)."""
    from realm.devstack import emulators
    from realm.devstack.stack import state_dir

    for name, value in emulators.read_hosts(state_dir()).items():
        os.environ.setdefault(name, value)


def _start_events(stack: Any, state: Any, project: str) -> Any:
    """Pub/Sub + Firestore emulators when installed (before any client reads their
    variables), else the in-process fallback, said in one line."""
    from realm.devstack import emulators
    from realm.devstack.server import REPO_ROOT

    events = emulators.start_local(stack, state, project, REPO_ROOT / "firestore.rules")
    if events.mode == "fallback":
        from realm.events.notify import local_feed_path

        print(
            f"events: gcloud emulators {events.why_fallback}; using the in-process"
            f" fallback (events are POSTed straight to /notify-guest, notifications are"
            f" written to {local_feed_path()})",
            flush=True,
        )
    return events


def _wire_events(
    stack: Any, events: Any, project: str, base: str, relay_every: float | None
) -> None:
    from realm.devstack import emulators, server

    served = [server.deployed_name(name) for name in server.function_names()]
    for path in events.wire(project, base, served):
        print(f"push subscription {path.rsplit('/', 1)[-1]}")
    if relay_every is None:
        # In a test run a relay runs only when a test asks for one.
        relay_every = 0.0 if os.environ.get("REALM_ENV") == "test" else 10.0
    if relay_every > 0:
        timer = emulators.RelayTimer(base, relay_every).start()
        stack.started("relay timer", timer.stop)
        print(f"relay-outbox runs every {relay_every:g}s")


def _remind(stack: Any, base: str, every: float | None) -> None:
    """send-reminders on a timer, as Cloud Scheduler calls it every 15 minutes in the cloud
    (never in a test run: tests call it when they mean to)."""
    from realm.devstack import emulators

    if every is None:
        every = 0.0 if os.environ.get("REALM_ENV") == "test" else 900.0
    if every > 0:
        timer = emulators.RelayTimer(base, every, "send-reminders").start()
        stack.started("reminders timer", timer.stop)
        print(f"send-reminders runs every {every:g}s")


def _notifications(args: argparse.Namespace) -> int:
    from datetime import datetime

    # A running `realm serve` wrote where its emulators listen.
    _from_running_serve()
    from realm.events import notify

    feed = notify.default_feed()
    items = feed.recent(args.auth_uid, limit=args.limit)
    print(f"{len(items)} notification(s) for {args.auth_uid} ({feed.name}), newest first")
    for item in items:
        created = item.get("created_at")
        when = created.isoformat() if isinstance(created, datetime) else str(created)
        unread = "" if item.get("read") else "  [unread]"
        print(f"{when}  {item.get('type')}  {item.get('title')}: {item.get('body')}{unread}")
        invite = f", invite {item['invite_id']}" if item.get("invite_id") is not None else ""
        print(f"    party {item.get('party_id')}{invite}, id {item['id']}")
    return 0


def _pushes(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    _from_running_serve()
    endpoint = os.environ.get("REALM_FCM_ENDPOINT")
    if not endpoint or not os.environ.get("DATABASE_URL"):
        print("no running `realm serve` here (it starts the FCM stand-in)", file=sys.stderr)
        return 1
    from realm import db
    from realm.accounts import devices
    from realm.devstack.fcm import fetch_received

    with db.reading() as tx:
        found = devices.of_user(tx, args.auth_uid)
    print(f"{len(found)} device(s) of {args.auth_uid}")
    received = fetch_received(endpoint, [str(d["token"]) for d in found]) if found else []
    platforms = {str(d["token"]): d["platform"] for d in found}
    print(f"{len(received)} push request(s) to them, oldest first")
    for item in received:
        when = datetime.fromtimestamp(item["at"], UTC).isoformat(timespec="seconds")
        message = item["message"] or {}
        note = message.get("notification") or {}
        token = str(item["token"])
        print(
            f"{when}  {item['status']}  {platforms.get(token, '?')} …{token[-8:]}"
            f"  {note.get('title')}: {note.get('body')}"
        )
        print(f"    data {json.dumps(message.get('data'), sort_keys=True)}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from realm import db
    from realm.db import migrate

    applied = migrate.migrate(db.pool())
    print(f"applied: {[f'{m.version:04d}_{m.name}' for m in applied] or 'nothing pending'}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from realm.config import settings

    # The seed rewrites fixed ids (users 12-24, parties 37-41) to their defined state: in a
    # real database that would overwrite real people's rows.
    if settings.env == "cloud":
        print("realm seed is refused when REALM_ENV=cloud: the seed is test data", file=sys.stderr)
        return 2
    from realm import db
    from realm.devstack import seed

    with db.transaction() as tx:
        seed.seed(tx)
    print("seed data loaded")
    return 0


def _token(args: argparse.Namespace) -> int:
    _from_running_serve()
    emulator = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    if emulator:
        # `realm serve --auth-emulator`: the functions accept only the emulator's tokens.
        from realm.devstack import auth_emulator

        if args.lifetime != 3600:
            print("the Auth emulator's tokens last an hour; --lifetime is ignored", file=sys.stderr)
        print(auth_emulator.id_token(emulator, args.auth_uid))
        return 0
    from realm.config import settings
    from realm.devstack import tokens

    if settings.local_key_file is None:
        print("local tokens are refused when REALM_ENV=cloud", file=sys.stderr)
        return 2
    print(tokens.mint(settings, args.auth_uid, lifetime=args.lifetime))
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from realm.devstack import openapi

    if args.check:
        stale = openapi.is_stale()
        if stale:
            print(f"{openapi.DOCUMENT} is stale: run `realm openapi`", file=sys.stderr)
            return 1
        print(f"{openapi.DOCUMENT} is up to date")
        return 0
    openapi.write()
    print(f"wrote {openapi.DOCUMENT}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="realm", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run every function locally on one port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    serve.add_argument("--no-seed", action="store_true", help="do not load the seed data")
    serve.add_argument(
        "--relay-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="call relay-outbox this often (default 10, in a test run 0: never)",
    )
    serve.add_argument(
        "--reminders-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="call send-reminders this often (default 900, in a test run 0: never)",
    )
    serve.add_argument(
        "--auth-emulator",
        action="store_true",
        help="use the Firebase Auth emulator as the identity provider (needs Node and"
        " `make node-tools`; project demo-realm unless REALM_PROJECT_ID is another demo- id)",
    )
    serve.add_argument("--auth-port", type=int, default=9099, help="the Auth emulator's port")
    serve.add_argument(
        "--fcm-port", type=int, default=0, help="the FCM stand-in's port (default: a free one)"
    )
    serve.set_defaults(run=_serve)

    notes = commands.add_parser("notifications", help="print a user's notifications, newest first")
    notes.add_argument("auth_uid")
    notes.add_argument("--limit", type=int, default=50)
    notes.set_defaults(run=_notifications)

    pushes = commands.add_parser(
        "pushes", help="print what the FCM stand-in received for a user's devices"
    )
    pushes.add_argument("auth_uid")
    pushes.set_defaults(run=_pushes)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=_migrate)
    commands.add_parser("seed", help="load the seed data").set_defaults(run=_seed)

    token = commands.add_parser(
        "token",
        help="print a bearer token for a user (the Auth emulator's under --auth-emulator)",
    )
    token.add_argument("auth_uid")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default 3600)")
    token.set_defaults(run=_token)

    api = commands.add_parser("openapi", help="regenerate the OpenAPI document")
    api.add_argument("--check", action="store_true", help="fail if the committed one is stale")
    api.set_defaults(run=_openapi)
    return root


def main(argv: list[str] | None = None) -> int:
    args: Any = parser().parse_args(argv)
    from realm.errors import ConfigError

    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
