"""The ``realm`` command: run the local stack, migrate, seed, mint tokens, generate the OpenAPI
document.

Commands import the shared layer only once the environment is settled, because
``realm.config`` reads it once, at import.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from realm.devstack.stack import Stack, state_dir

    os.environ.setdefault("REALM_ENV", "local")
    os.environ.setdefault("REALM_STATE_DIR", str(state_dir()))
    os.environ.setdefault("REALM_PUBLIC_BASE_URL", f"http://127.0.0.1:{args.port}")
    # Ctrl-C and a polite kill both end up in the `finally` that stops what we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C even when started from a context that ignores SIGINT (a background job of a
    # non-interactive shell inherits SIG_IGN, and Python then installs no handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = Stack()
    try:
        stack.postgres(durable=True)
        stack.storage(durable=True)
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
        assert settings.local_key_file is not None
        tokens.ensure_key(settings.local_key_file)
        events = _start_events(stack, settings.state_dir, settings.project_id)
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

    from realm.config import settings
    from realm.devstack import emulators

    # A running `realm serve` wrote where its emulators listen.
    for name, value in emulators.read_hosts(settings.state_dir).items():
        os.environ.setdefault(name, value)
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
    serve.set_defaults(run=_serve)

    notes = commands.add_parser("notifications", help="print a user's notifications, newest first")
    notes.add_argument("auth_uid")
    notes.add_argument("--limit", type=int, default=50)
    notes.set_defaults(run=_notifications)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=_migrate)
    commands.add_parser("seed", help="load the seed data").set_defaults(run=_seed)

    token = commands.add_parser("token", help="print a local bearer token for a user")
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
