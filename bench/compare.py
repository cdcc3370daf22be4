"""Benchmark of every read function, the two hot writes, the floor and the yardsticks, in one
run (DESIGN §10, issue 13): requests/s, p50/p99 at 1 and 8 clients, CPU per request at
saturation, cold start and import time, each service one process on the same data.

    make bench                                      # the whole comparison, 1M invites
    .venv/bin/python -m bench.compare --baseline main --profile list-parties

Load comes from wrk (Debian's ``wrk``; installed here when run as root, otherwise
``sudo apt-get install wrk``), one connection per client, so that the load generator's own CPU
stays small beside the server's. CPU per request is the server process's (and its children's:
gunicorn's worker) user + system CPU seconds from /proc during the 8-client run, divided by the
requests answered: "Python CPU" for our functions, whatever the yardsticks spend for theirs.
PostgreSQL's CPU is not in it.

``--baseline REF`` runs Realm's functions as they are at a git ref too (``git archive`` of it,
with the same venv), interleaved with this tree's, so before and after come from one run.
``--profile FUNCTION`` samples the function's worker with py-spy during an extra 8-client run
and prints where its CPU goes (``bench.profile``). Starts its own PostgreSQL in a temporary
directory (or uses ``DATABASE_URL``, filled once: ``--no-fill`` reuses it) and removes it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    UNBOUNDED_FILL,
    cold_start,
    executable,
    first_ok,
    functions_framework,
    import_times,
    migrate,
    scratch_database,
    server_process,
)
from bench.list_parties import fill

HOST_UID = "bench-big-host"
# The functions whose import and cold start DESIGN §10 bounds.
READ_FUNCTIONS = ("list_parties", "me", "get_party", "list_guests", "find_users")
WRITE_FUNCTIONS = ("create_invite", "respond_invite")
# Every write run below invites or answers as fast as it can: no quota may stop it.
QUOTAS = "invites=999999999/3600,parties=999999/3600"


# -- load: wrk with a Lua script of the requests ------------------------------------------------


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal of ASCII is a valid Lua one


def gets_script(requests: Sequence[tuple[str, str]]) -> str:
    """GETs of (path, token), each connection cycling through them from a different start."""
    lines = ["local requests = {}"]
    for index, (path, token) in enumerate(requests, 1):
        lines.append(
            f"requests[{index}] = wrk.format('GET', {_lua_string(path)},"
            f" {{['Authorization'] = {_lua_string('Bearer ' + token)}}})"
        )
    lines += [
        "local n = #requests",
        "local i = 0",
        "local started = false",
        "request = function()",
        "  if not started then i = math.random(n); started = true end",
        "  i = i % n + 1",
        "  return requests[i]",
        "end",
    ]
    return "\n".join(lines) + "\n"


def posts_script(callers: Sequence[tuple[str, str]], body: str) -> str:
    """POSTs of JSON ``body`` (a Lua expression over ``k``, this thread's request count, ``t``
    its thread number, ``threads`` their number and the caller's ``arg``), each thread cycling
    through its own share of ``callers`` (token, arg): one thread never answers for another's
    caller, so each answer follows the same caller's previous one."""
    lines = ["local callers = {}"]
    for index, (token, arg) in enumerate(callers, 1):
        lines.append(f"callers[{index}] = {{{_lua_string('Bearer ' + token)}, {_lua_string(arg)}}}")
    lines += [
        "local count = 0",
        "setup = function(thread) thread:set('t', count); count = count + 1 end",
        "init = function(args) threads = tonumber(args[1]); offset = tonumber(args[2]) end",
        "local k = 0",
        "request = function()",
        "  k = k + 1",
        "  local mine = math.max(1, math.floor(#callers / threads))",
        "  local caller = callers[(t * mine + k % mine) % #callers + 1]",
        "  local arg = caller[2]",
        f"  local body = {body}",
        "  return wrk.format('POST', '/', {['Authorization'] = caller[1],"
        " ['Content-Type'] = 'application/json'}, body)",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Run:
    clients: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # server CPU per request


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ticks_of_tree(pid: int) -> int:
    """User + system CPU ticks of ``pid`` and every process below it."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    total = 0
    for process, own in ticks.items():
        ancestor = process
        while ancestor not in (pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == pid:
            total += own
    return total


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def wrk(
    port: int, script: Path, clients: int, seconds: float, server_pid: int, args: Sequence[str] = ()
) -> Run:
    threads = min(clients, 2)
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{round(seconds)}s", "--latency"]
    command += ["-s", str(script), f"http://127.0.0.1:{port}/", "--", str(threads), *args]
    ticks_before = _ticks_of_tree(server_pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    ticks = _ticks_of_tree(server_pid) - ticks_before
    requests = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    latency = {
        match[1]: float(match[2]) * _UNIT_MS[match[3]] for match in _LATENCY.finditer(output)
    }
    errors = int(bad[1]) if bad else 0
    if socket_errors:
        print(f"  wrk: socket errors {socket_errors[1]}", file=sys.stderr)
    cpu_seconds = ticks / os.sysconf("SC_CLK_TCK")
    return Run(
        clients,
        requests,
        requests / round(seconds),
        latency["50"],
        latency["99"],
        errors,
        cpu_seconds / max(requests, 1) * 1000,
    )


# -- what is measured ---------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    kind: str  # floor, yardstick, read, write
    command: Callable[[int], list[str]]
    script: str
    # A GET (path, token) that answers 200: the cold start's request (None: a write, whose
    # server only needs to listen before the warm-up run).
    probe: tuple[str, str] | None
    env: dict[str, str] = field(default_factory=dict)
    # Runs before each load run (a fresh party for create-invite): returns the script's args.
    prepare: Callable[[], list[str]] | None = None


def yardstick_commands() -> dict[str, Callable[[int], list[str]]]:
    return {
        "FastAPI + asyncpg + uvicorn (uvloop, httptools)": lambda port: [
            executable("uvicorn"),
            "bench.yardsticks.fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        "Django + DRF + psycopg 3 (gunicorn 1x8 threads)": lambda port: [
            executable("gunicorn"),
            "bench.yardsticks.django_app:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],
    }


def _token(uid: str) -> str:
    from realm.config import settings
    from realm.devstack import tokens

    return tokens.mint(settings, uid, lifetime=7200)


def _data() -> dict[str, Any]:
    """Who calls what, read from the filled database."""
    from realm import db

    with db.transaction() as tx:
        party = tx.scalar(
            "SELECT p.id FROM parties p JOIN users u ON u.id = p.host_id"
            " WHERE u.auth_uid = :uid AND p.flat = 'BIGFLAT'",
            uid=HOST_UID,
        )
        get_party = tx.all(
            "SELECT i.party_id, u.auth_uid FROM invites i TABLESAMPLE SYSTEM (1)"
            " JOIN users u ON u.id = i.guest_id"
            " WHERE i.party_first_entry > now() LIMIT 200"
        )
        # Guests answering invites to parties well ahead (never over during the run), each a
        # different guest: an answer never waits for another client's on the same invite.
        respond = tx.all(
            "SELECT DISTINCT ON (i.guest_id) i.party_id, u.auth_uid FROM invites i"
            " JOIN users u ON u.id = i.guest_id JOIN parties p ON p.id = i.party_id"
            " WHERE i.party_first_entry > now() + interval '2 days'"
            "   AND p.cancelled_at IS NULL AND p.capacity IS NULL"
            " ORDER BY i.guest_id LIMIT 400"
        )
        guests = tx.one(
            "SELECT min(id) AS first, max(id) AS last FROM users"
            " WHERE auth_uid LIKE 'bench-%' AND auth_uid <> :host",
            host=HOST_UID,
        )
        assert guests is not None
    return {
        "big_party": int(party),
        "get_party": [(int(r["party_id"]), str(r["auth_uid"])) for r in get_party],
        "respond": [(int(r["party_id"]), str(r["auth_uid"])) for r in respond],
        "guests": (int(guests["first"]), int(guests["last"])),
    }


def fresh_parties(hosts: Sequence[str]) -> int:
    """A new upcoming party for each of ``hosts``, for a create-invite run to fill; their ids
    follow each other in the order of ``hosts``: returns the first."""
    from realm import db

    with db.transaction() as tx:
        return int(
            tx.scalar(
                "WITH made AS (INSERT INTO parties (host_id, flat, first_entry)"
                " SELECT u.id, 'INVITEFLAT', now() + interval '5 days'"
                " FROM unnest(CAST(:uids AS text[])) WITH ORDINALITY AS h(uid, n)"
                " JOIN users u ON u.auth_uid = h.uid ORDER BY h.n RETURNING id)"
                " SELECT min(id) FROM made",
                uids=list(hosts),
            )
        )


def realm_services(source_root: Path, label: str, data: dict[str, Any]) -> list[Service]:
    cohort = [f"bench-{n}" for n in range(200)]
    cohort_tokens = [_token(uid) for uid in cohort]
    host_token = _token(HOST_UID)
    party = data["big_party"]
    env = {"PYTHONPATH": str(source_root / "shared")} if source_root != REPO else {}
    env["REALM_QUOTAS"] = QUOTAS
    list_paths = [("/?view=invited&limit=20", token) for token in cohort_tokens]
    get_paths = [(f"/?party_id={p}", _token(uid)) for p, uid in data["get_party"]]
    guest_paths = [
        (f"/?party_id={party}&limit=50", host_token),
        (f"/?party_id={party}&status=confirmed&limit=50", host_token),
        (f"/?party_id={party}&status=waitlisted&limit=50", host_token),
    ]
    # One-word queries of three kinds: a handle prefix, a name word, an exact handle.
    find_paths = [
        (f"/?q={q}&limit=20", cohort_tokens[n % len(cohort_tokens)])
        for n, q in enumerate(
            q for n in range(1, 201) for q in (f"bench{n}", f"user%20{n * 7}", f"bench{n * 97}")
        )
    ]
    respond_callers = [(_token(uid), str(p)) for p, uid in data["respond"]]
    first, last = data["guests"]

    def function(folder: str, script: str, probe: tuple[str, str] | None, **more: Any) -> Service:
        name = folder.replace("_", "-") + label
        kind = "write" if folder in WRITE_FUNCTIONS else "read"
        source = source_root / "functions" / folder / "main.py"

        def command(port: int) -> list[str]:
            return functions_framework(folder, port, source)

        return Service(name, kind, command, script, probe, env, **more)

    return [
        function("list_parties", gets_script(list_paths), list_paths[0]),
        function("me", gets_script(list_paths), list_paths[0]),
        function("get_party", gets_script(get_paths), get_paths[0]),
        function("list_guests", gets_script(guest_paths), guest_paths[0]),
        function("find_users", gets_script(find_paths), find_paths[0]),
        function(
            "create_invite",
            posts_script(
                [(token, str(n)) for n, token in enumerate(cohort_tokens)],
                # Each host invites to a party of their own (a host's quota counts their own
                # invites only), a new guest each request: thread t of `threads` takes every
                # threads-th id after the hosts'.
                f"'{{\"party_id\":' .. (offset + arg) .. ',\"guest_id\":' .. ({first + len(cohort)}"
                f" + (k * threads + t) % {last - first - len(cohort)}) .. '}}'",
            ),
            None,
            prepare=lambda: [str(fresh_parties(cohort))],
        ),
        function(
            "respond_invite",
            posts_script(
                respond_callers,
                # Each caller's answers alternate, so (nearly) every one changes the invite and
                # writes its event to the outbox.
                '\'{"party_id":\' .. arg .. \',"response":"\''
                " .. ((math.floor(k / mine) % 2 == 0) and 'confirmed' or 'declined') .. '\"}'",
            ),
            None,
            prepare=lambda: ["0"],
        ),
    ]


def other_services(hello: Path, data: dict[str, Any]) -> list[Service]:
    cohort_tokens = [_token(f"bench-{n}") for n in range(200)]
    list_paths = [("/?view=invited&limit=20", token) for token in cohort_tokens]
    floor = Service(
        "functions-framework hello world (the floor)",
        "floor",
        lambda port: functions_framework("hello", port, hello),
        gets_script(list_paths),
        list_paths[0],
    )
    key = {"YARDSTICK_PUBLIC_KEY": str(_public_key())}
    return [floor] + [
        Service(name, "yardstick", command, gets_script(list_paths), list_paths[0], key)
        for name, command in yardstick_commands().items()
    ]


def _public_key() -> Path:
    from realm.config import settings
    from realm.edge.auth import public_key_file

    assert settings.local_key_file is not None
    return public_key_file(settings.local_key_file)


# -- running ------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    kind: str
    runs: list[Run]
    cold_s: list[float] = field(default_factory=list)


def measure(service: Service, seconds: float, workdir: Path, profile: Path | None = None) -> Result:
    from realm.devstack.ports import free_port

    script = workdir / "load.lua"
    script.write_text(service.script)
    port = free_port()
    env = {**os.environ, **service.env}
    runs = []
    with server_process(service.command(port), port, env, workdir / "server.log") as process:
        if service.probe is not None:
            first_ok(port, service.probe[0], service.probe[1], 60)
        for clients in (1, 8):
            args = service.prepare() if service.prepare else []
            # A short warm-up at the same concurrency: every thread's connection, prepared
            # statements and caches exist before the measured run.
            wrk(port, script, clients, 1, process.pid, args)
            args = service.prepare() if service.prepare else args
            runs.append(wrk(port, script, clients, seconds, process.pid, args))
            if runs[-1].errors:
                print(f"  {service.name}: {runs[-1].errors} non-2xx answers", file=sys.stderr)
        if profile is not None:
            from bench import profile as profiling

            worker = (children(process.pid) or [process.pid])[0]
            args = service.prepare() if service.prepare else []
            profiling.record(
                worker, profile, seconds, lambda: wrk(port, script, 8, seconds, process.pid, args)
            )
    return Result(service.name, service.kind, runs)


def cold_starts(service: Service, runs: int, workdir: Path) -> list[float]:
    assert service.probe is not None, "cold starts are measured for GETs"
    env = {**os.environ, **service.env}
    return [
        cold_start(service.command, env, service.probe, workdir / "cold.log", 60)
        for _ in range(runs)
    ]


def compiled(*paths: str | Path) -> None:
    """Byte-compiles every module under ``paths``, as pip leaves installed packages: where
    PYTHONDONTWRITEBYTECODE is set (this machine sets it) each process would otherwise compile
    every module that has no .pyc, on every start, and the cold starts would time the compiler."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *map(str, paths)],
        stdout=subprocess.DEVNULL,
        check=False,  # a module that does not compile fails where it is imported, not here
    )


def _load() -> str:
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


def report(results: list[Result], floor_rps: float) -> str:
    rows = []
    for result in results:
        one, eight = result.runs
        cold = f"{statistics.median(result.cold_s):.3f}" if result.cold_s else ""
        of_floor = f"{one.rps / floor_rps:.0%}" if result.kind in ("read", "write") else ""
        rows.append(
            [
                result.name,
                f"{one.rps:,.0f}",
                f"{one.p50_ms:.2f}",
                f"{one.p99_ms:.2f}",
                f"{eight.rps:,.0f}",
                f"{eight.p50_ms:.2f}",
                f"{eight.p99_ms:.2f}",
                f"{eight.cpu_ms:.3f}",
                cold,
                of_floor,
                str(one.errors + eight.errors) if one.errors + eight.errors else "",
            ]
        )
    header = [
        "service",
        "1 client req/s",
        "p50 ms",
        "p99 ms",
        "8 clients req/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req (8)",
        "cold start s",
        "of floor (1)",
        "non-2xx",
    ]
    return markdown(rows, header)


def markdown(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets(results: list[Result]) -> str:
    """The issue-13 ratios, when ``--only`` left every service they compare in the run."""
    by_name = {result.name: result for result in results}
    ours = by_name.get("list-parties")
    fast = next((r for r in results if r.name.startswith("FastAPI")), None)
    slow = next((r for r in results if r.name.startswith("Django")), None)
    floor = next((r for r in results if r.kind == "floor"), None)
    if ours is None or fast is None or slow is None or floor is None:
        return "(no target ratios: the run left out list-parties, the floor or a yardstick)"
    lines = []
    for index, clients in ((0, 1), (1, 8)):
        mine = ours.runs[index].rps
        lines.append(
            f"list-parties, {clients} client(s): {mine / fast.runs[index].rps:.2f}x FastAPI,"
            f" {mine / slow.runs[index].rps:.2f}x Django, {mine / floor.runs[index].rps:.0%}"
            " of the floor"
        )
    lines.append(f"list-parties CPU per request at 8 clients: {ours.runs[1].cpu_ms:.3f} ms")
    if ours.cold_s and floor.cold_s:
        ratio = statistics.median(ours.cold_s) / statistics.median(floor.cold_s)
        lines.append(f"list-parties cold start: {ratio:.2f}x the floor's")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--baseline", help="a git ref whose functions run beside this tree's")
    parser.add_argument("--profile", help="a function to profile with py-spy (list-parties)")
    parser.add_argument("--only", help="comma-separated service names (default: all)")
    parser.add_argument("--no-fill", action="store_true", help="DATABASE_URL is filled already")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            print("wrk is missing: sudo apt-get install wrk", file=sys.stderr)
            return 1
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)

    compiled(
        sysconfig.get_paths()["purelib"], *(REPO / f for f in ("shared", "functions", "bench"))
    )
    results: list[Result] = []
    imports: list[list[str]] = []
    load_before = _load()
    # The fill inserts a million rows in single statements; the servers get the usual bounds.
    with scratch_database(unbounded_fill=True, reuse=args.no_fill) as scratch:
        workdir = scratch.workdir
        if not args.no_fill:
            migrate()
            fill(args.invites)
            from bench.hosting import big_party

            big_party()
        # This process keeps no bound, as for the fill: realm.config reads the environment once,
        # when first imported (here at the latest). The servers started from here on are bounded.
        data = _data()
        for name in UNBOUNDED_FILL:
            os.environ.pop(name)
        hello = REPO / "bench" / "yardsticks" / "hello.py"
        services = other_services(hello, data) + realm_services(REPO, "", data)
        if args.baseline:
            base = workdir / "baseline"
            base.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.baseline, "functions", "shared"],
                cwd=REPO,
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            compiled(base)
            before = realm_services(base, f" ({args.baseline})", data)
            # Interleaved: each function before, then after, so that drift hits both alike.
            mine = [s for s in services if s.kind in ("read", "write")]
            services = [s for s in services if s.kind not in ("read", "write")]
            for old, new in zip(before, mine, strict=True):
                services += [old, new]
        if args.only:
            wanted = set(args.only.split(","))
            services = [s for s in services if s.name in wanted or s.kind == "floor"]
        for service in services:
            print(f"measuring {service.name} (load {_load()})", file=sys.stderr)
            profile_to = None
            if args.profile and service.name == args.profile:
                profile_to = workdir / "profile.txt"
            result = measure(service, args.seconds, workdir, profile_to)
            if service.kind != "write":
                result.cold_s = cold_starts(service, args.cold_runs, workdir)
            results.append(result)
            if profile_to is not None:
                print(profile_to.read_text())
        for folder in READ_FUNCTIONS:
            framework, on_top, loaded = import_times(folder, REPO, args.cold_runs)
            name = folder.replace("_", "-")
            modules = ", ".join(loaded) or "none"
            imports.append([name, f"{framework:.0f}", f"{on_top:.0f}", modules])

    print(
        f"\n{args.invites:,} invites; {args.seconds:.0f}s per run (wrk, one connection per"
        f" client); load average before {load_before}, after {_load()}; 2 cores shared by"
        " client, server and PostgreSQL\n"
    )
    print(report(results, results[0].runs[0].rps))
    print()
    header = ["function", "functions_framework ms", "main.py on top ms", "cloud/PIL modules"]
    print(markdown(imports, header))
    if any(r.name == "list-parties" for r in results) and len(results) > 2:
        print("\n" + targets(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
