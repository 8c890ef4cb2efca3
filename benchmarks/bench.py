"""Benchmark: pychrony-rs against pychrony 2.0.3 and against the physical floor,
in one run, on the same lab chronyds.

Usage::

    make bench        # quick mode (a few hundred calls per figure; part of make test)
    make bench-full   # full mode: more rounds and calls, RSS over 100,000 calls
    .venv/bin/python benchmarks/bench.py [--full] [--json PATH] [--rounds R] [--calls N]

Every report of ``pychrony.registry.REPORTS`` is timed on two lab chronyds
(``tests/lab/chronylab.py``: ``client``, the basic lab with six sources, and
``many``, 150 sources), over a reused and over a fresh connection, by:

- this package (``ours``), in a worker process of its own;
- pychrony 2.0.3 (``PYCHRONY_REFERENCE_PYTHON``), in its own interpreter,
  running the same worker (``benchmarks/worker.py``);
- the floor client ``benchmarks/floor`` (Rust), which sends the same
  requests with nothing on top: the **round-trip** floor (one request at a
  time on a prepared socket), the **pipelined** floor (each phase with the
  window chronyd's socket queue holds), the **fresh-connection** floor
  (chronyc 4.8's private layout made and removed around the requests) and the
  **hardened** fresh floor (the layout made as this package makes it: every
  system call its security checks and liveness lock need, and nothing else;
  ``benchmarks/floor/src/hardened.rs``);
- chronyd itself: the **CPU floor** of a report is the sum over the requests
  it needs (``RECIPES``) of chronyd's CPU time per request of that kind,
  measured from ``/proc/<pid>/schedstat`` (nanoseconds) over a pipelined
  batch, less what chronyd spends idle over the same time.

Each round runs every figure once, clients in a rotating order, so load
from elsewhere falls on all of them alike: the ratios are the result, the
absolute times depend on the machine. The labs live on a tmpfs, as ``/run``
does on real systems: ``BENCH_TMPFS`` (default ``/dev/shm``), checked to be
one. The run prints a markdown table of medians and p90 as ratios (median
ratio, p90 ratio in parentheses) and writes the same as JSON (``--json``,
default ``target/bench/<mode>.json``). It asserts nothing about speed; it
fails only when something could not be measured.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))

import chronylab
import pychrony
from pychrony.registry import REPORTS, ReportInfo

ROOT = Path(__file__).resolve().parents[1]

#: The requests each report needs, as chrony-floor reads them: phases
#: separated by ``/`` (each waits for the one before), requests by ``,``;
#: ``*`` one per source index, ``@`` one per NTP source address (reference
#: clocks have none), ``+`` one per resolved one (not ``ID#…``), ``^`` the
#: first resolved one. A report added to the registry without a line
#: here is still timed (ours, 2.0.3), with its floors marked missing.
RECIPES: dict[str, str] = {
    "tracking": "TRACKING",
    "sources": "N_SOURCES/SOURCE_DATA*",
    "sourcestats": "N_SOURCES/SOURCESTATS*",
    "rtcdata": "RTCREPORT",
    "activity": "ACTIVITY",
    "serverstats": "SERVER_STATS",
    "smoothing": "SMOOTHING",
    "sourcename": "NTP_SOURCE_NAME^",
    "manual list": "MANUAL_LIST",
    "selectdata": "N_SOURCES/SELECT_DATA*",
    "ntpdata": "N_SOURCES/SOURCE_DATA*/NTP_DATA+",
    "authdata": "N_SOURCES/SOURCE_DATA*/AUTH_DATA@",
    "clients": "CLIENT_ACCESSES_BY_INDEX3",
}

#: The two labs: (name in the table, chronylab profile).
LABS = (("basic", "client"), ("150 sources", "many"))


@dataclass(frozen=True)
class Mode:
    """How much to measure."""

    name: str
    rounds: int
    calls: int  # per figure and round; a per-source report on the big lab gets a fifth
    cpu_requests: int  # per request kind and round, for the CPU floor
    rss_calls: int  # per report, on the basic lab


QUICK = Mode("quick", rounds=4, calls=50, cpu_requests=1500, rss_calls=1000)
FULL = Mode("full", rounds=10, calls=300, cpu_requests=10000, rss_calls=100_000)


class BenchError(RuntimeError):
    """Something could not be measured."""


# -- statistics --------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of `values`, interpolated between the closest ranks."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p90 and count."""
    return {"median_ns": quantile(values, 0.5), "p90_ns": quantile(values, 0.9), "n": len(values)}


