"""No request waits behind builds: N concurrent Creates and Deletes through one provider host, and the latency of
another resource's Check and Diff while they wait; host memory and threads at the largest N.

    python benchmarks/host_concurrency.py [--counts 64,256,1024] [--deletes 256] [--build-seconds 275]
                                          [--delete-seconds 95] [--poll-scale 2]

Everything runs through the SDK's real provider host (default settings: no PCIMAGE_HOST_WORKERS) against the
local emulator, which runs in a process of its own so that it does not share a GIL with this driver. Each count
gets a fresh host; its Creates are all sent at once (one driver thread each, as the engine's unbounded
`--parallel`), after the engine's Checks. Ratios are against one Create (one Delete) alone, measured in the same
run with the same settings.

The polling settings keep the emulator from being the bottleneck on a small machine: with PCIMAGE_POLL_SCALE=2 the
waiter polls after 10 s, then every 30 s, so 1,024 waiting builds cost ~34 describe calls a second. Build and
delete durations sit just under a poll (275 s -> noticed at the 280 s poll, 95 s -> at the 100 s poll), so every
Create of a batch is noticed at the same poll as the lone one unless starting the batch delays it.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import _harness as h
import psutil

from pulumi_pcimage.emulator import EmulatorControl
from pulumi_pcimage.testing import ProviderHost

# The emulator in its own process, with werkzeug's per-request log off (it costs CPU at 1,000 requests a burst).
EMULATOR = ("import logging, sys; logging.getLogger('werkzeug').setLevel(logging.WARNING); "
            "from pulumi_pcimage.emulator.__main__ import main; sys.exit(main(sys.argv[1:]))")
PROBE_SECONDS = 20.0  # how long Check and Diff are sampled while a batch waits (spans a poll burst at scale 2)


class EmulatorProcess:
    def __init__(self, build_seconds: float, delete_seconds: float):
        self._dir = tempfile.TemporaryDirectory(prefix="pcimage-bench-")
        port_file = Path(self._dir.name) / "port"
        self.process = subprocess.Popen(
            [sys.executable, "-c", EMULATOR, "--port-file", str(port_file), "--quiet",
             "--build-seconds", str(build_seconds), "--delete-seconds", str(delete_seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise SystemExit("the emulator did not start")
            time.sleep(0.05)
        # The control routes need the emulator's token, written next to the port file (before it).
        self.control = EmulatorControl.from_port_file(port_file, timeout=60)
        self.url = f"{self.control.base_url}/prod"

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._dir.cleanup()


def all_at_once(calls: list) -> tuple[float, list]:
    """Run every (function, *args) at once, one thread each; seconds until the last answer, and the answers."""
    with futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        start = time.perf_counter()
        pending = [pool.submit(*call) for call in calls]
        answers = [done.result() for done in pending]
        return time.perf_counter() - start, answers


def wait_until(condition, what: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark stuck: {what}")
        time.sleep(0.2)


def probe(running: ProviderHost, bystander: h.Image) -> tuple[list[float], list[float]]:
    """Check and Diff of an existing resource, one after the other, for PROBE_SECONDS: their latencies."""
    checks, diffs = [], []
    end = time.monotonic() + PROBE_SECONDS
    while time.monotonic() < end:
        seconds, _ = h.timed(running.check, bystander.urn, bystander.inputs, bystander.program())
        checks.append(seconds)
        seconds, _ = h.timed(running.diff, bystander.id, bystander.urn, bystander.outputs, bystander.inputs,
                             old_inputs=bystander.inputs)
        diffs.append(seconds)
        time.sleep(0.1)
    return checks, diffs


def create_batch(emulator: EmulatorProcess, running: ProviderHost, batch: list[h.Image],
                 bystander: h.Image | None, measure: bool) -> dict:
    checked = [image.check(running) for image in batch]  # the engine checks everything before creating
    before = emulator.control.counters()["builds_started"]
    host = psutil.Process(running.process.pid)
    result: dict = {"idle_rss": host.memory_info().rss / 2**20, "idle_threads": host.num_threads()}

    def create(image: h.Image, inputs: dict) -> tuple[float, tuple]:
        answer = running.create(image.urn, inputs)
        return time.perf_counter(), answer

    with futures.ThreadPoolExecutor(max_workers=len(batch)) as pool:
        start = time.perf_counter()
        pending = [pool.submit(create, image, inputs) for image, inputs in zip(batch, checked, strict=True)]
        if measure:  # once every build runs, i.e. every Create holds a host thread
            wait_until(lambda: emulator.control.counters()["builds_started"] - before >= len(batch),
                       "all builds started")
            result["started"] = time.perf_counter() - start
            result["rss"], result["threads"] = host.memory_info().rss / 2**20, host.num_threads()
            if bystander is not None:
                result["checks"], result["diffs"] = probe(running, bystander)
        ends = []
        for image, inputs, done in zip(batch, checked, pending, strict=True):
            end, (image.id, image.outputs) = done.result()
            image.inputs = inputs
            ends.append(end)
        result["wall"] = max(ends) - start  # the last answer, whenever the probe above ended
    if emulator.control.counters()["builds_started"] - before != len(batch):
        raise SystemExit(f"expected {len(batch)} builds")
    return result


def delete_batch(running: ProviderHost, batch: list[h.Image]) -> float:
    seconds, _ = all_at_once([(running.delete, image.id, image.urn, image.outputs) for image in batch])
    return seconds


def host(poll_scale: float) -> ProviderHost:
    return ProviderHost(project=h.PROJECT, env={**h.CREDENTIALS, h.POLL_SCALE_ENV: str(poll_scale)},
                        call_timeout=3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="64,256,1024", help="batch sizes of concurrent Creates")
    parser.add_argument("--deletes", type=int, default=256, help="concurrent Deletes (of the largest batch <= it)")
    parser.add_argument("--build-seconds", type=float, default=275.0)
    parser.add_argument("--delete-seconds", type=float, default=95.0)
    parser.add_argument("--poll-scale", type=float, default=2.0)
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.counts.split(","))
    h.setup()
    logging.getLogger("pulumi_pcimage").setLevel(logging.WARNING)
    print(f"builds of {args.build_seconds:g} s, deletes of {args.delete_seconds:g} s, "
          f"PCIMAGE_POLL_SCALE={args.poll_scale:g}; counts {counts}, {args.deletes} deletes", flush=True)
    emulator = EmulatorProcess(args.build_seconds, args.delete_seconds)
    results: dict[int, dict] = {}
    try:
        with host(args.poll_scale) as running:  # the units: one Create, then one Delete, alone
            bystander, lone = h.Image("bystander", emulator.url), h.Image("lone", emulator.url)
            one = create_batch(emulator, running, [bystander], None, measure=False)["wall"]
            print(f"one Create alone: {one:.1f} s", flush=True)
            create_batch(emulator, running, [lone], None, measure=False)
            one_delete = delete_batch(running, [lone])
            print(f"one Delete alone: {one_delete:.1f} s", flush=True)
        for n in counts:
            with host(args.poll_scale) as running:
                batch = h.images(f"n{n}", n, emulator)
                results[n] = create_batch(emulator, running, batch, bystander, measure=True)
                r = results[n]
                print(f"{n} Creates: {r['wall']:.1f} s = {h.ratio(r['wall'], one)}; all started after "
                      f"{r['started']:.1f} s; Check max {max(r['checks']):.3f} s, Diff max {max(r['diffs']):.3f} s "
                      f"({len(r['checks'])} each); host {r['rss']:.1f} MiB, {r['threads']} threads", flush=True)
                if n == max((c for c in counts if c <= args.deletes), default=None):  # --deletes 0: none
                    deleting = batch[:args.deletes]
                    r["deletes"] = len(deleting), delete_batch(running, deleting)
                    print(f"{len(deleting)} Deletes: {r['deletes'][1]:.1f} s = "
                          f"{h.ratio(r['deletes'][1], one_delete)}", flush=True)
    finally:
        emulator.close()

    print(f"\nunits: one Create {one:.1f} s, one Delete {one_delete:.1f} s")
    print("| in flight | wall / one | all started after | Check median / max | Diff median / max | host RSS, "
          "threads (before the batch) |")
    met = True
    for n, r in results.items():
        median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        print(f"| {n} Creates | {r['wall'] / one:.2f}x | {r['started']:.1f} s | {median(r['checks']):.3f} / "
              f"{max(r['checks']):.3f} s | {median(r['diffs']):.3f} / {max(r['diffs']):.3f} s | "
              f"{r['rss']:.1f} MiB, {r['threads']} ({r['idle_rss']:.1f} MiB, {r['idle_threads']}) |")
        met &= r["wall"] <= 1.10 * one and max(r["checks"] + r["diffs"]) <= 0.1
        if "deletes" in r:
            count, seconds = r["deletes"]
            print(f"| {count} Deletes | {seconds / one_delete:.2f}x | | | | |")
            met &= seconds <= 1.10 * one_delete
    top = results[counts[-1]]
    print(f"\nper waiting Create at {counts[-1]}: {(top['rss'] - top['idle_rss']) * 1024 / counts[-1]:.0f} KiB of "
          "host memory")
    print(f"targets (wall <= 1.10x, Check/Diff <= 0.1 s): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
