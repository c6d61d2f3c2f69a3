"""Continuous sync end to end: simulator → webhooks → relay → agent → Sage sandbox.

Run as ``python3 bench/sync.py [--seconds 60] [--rate 20] [--workdir DIR] [--phase clean|faults]``;
prints one JSON object per phase and a summary table.

Everything runs as an operator runs it: ``recon demo`` sets up the books, the simulator serves
the demo's world on loopback (in this process, which drives it), ``recon relay serve`` and
``recon sync`` are separate processes, and the agent reaches the relay through a TCP proxy
that the faults phase can cut. Each change renames a ServiceTrade customer; its latency is
the wall time from the change until the Sage sandbox shows the new name (the moment its
posting is written and confirmed). Customers are renamed in rotation, so a customer is not
renamed again before its last rename has had time to land.

The faults phase adds 20% webhook loss, duplicates and reordering, one kill -9 of the relay
and one dropped agent WebSocket mid-run; polling every ``--poll`` seconds is the backstop.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simulator

OUT = Path(__file__).resolve().parent / "out"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A TCP proxy on loopback whose open connections can be cut (a dropped WebSocket)."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> int:
        with self.lock:
            cut, self.open = list(self.open), set()
        for s in cut:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        return len(cut) // 2


class Relay:
    """``recon relay serve`` as a process that can be killed and started again."""

    def __init__(self, workdir: Path, token: str, secret: str) -> None:
        self.hook_port, self.agent_port = free_port(), free_port()
        self.args = [
            sys.executable, "-m", "cli", "relay", "serve",
            "--store", f"sqlite:///{workdir / 'relay.db'}",
            "--hook-port", str(self.hook_port), "--agent-port", str(self.agent_port),
            "--agent-token", f"bench={token}", "--hook-secret", secret, "--quiet",
        ]  # fmt: skip
        self.log = (workdir / "relay.log").open("a")
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.hook_port), 1):
                return process
            time.sleep(0.05)
        raise RuntimeError("the relay did not start")

    def kill9(self) -> None:
        self.process.kill()  # SIGKILL: no shutdown, no flush
        self.process.wait()
        self.process = self.start()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=15)


def configure(workdir: Path, sim: Any, relay: Relay, proxy: Proxy, token: str, secret: str,
              poll: int) -> None:  # fmt: skip
    import tomllib

    import tomli_w

    path = workdir / "recon.toml"
    data = tomllib.loads(path.read_text())
    data["servicetrade"].update(
        base_url=sim.base_url,
        client_id=simulator.DEFAULT_CLIENT_ID,
        client_secret=simulator.DEFAULT_CLIENT_SECRET,
    )
    data["partsledger"].update(
        base_url=sim.partsledger_url,
        client_id=simulator.DEFAULT_PL_CLIENT_ID,
        client_secret=simulator.DEFAULT_PL_CLIENT_SECRET,
    )
    data["relay"] = {
        "mode": "remote",
        "url": f"ws://127.0.0.1:{proxy.port}",
        "token": token,
        "hook_url": f"http://127.0.0.1:{relay.hook_port}/hooks/{secret}",
    }
    data["sync"] = {"poll_interval_seconds": poll, "backoff_max_seconds": 5}
    # Renaming a customer is an update of its Sage client: let it post without a person.
    data["policy"] = {"unattended": ["create", "update"]}
    path.write_text(tomli_w.dumps(data))


class Watcher:
    """Reads the Sage sandbox every 20 ms and notes when each rename shows."""

    def __init__(self, sage: Path) -> None:
        self.sage = sage
        self.pending: dict[str, list[tuple[str, float]]] = {}  # link key -> [(name, t0)]
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def expect(self, key: str, name: str, t0: float) -> None:
        with self.lock:
            self.pending.setdefault(key, []).append((name, t0))

    def waiting(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.pending.values())

    def _run(self) -> None:
        conn = sqlite3.connect(f"file:{self.sage}?mode=ro", uri=True, timeout=5)
        while not self.stopping.wait(0.02):
            try:
                rows = conn.execute("select usrdf1, clnnme from reccln").fetchall()
            except sqlite3.OperationalError:
                continue
            now = time.monotonic()
            held = dict(rows)
            with self.lock:
                for key, changes in list(self.pending.items()):
                    names = [name for name, _ in changes]
                    if held.get(key) in names:
                        # Sage shows this rename: it and any earlier one of the same customer
                        # (overtaken before it landed) have reached Sage.
                        upto = names.index(held[key])
                        self.latencies += [now - t0 for _, t0 in changes[: upto + 1]]
                        rest = changes[upto + 1 :]
                        if rest:
                            self.pending[key] = rest
                        else:
                            del self.pending[key]
        conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def duplicates(sage: Path) -> dict[str, int]:
    with sqlite3.connect(sage) as conn:
        clients = conn.execute(
            "select count(*) from (select usrdf1 from reccln where usrdf1 != '' "
            "group by usrdf1 having count(*) > 1)"
        ).fetchone()[0]
        invoices = conn.execute(
            "select count(*) from (select usrdf1 from acrinv where usrdf1 != '' and status != 5 "
            "group by usrdf1 having count(*) > 1)"
        ).fetchone()[0]
    return {"clients": int(clients), "ar_invoices": int(invoices)}


def run_phase(template: Path, root: Path, phase: str, seconds: float, rate: float,
              poll: int) -> dict[str, Any]:  # fmt: skip
    workdir = root / phase
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(template, workdir)
    text = (workdir / "recon.toml").read_text().replace(str(template), str(workdir))
    (workdir / "recon.toml").write_text(text)
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    with simulator.run_simulator(state_file=workdir / "simulator.json") as sim:
        relay = Relay(workdir, token, secret)
        proxy = Proxy(relay.agent_port)
        configure(workdir, sim, relay, proxy, token, secret, poll)
        log = (workdir / "sync.log").open("w")
        agent = subprocess.Popen(
            [sys.executable, "-m", "cli", "sync", "--config", str(workdir / "recon.toml"),
             "--log-format", "json"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sage = workdir / "sage.db"
        try:
            deadline = time.monotonic() + 60
            while not (sim.summary()["webhooks"]["registered"] and _polled(workdir)):
                if time.monotonic() > deadline or agent.poll() is not None:
                    raise RuntimeError(f"the agent did not start: see {workdir / 'sync.log'}")
                time.sleep(0.1)
            if phase == "faults":
                sim.webhook_faults(loss=0.2, duplicate=0.1, reorder=0.2)
            with sqlite3.connect(sage) as conn:
                linked = dict(conn.execute("select usrdf1, recnum from reccln where usrdf1 != ''"))
            world = sim.state.world
            customers = sorted(
                c.id for c in world.companies.values() if any(str(c.id) in k for k in linked)
            )
            keys = {c: next(k for k in linked if k.endswith(str(c))) for c in customers}
            watcher = Watcher(sage)
            changes = 0
            faults: list[dict[str, Any]] = []
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < seconds:
                if phase == "faults" and not faults and elapsed > seconds / 3:
                    relay.kill9()
                    faults.append({"at_seconds": round(elapsed, 1), "fault": "relay kill -9"})
                if phase == "faults" and len(faults) == 1 and elapsed > 2 * seconds / 3:
                    cut = proxy.cut()
                    what = f"agent WebSocket dropped (connections cut: {cut})"
                    faults.append({"at_seconds": round(elapsed, 1), "fault": what})
                company = customers[changes % len(customers)]
                name = f"Bench Customer {changes:05d}"
                sim.mutate("company", company, {"name": name})
                watcher.expect(keys[company], name, time.monotonic())
                changes += 1
                time.sleep(max(start + changes / rate - time.monotonic(), 0))
            drive = time.monotonic() - start
            settle_deadline = time.monotonic() + 3 * poll + 30
            while watcher.waiting() and time.monotonic() < settle_deadline:
                time.sleep(0.1)
            watcher.stopping.set()
            watcher.thread.join()
            stats = sim.webhook_stats()
        finally:
            agent.send_signal(signal.SIGTERM)
            stop_started = time.monotonic()
            agent_code = agent.wait(timeout=30)
            stop_seconds = time.monotonic() - stop_started
            relay.stop()
            log.close()
    latencies = watcher.latencies
    return {
        "phase": phase,
        "changes": changes,
        "rate_per_second": round(changes / drive, 1),
        "drive_seconds": round(drive, 1),
        "poll_interval_seconds": poll,
        "customers_in_rotation": len(customers),
        "landed": len(latencies),
        "lost": watcher.waiting(),
        "duplicated_in_sage": duplicates(sage),
        "latency_seconds": {
            "p50": round(percentile(latencies, 50), 3),
            "p95": round(percentile(latencies, 95), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies), 3) if latencies else None,
            "mean": round(statistics.fmean(latencies), 3) if latencies else None,
        },
        "faults": faults,
        "webhooks": stats,
        "agent_exit": agent_code,
        "agent_stop_seconds": round(stop_seconds, 2),
    }


def _polled(workdir: Path) -> bool:
    text = (workdir / "sync.log").read_text()
    return '"polled": ["' in text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="source changes per second")
    parser.add_argument("--poll", type=int, default=10, help="the agent's poll interval, s")
    parser.add_argument("--phase", choices=("clean", "faults", "both"), default="both")
    parser.add_argument("--workdir", type=Path, default=OUT / "sync")
    args = parser.parse_args()
    root = args.workdir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    template = root / "template"
    if template.exists():
        shutil.rmtree(template)
    subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--workdir", str(template)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    phases = ("clean", "faults") if args.phase == "both" else (args.phase,)
    results = []
    for phase in phases:
        result = run_phase(template, root, phase, args.seconds, args.rate, args.poll)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "summary": {
                    r["phase"]: {
                        "changes": r["changes"],
                        "lost": r["lost"],
                        "duplicated": r["duplicated_in_sage"],
                        **{k: r["latency_seconds"][k] for k in ("p50", "p95", "p99")},
                    }
                    for r in results
                },
            }
        )
    )


if __name__ == "__main__":
    main()
