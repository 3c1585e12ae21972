"""Makes the P-frame golden files once (kept for the record; re-running it must NOT be needed).

golden-p.gcv: 5 synthetic 48x32 frames (a moving square) coded with --gop 4 (I P P P I) by the
tiny context model of make_golden_context.py (its weights file is reused). golden-p.json: the
SHA-256 of the decoded I420 frames. Pins the P-frame path: motion vectors and their coding,
integer compensation, residual coding and reconstruction.
"""

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.models.registry import register_model

MODEL_ID = "gc-golden-context-tiny"
MODEL_FILE = "golden-context-model.safetensors"

register_model(MODEL_ID, HERE / MODEL_FILE)
src = write_clip(Path("/tmp/golden-p-src.mkv"), width=48, height=32, count=5)
encode_file(src, HERE / "golden-p.gcv", quality=5.5, overwrite=True, model_id=MODEL_ID, gop=4)
decode_file(HERE / "golden-p.gcv", Path("/tmp/golden-p.yuv"), overwrite=True)
digest = hashlib.sha256(Path("/tmp/golden-p.yuv").read_bytes()).hexdigest()
(HERE / "golden-p.json").write_text(
    json.dumps({"model_id": MODEL_ID, "model_file": MODEL_FILE, "decoded_i420_sha256": digest}, indent=2) + "\n"
)
print(digest)
