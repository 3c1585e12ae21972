"""Makes the context-model golden files once (kept for the record; re-running it must NOT be needed).

golden-context-model.safetensors: a tiny IntraCodec with channel-wise context (N=M=16, Nh=8,
4 slices), random weights from seed 0 with the context networks' zero-initialised output layers
drawn at random too (so the corrections are not zero), plus its entropy tables. golden-context.gcv:
2 synthetic 48x32 frames coded with it. golden-context.json: the SHA-256 of the decoded I420 frames.
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

MODEL_ID = "gc-golden-context-tiny"

torch.manual_seed(0)
model = IntraCodec(IntraConfig(16, 16, 8, context_slices=4))
for net in model.context:
    torch.nn.init.normal_(net[-1].weight, std=0.05)
    torch.nn.init.normal_(net[-1].bias, std=0.5)
save_weights(model, HERE / "golden-context-model.safetensors", MODEL_ID)
register_model(MODEL_ID, HERE / "golden-context-model.safetensors")
src = write_clip(Path("/tmp/golden-context-src.mkv"), width=48, height=32, count=2)
encode_file(src, HERE / "golden-context.gcv", quality=5.5, overwrite=True, model_id=MODEL_ID)
decode_file(HERE / "golden-context.gcv", Path("/tmp/golden-context.yuv"), overwrite=True)
digest = hashlib.sha256(Path("/tmp/golden-context.yuv").read_bytes()).hexdigest()
(HERE / "golden-context.json").write_text(
    json.dumps({"model_id": MODEL_ID, "decoded_i420_sha256": digest}, indent=2) + "\n"
)
print(digest)