# -- the processes -------------------------------------------------------------


class Worker:
    """A line-protocol child process: a Python worker or chrony-floor."""

    def __init__(self, argv: Sequence[str], label: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise BenchError(f"{self.label} exited (status {self.proc.wait()}) on {line!r}")
        return answer.rstrip("\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PyWorker(Worker):
    """``worker.py`` in some Python."""

    def call(self, **cmd: Any) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.ask(json.dumps(cmd)))
        if "error" in answer:
            raise BenchError(
                f"{self.label}: {cmd.get('method')} ({cmd.get('op')}): {answer['error']}"
            )
        return answer


class Floor(Worker):
    """chrony-floor, connected to one lab chronyd."""

    def ok(self, line: str) -> list[int]:
        answer = self.ask(line)
        if not answer.startswith("ok"):
            raise BenchError(f"chrony-floor: {line!r}: {answer}")
        return [int(w) for w in answer.split()[1:]]


def build_floor() -> Path:
    """Builds chrony-floor (release) into target/ and returns the binary."""
    manifest = ROOT / "benchmarks" / "floor" / "Cargo.toml"
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-q", "--manifest-path", str(manifest),
         "--target-dir", str(ROOT / "target")],
        check=True,
    )  # fmt: skip
    return ROOT / "target" / "release" / "chrony-floor"


# -- environment -------------------------------------------------------------


def fs_type(path: str) -> str:
    """The type of the filesystem holding `path` (from /proc/self/mountinfo)."""
    real = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            mount = left.split()[4].replace("\\040", " ")
            inside = real == mount or real.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, kind = mount, right.split()[0]
    return kind


def tmpfs_dir() -> str:
    """A fresh directory for the labs on a tmpfs."""
    base = os.environ.get("BENCH_TMPFS", "/dev/shm")
    kind = fs_type(base) if os.path.isdir(base) else "missing"
    if kind != "tmpfs":
        raise BenchError(
            f"{base} is not a tmpfs ({kind}); set BENCH_TMPFS to a tmpfs directory "
            "(e.g. mount -t tmpfs tmpfs /mnt/bench), where chronyd's sockets live as in /run"
        )
    return tempfile.mkdtemp(prefix="chronybench-", dir=base)


def import_ms(python: str, runs: int = 7) -> float:
    """Median cumulative import time of ``pychrony`` in `python`, in ms."""
    found = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", "import pychrony"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "pychrony":
                found.append(int(parts[1]) / 1000)
    if not found:
        raise BenchError(f"{python} -X importtime printed no line for pychrony")
    return quantile(found, 0.5)


def chronyd_label() -> str:
    """chronyd's version, e.g. ``4.3``."""
    m = re.search(r"version (\S+)", chronylab.chronyd_version())
    return m.group(1) if m else "?"


# -- the measurement -----------------------------------------------------------


@dataclass
class LabInfo:
    """One lab chronyd and the floor client connected to it."""

    name: str
    inst: chronylab.Instance
    floor: Floor
    sources: int
    addresses: int
    resolved: int
    window: int
    first_address: str
    cpu: dict[str, list[float]] = field(default_factory=dict)  # ns per request, per round


@dataclass
class Cell:
    """The samples of one figure: lab, report, connection."""

    lab: str
    report: ReportInfo
    connection: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu: list[float] = field(default_factory=list)  # the report's CPU floor, per round

    def add(self, who: str, ns: Sequence[float]) -> None:
        self.samples.setdefault(who, []).extend(ns)


def recipe_items(recipe: str) -> Iterator[str]:
    """The request items of a recipe (``SOURCE_DATA*``, ...)."""
    for phase in recipe.split("/"):
        yield from (item for item in phase.split(",") if item)


def multiplicity(item: str, lab: LabInfo) -> int:
    """How many requests an item stands for on `lab`."""
    return {"*": lab.sources, "@": lab.addresses, "+": lab.resolved}.get(item[-1], 1)


def args_for(report: ReportInfo, lab: LabInfo) -> dict[str, str] | None:
    """The report's required arguments on `lab` (an optional one, such as
    ntpdata's ``address``, is left out: the whole list is read), or None
    when the benchmark knows no value for one of them."""
    parameters = inspect.signature(getattr(pychrony.ChronyConnection, report.method)).parameters
    required = [a for a in report.args if parameters[a].default is inspect.Parameter.empty]
    known = {"address": lab.first_address}
    if not all(a in known for a in required):
        return None
    return {a: known[a] for a in required}


