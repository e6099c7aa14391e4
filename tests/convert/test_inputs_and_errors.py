"""Input forms accepted by ``from_official`` and clear errors for everything else; nothing half-loaded."""

import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmadapt import wrap_encoders
from mmadapt.errors import CheckpointError, ConfigError
from mmadapt.methods.mma_dfer import audiomae_vit_base, maeface_vit_base
from mmadapt.methods.mma_dfer.convert import (
    from_official,
    load_converted,
    read_official,
    save_converted,
    to_official,
)
from mmadapt.methods.mma_dfer.convert.reader import INERT_GLOBALS

from ._helpers import TINY, assert_bit_exact, tiny_state_dict

S = 160


@pytest.fixture(scope="module")
def sd():
    return tiny_state_dict(S)


def _convert(source, **kw):
    return from_official(source, kw.pop("img_size", S), kw.pop("num_classes", 7), **TINY, **kw)


class Unrelated:
    """A custom class: a file holding one needs arbitrary unpickling."""

    def __init__(self):
        self.payload = [1, 2, 3]


def _official_main_py_file(path, sd, monkeypatch):
    """What the official main.py saves: a RecorderMeter of the script's __main__ module with numpy arrays,
    optimizer state, and the DataParallel-prefixed weights."""

    class RecorderMeter:
        def __init__(self, epochs):
            self.total_epoch, self.current_epoch = epochs, epochs
            self.epoch_losses = np.zeros((epochs, 2), dtype=np.float32)
            self.epoch_accuracy = np.full((epochs, 2), 55.5, dtype=np.float32)

    RecorderMeter.__module__, RecorderMeter.__qualname__ = "__main__", "RecorderMeter"
    monkeypatch.setattr(sys.modules["__main__"], "RecorderMeter", RecorderMeter, raising=False)
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.AdamW([param], lr=1e-4, weight_decay=1e-2)
    param.grad = torch.ones(3)
    optimizer.step()
    torch.save(
        {
            "epoch": 25,
            "state_dict": {"module." + k: v for k, v in sd.items()},
            "best_acc": torch.tensor(61.2),
            "optimizer": optimizer.state_dict(),
            "recorder": RecorderMeter(25),
        },
        path,
    )


# ---- accepted inputs ------------------------------------------------------------------------------------------------
def test_official_main_py_file_loads_without_running_its_classes(tmp_path, sd, monkeypatch):
    path = tmp_path / "model.pth"
    _official_main_py_file(path, sd, monkeypatch)
    result = _convert(path)
    allowed = [g[1] for g in torch.serialization.get_safe_globals() if isinstance(g, tuple)]
    assert not set(allowed) & set(INERT_GLOBALS)  # the placeholders were only allowed while reading
    assert result.report.source.other_entries == ("best_acc", "epoch", "optimizer", "recorder")
    assert result.report.source.stripped_prefix and result.report.source.from_file
    assert_bit_exact(to_official(result.model), sd)


def test_safetensors_file_and_bare_dict(tmp_path, sd):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"module." + k: v.contiguous() for k, v in sd.items()}, str(path))
    a = _convert(path).model
    b = _convert(sd).model
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_in_memory_input_is_copied_and_rng_untouched(sd):
    snapshot = {k: v.clone() for k, v in sd.items()}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    model = _convert(sd).model
    assert torch.equal(torch.rand(3), expected_next)  # conversion does not consume the caller's random stream
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert all(torch.equal(sd[k], snapshot[k]) for k in sd)
    assert not model.training and model.official_extras.keys() == {
        k for k in sd if ".norm2." in k and k.startswith("temporal_net") or k.endswith((".head.weight", ".head.bias"))
    }


# ---- refused inputs -------------------------------------------------------------------------------------------------
def test_wrong_image_size_names_the_trained_size(sd):
    with pytest.raises(CheckpointError, match=r"trained at img_size=160 .*not 224"):
        _convert(sd, img_size=224)


