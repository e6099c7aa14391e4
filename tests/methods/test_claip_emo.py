"""The ``claip-emo`` preset: LoRA in each tower, no prompts, no fusion, late concatenation of the stream embeddings."""

from __future__ import annotations

import torch

import mmadapt
from mmadapt import BackboneLoraConfig, LateConcatConfig

from ..core.helpers import make_three, make_three_inputs


def test_the_preset_is_the_official_recipe():
    from mmadapt.presets import list_presets, preset_record

    assert "claip-emo" in list_presets("claip-*")
    record = preset_record("claip-emo")
    assert record.paper_ref == "CLAIP-Emo, IEEE SPL 2026"
    c = record.fn({})
    assert c.prompts is None and c.fusion is None and not c.tune_pos_embed
    assert c.backbone_lora == BackboneLoraConfig(rank=8, alpha=32, dropout=0.1, targets="attention+mlp")
    assert isinstance(c.head, LateConcatConfig) and (c.head.depth, c.head.max_frames) == (1, 16)


def test_three_streams_concatenate_and_only_lora_and_head_train():
    backbones, shapes = make_three()
    torch.manual_seed(0)
    head = {"heads": 2, "dim_head": 8, "mlp_dim": 16, "max_frames": 4}
    model = mmadapt.wrap_encoders(backbones, "claip-emo", frames={"video", "flow"}, head=head, num_classes=3).eval()
    x = make_three_inputs(shapes)
    logits = model(**x)
    assert logits.shape == (2, 3)
    widths = sum(info.width for info in model.streams.values())
    assert model.head.classifier.in_features == widths and set(model.head.temporal) == {"video", "flow"}
    lora = {k.split(".")[1] for k in model.adapter_state_dict() if k.startswith("backbone_lora.")}
    assert lora == {"audio", "video", "flow"}
    head_n = sum(p.numel() for p in model.head.parameters())
    lora_n = sum(v.numel() for k, v in model.adapter_state_dict().items() if k.startswith("backbone_lora."))
    assert model.get_nb_trainable_parameters()[0] == head_n + lora_n
    model.detach()


def test_parameter_counts_per_part_name_the_lora_and_add_up_to_the_trainable_total():
    backbones, _ = make_three()
    head = {"heads": 2, "dim_head": 8, "mlp_dim": 16, "max_frames": 4}
    model = mmadapt.wrap_encoders(backbones, "claip-emo", frames={"video", "flow"}, head=head, num_classes=3)
    counts = model.adapter_parameter_counts()
    lora_n = sum(v.numel() for k, v in model.adapter_state_dict().items() if k.startswith("backbone_lora."))
    assert counts["backbone_lora"] == lora_n > 0
    assert counts["fusion"] == counts["prompts"] == 0  # parts the preset leaves off are listed as zero
    assert sum(counts.values()) == model.get_nb_trainable_parameters()[0]
    model.detach()


def test_info_lists_the_lora_row_and_its_rows_add_up(capsys):
    from mmadapt.cli import main

    assert main(["info", "--preset", "claip-emo", "--no-cache"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: int(line.split()[-1].replace(",", "")) for line in lines[1:-2]}
    total = int(lines[-2].split()[-1].replace(",", ""))
    trainable = int(lines[-1].split("||")[0].split(":")[1].replace(",", ""))
    assert rows["backbone_lora"] > 0 and sum(rows.values()) == total == trainable
