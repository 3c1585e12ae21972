"""Growing the intra codec by latent channels (train/grow.py) keeps what the old model computes."""

import torch

from gancodec.models.intra import IntraCodec, IntraConfig
from gancodec.train.grow import can_grow, grow_latent_channels

OLD = IntraConfig(channels=16, latent_channels=16, hyper_channels=8, context_slices=2)
NEW = IntraConfig(
    channels=16, latent_channels=32, hyper_channels=8, context_slices=4, hyper_synthesis_channels=16
)


def _trained_looking(config: IntraConfig) -> IntraCodec:
    torch.manual_seed(3)
    model = IntraCodec(config)
    with torch.no_grad():  # the context nets' last layers start at zero; make them do something
        for net in model.context:
            net[-1].weight.normal_(0, 0.05)
        model.log_gain.normal_(0, 0.3)
    return model.eval()


def test_can_grow_only_by_whole_slices_of_the_same_size():
    assert can_grow(OLD, NEW)
    assert not can_grow(NEW, OLD)
    assert not can_grow(OLD, IntraConfig(16, 32, 8, 2, hyper_synthesis_channels=16))
    assert not can_grow(OLD, IntraConfig(24, 32, 8, 4, hyper_synthesis_channels=16))
    assert not can_grow(OLD, IntraConfig(16, 32, 8, 4))  # h_s would widen


def test_grown_model_codes_the_old_channels_as_before():
    old = _trained_looking(OLD)
    grown = IntraCodec(NEW)
    grown.load_state_dict(grow_latent_channels(old.state_dict(), OLD, NEW))
    grown.eval()
    x = torch.rand(1, 6, 32, 32)
    quality = torch.tensor([5.5])
    with torch.no_grad():
        before = old(x, quality)
        after = grown(x, quality)
        torch.testing.assert_close(after["likelihoods"]["z"], before["likelihoods"]["z"])
        torch.testing.assert_close(after["likelihoods"]["y"][:, :16], before["likelihoods"]["y"])
        assert after["likelihoods"]["y"][:, 16:].lt(1).any()  # the new latents are alive (cost bits)
        grown.g_s[0].weight[16:] = 0  # without the new latents' (small) synthesis weights ...
        torch.testing.assert_close(grown(x, quality)["x_hat"], before["x_hat"])  # ... the same picture


def test_rate_weight_charges_only_the_weighted_channels():
    from gancodec.train.intra_task import rd_loss

    model = _trained_looking(NEW).train()
    y, uv = torch.rand(2, 1, 64, 64), torch.rand(2, 2, 32, 32)
    quality = torch.tensor([3.0, 7.0])
    weight = torch.ones(32)
    torch.manual_seed(0)
    full = rd_loss(model, y, uv, quality)
    torch.manual_seed(0)
    same = rd_loss(model, y, uv, quality, weight)
    weight[16:] = 0
    torch.manual_seed(0)
    free = rd_loss(model, y, uv, quality, weight)
    torch.testing.assert_close(same["loss"], full["loss"])
    torch.testing.assert_close(free["bpp"], full["bpp"])  # the real bits are reported either way
    assert free["loss"] < full["loss"]
