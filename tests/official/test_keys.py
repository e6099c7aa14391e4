"""The official key list parses to the counts of OFFICIAL_SEMANTICS.md section 4; fillers follow it."""

import hashlib

import pytest
import torch

from ._keys import SIZES, TINY_WIDTHS, official_keys_path, official_state_dict, parse_official_keys, shared_dir

# (total trainable, total parameters) from the table in section 4
OFFICIAL_COUNTS = {112: (7_519_519, 179_199_251), 160: (7_558_687, 179_238_419), 224: (7_632_415, 179_312_147)}


def _numel(shape):
    return int(torch.Size(shape).numel())


@pytest.mark.parametrize("img_size", sorted(OFFICIAL_COUNTS))
def test_parsed_counts_match_the_spec(img_size):
    specs = parse_official_keys(img_size)
    trainable = sum(_numel(s.shape) for s in specs if s.trainable)
    assert (trainable, sum(_numel(s.shape) for s in specs)) == OFFICIAL_COUNTS[img_size]
    assert len({s.key for s in specs}) == len(specs) == 500
    side = img_size // 16
    by_key = {s.key: s for s in specs}
    assert by_key["image_encoder.pos_embed"][:3] == ("image_encoder.pos_embed", (1, 1 + side * side + 6, 768), True)
    assert by_key["audio_model.patch_embed.proj.weight"].shape == (768, 1, 16, 16)
    assert not by_key["audio_model.blocks.11.mlp.fc2.bias"].trainable
    assert all(s.dtype == torch.float32 for s in specs)


@pytest.fixture(scope="module")
def tiny():
    return official_state_dict(160, widths=TINY_WIDTHS)


def test_num_classes_and_widths():
    sd = official_state_dict(112, num_classes=11, widths=TINY_WIDTHS)
    assert sd["our_classifier.weight"].shape == (11, 32) and sd["our_classifier.bias"].shape == (11,)
    assert sd["audio_model.pos_embed"].shape == (1, 263, 64)
    assert sd["temporal_net.pos_embedding"].shape == (1, 17, 32)


def test_value_scales(tiny):
    gates = torch.cat([v for k, v in tiny.items() if ".all_gate." in k])
    assert gates.numel() == 24 and (gates.abs() < 0.5).all() and (gates != 0).all()
    ln = tiny["image_encoder.blocks.3.norm1.weight"]
    assert abs(ln.mean().item() - 1) < 0.02 and 0.005 < ln.std().item() < 0.05
    w = tiny["image_encoder.blocks.3.mlp.fc1.weight"]
    assert w.shape == (256, 64) and abs(w.std().item() - 0.02) < 0.002
    zero = official_state_dict(160, widths=TINY_WIDTHS, nonzero_gates=False)
    assert all((v == 0).all() for k, v in zero.items() if ".all_gate." in k)


def test_deterministic_by_seed(tiny):
    again = official_state_dict(160, widths=TINY_WIDTHS)
    other = official_state_dict(160, widths=TINY_WIDTHS, seed=1)
    assert all(torch.equal(tiny[k], again[k]) for k in tiny)
    assert not torch.equal(tiny["vision_proj.weight"], other["vision_proj.weight"])


COPY_SHA256 = {
    112: "c20c487cc0864e69fed8f3235f044c2b23936e8d70b56fa6eb153e02eb8bae70",
    160: "cc45947c16afde49fe7dc94a9501785ea539a7981889e6f3fd40ec1873f68f8a",
    224: "7b5ed7be40f293ed2f54ede237ccc5b50600b52011bf8834127d9d10a318ffed",
}
"""Digests of the key lists as copied from shared/mma-dfer (an edited copy fails here, not in a parity test)."""


@pytest.mark.parametrize("img_size", SIZES)
def test_the_repository_copy_is_the_shared_key_list(img_size):
    """The copies in tests/official/data are facts from shared/mma-dfer: unchanged, and equal to that folder's
    files wherever it exists beside the repository."""
    copy = official_keys_path(img_size).read_bytes()
    assert hashlib.sha256(copy).hexdigest() == COPY_SHA256[img_size]
    shared = shared_dir()
    if shared is not None:
        assert copy == (shared / "mma-dfer" / f"official_keys_{img_size}.txt").read_bytes()
