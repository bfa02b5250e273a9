"""Enrolments by 1, 2 and 4 programs at once: one shared events table against one table per program.

    .venv/bin/python bench/programs_parallel.py [--quick] [--rounds 3] [--per-program 400] [--modes threads,processes]

Issue 16 section 3. Each measurement makes fresh tables in a throwaway PostgreSQL database and N
small programs (one timeslot, 50-seat sections, fresh students with profiles); N clients enrol at
once, client i only in program i (`complete_registration`, as bench/commands.py). Layouts:
shared_table (today: every program in one events table, the clients' apps share one name);
own_tables (an app class per program, `Reg<tag>P<i>`: eventsourcing names the table
`<app name lower>_events`, each app has its own pool); own_tables_no_notify (the same, saving
without the library's NOTIFY, which takes one cluster-wide lock per commit); program_logs (the
product's per_program layout: one application, each program in its own table inheriting the
shared one, `adapters/program_logs_app.py`). Clients are threads
of this process or spawned processes (one app each: no shared GIL). Baselines, same round: the
raw `BEGIN; LOCK TABLE .. EXCLUSIVE; INSERT; COMMIT` from N connections into one table, into N
tables, and into N tables with a NOTIFY. Rounds alternate the order of N; figures are medians.

Around each timed window: machine CPU (/proc/stat), the CPU of this database's backends and the
WAL writer (/proc/<pid>/stat), client CPU (os.times), pg_stat_wal and xact_commit deltas (the WAL
counters are cluster-wide), and this database's active backends sampled every 20 ms, counted by
wait event ("CPU" = none). Output: JSON lines {"name", "value", "unit", "baseline", "ratio"}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from _baseline import figure, pg_create_events_table, pg_raw_locked, run_threads
from commands import ADMIN, Scenario, emit, enroll_all, log, pg_settings, plan, throwaway_database, warm
from psycopg import sql
from psycopg.conninfo import make_conninfo

from regledger.adapters.bootstrap import build_application
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.domain.application import Registration
from regledger.domain.ids import SectionId, program_id
from regledger.domain.values import CommandContext

PROGRAMS = (1, 2, 4)
LAYOUTS = ("shared_table", "own_tables", "own_tables_no_notify", "program_logs")
TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 2
Clients = tuple[Callable[[], tuple[int, float, float]], Callable[[], None]]  # (timed run, close)
Results = dict[str, tuple[float, dict[str, float]]]
Lane = tuple[str, str, list[tuple[str, SectionId]]]  # (app name, program slug, (student, section) pairs)

_classes: dict[str, type[Registration]] = {"Registration": Registration}


def app_class(name: str) -> type[Registration]:
    """The Registration application under another name, hence another events table; a name
    ending in "Logs" is the per_program layout's application (a table per program under it)."""
    if name not in _classes:
        base = ProgramLogRegistration if name.endswith("Logs") else Registration
        _classes[name] = type(name, (base,), {"name": name})
    return _classes[name]


def open_named(params: dict[str, Any], name: str, pool: int) -> Registration:
    """The app of that name; a name ending in "Quiet" saves without the library's NOTIFY."""
    settings = pg_settings(params, pool)
    settings.prepare()
    app = build_application(settings, app_class=app_class(name))
    if name.endswith("Quiet"):
        # NOTIFY takes PostgreSQL's one notification-queue lock (a heavyweight lock on "object"
        # database 0) from pre-commit to the end of the commit: every NOTIFYing commit of the
        # cluster is serialised, whichever table. Without it: what separate tables alone give.
        one_trip = app.recorder.one_trip  # type: ignore[attr-defined]
        with app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            text = one_trip._head.as_string(conn)
        one_trip._head_text = re.sub(r"NOTIFY [^;]+; ", "", text)
    return app


class ProgramScenario(Scenario):
    """bench/commands.py's scenario for a program with a given slug (one timeslot)."""

    def __init__(self, app: Registration, slug: str) -> None:
        self.app, self.made, self.program = app, 0, program_id(slug)
        app.create_program(slug, slug, CommandContext(actor=ADMIN), school_year=2027)
        start = datetime(2027, 3, 6, 9, tzinfo=UTC)
        added = app.add_timeslot(self.program, "T1", start, start + timedelta(minutes=50), CommandContext(actor=ADMIN))
        self.timeslot = UUID(added.ids["timeslot_id"])


