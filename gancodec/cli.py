"""Command line: parse flags, call gancodec.api, map errors to exit codes.

Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 invalid/corrupt bitstream or model mismatch,
4 output exists, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Machine-readable output
(--json) goes to stdout; progress, summaries and errors go to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
import warnings
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

import click

from gancodec import __version__
from gancodec.errors import GancodecError, UsageError

warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit.script notice from compressai
warnings.filterwarnings("ignore", category=UserWarning)


class _Terminated(BaseException):
    pass


# The signal that stopped this run, if any. Native code (safetensors, PyAV) that calls back into Python
# can catch the exception a handler raises and surface it as an unrelated error; the flag lets the
# wrapper report the interruption, not that error.
_stopped_by: int | None = None


def _on_sigterm(signum, frame):
    global _stopped_by
    _stopped_by = signal.SIGTERM
    raise _Terminated()


def _on_sigint(signum, frame):
    global _stopped_by
    _stopped_by = signal.SIGINT
    raise KeyboardInterrupt()


def _install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    # A background job of a non-interactive shell starts with SIGINT ignored: keep it that way.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def _fail(message: str, code: int, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    click.echo(f"gancodec: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func):
    """Turns every failure into one line on stderr and an exit code (traceback only with -v)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        verbose = kwargs.get("verbose", False)
        _install_signal_handlers()
        try:
            return func(*args, **kwargs)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes one line and an exit code
            _exit_for(exc, verbose)

    return wrapper


def _exit_for(exc: BaseException, verbose: bool) -> None:
    """Prints `exc` as one line on stderr and exits with its code."""
    if _stopped_by == signal.SIGTERM or isinstance(exc, _Terminated):
        _fail("terminated", 143, verbose)
    if _stopped_by == signal.SIGINT or isinstance(exc, KeyboardInterrupt):
        _fail("interrupted", 130, verbose)
    if isinstance(exc, GancodecError):
        _fail(str(exc), exc.exit_code, verbose)
    if isinstance(exc, BrokenPipeError):  # the reader of standard output went away (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        _fail("standard output closed by the reading program", 1, verbose)
    if isinstance(exc, MemoryError):
        _fail("out of memory — try a smaller input or fewer threads", 1, verbose)
    if isinstance(exc, OSError):
        _fail(f"{exc.strerror or exc} ({exc.filename or ''})", 1, verbose)
    _fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", 1, verbose)


@contextmanager
def progress_bar(quiet: bool, desc: str, unit: str = "frame"):
    """Yields a callback(done, total[, label]) that drives a tqdm bar on stderr (count, rate, ETA)."""
    if quiet:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=None)

    def update(done: int, total: int | None, label: str | None = None) -> None:
        if total and bar.total != total:
            bar.total = total
        if label is not None:
            bar.set_postfix_str(label)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size expects WxH, e.g. 352x288 (got '{value}')") from None
    if w <= 0 or h <= 0:
        raise UsageError("--size: width and height must be positive")
    return w, h