def rotated(items: Sequence[str], turn: int) -> list[str]:
    k = turn % len(items)
    return [*items[k:], *items[:k]]


class Bench:
    """One run."""

    def __init__(
        self, mode: Mode, reference: str, floor_bin: Path, only: Sequence[str] = ()
    ) -> None:
        self.mode = mode
        self.only = set(only)
        self.reference = reference
        self.floor_bin = floor_bin
        worker = str(ROOT / "benchmarks" / "worker.py")
        self.ours = PyWorker([sys.executable, worker], "pychrony-rs worker")
        self.ref = PyWorker([reference, worker], "pychrony 2.0.3 worker")
        self.labs: list[LabInfo] = []
        self.cells: list[Cell] = []
        self.notes: list[str] = []
        self.unsupported: set[str] = set()
        self.rss: list[dict[str, Any]] = []

    def close(self) -> None:
        for w in [self.ours, self.ref, *(lab.floor for lab in self.labs)]:
            w.close()

    def add_lab(self, name: str, inst: chronylab.Instance) -> None:
        floor = Floor([str(self.floor_bin)], f"chrony-floor ({name})")
        sources, addresses, resolved, window = floor.ok(f"open {inst.socket}")
        first = next(
            s.address
            for s in pychrony.get_sources(inst.socket)
            if s.mode is not pychrony.SourceMode.REFCLOCK and not s.address.startswith("ID#")
        )
        self.labs.append(LabInfo(name, inst, floor, sources, addresses, resolved, window, first))

    def plan(self) -> None:
        for lab in self.labs:
            for report in REPORTS:
                if self.only and report.name not in self.only:
                    continue
                if args_for(report, lab) is None:
                    self.notes.append(f"{report.name}: no value for its arguments {report.args}")
                    continue
                if report.name not in RECIPES:
                    self.notes.append(
                        f"{report.name}: no floor recipe (add its requests to RECIPES in "
                        "benchmarks/bench.py)"
                    )
                for connection in ("reused", "fresh"):
                    self.cells.append(Cell(lab.name, report, connection))
        self.notes = sorted(set(self.notes))

    def lab(self, name: str) -> LabInfo:
        return next(lab for lab in self.labs if lab.name == name)

    def calls_for(self, cell: Cell) -> int:
        lab = self.lab(cell.lab)
        recipe = RECIPES.get(cell.report.name, "")
        per_source = any(item[-1] in "*@+" for item in recipe_items(recipe))
        if per_source and lab.sources > 20:
            return max(self.mode.calls // 5, 5)
        return self.mode.calls

    def measure_cpu(self, lab: LabInfo) -> None:
        """chronyd's CPU per request of each kind the recipes use, this round."""
        pid = lab.inst.pid
        idle_cpu, idle_wall = lab.floor.ok(f"idle {pid} 100")
        idle_rate = idle_cpu / idle_wall
        items = sorted({i for r in RECIPES.values() for i in recipe_items(r)})
        for item in items:
            if item.endswith(("@", "+", "^")) and lab.resolved == 0:
                continue
            cpu, wall, count = lab.floor.ok(f"cpu {pid} {self.mode.cpu_requests} {item}")
            lab.cpu.setdefault(item, []).append(max(cpu - idle_rate * wall, 0.0) / count)

    def floor_ns(self, lab: LabInfo, how: str, calls: int, recipe: str) -> list[int]:
        return lab.floor.ok(f"time {how} {calls} {recipe}")

    def run_cell(self, cell: Cell, turn: int) -> None:
        lab = self.lab(cell.lab)
        args = args_for(cell.report, lab) or {}
        calls = self.calls_for(cell)
        recipe = RECIPES.get(cell.report.name)
        who = ["ours", "reference"]
        if recipe is not None:
            reused = cell.connection == "reused"
            who += ["round_trip", "pipelined"] if reused else ["fresh", "hardened"]
        for w in rotated(who, turn):
            if w in ("ours", "reference"):
                if w == "reference" and cell.report.method in self.unsupported:
                    continue
                worker = self.ours if w == "ours" else self.ref
                answer = worker.call(
                    op="time", method=cell.report.method, args=args, mode=cell.connection,
                    calls=calls, address=lab.inst.socket,
                )  # fmt: skip
                if answer.get("unsupported"):
                    self.unsupported.add(cell.report.method)
                    continue
                cell.add(w, answer["ns"])
            else:
                assert recipe is not None
                how = {
                    "round_trip": "rt",
                    "pipelined": "pipe",
                    "fresh": "fresh",
                    "hardened": "hardened",
                }[w]
                cell.add(w, self.floor_ns(lab, how, calls, recipe))
        if recipe is not None:
            cost = 0.0
            for item in recipe_items(recipe):
                if item in lab.cpu:
                    cost += multiplicity(item, lab) * lab.cpu[item][-1]
            cell.cpu.append(cost)

    def run(self) -> None:
        for turn in range(self.mode.rounds):
            for lab in self.labs:
                self.measure_cpu(lab)
            for i, cell in enumerate(self.cells):
                self.run_cell(cell, turn + i)
        basic = self.labs[0]
        for report in REPORTS:
            if self.only and report.name not in self.only:
                continue
            args = args_for(report, basic)
            if args is None:
                continue
            answer = self.ours.call(
                op="rss", method=report.method, args=args, calls=self.mode.rss_calls,
                address=basic.inst.socket,
            )  # fmt: skip
            self.rss.append({"report": report.name, "lab": basic.name, **answer})

    # -- results -------------------------------------------------------------

    def results(self) -> list[dict[str, Any]]:
        out = []
        for cell in self.cells:
            if "ours" not in cell.samples:
                continue
            ours = summary(cell.samples["ours"])
            figures: dict[str, Any] = {"ours": ours}
            for w in ("reference", "round_trip", "pipelined", "fresh", "hardened"):
                if w in cell.samples:
                    figures[w] = summary(cell.samples[w])
            if cell.cpu:
                figures["cpu"] = summary(cell.cpu)
            ratios = {
                w: {
                    "median": ours["median_ns"] / f["median_ns"] if f["median_ns"] else None,
                    "p90": ours["p90_ns"] / f["p90_ns"] if f["p90_ns"] else None,
                }
                for w, f in figures.items()
                if w != "ours"
            }
            out.append(
                {
                    "lab": cell.lab,
                    "report": cell.report.name,
                    "method": cell.report.method,
                    "connection": cell.connection,
                    "figures": figures,
                    "ratios": ours_over(ratios),
                }
            )
        return out


def ours_over(ratios: dict[str, Any]) -> dict[str, Any]:
    """Ratios keyed as ``ours/<figure>``."""
    return {f"ours/{k}": v for k, v in ratios.items()}


def fmt_ratio(r: dict[str, Any], key: str) -> str:
    x = r["ratios"].get(f"ours/{key}")
    if not x or x["median"] is None or x["p90"] is None:
        return "—"
    return f"{x['median']:.2f} ({x['p90']:.2f})"


def floor_over_floor(figures: dict[str, Any], top: str, bottom: str) -> str:
    """One floor's median over another's (the hardened fresh connection over
    chronyc's layout: the price of the hardening alone)."""
    if top not in figures or bottom not in figures or not figures[bottom]["median_ns"]:
        return "—"
    return f"{figures[top]['median_ns'] / figures[bottom]['median_ns']:.2f}"


def us(ns: float) -> str:
    return f"{ns / 1000:.1f}" if ns < 100_000 else f"{ns / 1000:.0f}"


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table of the README."""
    head = (
        "| lab | report | connection | ours µs, median (p90) | ours / 2.0.3 | "
        "ours / round-trip floor | ours / pipelined floor | ours / fresh-connection floor | "
        "ours / hardened fresh floor | hardened / fresh floor | ours / CPU floor | CPU floor µs |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in results:
        f = r["figures"]
        cpu = us(f["cpu"]["median_ns"]) if "cpu" in f else "—"
        lines.append(
            f"| {r['lab']} | {r['report']} | {r['connection']} | "
            f"{us(f['ours']['median_ns'])} ({us(f['ours']['p90_ns'])}) | "
            f"{fmt_ratio(r, 'reference')} | {fmt_ratio(r, 'round_trip')} | "
            f"{fmt_ratio(r, 'pipelined')} | {fmt_ratio(r, 'fresh')} | "
            f"{fmt_ratio(r, 'hardened')} | {floor_over_floor(f, 'hardened', 'fresh')} | "
            f"{fmt_ratio(r, 'cpu')} | {cpu} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full mode (default: quick)")
    parser.add_argument(
        "--json", help="where to write the results (default target/bench/<mode>.json)"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default: the mode's)")
    parser.add_argument(
        "--calls", type=int, help="calls per figure and round (default: the mode's)"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated report names to time (default: every report); for a quick look, "
        "not for the README table",
    )
    parser.add_argument(
        "--labs", default="", help="comma-separated lab names (basic, 150; default: both)"
    )
    opts = parser.parse_args(argv)
    mode = FULL if opts.full else QUICK
    rounds = opts.rounds or int(os.environ.get("BENCH_ROUNDS") or mode.rounds)
    calls = opts.calls or int(os.environ.get("BENCH_CALLS") or mode.calls)
    mode = Mode(mode.name, rounds, calls, mode.cpu_requests, mode.rss_calls)

    reference = os.environ.get("PYCHRONY_REFERENCE_PYTHON", "")
    if not reference or not Path(reference).exists():
        print("set PYCHRONY_REFERENCE_PYTHON to a Python with pychrony==2.0.3 (make reference)")
        return 2
    started = time.monotonic()
    load_before = os.getloadavg()
    floor_bin = build_floor()
    imports = {"ours": import_ms(sys.executable), "reference": import_ms(reference)}
    base = tmpfs_dir()
    only = [n for n in opts.only.split(",") if n]
    unknown = set(only) - {r.name for r in REPORTS}
    labs_wanted = [n for n in opts.labs.split(",") if n]
    unknown |= set(labs_wanted) - {name for name, _ in LABS}
    if unknown:
        print(f"unknown report or lab names: {', '.join(sorted(unknown))}")
        return 2
    bench = Bench(mode, reference, floor_bin, only)
    try:
        with chronylab.Lab(base) as lab:
            for name, profile in LABS:
                if not labs_wanted or name in labs_wanted:
                    bench.add_lab(name, lab.start(profile))
            bench.plan()
            bench.run()
    finally:
        bench.close()
    results = bench.results()
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()

    machine = {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "chronyd": chronyd_label(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "tmpfs": os.path.dirname(base),
    }
    labs = {
        lab.name: {
            "profile": lab.inst.profile,
            "sources": lab.sources,
            "ntp_addresses": lab.addresses,
            "resolved_ntp_addresses": lab.resolved,
            "window": lab.window,
            "cpu_ns_per_request": {k: summary(v) for k, v in sorted(lab.cpu.items())},
        }
        for lab in bench.labs
    }
    data = {
        "mode": mode.__dict__,
        "machine": machine,
        "labs": labs,
        "import_ms": imports,
        "results": results,
        "rss": bench.rss,
        "notes": bench.notes,
        "unsupported_by_reference": sorted(bench.unsupported),
        "elapsed_s": elapsed,
    }
    out = Path(opts.json) if opts.json else ROOT / "target" / "bench" / f"{mode.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")

    print(
        f"pychrony-rs benchmark, {mode.name} mode: {mode.rounds} rounds, {mode.calls} calls per "
        f"figure and round (a fifth for per-source reports on the 150-source lab); chronyd "
        f"{machine['chronyd']}, {machine['cpus']} CPUs, kernel {machine['kernel']}, labs on "
        f"tmpfs {machine['tmpfs']}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; {elapsed:.0f} s"
    )
    print()
    print(table(results))
    print()
    print("Ratios: median of ours / median of the other, p90 / p90 in parentheses.")
    for lab in bench.labs:
        costs = ", ".join(f"{k} {quantile(v, 0.5) / 1000:.2f}" for k, v in sorted(lab.cpu.items()))
        print(
            f"chronyd CPU per request on the {lab.name} lab ({lab.sources} sources, window "
            f"{lab.window}), µs: {costs}"
        )
    print(
        f"import pychrony (python -X importtime, cumulative, median of 7): ours "
        f"{imports['ours']:.1f} ms, 2.0.3 {imports['reference']:.1f} ms"
    )
    rss = ", ".join(f"{r['report']} {r['after_kib'] - r['before_kib']:+d}" for r in bench.rss)
    print(
        f"RSS change over {mode.rss_calls} calls per report ({bench.labs[0].name} lab), KiB: {rss}"
    )
    if bench.unsupported:
        print(f"pychrony 2.0.3 lacks: {', '.join(sorted(bench.unsupported))}")
    for note in bench.notes:
        print(f"note: {note}")
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
