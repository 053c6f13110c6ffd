"""The package face (pulumi-resource-pcimage): 64 Creates at once; another resource's Check, Diff and an Invoke
meanwhile, against the 0.1 s goal.

    python benchmarks/package_builds.py [--builds 64] [--build-seconds 10]

Starts the plugin as the engine does (`python -m pulumi_pcimage.package <engine-address>`) and drives it over gRPC
against the local emulator. The figures are latencies measured in this one run, next to the same calls on the idle
plugin.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import _harness as h

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.testing import ProviderHost, urn
from pulumi_pcimage.waiter import POLL_SCALE_ENV

TYPE = "pcimage:index:CustomImage"


def plugin(emulator: Emulator) -> ProviderHost:
    return ProviderHost(project=h.PROJECT, env={**h.CREDENTIALS, POLL_SCALE_ENV: "0.02"}, call_timeout=300,
                        command=[sys.executable, "-u", "-m", "pulumi_pcimage.package"],
                        config={"apiUrl": emulator.url})


def probes(running: ProviderHost, bystander: dict) -> dict[str, float]:
    """Check (configuration unchanged: no dry run), Diff and an Invoke of a built resource, each timed."""
    check_s, _ = h.timed(running.check, bystander["urn"], bystander["inputs"], bystander["program"])
    diff_s, _ = h.timed(running.diff, bystander["id"], bystander["urn"], bystander["outputs"], bystander["inputs"])
    invoke_s, _ = h.timed(running.invoke, "pcimage:index:getImage", {"imageId": bystander["id"]})
    return {"check": check_s, "diff": diff_s, "invoke": invoke_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=64)
    parser.add_argument("--build-seconds", type=float, default=10.0)
    args = parser.parse_args()
    h.setup()
    with Emulator(build_seconds=args.build_seconds, delete_seconds=0.1) as emulator, plugin(emulator) as running:
        name = urn("bystander", TYPE, project=h.PROJECT, stack=h.STACK)
        program = {"imageConfiguration": h.CONFIG.format(name="bystander")}
        inputs = running.check(name, {}, program).inputs
        id_, outputs = running.create(name, inputs)
        bystander = {"urn": name, "program": program, "inputs": inputs, "id": id_, "outputs": outputs}
        idle = probes(running, bystander)

        batch = [urn(f"build-{n:03d}", TYPE, project=h.PROJECT, stack=h.STACK) for n in range(args.builds)]
        checked = [running.check(u, {}, {"imageConfiguration": h.CONFIG.format(name=f"b{n}")}).inputs
                   for n, u in enumerate(batch)]
        before = emulator.counters()["builds_started"]
        with ThreadPoolExecutor(args.builds) as engine:
            begin = time.perf_counter()
            pending = [engine.submit(running.create, u, c) for u, c in zip(batch, checked, strict=True)]
            while emulator.counters()["builds_started"] - before < args.builds:
                time.sleep(0.01)
            busy = probes(running, bystander)
            rss = h.rss_mib(running)
            for done in pending:
                done.result()
            total = time.perf_counter() - begin
    print(f"{args.builds} builds of {args.build_seconds:g} s at once: {total:.2f} s = "
          f"{h.ratio(total, args.build_seconds)} one build; plugin RSS {rss:.1f} MiB with every build in flight")
    for call in ("check", "diff", "invoke"):
        print(f"{call:>6} of another resource meanwhile: {busy[call]:.3f} s (idle plugin: {idle[call]:.3f} s; "
              f"goal <= 0.1 s)")


if __name__ == "__main__":
    main()
