"""Makes the format 3.0 golden files once (kept for the record; re-running it must NOT be needed).

golden-p3.gcv: the 5 synthetic 80x48 frames of make_golden_p2.py coded with --gop 4 at quality 5.5
(--p-offsets -2.5,0 --no-scenecut) by the same tiny context model, as gancodec 0.14.0 writes them:
format 3.0, the P-frames at 3.0 / 5.5 / 3.0, and the encoder's choice of the closer prediction gives
both kinds of P-frame: "P" (half-pel, bilinear) at 3.0 and "Pq" (quarter-pel, HEVC's sharp filters)
at 5.5. golden-p3.json: the SHA-256
of the decoded I420 frames. Pins the sharp interpolation and the quarter-pel vectors.
"""

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.bitstream import FRAME_I, FRAME_P, FRAME_PQ, GcvReader, read_header
from gancodec.models.registry import register_model

MODEL_ID = "gc-golden-context-tiny"
MODEL_FILE = "golden-context-model.safetensors"

register_model(MODEL_ID, HERE / MODEL_FILE)
src = write_clip(Path("/tmp/golden-p3-src.mkv"), width=80, height=48, count=5)
encode_file(
    src, HERE / "golden-p3.gcv", quality=5.5, overwrite=True, model_id=MODEL_ID, gop=4, p_offsets=(-2.5, 0.0),
    scene_cuts=False,
)
with open(HERE / "golden-p3.gcv", "rb") as f:
    assert read_header(f).version == (3, 0)
with open(HERE / "golden-p3.gcv", "rb") as f:
    assert [r.type for r in GcvReader(f).frames()] == [FRAME_I, FRAME_P, FRAME_PQ, FRAME_P, FRAME_I]
decode_file(HERE / "golden-p3.gcv", Path("/tmp/golden-p3.yuv"), overwrite=True)
digest = hashlib.sha256(Path("/tmp/golden-p3.yuv").read_bytes()).hexdigest()
(HERE / "golden-p3.json").write_text(
    json.dumps(
        {"model_id": MODEL_ID, "model_file": MODEL_FILE, "format": "3.0", "decoded_i420_sha256": digest}, indent=2
    )
    + "\n"
)
print(digest)
