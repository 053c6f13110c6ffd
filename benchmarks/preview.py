"""Target 3: `pulumi preview` of 100 unchanged images through the real provider host sends no HTTP request.

    python benchmarks/preview.py [--images 100] [--parallel 16]

Builds the images first (emulated builds of 0.2 s), then previews them on a freshly started host, as a new
`pulumi preview` would: Check with the old inputs, then Diff with the old outputs, for every image. Once one
after the other, once `--parallel` at a time (the engine previews independent resources concurrently).
Requests are counted at the emulator.
"""

from __future__ import annotations

import argparse
import time
from concurrent import futures

import _harness as h

from pulumi_pcimage.emulator import Emulator


def preview_all(running, batch: list[h.Image], parallel: int) -> tuple[float, int]:
    """Seconds to preview every image, and how many would change."""
    start = time.perf_counter()
    if parallel <= 1:
        changes = [image.preview(running) for image in batch]
    else:
        with futures.ThreadPoolExecutor(max_workers=parallel) as pool:
            changes = list(pool.map(lambda image: image.preview(running), batch))
    return time.perf_counter() - start, sum(changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=16)
    args = parser.parse_args()
    h.setup()
    with Emulator(build_seconds=0.2, delete_seconds=0.1) as emulator:
        batch = h.images("img", args.images, emulator)
        with h.host() as running:
            h.create_all(running, batch)
        results = {}
        for label, parallel in (("one at a time", 1), (f"{args.parallel} at a time", args.parallel)):
            with h.host() as running:  # a new `pulumi preview` starts a new host
                emulator.reset_counters()
                seconds, changed = preview_all(running, batch, parallel)
                results[label] = (seconds, changed, emulator.counters()["total"])

    print(f"\n3. cheap previews: Check + Diff of {args.images} unchanged images on a fresh host")
    for label, (seconds, changed, requests) in results.items():
        print(f"   {label:<15} {seconds:6.2f} s ({seconds / args.images * 1000:.1f} ms per image), "
              f"{changed} changes, {requests} HTTP requests   (targets: <= 2 s, 0 requests)")
    met = all(seconds <= 2 and requests == 0 and changed == 0 for seconds, changed, requests in results.values())
    print(f"\ntarget 3: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
