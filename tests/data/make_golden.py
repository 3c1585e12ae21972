"""Makes the golden files once (kept for the record; re-running it must NOT be needed).

golden-model.safetensors: a tiny IntraCodec (N=M=16, Nh=8), random weights from seed 0, with its
entropy tables. golden.gcv: 2 synthetic 48x32 frames coded with it. golden.json: the SHA-256 of
the decoded I420 frames. tests/test_golden.py checks that every future gancodec decodes golden.gcv
to exactly these pixels: a change that breaks old files must bump the format version instead.
"""

import hashlib
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import write_clip

from gancodec.api import decode_file, encode_file
from gancodec.models.intra import IntraCodec, IntraConfig
from gancodec.models.registry import register_model
from gancodec.train.export import save_weights

MODEL_ID = "gc-golden-tiny"

torch.manual_seed(0)
save_weights(IntraCodec(IntraConfig(16, 16, 8)), HERE / "golden-model.safetensors", MODEL_ID)
register_model(MODEL_ID, HERE / "golden-model.safetensors")
src = write_clip(Path("/tmp/golden-src.mkv"), width=48, height=32, count=2)
encode_file(src, HERE / "golden.gcv", quality=5.5, overwrite=True, model_id=MODEL_ID)
decode_file(HERE / "golden.gcv", Path("/tmp/golden.yuv"), overwrite=True)
digest = hashlib.sha256(Path("/tmp/golden.yuv").read_bytes()).hexdigest()
(HERE / "golden.json").write_text(
    json.dumps({"model_id": MODEL_ID, "decoded_i420_sha256": digest}, indent=2) + "\n"
)
print(digest)
