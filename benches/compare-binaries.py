#!/usr/bin/env python3
"""Whole-process `convert` of the same specs by several actionsync binaries,
interleaved: one warm-up round, then RUNS rounds (default 5), the order of the
binaries alternating each round. Prints, per spec and binary, the median wall
time and the highest peak RSS (wait4's ru_maxrss).

    RUNS=7 benches/compare-binaries.py before=/tmp/old/actionsync,after=target/release/actionsync SPEC...

With PEER_DIR set (where `npm install --prefix PEER_DIR
@apidevtools/swagger-parser@13` put the peer, as for `cargo bench --bench
peer`), the peer runs in the same rounds, as `node benches/peer/list-tools.cjs
PEER_DIR SPEC`, under the name `peer`.

A benchmark driver for BENCHMARKS.md's before/after tables; it asserts nothing.
"""
import os
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bins = [b.split("=", 1) for b in sys.argv[1].split(",")]
    peer_dir = os.environ.get("PEER_DIR")
    if peer_dir:
        bins.append(["peer", None])
    driver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer", "list-tools.cjs")
    specs = sys.argv[2:]
    runs = int(os.environ.get("RUNS", "5"))
    for spec in specs:
        results = {name: [] for name, _ in bins}
        for r in range(runs + 1):
            for name, path in bins if r % 2 == 0 else bins[::-1]:
                started = time.perf_counter()
                if path is None:
                    command = ["node", driver, peer_dir, spec]
                else:
                    command = [path, "convert", spec, "--base-url", "https://api.example.com"]
                child = subprocess.Popen(
                    command,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                _, status, usage = os.wait4(child.pid, 0)
                elapsed = (time.perf_counter() - started) * 1000
                if status != 0:
                    sys.exit(f"{name} failed on {spec}: status {status}")
                if r:
                    results[name].append((elapsed, usage.ru_maxrss / 1024))
        cells = [
            f"{name}: {statistics.median(t for t, _ in v):.1f} ms {max(m for _, m in v):.1f} MiB"
            for name, v in results.items()
        ]
        print(os.path.basename(spec), "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