common = [
    click.option("-y", "--overwrite", is_flag=True, help="Overwrite the output if it exists."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary on stderr."),
    click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors."),
    click.option("--threads", type=int, default=None, help="CPU threads for the networks."),
    click.option("--device", default="cpu", help="cpu, cuda, cuda:N or auto (CUDA when present)."),
]


def with_common(func):
    for option in reversed(common):
        func = option(func)
    return func


def parse_offsets(text: str) -> tuple[float, ...]:
    """'-1,-0.5,-1,+0.5' -> (-1.0, -0.5, -1.0, 0.5) (the values are checked by api.encode_file)."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--p-offsets must be comma-separated numbers such as -0.5,0,-0.5,+0.5 (got '{text}')") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="gancodec")
def main() -> None:
    """gancodec: learned video compression."""


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "-o", "--output", type=click.Path(allow_dash=True),
    help="Output .gcv, - for standard output [default: INPUT with .gcv suffix].",
)  # fmt: skip
@click.option(
    "--quality", type=float, default=None,
    help="1 (smallest file) .. 8 (best picture), fractional allowed.  [default: 4]",
)  # fmt: skip
@click.option(
    "--bitrate", default=None, metavar="RATE",
    help="Target average video bitrate, e.g. 500k or 1.5M (bit/s): each frame's quality is chosen "
    "to meet it (one pass, like x264's ABR) instead of one --quality.",
)  # fmt: skip
@click.option(
    "--preset", type=click.Choice(["fast", "slow"]), default="fast", show_default=True,
    help="Encoder effort: slow (experimental) searches each frame's latents on the RD loss, ~15x slower, "
    "same decoder; measured in benchmarks/results/intra-slow.",
)  # fmt: skip
@click.option(
    "--gop", type=int, default=32, show_default=True,  # = api.DEFAULT_GOP (the CLI imports api lazily)
    help="Intra period: an I-frame every N frames, P-frames (motion + residual) between; 1 = all intra.",
)  # fmt: skip
@click.option(
    "--intra-boost", type=float, default=1.5, show_default=True,  # = models.inter.DEFAULT_INTRA_BOOST
    help="Quality added to the I-frames that P-frames predict from (like x264's --ipratio); 0 = one "
    "quality for every frame. No effect with --gop 1.",
)  # fmt: skip
@click.option(
    "--p-offsets", default="-0.5,0,-0.5,+0.5", show_default=True, metavar="LIST",  # = DEFAULT_P_OFFSETS
    help="Quality added to the P-frames by their place after the I-frame, cyclically (like HM's "
    "low-delay QP offsets: every 4th coded better, as the next ones predict from it); 0 = one quality "
    "for every P-frame. No effect with --gop 1.",
)  # fmt: skip
@click.option(
    "--scenecut/--no-scenecut", "scene_cuts", default=True, show_default=True,
    help="Code a frame as an I-frame where that is smaller than the P-frame (scene cuts); the intra "
    "period restarts there.",
)  # fmt: skip
@click.option("--frames", type=int, default=None, help="Encode only the first N frames.")
@click.option("--size", default=None, help="Frame size WxH, for raw .yuv input.")
@click.option("--fps", type=float, default=None, help="Frame rate, for raw .yuv input.")
@click.option("--psnr", "measure_psnr", is_flag=True, help="Also decode and report PSNR (slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@with_common
@handle_errors
def encode(
    input_path,
    output,
    quality,
    bitrate,
    preset,
    gop,
    intra_boost,
    p_offsets,
    scene_cuts,
    frames,
    size,
    fps,
    measure_psnr,
    as_json,
    overwrite,
    quiet,
    verbose,
    threads,
    device,
):
    """Encode a video into a .gcv file. INPUT - reads standard input (y4m, mkv, nut, ...; raw I420
    with --size)."""
    from gancodec.api import encode_file
    from gancodec.ratecontrol import parse_bitrate

    if quality is not None and bitrate is not None:
        raise UsageError("give --quality or --bitrate, not both")
    _check_stdout(output, as_json)
    target = parse_bitrate(bitrate) if bitrate is not None else None
    with progress_bar(quiet, "encode") as progress:
        s = encode_file(
            input_path, output, quality=4.0 if quality is None else quality, frames=frames,
            overwrite=overwrite, size=parse_size(size), fps=fps, measure_psnr=measure_psnr, threads=threads,
            progress=progress, device=device, preset=preset, gop=gop, scene_cuts=scene_cuts, bitrate=target,
            intra_boost=intra_boost, p_offsets=parse_offsets(p_offsets),
        )  # fmt: skip
    line = (
        f"encoded {s.frames} frames {s.width}x{s.height} -> {s.output}: {s.bytes} bytes, "
        f"{s.kbps:.1f} kbit/s, {s.bpp:.4f} bpp, {s.coding_fps:.1f} fps"
    )
    if s.qualities:
        line += f" (target {target / 1000:.1f} kbit/s, quality {s.qualities[0]:g}..{s.qualities[1]:g})"
        if s.kbps * 1000 > 1.1 * target and s.qualities[1] <= 1:
            line += f"\ngancodec: note: {bitrate} is below what quality 1 reaches on this video"
        elif s.kbps * 1000 < 0.9 * target and s.qualities[0] >= 8:
            line += f"\ngancodec: note: {bitrate} is above what quality 8 reaches on this video"
    if s.psnr_y is not None:
        line += f", PSNR-Y {s.psnr_y:.2f} dB, PSNR-YUV {s.psnr_yuv:.2f} dB"
        if s.restored_psnr_y is not None:
            line += f" (decoded with its restoration stage: PSNR-Y {s.restored_psnr_y:.2f} dB)"
    _report(line, s.to_dict(), quiet, as_json)


@main.command()
@click.argument("input_path", metavar="INPUT.gcv")
@click.option(
    "-o", "--output", type=click.Path(allow_dash=True),
    help="Output video, - for standard output (y4m unless --format) [default: INPUT.decoded.mp4].",
)  # fmt: skip
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp4", "mkv", "y4m", "yuv"]),
    help="Output format [default: from suffix].",
)
@click.option(
    "--codec", type=click.Choice(["x264", "x265", "svtav1", "ffv1"], case_sensitive=False), default=None,
    help="Output encoder [default: x264 for .mp4, FFV1 (lossless) for .mkv].",
)
@click.option("--crf", type=int, default=None, help="Output CRF of x264/x265/SVT-AV1 [default: 16/18/24].")
@click.option(
    "--conceal", is_flag=True, help="Repeat the last good frame over damaged frames instead of stopping."
)
@click.option(
    "--realism", type=float, default=0.0, show_default=True,
    help="Restoration stage: 0 = most faithful (best PSNR) ... 1 = most detail (GAN stage); continuous.",
)  # fmt: skip
@click.option(
    "--postfilter", default="on", show_default=True, metavar="on|off|WEIGHTS",
    help="The restoration stage after the reconstruction: on (shipped), off (the reconstruction "
    "itself, what encode --psnr measures) or a .safetensors file.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@with_common
@handle_errors
def decode(
    input_path, output, fmt, codec, crf, conceal, realism, postfilter, as_json, overwrite, quiet, verbose, threads,
    device,
):  # fmt: skip
    """Decode a .gcv file into a video (.mp4 x264, .mkv FFV1 lossless, .y4m, .yuv). - reads the
    .gcv from standard input; -o - writes the video to standard output."""
    from gancodec.api import decode_file

    _check_stdout(output, as_json)
    with progress_bar(quiet, "decode") as progress:
        s = decode_file(
            input_path,
            output,
            overwrite=overwrite,
            fmt=fmt,
            threads=threads,
            progress=progress,
            device=device,
            conceal=conceal,
            codec=codec,
            crf=crf,
            postfilter=postfilter,
            realism=realism,
        )
    line = f"decoded {s.frames} frames {s.width}x{s.height} -> {s.output}, {s.coding_fps:.1f} fps"
    if s.postfilter:
        line += f" (restored: {s.postfilter})"
    if s.concealed:
        line += f"; concealed {len(s.concealed)} damaged frame(s): {', '.join(map(str, s.concealed))}"
    _report(line, s.to_dict(), quiet, as_json)


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "-o", "--output", type=click.Path(allow_dash=True),
    help="Output video, - for standard output (y4m unless --format) [default: INPUT.enhanced.mp4].",
)  # fmt: skip
@click.option(
    "--tile", type=int, default=None, help="Process large frames in tiles of N luma pixels (bounds memory)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp4", "mkv", "y4m", "yuv"]),
    help="Output format [default: from suffix].",
)
@click.option(
    "--codec", type=click.Choice(["x264", "x265", "svtav1", "ffv1"], case_sensitive=False), default=None,
    help="Output encoder [default: x264 for .mp4, FFV1 (lossless) for .mkv].",
)
@click.option("--crf", type=int, default=None, help="Output CRF of x264/x265/SVT-AV1 [default: 16/18/24].")
@click.option("--frames", type=int, default=None, help="Enhance only the first N frames.")
@click.option("--size", default=None, help="Frame size WxH, for raw .yuv input.")
@click.option("--fps", type=float, default=None, help="Frame rate, for raw .yuv input.")
@click.option(
    "--realism",
    type=float,
    default=0.0,
    show_default=True,
    help="0 = most faithful (best PSNR) ... 1 = most detail (GAN stage); continuous.",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="Enhancer weights (.safetensors) to use instead of the shipped ones.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@with_common
@handle_errors
def enhance(
    input_path, output, tile, fmt, codec, crf, frames, size, fps, realism, weights, as_json, overwrite, quiet, verbose,
    threads, device,
):  # fmt: skip
    """Restore a video damaged by x264/x265/AV1 (blocking, ringing, blur); audio is kept. INPUT and
    -o may be - (standard input / output)."""
    from gancodec.api import enhance_file

    _check_stdout(output, as_json)
    with progress_bar(quiet, "enhance") as progress:
        s = enhance_file(
            input_path, output, tile=tile, overwrite=overwrite, fmt=fmt, frames=frames, size=parse_size(size),
            fps=fps, threads=threads, progress=progress, device=device, realism=realism, weights=weights,
            codec=codec, crf=crf,
        )  # fmt: skip
    line = f"enhanced {s.frames} frames {s.width}x{s.height} -> {s.output}, {s.coding_fps:.1f} fps"
    _report(line, s.to_dict(), quiet, as_json)


@main.command()
@click.argument("input_path", metavar="INPUT.gcv")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def info(input_path, as_json, verbose):
    """Show the header and per-frame sizes of a .gcv file (no decoding); - reads standard input."""
    from gancodec.stream_info import describe, format_description

    description = describe(input_path)
    click.echo(json.dumps(description, indent=2) if as_json else format_description(description))


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--resume", type=click.Path(exists=True, dir_okay=False), help="Checkpoint to resume from.")
@click.option("--device", default="auto", help="auto, cpu, cuda or cuda:N.")
@click.option("--runs-dir", default="runs", help="Where checkpoints and logs go.")
@click.option("--minutes", type=float, default=None, help="Stop (and checkpoint) after this many minutes.")
@click.option("--steps", type=int, default=None, help="Stop (and checkpoint) at this total step count.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def train(config, resume, device, runs_dir, minutes, steps, verbose):
    """Train a model from a TOML config (resumes from RUNS_DIR/NAME/last.ckpt when it exists)."""
    from gancodec.train.loop import run_training

    overrides = {k: v for k, v in (("minutes", minutes), ("steps", steps)) if v is not None}
    run_training(config, resume, device, runs_dir, overrides)


@main.command("export-frames")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the .npz files."
)
@click.option("--every", type=int, default=3, show_default=True, help="Keep every N-th frame.")
@click.option(
    "--max-mpixels",
    type=float,
    default=0.0,
    show_default=True,
    help="Thin a source whose kept frames exceed this many luma megapixels (0: no limit).",
)
@click.option(
    "--pairs",
    is_flag=True,
    help="Keep pairs of consecutive frames (t, t+1 for every 2N-th t; as many frames as without it), "
    "for training on P-frame residuals.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def export_frames_cmd(config, output, every, max_mpixels, pairs, verbose):
    """Export a config's training frames as .npz (for training where PyAV is missing, e.g. a GPU box)."""
    from gancodec.train.data import export_frames
    from gancodec.train.loop import load_config

    if every < 1:
        raise UsageError("--every must be at least 1")
    if max_mpixels < 0:
        raise UsageError("--max-mpixels must not be negative")
    written = export_frames(load_config(config).data, output, every, max_mpixels=max_mpixels, pairs=pairs)
    size = sum(Path(p).stat().st_size for p in written) / 2**20
    click.echo(f"wrote {len(written)} files, {size:.1f} MiB, to {output}", err=True)


@main.command("export-pairs")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the .npz files."
)
@click.option("--windows", type=int, default=4, show_default=True, help="Windows per compressed clip.")
@click.option("--size", type=int, default=256, show_default=True, help="Window size in luma pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the conditions and windows.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def export_pairs_cmd(config, output, windows, size, seed, verbose):
    """Export an enhancer config's training pairs (compressed by x264/x265/SVT-AV1, decoded) as .npz
    windows, for training where PyAV is missing, e.g. a GPU box."""
    from gancodec.train.enhance_task import export_pairs
    from gancodec.train.loop import load_config

    cfg = load_config(config)
    if cfg.kind != "enhance":
        raise UsageError(f"{config}: export-pairs needs an enhancer config (kind = \"enhance\")")
    if windows < 1 or size < 2 or size % 2:
        raise UsageError("--windows must be at least 1 and --size an even number of pixels")
    written = export_pairs(cfg, output, windows, size, seed, log=lambda line: click.echo(line, err=True))
    mib = sum(Path(p).stat().st_size for p in written) / 2**20
    click.echo(f"wrote {len(written)} files, {mib:.1f} MiB, to {output}", err=True)


@main.command("export-weights")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="Output .safetensors file.")
@click.option("-y", "--overwrite", is_flag=True, help="Overwrite the output if it exists.")
@click.option(
    "--no-ema", is_flag=True, help="The last step's weights even where the run kept a moving average (ema_decay)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def export_weights_cmd(checkpoint, output, overwrite, no_ema, verbose):
    """Turn a training checkpoint into shippable .safetensors weights (with entropy tables)."""
    from gancodec.fileio import check_output
    from gancodec.train.export import export_weights

    check_output(output, overwrite, inputs=(checkpoint,))
    click.echo(f"wrote {export_weights(checkpoint, output, use_ema=not no_ema)}", err=True)


X26X_PRESETS = [
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"
]  # fmt: skip
CRF_HELP = (
    "CRF points of an ffmpeg codec, repeatable, e.g. --crf x264=22,27,32 "
    "[default: x264/x265 17,22,27,32,37,42; svtav1 20,30,38,46,54,62]."
)


def parse_crf_options(values: tuple[str, ...]) -> dict[str, str]:
    """('x264=22,27', 'svtav1=30,40') -> {'x264': '22,27', 'svtav1': '30,40'}."""
    out = {}
    for value in values:
        codec, sep, points = value.partition("=")
        if not sep or not codec.strip() or not points.strip():
            raise UsageError(f"--crf expects CODEC=A,B,..., e.g. x264=22,27,32 (got '{value}')")
        out[codec.strip().lower()] = points
    return out


@main.command()
@click.argument("videos", nargs=-1, required=True, metavar="VIDEO...")
@click.option("-o", "--output", default="bench-report", type=click.Path(file_okay=False),
              help="Report folder: results.json, results.csv, report.md, PNG plots, cache/.")  # fmt: skip
@click.option("--codecs", default="gancodec,x264,x265,svtav1", help="Comma-separated codecs to compare.")
@click.option("--frames", type=int, default=30, help="Code the first N frames of each video.")
@click.option("--gop", type=int, default=32,
              help="I-frame period of every codec (-1: one I-frame for the whole sequence)")  # fmt: skip
@click.option("--preset", type=click.Choice(X26X_PRESETS), default="medium",
              help="x264/x265 preset (SVT-AV1 always uses preset 8).")  # fmt: skip
@click.option("--anchor", default="x264", help="Reference codec of the BD-rate tables.")
@click.option("--qualities", default="1,2.5,4,5.5,7,8", help="gancodec --quality points.")
@click.option("--crf", "crfs", multiple=True, metavar="CODEC=A,B,...", help=CRF_HELP)
@click.option("--no-cache", is_flag=True, help="Measure every point again instead of reusing OUTPUT/cache.")
@click.option("--enhance", is_flag=True,
              help="Benchmark the enhancer on x265/x264-decoded clips instead (enhance.json, enhance.md, "
                   "crop PNG); --crf sets its conditions [default: x265=32,37,42 and x264=37].")  # fmt: skip
@click.option("--tile", type=int, default=None, help="With --enhance: enhancer tiles of N luma pixels.")
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --enhance: enhancer weights to measure instead of the shipped ones.",
)
@click.option("--realism", type=float, default=0.0, help="With --enhance: the enhancer's --realism.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json (enhance.json) on stdout.")
@with_common
@handle_errors
def bench(videos, output, codecs, frames, gop, preset, anchor, qualities, crfs, no_cache, enhance, tile,
          weights, realism, as_json, overwrite, quiet, verbose, threads, device):  # fmt: skip
    """Rate-distortion benchmark of gancodec against x264/x265/SVT-AV1 (BD-rate, plots, speeds)."""
    import shlex

    from gancodec.bench import run_bench

    command = "gancodec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if enhance:
        _bench_enhance(videos, output, frames, gop, preset, crfs, tile, as_json, overwrite, quiet, threads,
                       device, command, weights, realism)  # fmt: skip
        return
    for flag, value, default in (
        ("--tile", tile, None),
        ("--weights", weights, None),
        ("--realism", realism, 0.0),
    ):
        if value != default:
            raise UsageError(f"{flag} applies only with --enhance")
    with progress_bar(quiet, "bench", unit="encode") as progress:
        report = run_bench(
            videos, output, codecs=codecs, frames=frames, gop=gop, preset=preset, anchor=anchor,
            qualities=qualities, points=parse_crf_options(crfs), overwrite=overwrite,
            use_cache=not no_cache, threads=threads, device=device, progress=progress, command=command,
        )  # fmt: skip
    if as_json:
        click.echo((Path(output) / "results.json").read_text())
    if not quiet:
        _bench_summary(report, output)
    if report.errors:
        raise GancodecError(
            f"{len(report.errors)} video(s) or point(s) failed (see above); "
            f"the report covers the rest ({output})"
        )


