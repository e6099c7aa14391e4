"""Show the trainable-parameter table of a preset on a pair of backbones (built on the meta device: no weights,
no memory), e.g. ``mmadapt info --preset mma-dfer --video-backbone maeface_vit_base --img-size 160``."""

from __future__ import annotations

import argparse

HELP = "trainable-parameter table for a preset and a pair of backbones"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="mma-dfer", help="preset name (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="list registered presets and exit")
    p.add_argument("--audio-backbone", default="audiomae_vit_base", help="registered backbone name or timm name")
    p.add_argument("--video-backbone", default="maeface_vit_base", help="registered backbone name or timm name")
    p.add_argument("--img-size", type=int, default=160, help="video frame size (pixels)")
    p.add_argument("--num-classes", type=int, default=7, help="number of classes")


def run(args: argparse.Namespace) -> int:
    import torch

    import mmadapt
    from mmadapt.backbones import create_backbone, list_backbones

    if args.list_presets:
        for name in mmadapt.list_presets():
            print(f"{name:28s} {mmadapt.describe_preset(name)}")
        return 0

    def make(name: str, **kw):
        if name in list_backbones():
            return create_backbone(name, **kw).model
        import timm

        return timm.create_model(name, pretrained=False, num_classes=0)

    with torch.device("meta"):
        audio = make(args.audio_backbone)
        video = make(args.video_backbone, img_size=args.img_size) if args.video_backbone in list_backbones() else make(
            args.video_backbone
        )
        model = mmadapt.wrap_encoders(audio, video, preset=args.preset, num_classes=args.num_classes)
    rows = [(name, sum(p.numel() for p in module.parameters())) for name, module in sorted(model.adapter_modules().items())]
    width = max(len(n) for n, _ in rows)
    print(f"preset {args.preset}: audio {args.audio_backbone}, video {args.video_backbone} @ {args.img_size}px")
    for name, count in rows:
        print(f"  {name:{width}s} {count:>12,d}")
    print(f"  {'total trainable':{width}s} {sum(c for _, c in rows):>12,d}")
    print(model.trainable_parameters_summary())
    return 0
