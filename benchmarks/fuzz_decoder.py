"""The long fuzz run of issue #5: N seeded damaged/hostile .gcv files through `info` and `decode`.

Cases run in worker subprocesses (a batch each), so a segfault or hang in native code is caught
and attributed to its seed instead of killing the run. Every case must end in success or a
GancodecError within the time bound; the peak RSS of each worker is recorded.

    .venv/bin/python benchmarks/fuzz_decoder.py --cases 10000 -o benchmarks/results/fuzz.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def worker(stream: Path, first: int, count: int, folder: Path) -> None:
    """Runs seeds [first, first+count): prints one JSON line per case."""
    import warnings

    warnings.filterwarnings("ignore")
    from gancodec.api import decode_file
    from gancodec.errors import GancodecError
    from gancodec.fuzz import mutate
    from gancodec.stream_info import describe

    data = stream.read_bytes()
    bad, out = folder / f"case{first}.gcv", folder / f"case{first}.yuv"
    for seed in range(first, first + count):
        bad.write_bytes(mutate(data, seed))
        start, outcome = time.monotonic(), "decoded"
        try:
            describe(bad)
            decode_file(bad, out, overwrite=True)
        except GancodecError as exc:
            outcome = "error: " + str(exc).split("(")[0].strip()
            if out.exists():
                outcome = "LEFT OUTPUT"
        except Exception as exc:  # noqa: BLE001 - the point is to catch what should not happen
            outcome = f"UNEXPECTED {type(exc).__name__}: {exc}"
        out.unlink(missing_ok=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(
            json.dumps({"seed": seed, "outcome": outcome, "seconds": time.monotonic() - start, "rss_mb": rss})
        )
        sys.stdout.flush()


def make_stream(folder: Path) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import write_clip

    from gancodec.api import encode_file

    src = write_clip(folder / "src.mkv", width=176, height=144, count=2)
    encode_file(src, folder / "valid.gcv", quality=4)
    return folder / "valid.gcv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per case")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "benchmarks/results/fuzz.json")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        stream, first, count = args.worker
        worker(Path(stream), int(first), int(count), Path(stream).parent)
        return
    with tempfile.TemporaryDirectory() as tmp:
        stream = make_stream(Path(tmp))
        results, crashes, start = [], [], time.monotonic()
        for first in range(0, args.cases, args.batch):
            count = min(args.batch, args.cases - first)
            cmd = [sys.executable, __file__, "--worker", str(stream), str(first), str(count)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout * count + 60, check=False)
            batch = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
            results += batch
            if proc.returncode != 0:
                crashes.append({"first_seed": first, "returncode": proc.returncode, "cases_done": len(batch)})
            print(f"{len(results)}/{args.cases} cases, {len(crashes)} crashed batches", file=sys.stderr)
    outcomes: dict[str, int] = {}
    for r in results:
        key = r["outcome"] if not r["outcome"].startswith("error: ") else "error: " + r["outcome"][7:50]
        outcomes[key] = outcomes.get(key, 0) + 1
    bad = [
        r for r in results if r["outcome"].startswith(("UNEXPECTED", "LEFT")) or r["seconds"] > args.timeout
    ]
    summary = {
        "cases": args.cases,
        "completed": len(results),
        "crashed_batches": crashes,
        "violations": bad[:50],
        "max_seconds": max((r["seconds"] for r in results), default=0),
        "max_rss_mb": max((r["rss_mb"] for r in results), default=0),
        "slowest": sorted(results, key=lambda r: -r["seconds"])[:5],
        "wall_seconds": time.monotonic() - start,
        "outcomes": dict(sorted(outcomes.items(), key=lambda kv: -kv[1])),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("cases", "completed", "max_seconds", "max_rss_mb")}))
    sys.exit(1 if crashes or bad or len(results) != args.cases else 0)


if __name__ == "__main__":
    main()
