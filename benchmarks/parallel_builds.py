"""Targets 1, 2 and 5: concurrent builds through one provider host; Check/Diff latency meanwhile; state size, RSS.

    python benchmarks/parallel_builds.py [--builds 16] [--build-seconds 6]

Runs the same workload on the SDK's unmodified host (PCIMAGE_HOST_WORKERS=0: 4 workers) and on a host with
pulumi_pcimage's default (no ceiling), against the local emulator, and prints ratios measured in this one run.
"""

from __future__ import annotations

import argparse
import time

import _harness as h

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.testing import provider_value

SDK_WORKERS = 4  # futures.ThreadPoolExecutor(max_workers=4) in pulumi/dynamic/__main__.py


def wait_until(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark stuck: {what}")
        time.sleep(0.01)


def run(emulator: Emulator, label: str, workers: int | None, count: int, bystander: h.Image) -> dict:
    """`count` Creates at once on one host; a Check and a Diff of `bystander` while they are in flight."""
    with h.host(workers) as running:
        batch = h.images(f"{label}-build", count, emulator)
        checked = [image.check(running) for image in batch]  # the engine checks everything before creating
        idle_rss = h.rss_mib(running)
        before = emulator.counters()["builds_started"]
        begin = time.perf_counter()
        pending = [running.create_async(image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
        in_flight = min(count, SDK_WORKERS) if workers == 0 else count  # all this host lets run at once
        wait_until(lambda: emulator.counters()["builds_started"] - before >= in_flight, "builds started")
        busy_rss = h.rss_mib(running)
        (check_s, _), (diff_s, _) = h.timed_together(
            (running.check, bystander.urn, bystander.inputs, bystander.program()),
            (running.diff, bystander.id, bystander.urn, bystander.outputs, bystander.inputs))
        for done in pending:
            done.result()
        total = time.perf_counter() - begin
    if emulator.counters()["builds_started"] - before != count:
        raise SystemExit(f"{label}: expected {count} builds")
    return {"total": total, "check": check_s, "diff": diff_s, "idle_rss": idle_rss, "busy_rss": busy_rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=16)
    parser.add_argument("--build-seconds", type=float, default=6.0)
    args = parser.parse_args()
    h.setup()
    with Emulator(build_seconds=args.build_seconds, delete_seconds=0.1) as emulator:
        bystander = h.Image("bystander", emulator.url)
        with h.host() as running:  # one build alone: the unit the ratios are measured in
            one = h.create_all(running, [bystander])
        base = run(emulator, "sdk", 0, args.builds, bystander)
        ours = run(emulator, "pool", None, args.builds, bystander)

    n, state = args.builds, provider_value(CustomImageProvider())
    print(f"\n1. parallel builds: {n} Creates at once, emulated builds of {args.build_seconds:g} s")
    print(f"   one build alone:                   {one:6.2f} s")
    print(f"   unmodified host ({SDK_WORKERS} workers):       {base['total']:6.2f} s = {h.ratio(base['total'], one)}"
          " one build")
    print(f"   pulumi_pcimage host (no ceiling):  {ours['total']:6.2f} s = "
          f"{h.ratio(ours['total'], one)} one build   (target <= 1.25x)")
    print("\n2. no starvation: another resource's Check and Diff, sent while the builds are in flight")
    print(f"   unmodified host:     Check {base['check']:7.3f} s   Diff {base['diff']:7.3f} s")
    print(f"   pulumi_pcimage host: Check {ours['check']:7.3f} s   Diff {ours['diff']:7.3f} s   (target <= 0.1 s)")
    print("\n5. small state")
    print(f"   __provider value per resource: {len(state)} characters (target <= 512)")
    print(f"   host RSS: idle {ours['idle_rss']:.1f} MiB; {n} builds in flight {ours['busy_rss']:.1f} MiB "
          f"(unmodified host, {SDK_WORKERS} in flight: {base['busy_rss']:.1f} MiB)")
    met = ours["total"] <= 1.25 * one and max(ours["check"], ours["diff"]) <= 0.1 and len(state) <= 512
    print(f"\ntargets 1, 2, 5: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