def set_up(params: dict[str, Any], names: list[str], tag: str, per_program: int) -> list[Lane]:
    """Program i in the table of names[i]: sections with room, fresh students (+1 for warm-up)."""
    lanes: list[Lane] = []
    setups: dict[str, Registration] = {}
    try:
        for i, name in enumerate(names):
            setup = setups.get(name) or setups.setdefault(name, open_named(params, name, 4))
            slug = f"{tag}-p{i}"
            scenario = ProgramScenario(setup, slug)
            items = plan(scenario, per_program, 1, slug)[0]
            warm_up = (f"{slug}-warm", scenario.sections(1)[0])
            scenario.students([warm_up[0]], threads=1)
            lanes.append((name, slug, [warm_up, *items]))
    finally:
        for setup in setups.values():
            setup.close()
    return lanes


def ready(app: Registration, lane: Lane) -> list[tuple[str, SectionId]]:
    """Warm the app as a running server is, enrol the warm-up student; the rest is the timed work."""
    _, slug, items = lane
    warm(app, program_id(slug), sorted({s for _, s in items}))
    enroll_all(app, program_id(slug), items[:1])
    return items[1:]


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies over all cores."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def pid_cpu(pids: list[int]) -> float:
    seconds = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            seconds += (int(rest[11]) + int(rest[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return seconds


class Probe:
    """Deltas over one timed window (see module doc); `samples` counts wait events."""

    def __init__(self, conninfo: str, dbname: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.dbname = dbname
        self.samples: Counter[str] = Counter()
        self.stopping = threading.Event()

    def snapshot(self) -> dict[str, Any]:
        wal = self.conn.execute(
            "SELECT wal_records, wal_write, wal_sync, wal_write_time, wal_sync_time FROM pg_stat_wal"
        ).fetchone()
        commits = self.conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (self.dbname,)
        ).fetchone()
        pids = [
            r[0]
            for r in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = %s AND pid <> pg_backend_pid()) "
                "OR backend_type = 'walwriter'",
                (self.dbname,),
            )
        ]
        busy, total = machine_cpu()
        return {"wal": wal, "commits": commits[0], "pids": pids, "busy": busy, "total": total, "t": time.monotonic()}

    def sample(self) -> None:
        with psycopg.connect(self.conn.info.dsn, autocommit=True) as conn:
            query = (
                "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()"
            )
            while not self.stopping.wait(0.02):
                for kind, event in conn.execute(query, (self.dbname,), prepare=True):
                    self.samples["CPU" if event is None else f"{kind}:{event}"] += 1
                self.samples["(samples)"] += 1

    def measure(self, clients: Clients) -> tuple[float, dict[str, float]]:
        """(commands/s, what bounded it); the clients' connections stay open until `finish`."""
        run, finish = clients
        self.samples.clear()
        self.stopping.clear()
        sampler = threading.Thread(target=self.sample, daemon=True)
        sampler.start()
        before = self.snapshot()
        server_before = pid_cpu(before["pids"])
        done, client_cpu, run_wall = run()
        after = self.snapshot()
        server = pid_cpu(before["pids"]) - server_before
        self.stopping.set()
        sampler.join()
        finish()
        wall = after["t"] - before["t"]
        machine = (after["busy"] - before["busy"]) / max(1, after["total"] - before["total"])
        records, _writes, syncs, _write_ms, sync_ms = (a - b for a, b in zip(after["wal"], before["wal"], strict=True))
        commits = after["commits"] - before["commits"]
        active = max(1, sum(v for k, v in self.samples.items() if k != "(samples)"))

        def share(*events: str) -> float:  # of the active backends' samples
            return sum(self.samples[e] for e in events) / active

        stats = {
            "cpu_busy_of_2_cores": machine,
            "client_cpu_ms_per_command": 1000 * client_cpu / max(1, done),
            "server_cpu_ms_per_command": 1000 * server / max(1, done),
            "others_cpu_share_of_2_cores": max(0.0, machine - (client_cpu + server) / wall / CORES),
            "commits_per_wal_sync": commits / max(1, syncs),
            "wal_sync_ms_mean": float(sync_ms) / max(1, syncs),
            "wal_sync_busy_share": float(sync_ms) / 1000 / wall,
            "wal_records_per_commit": records / max(1, commits),
            "active_backends_mean": active / max(1, self.samples["(samples)"]),
            "wait_share.table_lock": share("Lock:relation"),
            "wait_share.notify_lock": share("Lock:object"),
            "wait_share.wal_flush": share("IO:WALSync", "LWLock:WALWrite", "IO:WALWrite"),
            "wait_share.client": share("Client:ClientRead"),
            "wait_share.cpu": share("CPU"),
        }
        top = ", ".join(f"{k} {v / max(1, active):.0%}" for k, v in self.samples.most_common(6) if k != "(samples)")
        log(f"    {done} commands in {wall:.2f} s; wait events of active backends: {top}")
        return done / run_wall, stats


def timed_threads(count: int, work: Callable[[int], int], items: int) -> tuple[int, float, float]:
    """(items, this process's CPU s, wall s) of work(i) on `count` threads, `items` in all."""
    cpu = os.times()
    rate = run_threads(count, work)
    used = os.times()
    return items, used.user - cpu.user + used.system - cpu.system, items / rate


def run_in_threads(params: dict[str, Any], lanes: list[Lane]) -> Clients:
    """One app per distinct name (pool = its clients), warmed; returns the timed run."""
    names = Counter(name for name, _, _ in lanes)
    apps = {name: open_named(params, name, count) for name, count in names.items()}
    work = [ready(apps[name], lane) for lane in lanes for name in [lane[0]]]

    def finish() -> None:
        for app in apps.values():
            app.close()

    def enrol(i: int) -> int:
        return enroll_all(apps[lanes[i][0]], program_id(lanes[i][1]), work[i])

    return lambda: timed_threads(len(lanes), enrol, sum(len(w) for w in work)), finish


def client_process(params: dict[str, Any], lane: Lane, barriers: Any, results: Any, opening: Any) -> None:
    with opening:  # the library's CREATE OR REPLACE FUNCTION is per schema: concurrent starts collide
        app = open_named(params, lane[0], 1)
    try:
        work = ready(app, lane)
        for barrier in barriers[:2]:  # warmed (the parent's probe then sees this connection); go
            barrier.wait()
        cpu = os.times()
        enroll_all(app, program_id(lane[1]), work)
        used = os.times()
        results.put((len(work), used.user - cpu.user + used.system - cpu.system, time.monotonic()))
        barriers[-1].wait()  # measured: the parent has read this backend's CPU
    finally:
        app.close()


def run_in_processes(params: dict[str, Any], lanes: list[Lane]) -> Clients:
    """One spawned process (one app, pool 1) per lane; they start together at a barrier."""
    ctx = mp.get_context("spawn")
    barriers, results, opening = tuple(ctx.Barrier(len(lanes) + 1) for _ in range(3)), ctx.Queue(), ctx.Lock()
    procs = [ctx.Process(target=client_process, args=(params, lane, barriers, results, opening)) for lane in lanes]
    for proc in procs:
        proc.start()
    barriers[0].wait(timeout=300)

    def timed() -> tuple[int, float, float]:
        barriers[1].wait(timeout=300)  # the window opens as the clients start
        start = time.monotonic()
        outcomes = [results.get(timeout=600) for _ in procs]
        return sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), max(o[2] for o in outcomes) - start

    def finish() -> None:
        barriers[2].wait(timeout=60)
        for proc in procs:
            proc.join()

    return timed, finish