def test_wrong_class_count(sd):
    with pytest.raises(CheckpointError, match=r"classifier has 7 classes .*not 11"):
        _convert(sd, num_classes=11)


def test_truncated_file_is_named(tmp_path, sd):
    path = tmp_path / "model.pth"
    torch.save({"state_dict": sd}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.pth.*truncated"):
        _convert(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        _convert("/nonexistent/nope.pth")


def test_plain_vit_state_dict_is_recognised_as_another_model():
    vit = maeface_vit_base(img_size=32, embed_dim=32, depth=2, num_heads=2).model
    with pytest.raises(CheckpointError, match=r"not an official MMA-DFER.*plain ViT backbone"):
        _convert(vit.state_dict())


def test_custom_class_pickle_is_refused_and_named(tmp_path, sd):
    path = tmp_path / "model.pth"
    torch.save({"state_dict": sd, "extra": Unrelated()}, path)
    with pytest.raises(CheckpointError, match=r"refusing to load .*model\.pth.*Unrelated"):
        _convert(path)


def test_every_layout_problem_is_listed_before_loading(sd):
    bad = dict(sd)
    del bad["image_encoder.temporal_pre.4.weight"]
    bad["audio_model.all_gate.11"] = torch.zeros(2)
    bad["audio_model.blocks.3.mlp.fc1.bias"] = torch.zeros(5)
    bad["image_encoder.extra_thing"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        _convert(bad)
    message = str(info.value)
    for fragment in (
        "missing keys ['image_encoder.temporal_pre.4.weight']",
        "unexpected keys ['image_encoder.extra_thing']",
        "audio_model.all_gate.11: (2,), expected (1,)",
        "audio_model.blocks.3.mlp.fc1.bias: (5,)",
    ):
        assert fragment in message


def test_non_strict_skips_unused_and_unknown_but_never_used_tensors(sd):
    lenient = {k: v for k, v in sd.items() if ".norm2." not in k or not k.startswith("temporal_net")}
    lenient["something.else"] = torch.zeros(1)
    with pytest.warns(UserWarning, match="skipping 1 keys"):
        result = _convert(lenient, strict=False)
    assert result.report.unexpected == ("something.else",)
    with pytest.raises(CheckpointError, match="missing keys"):
        _convert(lenient)
    del lenient["vision_proj.bias"]
    with pytest.raises(CheckpointError, match=r"missing keys \['vision_proj.bias'\]"):
        _convert(lenient, strict=False)


def test_mixed_prefix_and_non_tensor_entries_are_refused(sd):
    mixed = dict(sd)
    mixed["module.vision_proj.weight"] = mixed.pop("vision_proj.weight")
    with pytest.raises(CheckpointError, match="some keys carry"):
        read_official(mixed)
    with pytest.raises(CheckpointError, match="no state dict"):
        read_official({"weights": [1, 2]})


def test_model_without_official_equivalent_is_refused():
    audio = audiomae_vit_base(frames=64, mel_bins=32, embed_dim=32, depth=2, num_heads=2).model
    video = maeface_vit_base(img_size=32, embed_dim=32, depth=2, num_heads=2).model
    model = wrap_encoders(audio, video, preset="mma-dfer-no-fusion")
    with pytest.raises(ConfigError, match="no fusion"):
        to_official(model)


def test_converted_directory_checks_its_files(tmp_path, sd):
    model = _convert(sd).model
    save_converted(model, tmp_path / "ok")
    (tmp_path / "ok" / "audio_backbone.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match=r"audio_backbone\.safetensors.*truncated"):
        load_converted(tmp_path / "ok")
    with pytest.raises(CheckpointError, match="converted_backbones.json is missing"):
        load_converted(tmp_path)


def test_read_official_only_reads(sd):
    weights, source = read_official({"state_dict": sd, "note": SimpleNamespace()})
    assert weights.keys() == sd.keys() and source.other_entries == ("note",) and not source.from_file
