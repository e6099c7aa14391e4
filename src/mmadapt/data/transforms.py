"""Clip transforms of the MMA-DFER recipe: every frame of a clip gets the same operation.

Test: resize each frame to S x S (bilinear, aspect not kept). Train: brightness factor U[0.5, 1.5], one
random-resized-crop box (area and aspect ranges as torchvision's RandomResizedCrop, including its centre-crop
fallback after failed attempts) resized to S x S, horizontal flip with p = 0.5 -- all drawn once per clip.
Values stay in [0, 1] (the official code does not normalise); optional per-channel mean/std.

Shape legend: T frames, H, W input height/width, S output size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config_base import ConfigBase
from ..errors import ConfigError, InputShapeError
from ._rng import Rng, randint, uniform

__all__ = ["ClipTransform", "CropBox", "TransformConfig", "random_resized_crop_box"]

CropBox = tuple[int, int, int, int]  # (top, left, height, width)


def _check_range(name: str, value: tuple[float, float] | None, low: float, high: float = math.inf) -> None:
    if value is None:
        return
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ConfigError(f"{name} must be (lo, hi) with {low} <= lo <= hi <= {high}, got {value}")


@dataclass
class TransformConfig(ConfigBase):
    """Frame geometry and augmentation (defaults = the official training transform)."""

    img_size: int = 224
    """Output side S of each (square) frame."""
    brightness: tuple[float, float] | None = (0.5, 1.5)
    """Range of the per-clip brightness factor in training; None disables it."""
    crop_scale: tuple[float, float] | None = (0.08, 1.0)
    """Range of the crop's area as a fraction of the frame in training; None disables the crop."""
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    """Range of the crop's width/height ratio (sampled log-uniformly)."""
    crop_attempts: int = 10
    """Random boxes tried before the centre-crop fallback."""
    flip_p: float = 0.5
    """Probability of a horizontal flip of the whole clip in training."""
    mean: tuple[float, float, float] | None = None
    """Per-channel mean subtracted after the [0, 1] scaling (None: no normalisation, as official)."""
    std: tuple[float, float, float] | None = None
    """Per-channel std dividing after the mean (required together with ``mean``)."""
    antialias: bool = True
    """Low-pass before downscaling, as PIL's bilinear resize (used by the official loader) does."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; JSON lists become tuples
        if self.img_size < 1:
            raise ConfigError(f"img_size must be >= 1, got {self.img_size}")
        _check_range("brightness", self.brightness, 0.0)
        _check_range("crop_scale", self.crop_scale, 0.0, 1.0)
        _check_range("crop_ratio", self.crop_ratio, 1e-6)
        if self.crop_scale is not None and self.crop_scale[1] <= 0:
            raise ConfigError(f"crop_scale upper bound must be > 0, got {self.crop_scale}")
        if self.crop_attempts < 0:
            raise ConfigError(f"crop_attempts must be >= 0, got {self.crop_attempts}")
        if not 0.0 <= self.flip_p <= 1.0:
            raise ConfigError(f"flip_p must lie in [0, 1], got {self.flip_p}")
        if (self.mean is None) != (self.std is None):
            raise ConfigError("give both mean and std, or neither")
        if self.std is not None and min(self.std) <= 0:
            raise ConfigError(f"std must be > 0, got {self.std}")


def random_resized_crop_box(
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    rng: Rng = None,
    attempts: int = 10,
) -> CropBox:
    """A box covering ``scale`` of the area with aspect in ``ratio`` (log-uniform); centre crop if none fits."""
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(attempts):
        target = area * uniform(scale[0], scale[1], rng)
        aspect = math.exp(uniform(log_lo, log_hi, rng))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = randint(height - h + 1, 1, rng)[0]
            left = randint(width - w + 1, 1, rng)[0]
            return top, left, h, w
    # Fallback: the whole frame, trimmed to the nearest allowed aspect, centred.
    frame_ratio = width / height
    if frame_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif frame_ratio > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class ClipTransform:
    """uint8 (T, H, W, 3) frames -> float32 (T, 3, S, S); random draws come from the caller's generator."""

    def __init__(self, config: TransformConfig | None = None, *, train: bool = False) -> None:
        self.config = config or TransformConfig()
        self.train = train

    def __repr__(self) -> str:
        return f"{type(self).__name__}(train={self.train}, config={self.config})"

    def _resize(self, clip: torch.Tensor) -> torch.Tensor:
        size = (self.config.img_size, self.config.img_size)
        if clip.shape[-2:] == size:
            return clip
        return F.interpolate(clip, size=size, mode="bilinear", align_corners=False, antialias=self.config.antialias)

    def __call__(self, frames: np.ndarray | torch.Tensor, rng: Rng = None) -> torch.Tensor:
        clip = torch.as_tensor(frames)
        if clip.dtype != torch.uint8:
            raise InputShapeError(f"frames must be uint8 RGB, got dtype {clip.dtype}")
        if clip.ndim != 4 or clip.shape[-1] != 3 or 0 in clip.shape:
            raise InputShapeError(f"frames must have shape (T, H, W, 3) with T, H, W > 0, got {tuple(clip.shape)}")
        cfg = self.config
        # (T, 3, H, W) in [0, 1]; contiguous first: interpolate on the channels-last view measured ~1.6x slower
        # on the CPU (same numbers)
        clip = clip.permute(0, 3, 1, 2).contiguous().to(torch.float32).div_(255.0)
        if self.train:
            if cfg.brightness is not None:
                clip = clip.mul_(uniform(cfg.brightness[0], cfg.brightness[1], rng)).clamp_(0.0, 1.0)
            if cfg.crop_scale is not None:
                top, left, h, w = random_resized_crop_box(
                    clip.shape[-2], clip.shape[-1], cfg.crop_scale, cfg.crop_ratio, rng, cfg.crop_attempts
                )
                clip = clip[:, :, top : top + h, left : left + w]
            clip = self._resize(clip)
            if uniform(0.0, 1.0, rng) < cfg.flip_p:
                clip = clip.flip(-1)
        else:
            clip = self._resize(clip)
        clip = clip.clamp_(0.0, 1.0)  # bilinear/antialias can overshoot by rounding
        if cfg.mean is not None and cfg.std is not None:
            mean = torch.tensor(cfg.mean, dtype=clip.dtype).view(1, 3, 1, 1)
            std = torch.tensor(cfg.std, dtype=clip.dtype).view(1, 3, 1, 1)
            clip = (clip - mean) / std
        return clip.contiguous()  # (T, 3, S, S)
