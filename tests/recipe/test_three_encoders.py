"""Three encoders through the recipe: an AST audio stream, a timm ViT on the frames and a Hugging Face ViT on
"flow" (the frames' temporal differences, another view of the same clip), trained by the real Trainer on a tiny
synthetic dataset whose items carry the three streams by name.

Shape legend: n clips, V views, T frames, C channels, H x W image / spectrogram size.
"""

from __future__ import annotations

import math

import pytest
import torch

import mmadapt
from mmadapt.recipe import TrainConfig, evaluate, find_latest_checkpoint, load_checkpoint, train

from ..core.helpers import clone, make_three, wrap_three

T = 3  # frames per clip
NUM_CLASSES = 5  # wrap_three's default


class ThreeStreamClips(torch.utils.data.Dataset):
    """``n`` clips ``{"audio", "video", "flow", "label"}``: the label shifts the mean of the spectrogram and the
    brightness ramp of the frames; flow[t] = frame[t + 1] - frame[t] (zero for the last frame). With ``views``
    the per-frame streams carry V views of each clip and the audio is shared by them."""

    def __init__(self, n: int, shapes: dict[str, tuple[int, int, int]], seed: int = 0, views: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, NUM_CLASSES, (n,), generator=g)
        level = self.labels.float().view(n, 1, 1, 1, 1) / NUM_CLASSES  # (n, 1, 1, 1, 1)
        lead = (n, views) if views else (n,)
        ramp = torch.linspace(0, 1, T).view(T, 1, 1, 1)  # (T, 1, 1, 1)
        video = torch.randn(*lead, T, *shapes["video"], generator=g) * 0.5
        self.video = video + (level if not views else level[:, None]) * ramp  # (n[, V], T, C, H, W)
        self.flow = torch.cat([self.video.diff(dim=-4), torch.zeros_like(self.video[..., :1, :, :, :])], dim=-4)
        self.audio = torch.randn(n, *shapes["audio"], generator=g) + self.labels.view(n, 1, 1, 1).float()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {"audio": self.audio[i], "video": self.video[i], "flow": self.flow[i], "label": int(self.labels[i])}


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=3, batch_size=4, lr=1e-2, num_workers=0, device="cpu", out_dir=str(out_dir), log_every=1, progress=False
    )
    return TrainConfig(**{**base, **kw})


def _batch(data: ThreeStreamClips, n: int) -> dict[str, torch.Tensor]:
    return {s: getattr(data, s)[:n] for s in ("audio", "video", "flow")}


def test_the_trainer_trains_evaluates_and_saves_a_three_stream_model(tmp_path):
    backbones, shapes = make_three()
    fresh = {s: clone(b) for s, b in backbones.items()}
    fresh_again = {s: clone(b) for s, b in backbones.items()}
    frozen = {s: {k: v.clone() for k, v in b.state_dict().items()} for s, b in backbones.items()}
    model = wrap_three(backbones)
    before = {k: v.clone() for k, v in model.adapter_state_dict().items()}
    train_set, val_set = ThreeStreamClips(8, shapes, seed=0), ThreeStreamClips(4, shapes, seed=1)

    result = train(model, train_set, val_set, _cfg(tmp_path))

    losses = [r["train_loss"] for r in result.history]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    after = model.adapter_state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("fusion.") for k in changed) and any(k.startswith("head.") for k in changed)
    assert {s for s in ("audio", "video", "flow") if any(k.startswith(f"prompts.{s}.") for k in changed)} == {
        "audio",
        "video",
        "flow",
    }
    assert 0.0 <= result.final["uar"] <= 1.0 and result.final["epoch"] == 3

    # the adapter the Trainer saved rebuilds the same model: identical logits and the same final metrics
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", fresh).eval()
    model.eval()
    x = _batch(val_set, 4)
    with torch.no_grad():
        assert torch.equal(loaded(**x), model(**x))
    again = evaluate(loaded, val_set)
    assert (again.uar, again.war) == (result.final["uar"], result.final["war"])
    assert again.loss == pytest.approx(result.final["loss"], rel=1e-12)

    # so does the last training checkpoint, loaded into a freshly wrapped model
    ckpt = load_checkpoint(find_latest_checkpoint(tmp_path))
    rewrapped = wrap_three(fresh_again)
    rewrapped.load_adapter_state_dict(ckpt.adapter)
    with torch.no_grad():
        assert torch.equal(rewrapped.eval()(**x), model(**x))

    # training never touched the frozen encoders: detached, they are bit-identical to the ones wrapped
    for s, b in zip(("audio", "video", "flow"), model.detach(), strict=True):
        assert all(torch.equal(v, frozen[s][k]) for k, v in b.state_dict().items()), s


def test_views_of_the_per_frame_streams_are_averaged_with_the_audio_shared():
    backbones, shapes = make_three()
    model = wrap_three(backbones).eval()
    data = ThreeStreamClips(3, shapes, seed=2, views=2)
    result = evaluate(model, data, batch_size=2)
    with torch.no_grad():
        per_view = [model(audio=data.audio, video=data.video[:, v], flow=data.flow[:, v]) for v in range(2)]
    logits = torch.stack(per_view).mean(0)  # (n, K)
    assert result.loss == pytest.approx(torch.nn.functional.cross_entropy(logits, data.labels).item(), rel=1e-5)
    assert result.war == pytest.approx((logits.argmax(1) == data.labels).float().mean().item())


def test_a_two_stream_batch_for_the_three_stream_model_names_the_missing_stream(tmp_path):
    backbones, shapes = make_three()
    data = ThreeStreamClips(4, shapes)

    class WithoutFlow(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return {k: v for k, v in data[i].items() if k != "flow"}

    with pytest.raises(
        ValueError,
        match=r"the model's streams are \['audio', 'video', 'flow'\], the batch has "
        r"\['audio', 'video'\]: missing \['flow'\]",
    ):
        train(wrap_three(backbones), WithoutFlow(), None, _cfg(tmp_path, epochs=1))
