"""Data pipeline of the MMA-DFER recipe: files -> ``{"video": (T, 3, S, S), "audio": (1, F, M), "label": int}``.

Modules: ``batch`` (what a sample / batch is), ``fbank`` (Kaldi log-mel in torch), ``sampling`` (segment frame
indices), ``annotations`` (official lists, dataset registry), ``manifest`` (CSV/JSONL mp4 lists), ``decode``
(PyAV), ``transforms`` (clip augmentation), ``config``/``dataset`` (the datasets), ``faces`` (MTCNN face crops),
``synthetic`` (the old path of :mod:`mmadapt.demo.scenes`, a tiny offline audio-visual dataset). PyAV, PIL and
facenet-pytorch are imported only when used.
"""

from .annotations import (
    DATASET_SPECS,
    AnnotationRecord,
    AudioRule,
    DatasetSpec,
    get_dataset_spec,
    list_dataset_specs,
    read_annotation_list,
    register_dataset_spec,
)
from .config import DataConfig
from .dataset import ClipDatasetBase, FrameFolderDataset, VideoManifestDataset
from .decode import AudioTrack, MissingAudioError, VideoFrames, decode_audio, decode_media, decode_video
from .errors import AnnotationError, DataCheckError, DataFileError, DecodeError
from .faces import ClipFaces, FaceCropConfig, FacePrepReport, prep_faces
from .fbank import FbankConfig, audio_features, fit_frames, kaldi_fbank, normalise_fbank, silent_features
from .manifest import ManifestRecord, read_manifest
from .probe import MediaInfo, probe_media
from .sampling import padded_indices, test_indices, train_indices
from .synthetic import (
    SYNTHETIC_CLASSES,
    SyntheticConfig,
    SyntheticDataset,
    load_class_names,
    make_synthetic_dataset,
    synthesize_clip,
)
from .transforms import ClipTransform, TransformConfig, random_resized_crop_box

__all__ = [
    "DATASET_SPECS",
    "SYNTHETIC_CLASSES",
    "AnnotationError",
    "AnnotationRecord",
    "AudioRule",
    "AudioTrack",
    "ClipDatasetBase",
    "ClipFaces",
    "ClipTransform",
    "DataCheckError",
    "DataConfig",
    "DataFileError",
    "DatasetSpec",
    "DecodeError",
    "FaceCropConfig",
    "FacePrepReport",
    "FbankConfig",
    "FrameFolderDataset",
    "ManifestRecord",
    "MediaInfo",
    "MissingAudioError",
    "SyntheticConfig",
    "SyntheticDataset",
    "TransformConfig",
    "VideoFrames",
    "VideoManifestDataset",
    "audio_features",
    "decode_audio",
    "decode_media",
    "decode_video",
    "fit_frames",
    "get_dataset_spec",
    "kaldi_fbank",
    "list_dataset_specs",
    "load_class_names",
    "make_synthetic_dataset",
    "normalise_fbank",
    "padded_indices",
    "prep_faces",
    "probe_media",
    "random_resized_crop_box",
    "read_annotation_list",
    "read_manifest",
    "register_dataset_spec",
    "silent_features",
    "synthesize_clip",
    "test_indices",
    "train_indices",
]
