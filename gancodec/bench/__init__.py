"""Rate-distortion benchmarking of gancodec against ffmpeg codecs (x264, x265, SVT-AV1).

codecs.py     codec names, labels, default rate points
baselines.py  ffmpeg codecs through PyAV, low-delay settings, exact coded bytes
learned.py    gancodec itself through encode_file / decode_file
runner.py     the sweep (videos x codecs x points), cache, run_bench()
bd.py         BD-rate / BD-PSNR (bjontegaard package, PCHIP)
summary.py    averaged curves, BD and speed tables
report.py     results.json, results.csv, report.md; plots.py: PNGs
enhance.py    the enhancer benchmark (bench --enhance): codec -> decode -> enhance -> deltas;
              enhance_results.py its typed results, enhance_report.py enhance.json/.md and the crop PNG
"""

from gancodec.bench.enhance import run_enhance_bench
from gancodec.bench.runner import BenchConfig, BenchReport, run_bench

__all__ = ["BenchConfig", "BenchReport", "run_bench", "run_enhance_bench"]