def raw_clients(conninfo: str, tables: list[str], rows: int, notify: bool = False) -> Clients:
    """The raw locked insert transaction (+ NOTIFY), connection i into tables[i]."""
    per = rows // len(tables)
    conns = [psycopg.connect(conninfo, autocommit=True) for _ in tables]

    def work(i: int) -> int:
        conn = conns[i]
        lock = sql.SQL("LOCK TABLE {t} IN EXCLUSIVE MODE").format(t=sql.Identifier(tables[i]))
        insert = sql.SQL(
            "INSERT INTO {t} (originator_id, originator_version, topic, state) VALUES (gen_random_uuid(), 1, 't', %s) "
            "RETURNING notification_id"
        ).format(t=sql.Identifier(tables[i]))
        for _ in range(per):
            with conn.transaction():
                conn.execute(lock, prepare=True)
                if notify:
                    conn.execute(sql.SQL("NOTIFY {c}").format(c=sql.Identifier(tables[i])))
                conn.execute(insert, (b"x" * 280,), prepare=True).fetchone()
        return per

    def finish() -> None:
        for conn in conns:
            conn.close()

    return lambda: timed_threads(len(tables), work, per * len(tables)), finish


def measure_round(params: dict[str, Any], probe: Probe, n: int, tag: str, args: argparse.Namespace) -> Results:
    """Every variant for n programs, back to back: {key: (rate, stats)}."""
    out: Results = {}
    conninfo = make_conninfo("", **params)
    tables = [f"raw_{tag}_{i}" for i in range(n)]
    for table in tables:
        pg_create_events_table(conninfo, table)
    pg_raw_locked(conninfo, tables[0], 200)  # warm
    rows = args.raw_per_program * n
    out[f"raw_locked.one_table.{n}"] = probe.measure(raw_clients(conninfo, [tables[0]] * n, rows))
    out[f"raw_locked.own_tables.{n}"] = probe.measure(raw_clients(conninfo, tables, rows))
    out[f"raw_locked_notify.own_tables.{n}"] = probe.measure(raw_clients(conninfo, tables, rows, notify=True))
    for mode in args.modes.split(","):
        runner = run_in_threads if mode == "threads" else run_in_processes
        for layout in LAYOUTS:
            lane_tag, quiet = f"{tag}{mode[0]}{LAYOUTS.index(layout)}", "Quiet" if "no_notify" in layout else ""
            own = "" if layout in ("shared_table", "program_logs") else "P{i}"
            suffix = "Logs" if layout == "program_logs" else quiet
            names = [f"Reg{lane_tag}{own.format(i=i)}{suffix}" for i in range(n)]
            lanes = set_up(params, names, lane_tag, args.per_program)
            out[f"{layout}.{mode}.{n}"] = probe.measure(runner(params, lanes))
    return out


