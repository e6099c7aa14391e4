"""Shared pieces of the conversion tests: official-layout state dicts, inputs and the reference forward.

Legend: n clips, T frames, S frame side.
"""

from __future__ import annotations

import torch

from ..official._keys import TINY_HEADS, TINY_TEMPORAL_HEADS, TINY_WIDTHS, official_state_dict
from ..official._reference import official_forward

AUDIO_SHAPE = (1, 512, 128)  # (channels, frames, mel bins): fixed by the official audio pos table (1 + 256 + 6 rows)
TINY = {"num_heads": TINY_HEADS, "temporal_heads": TINY_TEMPORAL_HEADS}
FULL = {"num_heads": 12, "temporal_heads": 8}
TOL = 1e-5


def tiny_state_dict(img_size: int, num_classes: int = 7, seed: int = 0) -> dict[str, torch.Tensor]:
    return official_state_dict(img_size, num_classes=num_classes, seed=seed, widths=TINY_WIDTHS)


def inputs(img_size: int, t: int, n: int = 1, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames in [0, 1] (as the official loader gives them) and a normalised-fbank-like spectrogram."""
    gen = torch.Generator().manual_seed(seed)
    video = torch.rand(n, t, 3, img_size, img_size, generator=gen)  # (n, T, 3, S, S)
    audio = torch.randn(n, *AUDIO_SHAPE, generator=gen)  # (n, 1, 512, 128)
    return video, audio


def reference_logits(sd, video, audio, img_size: int, heads: dict[str, int]) -> torch.Tensor:
    """The official forward; for T < 16 frames the temporal table keeps its first T + 1 rows, which is what the
    official head would compute for T frames (and what mmadapt's head does)."""
    t = video.shape[1]
    sd = dict(sd)
    sd["temporal_net.pos_embedding"] = sd["temporal_net.pos_embedding"][:, : t + 1]
    return official_forward(sd, video, audio, img_size, heads["num_heads"], heads["temporal_heads"])


def assert_bit_exact(back: dict[str, torch.Tensor], sd: dict[str, torch.Tensor]) -> None:
    assert list(back) == list(sd), "keys or their order differ"
    different = [k for k in sd if back[k].dtype != sd[k].dtype or not torch.equal(back[k], sd[k])]
    assert not different, different[:5]
