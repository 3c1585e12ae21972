"""Soak run (issue #5): encode and decode a long looped clip in-process while sampling RSS.

Memory must stay flat: frames are streamed, so RSS after warm-up should not grow with length.

    .venv/bin/python benchmarks/soak.py --frames 10000 -o benchmarks/results/soak.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO / "samples/foreman_352x288_20f.mkv"  # CIF, looped


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, every: float = 0.5):
        super().__init__(daemon=True)
        self.every, self.samples, self._done = every, [], threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self._done.is_set():
            self.samples.append((time.monotonic() - start, rss_mb()))
            time.sleep(self.every)

    def stop(self) -> list[tuple[float, float]]:
        self._done.set()
        self.join()
        return self.samples


class RssTrace:
    """Progress callback that records (frames done, RSS MB) at 20 evenly spaced frame counts."""

    def __init__(self, frames: int, points: int = 20):
        self.every, self.points = max(1, frames // points), []

    def __call__(self, done: int, total: int | None) -> None:
        if done % self.every == 0:
            self.points.append((done, round(rss_mb(), 1)))


def untrained_enhancer(path: Path) -> Path:
    from gancodec.enhance.net import EnhanceNet
    from gancodec.train.export import save_enhancer

    net = EnhanceNet()
    return save_enhancer({"model": net.state_dict(), "model_config": {}, "step": 0}, path, "soak-untrained")


def write_looped_y4m(clip: Path, frames: int, out: Path) -> None:
    from gancodec.io import VideoReader

    with VideoReader(clip) as reader:
        source = list(reader.frames())
        w, h = reader.width, reader.height
    with open(out, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            f.write(b"FRAME\n")
            f.writelines(plane.tobytes() for plane in source[i % len(source)])


def summarize(samples: list[tuple[float, float]]) -> dict:
    values = [rss for _, rss in samples]
    tail = values[len(values) // 10 :] or values  # after warm-up (model load, first frames)
    quarter = max(1, len(tail) // 4)
    return {
        "samples": len(values),
        "peak_mb": max(values),
        "after_warmup_first_quarter_mean_mb": sum(tail[:quarter]) / quarter,
        "last_quarter_mean_mb": sum(tail[-quarter:]) / quarter,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument(
        "--stages", default="encode,decode",
        help="comma-separated: encode, decode, enhance (enhance uses the shipped weights, or an untrained "
        "network of the same size when there are none: memory does not depend on the weights' values)",
    )  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, default=REPO / "benchmarks/results/soak.json")
    args = parser.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    from gancodec.api import decode_file, encode_file, enhance_file

    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "long.y4m"
        write_looped_y4m(args.clip, args.frames, src)
        report = {"clip": args.clip.name, "frames": args.frames}
        from gancodec.enhance.weights import enhancer_path

        weights = None
        if "enhance" in stages and not enhancer_path().is_file():
            weights = untrained_enhancer(Path(tmp) / "enhancer.safetensors")
        actions = {
            "encode": lambda trace: encode_file(src, Path(tmp) / "long.gcv", quality=4, progress=trace),
            "decode": lambda trace: decode_file(
                Path(tmp) / "long.gcv", Path(tmp) / "long.yuv", progress=trace
            ),
            "enhance": lambda trace: enhance_file(
                src, Path(tmp) / "long.yuv", weights=weights, progress=trace
            ),
        }
        for name in stages:
            action = actions[name]
            sampler, trace = RssSampler(), RssTrace(args.frames)
            sampler.start()
            summary = action(trace)
            report[name] = {
                "fps": summary.coding_fps,
                **summarize(sampler.stop()),
                "rss_by_frame": trace.points,
            }
            (Path(tmp) / "long.yuv").unlink(missing_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