RD_ONLY_OPTIONS = ("codecs", "anchor", "qualities", "no_cache")


def _bench_enhance(videos, output, frames, gop, preset, crfs, tile, as_json, overwrite, quiet, threads,
                   device, command, weights=None, realism=0.0) -> None:  # fmt: skip
    """`bench --enhance`: the restoration benchmark (gancodec.bench.enhance) instead of the RD sweep."""
    from click.core import ParameterSource

    from gancodec.bench.codecs import parse_points
    from gancodec.bench.enhance import CONDITIONS, run_enhance_bench

    ctx = click.get_current_context()
    for name in RD_ONLY_OPTIONS:
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} does not apply with --enhance (set its conditions with --crf CODEC=A,B)"
            )
    conditions = [
        (codec, point) for codec, points in parse_crf_options(crfs).items()
        for point in parse_points(points, f"--crf {codec}")
    ] or CONDITIONS  # fmt: skip
    with progress_bar(quiet, "bench --enhance", unit="encode") as progress:
        report = run_enhance_bench(
            videos, output, conditions, frames=frames, gop=gop, tile=tile, device=device, progress=progress,
            preset=preset, threads=threads, overwrite=overwrite, command=command, weights=weights,
            realism=realism,
        )  # fmt: skip
    if as_json:
        click.echo((Path(output) / "enhance.json").read_text())
    if not quiet:
        click.echo(f"wrote {output}/enhance.md, enhance.json: {len(report.videos)} video(s), "
                   f"{len(report.results)} runs in {report.seconds:.0f} s", err=True)  # fmt: skip
        click.echo(f"  {report.bar().text()}", err=True)
    if report.errors:
        raise GancodecError(
            f"{len(report.errors)} video(s) or run(s) failed (see above); the report covers the rest ({output})"
        )


