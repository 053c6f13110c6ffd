"""`pcimage-emulator` / `python -m pulumi_pcimage.emulator`: run the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .control import TOKEN_ENV, token_file
from .server import Emulator

SECRET_KEY_ENV = "PCIMAGE_EMULATOR_SECRET_KEY"  # keeps the secret out of the process list


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pcimage-emulator", description="Local emulator of the ParallelCluster "
                                "image API (SigV4-checked, state in SQLite).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1); anything but "
                   "loopback needs --allow-remote")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback (then the "
                   "default keys are refused)")
    p.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    p.add_argument("--port-file", help="write the chosen port to this file once listening, and the control token "
                   "to PORT_FILE.token (owner-only)")
    p.add_argument("--db", help="SQLite file holding the images; state survives restarts (default: temporary)")
    p.add_argument("--stage", default="prod", help="API Gateway stage, the first path segment (default prod)")
    p.add_argument("--region", default="us-east-1", help="the API's own region: SigV4 scope and default image "
                   "region (default us-east-1)")
    p.add_argument("--build-seconds", type=_non_negative, default=60.0, help="duration of a build (default 60)")
    p.add_argument("--delete-seconds", type=_non_negative, default=5.0, help="duration of a deletion (default 5)")
    p.add_argument("--page-size", type=int, default=10, help="page size of list_images PENDING/FAILED (default 10)")
    p.add_argument("--dense-pages", action="store_true",
                   help="list_images pages hold only matching images (AWS filters each page: some come back empty)")
    p.add_argument("--access-key", default="testing", help="accepted access key id (default testing)")
    p.add_argument("--secret-key", default=os.environ.get(SECRET_KEY_ENV, "testing"),
                   help=f"accepted secret access key (default: ${SECRET_KEY_ENV}, else testing)")
    p.add_argument("--throttle-rate", type=_rate, default=0.0, help="share of requests answered 429")
    p.add_argument("--error-rate", type=_rate, default=0.0, help="share of requests answered 500/502/503")
    p.add_argument("--drop-rate", type=_rate, default=0.0, help="share of requests whose connection is dropped "
                   "after the operation took effect")
    p.add_argument("--latency-ms", type=_non_negative, default=0.0, help="delay added to every request")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault generator (default 0)")
    p.add_argument("--quiet", action="store_true", help="do not log every request")
    return p


def _write(path: str, text: str) -> None:
    """Owner-only, and atomically: readers never see a half-written file."""
    partial = f"{path}.tmp"
    descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.quiet:  # werkzeug raises its own logger to INFO unless it was given a level: give it one
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        emulator = Emulator(build_seconds=args.build_seconds, delete_seconds=args.delete_seconds,
                            region=args.region, stage=args.stage, db_path=args.db, access_key=args.access_key,
                            secret_key=args.secret_key, page_size=args.page_size,
                            sparse_pages=not args.dense_pages, seed=args.seed,
                            throttle_rate=args.throttle_rate, error_rate=args.error_rate, drop_rate=args.drop_rate,
                            latency_ms=args.latency_ms, host=args.host, port=args.port,
                            allow_remote=args.allow_remote, control_token=os.environ.get(TOKEN_ENV) or None)
    except ValueError as exc:
        parser().error(str(exc))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with emulator:
        if args.port_file:  # the token first: once the port file exists, both can be read
            _write(token_file(args.port_file), f"{emulator.control_token}\n")
            _write(args.port_file, f"{emulator.port}\n")
        print(f"pcimage-emulator listening on {emulator.url}", flush=True)
        while not stop.wait(0.5):
            pass
    print("pcimage-emulator stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
