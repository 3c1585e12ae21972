"""Frame-by-frame coding of a video: I-frames by the intra codec, P-frames by motion + residual.

    I:  frame --IntraCodec--> [z, y]
    P:  ref --block motion (models/motion.py)--> prediction
        frame - prediction + 0.5 --IntraCodec--> [z, y];  motion vectors --rANS--> [motion]
        reconstruction = prediction + decoded residual

The reference is always the previous *decoded* frame (closed loop), kept as uint8 planes, and the
encoder obtains it exactly as the decoder does (it decodes its own strings), so the two stay in
step. Motion compensation is integer arithmetic; only the float synthesis transform could differ
between machines (docs/bitstream.md, "Pixels").

The residual is coded by the same intra network as the I-frames (no second set of weights): a
residual frame is a picture too, mostly flat where the prediction is good, and flat costs little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gancodec.bitstream import recorded_quality
from gancodec.entropy import decode_vectors, encode_vectors
from gancodec.models import motion
from gancodec.models.intra import QUALITY_MAX, QUALITY_MIN, IntraCodec, lambda_for_quality
from gancodec.models.yuv import YuvFrame, add_residual, pack, pack_residual, padded_size, unpack

FRAME_TYPE_I, FRAME_TYPE_P, FRAME_TYPE_PQ = "I", "P", "Pq"
INTERPOLATIONS = {FRAME_TYPE_P: motion.HALF_BILINEAR, FRAME_TYPE_PQ: motion.QUARTER_SHARP}
FRAME_KIND = {interpolation: kind for kind, interpolation in INTERPOLATIONS.items()}
# Each P-frame is predicted both ways -- half-pel bilinear ("P") and quarter-pel with HEVC's sharp
# filters ("Pq", format 3.0) -- and the prediction closer to the frame is coded (motion.best_prediction),
# like AV1's per-frame choice of vector precision and filter. Measured (session 14, v11 weights, GOP 32,
# 12 frames, q 2/4/6/8, BD-rate on PSNR-Y against "P" only): this choice -4.8 / -3.5 / -8.3 % on the
# eval clips cars / walk / sintel, -0.8 / +0.2 / -0.1 % on the training clips foreman / bikes / akiyo;
# "Pq" for every P-frame of quality >= 3.5 instead: -4.9 / -2.9 / -7.7 % but +2.7 / +3.0 / +0.1 % (the
# sharp prediction of a blurry or noisy reference loses: bikes q 8 -0.6 dB); choosing by the coded
# rate-distortion cost (coding both): -5.4 / -4.5 / -8.8 % and -1.2 / +0.9 / -0.7 %, for twice the work.
MOTION_COST_SCALE = 3.0  # tuned on the training clips (runs/pframe): see motion_bit_cost
# A P-frame that costs more than this share of the last I-frame is coded as an I-frame too, and the
# smaller of the two is kept: after a scene cut the prediction is useless and intra is far cheaper.
# Measured (v7 weights, q 2 and 6, 30 frames): P-frames cost at most 0.62 / 0.84 / 0.73 of the I-frame
# on cars / walk / foreman, and 1.6x at a cut (foreman -> akiyo); 0.9 keeps the extra I trial rare.
SCENE_CUT_SHARE = 0.9
# Quality added to an I-frame that P-frames will predict from (x264's --ipratio does the same): a
# better reference lifts every P-frame after it. Measured at GOP 32 (session 11,
# benchmarks/intra_boost_probe.py; BD-rate on PSNR-Y against no boost, cars / walk / sintel): with
# v10's GPU stage +1 -1.3 / -0.4 / -2.8 %, +1.5 -2.1 / -0.6 / -4.7 %, +2 -3.2 / -0.3 / -5.3 %,
# +3 -3.6 / +0.6 / -5.0 %; with v10 itself +1.5 -3.0 / +0.3 / -5.0 %. Fast motion (walk) gains
# least: its P-frames keep little of the reference.
DEFAULT_INTRA_BOOST = 1.5
# Quality added to the P-frames by their place after the I-frame, cyclically (1st, 2nd, 3rd, 4th, 5th
# = 1st, ...), in the shape of HM's low-delay configuration's QP offsets: every 4th P-frame is coded
# better, as the ones after it predict from it (through each other), the odd ones, which only the
# next frame uses, worse. Measured at GOP 32 against one quality for every P-frame (session 12,
# benchmarks/p_pyramid_probe.py, v10 weights, 4 qualities, BD-rate on PSNR-Y): this pattern, training
# clips foreman / bikes / akiyo -1.3 / +1.9 / -5.9 %, eval clips cars / walk / sintel -1.9 / -0.4 /
# -1.2 % (mean -1.5 %); the stronger -1,-0.5,-1,+0.5: -2.0 / +5.3 / -6.3 % and -3.5 / -0.7 / -1.4 %
# (mean -1.4 %, a worse worst case); -1,0,-1,+1 on the eval clips -3.2 / -1.1 / -0.7 %.
DEFAULT_P_OFFSETS = (-0.5, 0.0, -0.5, 0.5)


def motion_bit_cost(quality: float) -> float:
    """SAD units a motion bit is worth at `quality`: the codec's loss prices one bit at 1/lambda
    in squared error (8-bit units, per frame); motion search, like x264's, works in SAD, whose
    price is about the square root of that."""
    lam = float(lambda_for_quality(torch.tensor([quality])))
    return MOTION_COST_SCALE * (1.0 / lam) ** 0.5


@dataclass
class CodedFrame:
    kind: str  # FRAME_TYPE_I, FRAME_TYPE_P or FRAME_TYPE_PQ
    streams: list[bytes]  # I: [z, y]; P and Pq: [motion, z, y]
    quality: float | None = None  # what the encoder coded it with (its record must carry this)


def _size(coded: CodedFrame) -> int:
    return sum(len(s) for s in coded.streams)


class VideoCoder:
    """Codes or decodes the frames of one stream in order, holding the reference frame.

    gop: intra period (1 = all intra): an I-frame every gop frames, counted from the last I-frame.
    scene_cuts: the encoder may code any frame as an I-frame when that is smaller (SCENE_CUT_SHARE);
    the intra period then restarts there, as x264's keyint does after a scene cut.
    intra_boost: quality added to I-frames when P-frames follow them (gop > 1; capped at the top
    quality); each CodedFrame says the quality it was coded with.
    p_offsets: quality added to the P-frames by their place after the last I-frame, cyclically
    (DEFAULT_P_OFFSETS; kept within the quality range).
    sharp_motion: whether "Pq" frames (quarter-pel, sharp filters) exist: format 3.0 streams; the
    encoder then predicts each P-frame both ways and codes the closer prediction.
    """

    def __init__(
        self,
        model: IntraCodec,
        width: int,
        height: int,
        gop: int = 1,
        search_steps: int = 0,
        scene_cuts: bool = True,
        intra_boost: float = 0.0,
        p_offsets: tuple[float, ...] = (),
        pad_multiple: int | None = None,
        sharp_motion: bool = True,
    ):
        self.model, self.width, self.height = model, width, height
        self.gop, self.search_steps, self.scene_cuts = gop, search_steps, scene_cuts
        self.sharp_motion = sharp_motion
        self.intra_boost = intra_boost if gop > 1 else 0.0
        self.p_offsets = tuple(p_offsets) if gop > 1 else ()
        # Frames are padded to pad_multiple luma pixels: the latent stride (16) since format 2.0,
        # the hyper-latent stride (64) in format 1.x streams. Either way z covers ceil(H/64) rows.
        self.pad_multiple = pad_multiple or model.config.latent_stride
        padded_width, padded_height = padded_size(width, height, self.pad_multiple)
        latent = model.config.latent_stride
        self.y_shape = (padded_height // latent, padded_width // latent)
        self.z_shape = (-(-self.y_shape[0] // 4), -(-self.y_shape[1] // 4))
        self.reference: YuvFrame | None = None
        self._last_intra: tuple[int, int] | None = None  # (index, bytes) of the last I-frame coded

    # -- encoder ------------------------------------------------------------------------------
    def encode(self, frame: YuvFrame, index: int, quality: float, reconstruct: bool = False) -> CodedFrame:
        """Codes `frame` (number `index` in the stream). Its reconstruction (what the decoder will
        show) becomes `self.reference` when a P-frame may follow or `reconstruct` asks for it."""
        if self._intra_due(index):
            coded = self._code_intra(frame, quality)
        else:
            coded = self._code_inter(frame, self.inter_quality(quality, index))
            if self.scene_cuts and _size(coded) > SCENE_CUT_SHARE * self._last_intra[1]:
                intra = self._code_intra(frame, quality)
                coded = intra if _size(intra) < _size(coded) else coded
        if coded.kind == FRAME_TYPE_I:
            self._last_intra = (index, _size(coded))
        if self.gop > 1 or reconstruct:
            self.decode(coded, coded.quality)  # the decoder's reconstruction, bit for bit
        return coded

    def intra_quality(self, quality: float) -> float:
        """The quality an I-frame is coded with when the frames around it are coded at `quality`."""
        return recorded_quality(min(quality + self.intra_boost, QUALITY_MAX))

    def inter_quality(self, quality: float, index: int) -> float:
        """The quality P-frame `index` is coded with when the video is coded at `quality`."""
        if not self.p_offsets:
            return quality
        position = index - self._last_intra[0]  # 1 for the first P-frame after the I-frame
        offset = self.p_offsets[(position - 1) % len(self.p_offsets)]
        return recorded_quality(min(max(quality + offset, QUALITY_MIN), QUALITY_MAX))

    def _intra_due(self, index: int) -> bool:
        return self.reference is None or self._last_intra is None or index - self._last_intra[0] >= self.gop

    def _code_intra(self, frame: YuvFrame, quality: float) -> CodedFrame:
        quality = self.intra_quality(quality)
        return CodedFrame(FRAME_TYPE_I, self._compress(pack(frame, self.pad_multiple), quality), quality)

    def _code_inter(self, frame: YuvFrame, quality: float) -> CodedFrame:
        interpolations = (motion.HALF_BILINEAR, motion.QUARTER_SHARP) if self.sharp_motion else (motion.HALF_BILINEAR,)
        interpolation, vectors, predicted = motion.best_prediction(
            frame, self.reference, motion_bit_cost(quality), interpolations
        )
        strings = self._compress(pack_residual(frame, YuvFrame(*predicted), self.pad_multiple), quality)
        diff = vectors - motion.predict_vectors(vectors)
        return CodedFrame(FRAME_KIND[interpolation], [encode_vectors(diff, self.model.rans_tables()), *strings], quality)

    def _compress(self, x: torch.Tensor, quality: float) -> list[bytes]:
        strings, _ = self.model.compress(x, quality, self.search_steps, (self.width, self.height))
        return strings

    # -- decoder ------------------------------------------------------------------------------
    def decode(self, coded: CodedFrame, quality: float) -> YuvFrame:
        """Decodes one frame; raises ValueError on a malformed record (P-frame without reference,
        bad motion stream) and RuntimeError from the entropy decoder."""
        if coded.kind == FRAME_TYPE_I:
            if len(coded.streams) != 2:
                raise ValueError("an I-frame has 2 streams")
            frame = unpack(self._decompress(coded.streams, quality), self.width, self.height)
        elif coded.kind == FRAME_TYPE_P or (coded.kind == FRAME_TYPE_PQ and self.sharp_motion):
            interpolation = INTERPOLATIONS[coded.kind]
            if len(coded.streams) != 3:
                raise ValueError("a P-frame has 3 streams")
            if self.reference is None:
                raise ValueError("P-frame without a reference frame")
            rows, cols = motion.block_grid(self.width, self.height)
            diff = decode_vectors(coded.streams[0], rows, cols, self.model.rans_tables())
            vectors = motion.vectors_from_differences(diff)
            if np.abs(vectors).max(initial=0) > interpolation.mv_limit:
                raise ValueError("motion vector out of range")
            prediction = YuvFrame(*motion.predict_frame(*self.reference, vectors, interpolation))
            frame = add_residual(prediction, self._decompress(coded.streams[1:], quality))
        else:
            raise ValueError(f"unknown frame type {coded.kind}")
        self.reference = frame
        return frame

    def _decompress(self, strings: list[bytes], quality: float) -> torch.Tensor:
        return self.model.decompress(strings, self.z_shape, quality, self.y_shape)

    def conceal(self, frame: YuvFrame) -> None:
        """After a lost frame: the frame shown in its place becomes the reference."""
        self.reference = frame