def _bench_summary(report, output: str) -> None:
    from gancodec.bench.summary import bd_tables

    cached = sum(r.cached for r in report.results)
    plots = sum(p.suffix == ".png" for p in report.written)
    click.echo(
        f"wrote {output}/report.md, results.json, results.csv and {plots} plots: {len(report.videos)} "
        f"video(s), {len(report.results)} points ({cached} from cache) in {report.seconds:.0f} s",
        err=True,
    )
    anchor = report.config.anchor
    for codec, row in bd_tables(report.results, anchor).get("psnr-y", {}).items():
        value = row["average"].rate.format(2, " %")
        click.echo(f"  {codec}: BD-rate (PSNR-Y) vs {anchor}: {value}", err=True)


@main.command("metrics")
@click.argument("ref", metavar="REF")
@click.argument("dist", metavar="DIST")
@click.option("--frames", type=int, default=None, help="Compare only the first N frames.")
@click.option("--size", default=None, help="Frame size WxH, for raw .yuv inputs.")
@click.option("--fps", type=float, default=None, help="Frame rate, for raw .yuv inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print per-frame values and global summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@handle_errors
def metrics_cmd(ref, dist, frames, size, fps, as_json, quiet, verbose):
    """PSNR-Y/U/V/YUV/RGB, SSIM and MS-SSIM of DIST against REF, per frame and global (stdout)."""
    from gancodec.metrics import compare_videos, format_table

    if frames is not None and frames < 1:
        raise UsageError("--frames must be at least 1")
    with progress_bar(quiet, "metrics") as progress:
        result = compare_videos(ref, dist, frames=frames, size=parse_size(size), fps=fps, progress=progress)
    if as_json:
        click.echo(json.dumps({"ref": ref, "dist": dist, **result.to_dict()}, indent=2))
    else:
        click.echo(format_table(result))


def _check_stdout(output: str | None, as_json: bool) -> None:
    if as_json and output == "-":
        raise UsageError("--json and -o - both write standard output; choose one")


def _report(line: str, data: dict, quiet: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
    elif not quiet:
        click.echo(line, err=True)
    if not quiet:
        for note in data.get("notes", []):
            click.echo(f"gancodec: note: {note}", err=True)


if __name__ == "__main__":
    main()
