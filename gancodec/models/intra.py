"""The learned intra (I-frame) codec: a variable-rate mean-scale hyperprior on YUV 4:2:0.

Data flow (shapes for a frame padded to H x W luma pixels; x is the packed YUV tensor, see yuv.py):

    x (B,6,H/2,W/2) --g_a--> y (B,M,H/16,W/16) --* gain(q)--> y_g --h_a--> z (B,Nh,H/64,W/64)
    z --Q--> z_hat --[EntropyBottleneck]--> bits
    z_hat --h_s (exact fixed point)--> scales, means
    y_g --Q(means)--> y_hat_g --[GaussianConditional(scales, means)]--> bits
    y_hat_g --* inv_gain(q)--> --g_s--> x_hat (B,6,H/2,W/2)

With `context_slices` = S > 1 the latents are coded in S channel slices, one after the other, and
slice k's scales and means are the hyperprior's plus a correction computed from the slices already
decoded (channel-wise context, Minnen & Singh 2020): later slices cost fewer bits because the
decoder already knows what the earlier ones say about the same place. The corrections start at
zero, so a model grown from a hyperprior-only one codes exactly as before until it is trained.

References: Ballé et al. 2018 (hyperprior), Minnen et al. 2018 (mean-scale), Minnen & Singh 2020
(channel-wise context), Cui et al. 2021 (gain units for continuous rate adaptation). One network covers the whole rate range: `quality`
is a real number in [1, 8]; the gain vectors of the two neighbouring integer qualities are
interpolated geometrically, and training samples q continuously with lambda interpolated the same way.

Determinism: everything that chooses an entropy table (the scales and means from h_s and the
context networks) is computed by FixedPointNet, bit-exact on any machine and thread count. The CDF tables are computed once at
export and shipped in the weights file, never recomputed at load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models.base import CompressionModel
from compressai.models.utils import conv, deconv
from torch import Tensor, nn

from gancodec.entropy import guarded
from gancodec.layers import FixedPointNet, PointwiseGDN
from gancodec.models.yuv import PACKED_CHANNELS, yuv_distortion

QUALITY_MIN = 1.0
QUALITY_MAX = 8.0
NUM_QUALITIES = 8
# Rate-distortion trade-off per integer quality (distortion is MSE on [0,255] YUV 6:1:1 x lambda).
LAMBDAS = tuple(0.0009 * 1.95**i for i in range(NUM_QUALITIES))
SCALES_MIN, SCALES_MAX, SCALES_LEVELS = 0.11, 256.0, 64


def scale_table() -> Tensor:
    return torch.exp(torch.linspace(math.log(SCALES_MIN), math.log(SCALES_MAX), SCALES_LEVELS))


def quality_weights(quality: Tensor) -> tuple[Tensor, Tensor]:
    """Continuous quality (B,) in [1, 8] -> (lower index (B,) long, interpolation weight (B,))."""
    q = quality.clamp(QUALITY_MIN, QUALITY_MAX) - QUALITY_MIN
    lower = q.floor().clamp(max=NUM_QUALITIES - 2).long()
    return lower, q - lower


def lambda_for_quality(quality: Tensor) -> Tensor:
    log_lambdas = torch.log(torch.tensor(LAMBDAS, dtype=torch.float32, device=quality.device))
    lower, w = quality_weights(quality)
    return torch.exp(log_lambdas[lower] * (1 - w) + log_lambdas[lower + 1] * w)


def ste_round(x: Tensor) -> Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


@dataclass(frozen=True)
class IntraConfig:
    channels: int = 96  # N: width of g_a / g_s
    latent_channels: int = 128  # M: channels of y
    hyper_channels: int = 96  # Nh: channels of z
    context_slices: int = 0  # S: 0 or 1 = hyperprior only; S > 1 = channel-wise context in S slices
    # h_s's widths are (H, 3H/2) with H = this, or M when 0 (CompressAI's mean-scale model): a model
    # grown by latent channels (train/grow.py) keeps its hyper-synthesis, most of whose weights are
    # in those widths, and only adds the new channels' outputs
    hyper_synthesis_channels: int = 0

    def __post_init__(self) -> None:
        if self.context_slices > 1 and self.latent_channels % self.context_slices:
            raise ValueError("latent_channels must be a multiple of context_slices")

    @property
    def stride(self) -> int:
        """Luma pixels per hyper-latent position (format 1.x streams pad frames to a multiple)."""
        return 64

    @property
    def latent_stride(self) -> int:
        """Luma pixels per latent position: format 2.x streams pad frames to a multiple of this
        only; the hyper-latents then cover ceil(H / stride) x ceil(W / stride) positions."""
        return 16


class IntraCodec(CompressionModel):
    """Variable-rate mean-scale hyperprior on packed YUV 4:2:0 (see module docstring)."""

    def __init__(self, config: IntraConfig = IntraConfig()):
        super().__init__()
        self.config = config
        n, m, nh = config.channels, config.latent_channels, config.hyper_channels
        c = PACKED_CHANNELS
        self.g_a = nn.Sequential(conv(c, n), PointwiseGDN(n), conv(n, n), PointwiseGDN(n), conv(n, m))
        self.g_s = nn.Sequential(
            deconv(m, n), PointwiseGDN(n, inverse=True), deconv(n, n), PointwiseGDN(n, inverse=True), deconv(n, c)
        )
        self.h_a = nn.Sequential(
            conv(m, nh, 3, 1), nn.LeakyReLU(inplace=True), conv(nh, nh), nn.LeakyReLU(inplace=True),
            conv(nh, nh),
        )  # fmt: skip
        hs = config.hyper_synthesis_channels or m
        self.h_s = nn.Sequential(
            deconv(nh, hs), nn.ReLU(), deconv(hs, hs * 3 // 2), nn.ReLU(), conv(hs * 3 // 2, 2 * m, 3, 1)
        )
        # Gain units (log domain): the encoder gain sets the quantization step per channel and
        # quality, the decoder's inverse gain undoes it (learned separately, "asymmetric").
        init = torch.linspace(-1.2, 1.2, NUM_QUALITIES)[:, None].expand(NUM_QUALITIES, m)
        self.log_gain = nn.Parameter(init.clone())
        self.log_inv_gain = nn.Parameter(-init.clone())
        self.entropy_bottleneck = EntropyBottleneck(nh)
        self.gaussian_conditional = GaussianConditional(None)
        slices = max(1, config.context_slices)
        self.context = nn.ModuleList(_context_net(m // slices, k) for k in range(1, slices))
        self._exact_h_s: FixedPointNet | None = None
        self._exact_context: list[FixedPointNet] = []
        self._tables: tuple[list, list, list] | None = None  # the rANS tables as lists, built on first use
        self.device = torch.device("cpu")

    # -- gains -------------------------------------------------------------------------------
    def _gain(self, table: Tensor, quality: Tensor) -> Tensor:
        lower, w = quality_weights(quality.to(table.device))
        log_g = table[lower] * (1 - w)[:, None] + table[lower + 1] * w[:, None]
        return torch.exp(log_g)[:, :, None, None]

    def gain(self, quality: Tensor) -> Tensor:
        return self._gain(self.log_gain, quality)

    def inv_gain(self, quality: Tensor) -> Tensor:
        return self._gain(self.log_inv_gain, quality)

    # -- training ----------------------------------------------------------------------------
    def forward(self, x: Tensor, quality: Tensor) -> dict:
        """Training/evaluation pass with noise-based likelihoods.

        Args: x (B,6,H/2,W/2) in [0,1]; quality (B,) in [1,8].
        Returns: {"x_hat", "likelihoods": {"y", "z"}}.
        """
        y_g = self.g_a(x - 0.5) * self.gain(quality)
        z = self.h_a(y_g)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales, means = self.h_s(z_hat).float().chunk(2, 1)
        y_hat_g, scales, means = self.quantize_with_context(y_g.float(), scales, means)
        _, y_likelihoods = self.gaussian_conditional(y_g.float(), scales, means=means)
        x_hat = self.g_s(y_hat_g * self.inv_gain(quality)) + 0.5
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def quantize_with_context(
        self, y: Tensor, scales: Tensor, means: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Float path (training, latent search): rounds y (B,M,h,w) around its means slice by slice.

        scales, means (B,M,h,w): the hyperprior's. Returns (y_hat, scales, means), the latter two
        with each slice's context correction added (unchanged without a context model).
        """
        if not self.context:
            return ste_round(y - means) + means, scales, means
        y_slices, s_slices, m_slices = (t.chunk(len(self.context) + 1, 1) for t in (y, scales, means))
        y_hats, out_scales, out_means = [], [], []
        for k, (y_k, s_k, m_k) in enumerate(zip(y_slices, s_slices, m_slices)):
            if k:
                d_scale, d_mean = self.context[k - 1](torch.cat([*y_hats, s_k, m_k], 1)).chunk(2, 1)
                s_k, m_k = s_k + d_scale, m_k + d_mean
            y_hats.append(ste_round(y_k - m_k) + m_k)
            out_scales.append(s_k)
            out_means.append(m_k)
        return torch.cat(y_hats, 1), torch.cat(out_scales, 1), torch.cat(out_means, 1)

    # -- inference ---------------------------------------------------------------------------
    def prepare_inference(self, device: str | torch.device = "cpu") -> None:
        """Build the exact hyper-synthesis and place the transforms. Call after loading weights.

        The transforms (g_a, h_a, g_s, gains) run on `device`; the entropy models and the exact
        hyper-synthesis stay on the CPU, where the rANS coder is.
        """
        self.eval()
        self._exact_h_s = FixedPointNet(self.h_s)
        self._exact_context = [FixedPointNet(net) for net in self.context]
        self._tables = None  # rebuilt from the loaded weights on first use
        self.device = torch.device(device)
        for module in (self.g_a, self.h_a, self.g_s, self.context):
            module.to(self.device)
        self.log_gain.data = self.log_gain.data.to(self.device)
        self.log_inv_gain.data = self.log_inv_gain.data.to(self.device)

    def _entropy_params(self, z_hat: Tensor, y_shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
        if self._exact_h_s is None:
            raise RuntimeError("call prepare_inference() before compress/decompress")
        scales, means = _crop(self._exact_h_s(z_hat), y_shape).chunk(2, 1)
        return scales.float(), means.float()

    @torch.no_grad()
    def compress(
        self, x: Tensor, quality: float, search_steps: int = 0, frame_size: tuple[int, int] | None = None
    ) -> tuple[list[bytes], tuple[int, int]]:
        """Code one packed frame x (1,6,H/2,W/2). Returns ([z_string, y_string], z spatial shape).

        search_steps > 0 refines the latents for this frame before coding (models/refine.py): a
        slower encoder, the same bitstream format and decoder. frame_size (width, height): the real
        frame inside the padded x, which is all the search may spend bits on.
        """
        q = torch.tensor([quality], dtype=torch.float32)
        x = x.to(self.device)
        y_g = self.g_a(x - 0.5) * self.gain(q)
        z = self.h_a(y_g).cpu()
        z_strings = self.entropy_bottleneck.compress(z)
        z_shape = tuple(z.shape[-2:])
        z_hat = self.entropy_bottleneck.decompress(z_strings, z_shape)
        if search_steps <= 0:
            return [z_strings[0], self._compress_y(y_g.cpu(), z_hat)], z_shape
        from gancodec.models.refine import refine_latents

        refined = refine_latents(self, x, y_g, z_hat, quality, search_steps, frame_size)
        # The search optimizes a float proxy of the rate (noise-free likelihoods, float context);
        # the choice between its result and the amortized guess is made on the real thing -- the
        # coded bytes and the decoded picture -- so that the slow preset never codes worse.
        candidates = [self._compress_y(y.cpu(), z_hat) for y in (y_g, refined)]
        costs = [self._coded_rd_cost(x, string, z_hat, q, frame_size) for string in candidates]
        return [z_strings[0], candidates[costs.index(min(costs))]], z_shape

    def _compress_y(self, y_g: Tensor, z_hat: Tensor) -> bytes:
        if self._exact_context:
            return self._compress_slices(y_g, z_hat)
        scales, means = self._entropy_params(z_hat, y_g.shape[-2:])
        indexes = self._table_indexes(scales)
        return self.gaussian_conditional.compress(y_g, indexes, means=means)[0]

    def _decompress_y(self, y_string: bytes, z_hat: Tensor, y_shape: tuple[int, int]) -> Tensor:
        if self._exact_context:
            return self._decompress_slices(y_string, z_hat, y_shape)
        scales, means = self._entropy_params(z_hat, y_shape)
        indexes = self._table_indexes(scales)
        return self.gaussian_conditional.decompress([y_string], indexes, means=means)

    def _coded_rd_cost(
        self, x: Tensor, y_string: bytes, z_hat: Tensor, q: Tensor, frame_size: tuple[int, int] | None
    ) -> float:
        """The training loss measured for real: lambda * 255^2 * D(decoded) + y bits per pixel,
        over the real frame inside the padded x (z's bits are common to all candidates)."""
        width, height = frame_size or (2 * x.shape[-1], 2 * x.shape[-2])
        rows, cols = (height + 1) // 2, (width + 1) // 2
        y_hat = self._decompress_y(y_string, z_hat, latent_shape(x)).float().to(self.device)
        x_hat = self.g_s(y_hat * self.inv_gain(q)) + 0.5
        distortion = yuv_distortion(x[..., :rows, :cols], x_hat[..., :rows, :cols]).item()
        return float(lambda_for_quality(q)) * 255**2 * distortion + 8 * len(y_string) / (width * height)

    def _exact_base_params(self, z_hat: Tensor, y_shape: tuple[int, int]) -> list[tuple[Tensor, Tensor]]:
        """The hyperprior's (scales, means) on y's grid (h_s covers 4x z's), exact float64, split
        into the context slices."""
        if self._exact_h_s is None:
            raise RuntimeError("call prepare_inference() before compress/decompress")
        scales, means = _crop(self._exact_h_s(z_hat), y_shape).chunk(2, 1)
        slices = len(self._exact_context) + 1
        return list(zip(scales.chunk(slices, 1), means.chunk(slices, 1)))

    def _exact_slice_params(
        self, k: int, base: tuple[Tensor, Tensor], decoded: list[Tensor]
    ) -> tuple[Tensor, Tensor]:
        """Slice k's (scales, means), exact float64, from the decoded slices < k (float64 y_hat)."""
        scales, means = base
        if k:
            d_scale, d_mean = self._exact_context[k - 1](torch.cat([*decoded, scales, means], 1)).chunk(2, 1)
            scales, means = scales + d_scale, means + d_mean
        return scales, means

    def rans_tables(self) -> tuple[list, list, list]:
        """The Gaussian tables as the rANS coder takes them (converted once: it costs ms per call)."""
        if self._tables is None:
            gc = self.gaussian_conditional
            self._tables = (
                gc._quantized_cdf.tolist(),
                gc._cdf_length.reshape(-1).int().tolist(),
                gc._offset.reshape(-1).int().tolist(),
            )
        return self._tables

    def _table_indexes(self, scales: Tensor) -> Tensor:
        """GaussianConditional.build_indexes(scales) by binary search instead of a loop over the
        64 scales of the table: the same indexes (the count of table scales below each bounded
        scale), about 10x faster."""
        gc = self.gaussian_conditional
        table = gc.scale_table[:-1].to(torch.float32)
        return torch.searchsorted(table, gc.lower_bound_scale(scales.float()).contiguous()).int()

    def _compress_slices(self, y_g: Tensor, z_hat: Tensor) -> bytes:
        """Codes y_g (1,M,h,w) slice by slice into one rANS string (the decoder's order)."""
        encoder, decoded = BufferedRansEncoder(), []
        tables = self.rans_tables()
        for k, (base, y_k) in enumerate(
            zip(self._exact_base_params(z_hat, y_g.shape[-2:]), y_g.chunk(len(self.context) + 1, 1))
        ):
            scales, means = self._exact_slice_params(k, base, decoded)
            symbols = torch.round(y_k.double() - means)
            indexes = self._table_indexes(scales)
            encoder.encode_with_indexes(
                symbols.reshape(-1).int().tolist(), indexes.reshape(-1).int().tolist(), *tables
            )
            decoded.append(symbols + means)
        return encoder.flush()

    def _decompress_slices(self, y_string: bytes, z_hat: Tensor, y_shape: tuple[int, int]) -> Tensor:
        """Inverse of _compress_slices: returns y_hat_g (1,M,h,w) float32, (h,w) = y_shape."""
        decoder, decoded = RansDecoder(), []
        tables = self.rans_tables()
        decoder.set_stream(y_string)
        for k, base in enumerate(self._exact_base_params(z_hat, y_shape)):
            scales, means = self._exact_slice_params(k, base, decoded)
            indexes = self._table_indexes(scales)
            values = decoder.decode_stream(indexes.reshape(-1).int().tolist(), *tables)
            symbols = torch.tensor(values, dtype=torch.float64).reshape(indexes.shape)
            decoded.append(symbols + means)
        return torch.cat(decoded, 1).float()

    @torch.no_grad()
    def decompress(
        self, strings: list[bytes], z_shape: tuple[int, int], quality: float, y_shape: tuple[int, int] | None = None
    ) -> Tensor:
        """Inverse of compress(): returns x_hat (1,6,8h,8w), float in about [0,1], for latents of
        y_shape (h,w) (default 4x z_shape: the format 1.x grid, frames padded to a multiple of 64)."""
        q = torch.tensor([quality], dtype=torch.float32)
        y_shape = y_shape or (4 * z_shape[0], 4 * z_shape[1])
        z_symbols = self.config.hyper_channels * z_shape[0] * z_shape[1]
        z_hat = self.entropy_bottleneck.decompress([guarded(strings[0], z_symbols)], z_shape)
        y_symbols = self.config.latent_channels * y_shape[0] * y_shape[1]
        y_hat_g = self._decompress_y(guarded(strings[1], y_symbols), z_hat, y_shape)
        return (self.g_s(y_hat_g.to(self.device) * self.inv_gain(q)) + 0.5).cpu()


def latent_shape(x: Tensor) -> tuple[int, int]:
    """The latent grid (h, w) of a packed, padded frame x (B,6,H/2,W/2): g_a downsamples it 8x."""
    return x.shape[-2] // 8, x.shape[-1] // 8


def _crop(params: Tensor, y_shape: tuple[int, int]) -> Tensor:
    """h_s's output (B,C,4h_z,4w_z) cut to the latent grid (B,C,h,w): a frame padded to a multiple
    of 16 but not of 64 has fewer latent rows/columns than 4x its hyper-latents."""
    return params[..., : y_shape[0], : y_shape[1]]


def _context_net(slice_channels: int, k: int) -> nn.Sequential:
    """Slice k's context network: (decoded slices < k, the slice's hyperprior scales and means)
    -> corrections (d_scale, d_mean). Its last layer starts at zero: no correction until trained."""
    s = slice_channels
    net = nn.Sequential(
        conv(s * (k + 2), 4 * s, 3, 1),
        nn.ReLU(),
        conv(4 * s, 3 * s, 3, 1),
        nn.ReLU(),
        conv(3 * s, 2 * s, 3, 1),
    )
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net
