"""Writing an audio track as a 16-bit PCM wav with PyAV, atomically (the wav files ``prep-faces`` writes).

16-bit PCM at the track's own rate and channel count: what the official datasets ship, lossless for the 16 kHz
speech of this field, and read back by :func:`~mmadapt.data.decode.decode_audio` within one quantisation step.

Shape legend: C channels, N samples.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .decode import AudioTrack

__all__ = ["write_wav"]

_LAYOUTS = {1: "mono", 2: "stereo"}
_FULL_SCALE = np.iinfo(np.int16).max


def write_wav(path: str | os.PathLike[str], track: AudioTrack) -> Path:
    """Write ``track`` (float32 (C, N) in [-1, 1]) to ``path``; the file appears only when complete."""
    import av  # local: keeps `import mmadapt.data` light

    channels = track.waveform.shape[0]
    layout = _LAYOUTS.get(channels, f"{channels}c")
    pcm = np.clip(np.rint(track.waveform * _FULL_SCALE), -_FULL_SCALE - 1, _FULL_SCALE).astype(np.int16)
    packed = np.ascontiguousarray(pcm.T).reshape(1, -1)  # (1, N * C): s16 is interleaved
    final = Path(path)
    with atomic_path(final) as tmp:
        with av.open(str(tmp), "w", format="wav") as out:
            stream = out.add_stream("pcm_s16le", rate=track.sample_rate, layout=layout)
            frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
            frame.sample_rate = track.sample_rate
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return final