def baseline_of(key: str) -> str | None:
    """The figure a rate is compared with (same run): apps against the raw transaction."""
    kind, *_, n = key.split(".")
    return {
        "raw_locked": f"raw_locked.one_table.{n}" if ".own_tables." in key else None,
        "raw_locked_notify": f"raw_locked.own_tables.{n}",
        "shared_table": f"raw_locked.one_table.{n}",
    }.get(kind, f"raw_locked.own_tables.{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 200 enrolments per program (a smoke run)")
    parser.add_argument("--per-program", type=int, default=400, help="timed enrolments per program")
    parser.add_argument("--raw-per-program", type=int, default=1500, help="raw transactions per connection")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions; figures are the medians")
    parser.add_argument("--modes", default="threads,processes")
    args = parser.parse_args()
    if args.quick:
        args.per_program, args.raw_per_program, args.rounds = 200, 500, 1
    os.environ["PGOPTIONS"] = "-c track_wal_io_timing=on"  # this script's sessions time their WAL I/O
    log(f"load average at start: {os.getloadavg()}")
    runs: dict[str, list[tuple[float, dict[str, float]]]] = {}
    with throwaway_database() as params:
        probe = Probe(make_conninfo("", **params), params["dbname"])
        for r in range(args.rounds):
            for n in PROGRAMS if r % 2 == 0 else PROGRAMS[::-1]:  # alternate, so drifting load evens out
                log(f"-- round {r + 1}, {n} program(s); load {os.getloadavg()[0]:.2f}")
                for key, value in measure_round(params, probe, n, f"r{r}n{n}", args).items():
                    runs.setdefault(key, []).append(value)
                    log(f"  {key}: {value[0]:,.0f}/s")
        probe.conn.close()

    results: list[dict[str, Any]] = []
    rates = {key: statistics.median(rate for rate, _ in values) for key, values in runs.items()}
    for key, values in runs.items():
        unit = "txn/s" if key.startswith("raw") else "commands/s"
        emit(results, figure(f"programs.{key}.{unit.split('/', maxsplit=1)[0]}_per_s", rates[key], unit,
                             rates.get(baseline_of(key) or "")))  # fmt: skip
        for stat in values[0][1]:
            value = statistics.median(stats[stat] for _, stats in values)
            print(json.dumps({"name": f"programs.{key}.{stat}", "value": round(value, 3), "unit": "",
                              "baseline": None, "ratio": None}), flush=True)  # fmt: skip
    for mode in args.modes.split(","):
        for n in PROGRAMS:
            for layout in LAYOUTS[1:]:
                emit(results, figure(f"programs.{layout}_vs_shared.{mode}.{n}.ratio", rates[f"{layout}.{mode}.{n}"],
                                     "commands/s", rates[f"shared_table.{mode}.{n}"]))  # fmt: skip
        for layout in LAYOUTS:
            for n in PROGRAMS[1:]:
                emit(results, figure(f"programs.{layout}.{mode}.{n}_vs_1.ratio", rates[f"{layout}.{mode}.{n}"],
                                     "commands/s", rates[f"{layout}.{mode}.1"]))  # fmt: skip
    log(f"load average at end: {os.getloadavg()}")
    log(f"per round: {json.dumps({k: [round(v[0]) for v in vs] for k, vs in runs.items()})}")
    log("| figure (median of rounds) | value | unit | baseline | ratio |")
    log("|---|---:|---|---:|---:|")
    for fig in results:
        baseline = "" if fig["baseline"] is None else f"{fig['baseline']:,.0f}"
        ratio = "" if fig["ratio"] is None else f"{fig['ratio']:.2f}"
        log(f"| {fig['name']} | {fig['value']:,.0f} | {fig['unit']} | {baseline} | {ratio} |")


if __name__ == "__main__":
    main()
