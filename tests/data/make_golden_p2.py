"""Makes the format 2.0 golden files once (kept for the record; re-running it must NOT be needed).

golden-p2.gcv: 5 synthetic 80x48 frames (a moving square) coded with --gop 4 (I P P P I) by the
tiny context model of make_golden_context.py (its weights file is reused), as gancodec 0.13.0
writes them: format 2.0, frames padded to a multiple of 16 (a 5x3 latent grid under 2x1
hyper-latents; format 1.x padded them to 128x64). golden-p2.json: the SHA-256 of the decoded I420
frames. Pins the 2.0 grid: the hyper-synthesis output cut to the latent grid, the synthesis of a
grid that is not a multiple of 4, the padded P-frame residuals.
"""

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.bitstream import read_header
from gancodec.models.registry import register_model

MODEL_ID = "gc-golden-context-tiny"
MODEL_FILE = "golden-context-model.safetensors"

register_model(MODEL_ID, HERE / MODEL_FILE)
src = write_clip(Path("/tmp/golden-p2-src.mkv"), width=80, height=48, count=5)
encode_file(src, HERE / "golden-p2.gcv", quality=5.5, overwrite=True, model_id=MODEL_ID, gop=4)
with open(HERE / "golden-p2.gcv", "rb") as f:
    assert read_header(f).version == (2, 0)
decode_file(HERE / "golden-p2.gcv", Path("/tmp/golden-p2.yuv"), overwrite=True)
digest = hashlib.sha256(Path("/tmp/golden-p2.yuv").read_bytes()).hexdigest()
(HERE / "golden-p2.json").write_text(
    json.dumps(
        {"model_id": MODEL_ID, "model_file": MODEL_FILE, "format": "2.0", "decoded_i420_sha256": digest}, indent=2
    )
    + "\n"
)
print(digest)
