"""The one config base: every config of mmadapt round-trips through dicts and JSON, rejects unknown keys with a
suggestion and wrong types naming the field, and takes dotted ``key=value`` overrides read by the annotation."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Literal

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mmadapt
import mmadapt.data
import mmadapt.recipe
from mmadapt import AddProjectConfig, MeanBottleneckConfig, MultimodalConfig, PromptConfig, TemporalHeadConfig
from mmadapt.adapters import (
    AdapterConfig,
    AddFusionConfig,
    AttentionBottleneckConfig,
    BackboneLoraConfig,
    FusionKindConfig,
    LateConcatConfig,
    MeanBottleneckITAConfig,
    MultConcatFusionConfig,
    MultFusionConfig,
    VPTDeepConfig,
)
from mmadapt.anatomy.base import BackboneIdentity
from mmadapt.backbones.vit_config import ViTBackboneConfig
from mmadapt.config_base import ConfigBase, apply_overrides, parse_override
from mmadapt.data import DataConfig, FbankConfig, TransformConfig
from mmadapt.data.faces import FaceCropConfig
from mmadapt.demo import DemoConfig, SyntheticConfig
from mmadapt.errors import ConfigError
from mmadapt.recipe.config import TrainConfig
from mmadapt.recipe.experiment import BackboneSpec, DataSource, ExperimentConfig, ExperimentData, ModelSpec
from mmadapt.study.config import StudyConfig
from mmadapt.timeline.config import TimelineConfig

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")

CONFIGS: list[type[ConfigBase]] = [
    AdapterConfig,
    PromptConfig,
    FusionKindConfig,
    MeanBottleneckConfig,
    AddProjectConfig,
    TemporalHeadConfig,
    MultimodalConfig,
    TransformConfig,
    FbankConfig,
    DataConfig,
    FaceCropConfig,
    TrainConfig,
    BackboneSpec,
    ModelSpec,
    DataSource,
    ExperimentData,
    ExperimentConfig,
    ViTBackboneConfig,
    BackboneIdentity,
    SyntheticConfig,
    DemoConfig,
    AddFusionConfig,
    MultFusionConfig,
    MultConcatFusionConfig,
    AttentionBottleneckConfig,
    MeanBottleneckITAConfig,
    VPTDeepConfig,
    BackboneLoraConfig,
    LateConcatConfig,
    StudyConfig,
    TimelineConfig,
]
"""Every config class of the package (a new one must be added here: see the last test of this block)."""
WITH_FIELDS = [c for c in CONFIGS if dataclasses.fields(c)]

EXAMPLES: dict[type[ConfigBase], Any] = {
    StudyConfig: lambda: StudyConfig(synthetic="expressions"),  # a study needs one source
    ViTBackboneConfig: lambda: ViTBackboneConfig(embed_dim=64, depth=2, num_heads=2),
    BackboneIdentity: lambda: BackboneIdentity(
        family="timm-vit",
        cls="timm.models.vision_transformer.VisionTransformer",
        width=64,
        depth=2,
        num_prefix_tokens=1,
        in_chans=3,
        input_size=(32, 32),
        patch_size=(16, 16),
    ),
}
"""Instances of the configs that have required fields (a record rather than a set of defaults)."""


def _example(cls: type[ConfigBase]) -> ConfigBase:
    return EXAMPLES[cls]() if cls in EXAMPLES else cls()


def _ids(cls: type) -> str:
    return cls.__name__


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


# ---- every config ---------------------------------------------------------------------------------------------
def test_the_list_holds_every_config_class_of_the_package():
    ours = {c for c in _all_subclasses(ConfigBase) if c.__module__.startswith("mmadapt.")}
    assert ours <= set(CONFIGS), sorted(c.__name__ for c in ours - set(CONFIGS))


@pytest.mark.parametrize("cls", CONFIGS, ids=_ids)
def test_the_default_round_trips_through_dicts_and_json(cls):
    config = _example(cls)
    d = config.to_dict()
    assert cls.from_dict(d) == config
    assert cls.from_dict(json.loads(json.dumps(d, allow_nan=False))) == config
    assert json.loads(json.dumps(d)) == json.loads(json.dumps(cls.from_dict(d).to_dict()))


@pytest.mark.parametrize("cls", CONFIGS, ids=_ids)
def test_an_unknown_key_is_refused(cls):
    with pytest.raises(ConfigError, match=rf"unknown keys in {cls.__name__}: \['no_such_key'\]"):
        cls.from_dict({"no_such_key": 1})


@pytest.mark.parametrize("cls", WITH_FIELDS, ids=_ids)
def test_a_misspelt_key_is_answered_with_the_nearest_field(cls):
    for f in dataclasses.fields(cls):
        typo = f.name[:-1] + "x" if len(f.name) > 3 else f.name + "x"
        with pytest.raises(ConfigError) as err:
            cls.from_dict({typo: None})
        assert typo in str(err.value)
        assert f"did you mean {f.name!r}?" in str(err.value), str(err.value)


def _wrong_value(hint: Any) -> Any:
    """A value no field of annotation ``hint`` takes: a string for most, a number for text fields."""
    arms = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | None)) else (hint,)
    takes_text = any(a is str or typing.get_origin(a) is Literal or a is Any for a in arms)
    return 3.5 if takes_text else "not-this"


@pytest.mark.parametrize("cls", WITH_FIELDS, ids=_ids)
def test_a_wrongly_typed_value_names_the_field_and_its_type(cls):
    hints = typing.get_type_hints(cls)
    checked = 0
    for f in dataclasses.fields(cls):
        if hints[f.name] is Any or typing.get_args(hints[f.name]) == (str, Any) or f.name in cls._unsaved:
            continue
        value = _wrong_value(hints[f.name])
        base = _example(cls).to_dict() if cls in EXAMPLES else {}
        with pytest.raises(ConfigError) as err:
            cls.from_dict({**base, f.name: value})
        message = str(err.value)
        assert f"{cls.__name__}.{f.name}" in message and "must be" in message, message
        checked += 1
    assert checked


# ---- what the checks accept and refuse ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"epochs": True}, "TrainConfig.epochs must be int"),  # a bool is no int
        ({"compile": 1}, "TrainConfig.compile must be bool"),  # an int is no bool
        ({"amp": "fp16"}, "TrainConfig.amp must be one of ('auto', 'bf16', 'off')"),
        ({"betas": (0.9,)}, "TrainConfig.betas must be a tuple of 2 values"),
        ({"resume": 3}, "TrainConfig.resume must be str | None"),
    ],
)
def test_type_checks_follow_the_annotation(changes, problem):
    for make in (
        lambda: TrainConfig(**changes),
        lambda: TrainConfig.from_dict(changes),
        lambda: TrainConfig().replace(**changes),
    ):
        with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            make()


def test_ints_are_floats_lists_are_tuples_and_json_keys_are_ints():
    cfg = TrainConfig.from_dict({"lr": 1, "betas": [0, 0.5]})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.betas == (0.0, 0.5)
    assert TransformConfig.from_dict({"mean": [0.5, 0.5, 0.5], "std": [1, 1, 1]}).std == (1.0, 1.0, 1.0)
    assert PromptConfig.from_dict({"schedule": {"0": 3, "6": 3}}).schedule == {0: 3, 6: 3}
    with pytest.raises(ConfigError, match="schedule keys must be integers"):
        PromptConfig.from_dict({"schedule": {"first": 3}})


def test_nested_configs_are_rebuilt_and_named_in_errors():
    data = DataConfig.from_dict({"transform": {"img_size": 112}, "audio": {"num_mel_bins": 64}})
    assert data.transform == TransformConfig(img_size=112) and data.audio == FbankConfig(num_mel_bins=64)
    with pytest.raises(
        ConfigError,
        match=r"unknown keys in ExperimentConfig\.data\.source: \['trian'\] "
        r"\(did you mean 'train'\?\)",
    ):
        ExperimentConfig.from_dict({"data": {"source": {"trian": "x"}}})
    with pytest.raises(ConfigError, match=r"DataConfig\.transform\.img_size must be int"):
        DataConfig.from_dict({"transform": {"img_size": "big"}})


@pytest.mark.parametrize(
    ("alias", "value", "nested"),
    [
        ("img_size", 112, ("transform", "img_size")),
        ("mel_bins", 64, ("audio", "num_mel_bins")),
        ("audio_frames", 512, ("audio", "target_frames")),
    ],
)
def test_a_file_takes_the_same_alias_keys_as_the_command_line(alias, value, nested):
    """issue 17: `data.img_size=112` worked as an override but `data: {img_size: 112}` was an unknown key."""
    from_file = ExperimentConfig.from_dict({"data": {alias: value, "num_frames": 4}})
    from_override = apply_overrides(ExperimentConfig(), [f"data.{alias}={value}", "data.num_frames=4"])
    assert from_file == from_override
    assert getattr(getattr(from_file.data, nested[0]), nested[1]) == value
    with pytest.raises(ConfigError, match=f"'{alias}' and '{'.'.join(nested)}' name the same value"):
        DataConfig.from_dict({alias: value, nested[0]: {nested[1]: value}})


def test_adapter_fields_name_their_kind_and_a_missing_type_is_the_default_kind():
    d = MultimodalConfig().to_dict()
    assert (d["prompts"]["type"], d["fusion"]["type"], d["head"]["type"]) == (
        "progressive",
        "mean-bottleneck",
        "temporal-transformer",
    )
    assert d["head"]["joint"] == {"type": "add-project", "anchor": None}
    v1 = MultimodalConfig.from_dict({"fusion": {"latent_dim": 64}, "video_size": [112, 112]})  # format-1 shape
    assert v1.fusion == MeanBottleneckConfig(latent_dim=64) and v1.input_sizes == {"video": (112, 112)}
    with pytest.raises(ConfigError, match=r"MultimodalConfig\.fusion: .*unknown fusion kind 'nope'"):
        MultimodalConfig.from_dict({"fusion": {"type": "nope"}})
    with pytest.raises(ConfigError, match="configures a prompts kind"):
        MultimodalConfig(fusion=PromptConfig())


def test_existing_range_checks_still_run():
    with pytest.raises(ConfigError, match="latent_dim must be >= 1"):
        MeanBottleneckConfig.from_dict({"latent_dim": 0})
    with pytest.raises(ConfigError, match="num_frames must be >= 1"):
        DataConfig().replace(num_frames=0)
    with pytest.raises(ConfigError, match="epochs must be > 0"):
        TrainConfig.from_dict({"epochs": 0})


def test_saved_alone_configs_carry_the_version_and_nested_ones_do_not():
    exp = ExperimentConfig().to_dict()
    assert exp["mmadapt_version"] == mmadapt.__version__ == TrainConfig().to_dict()["mmadapt_version"]
    assert "mmadapt_version" not in exp["train"] and "mmadapt_version" not in MultimodalConfig().to_dict()
    assert "mode" not in exp["data"]  # set per split, not part of the file
    with pytest.raises(ConfigError, match=r"data\.mode is set per split"):
        ExperimentConfig.from_dict({"data": {"mode": "train"}})


@dataclasses.dataclass(frozen=True)
class _Inner(ConfigBase):
    sizes: tuple[int, ...] = (1, 2)


@dataclasses.dataclass(frozen=True)
class _Outer(ConfigBase):
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    table: dict[str, float] = dataclasses.field(default_factory=dict)
    name: str | None = None


def test_frozen_dataclasses_get_the_same_base():
    cfg = _Outer.from_dict({"inner": {"sizes": [3, 4, 5]}, "table": {"a": 1}})
    assert cfg == _Outer(_Inner((3, 4, 5)), {"a": 1.0}) and cfg.to_dict() == {
        "inner": {"sizes": [3, 4, 5]},
        "table": {"a": 1.0},
        "name": None,
    }
    changed = apply_overrides(cfg, ["inner.sizes=7,8", "table.b=2", "name=x"])
    assert changed == _Outer(_Inner((7, 8)), {"a": 1, "b": 2}, "x")
    with pytest.raises(ConfigError, match=r"_Outer\.inner\.sizes\[1\] must be int"):
        _Outer.from_dict({"inner": {"sizes": [1, "2"]}})


# ---- random values --------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    epochs=st.integers(1, 10**6),
    lr=st.floats(1e-9, 10.0, allow_nan=False),
    betas=st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.999)),
    amp=st.sampled_from(typing.get_args(mmadapt.recipe.config.AmpMode)),
    resume=st.none() | st.text(min_size=1, max_size=12),
    max_steps=st.none() | st.integers(1, 10**9),
    compile_=st.booleans(),
)
def test_random_train_configs_round_trip(epochs, lr, betas, amp, resume, max_steps, compile_):
    cfg = TrainConfig(epochs=epochs, lr=lr, betas=betas, amp=amp, resume=resume, max_steps=max_steps, compile=compile_)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


SIZE = st.tuples(st.integers(1, 999), st.integers(1, 999))


@settings(max_examples=40, deadline=None)
@given(
    latent=st.integers(1, 512),
    gate=st.floats(-2.0, 2.0),
    sizes=st.dictionaries(st.sampled_from(["audio", "video", "flow"]), SIZE),
    schedule=st.none() | st.dictionaries(st.integers(0, 11), st.integers(1, 2), max_size=3),
    prompts_on=st.booleans(),
)
def test_random_multimodal_configs_round_trip(latent, gate, sizes, schedule, prompts_on):
    prompts = PromptConfig(num_prompts=6, schedule=schedule) if prompts_on else None
    fusion = MeanBottleneckConfig(latent_dim=latent, gate_init=gate)
    cfg = MultimodalConfig(num_classes=3, prompts=prompts, fusion=fusion, input_sizes=sizes)
    assert MultimodalConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


# ---- the one override parser ----------------------------------------------------------------------------------
def test_parse_override_splits_at_the_first_equals_sign():
    assert parse_override(" data.source.train = a=b.csv ") == ("data.source.train", "a=b.csv")
    assert parse_override("resume=") == ("resume", "")
    for bad in ("lr", "=3", ""):
        with pytest.raises(ConfigError, match="not of the form key=value"):
            parse_override(bad)


@pytest.mark.parametrize(
    ("override", "field", "value"),
    [
        ("epochs=3", "epochs", 3),
        ("lr=1e-4", "lr", 1e-4),
        ("lr=2", "lr", 2.0),
        ("compile=true", "compile", True),
        ("compile=yes", "compile", True),
        ("compile=1", "compile", True),
        ("drop_last=no", "drop_last", False),
        ("drop_last=0", "drop_last", False),
        ("drop_last=False", "drop_last", False),
        ("resume=none", "resume", None),
        ("max_steps=null", "max_steps", None),
        ("resume=auto", "resume", "auto"),
        ("betas=0.8,0.9", "betas", (0.8, 0.9)),
        ("betas=[0.8, 0.95]", "betas", (0.8, 0.95)),
        ("amp=off", "amp", "off"),
        ("out_dir=runs/x=1", "out_dir", "runs/x=1"),
    ],
)
def test_override_values_are_read_by_the_field_annotation(override, field, value):
    got = getattr(apply_overrides(TrainConfig(), [override]), field)
    assert got == value and type(got) is type(value)


def test_dotted_overrides_reach_nested_configs_kinds_and_free_form_dicts():
    m = apply_overrides(
        MultimodalConfig(),
        [
            "fusion.latent_dim=64",
            "head.joint.anchor=audio",
            'prompts.schedule={"0": 2}',
            "video_size=112,112",
            "input_sizes.audio=[64, 32]",
            "num_classes=4",
        ],
    )
    assert m.fusion.latent_dim == 64 and m.head.joint.anchor == "audio" and m.prompts.schedule == {0: 2}
    assert m.input_sizes == {"video": (112, 112), "audio": (64, 32)} and m.num_classes == 4
    assert apply_overrides(MultimodalConfig(), ["prompts=none"]).prompts is None
    e = apply_overrides(
        ExperimentConfig(),
        [
            "data.mel_bins=64",
            "data.audio.target_frames=none",
            "model.video.kwargs.depth=2",
            "model.overrides.fusion.latent_dim=8",
        ],
    )
    assert e.data.audio.num_mel_bins == 64 and e.data.audio.target_frames is None
    assert e.model.video.kwargs == {"img_size": 224, "depth": 2} and e.model.overrides == {"fusion": {"latent_dim": 8}}
    assert ExperimentConfig().with_overrides(["data.img_size=112"]).data.transform.img_size == 112  # legacy alias


@pytest.mark.parametrize(
    ("config", "override", "problem"),
    [
        (TrainConfig(), "epocs=2", "unknown key 'epocs' (did you mean 'epochs'?)"),
        (
            MultimodalConfig(),
            "fusion.latnt_dim=2",
            "unknown key 'fusion.latnt_dim' (did you mean 'fusion.latent_dim'?)",
        ),
        (ExperimentConfig(), "data.imgsize=2", "unknown key 'data.imgsize' (did you mean 'data.img_size'?)"),
        (ExperimentConfig(), "trian.lr=2", "unknown key 'trian' (did you mean 'train'?)"),
        (TrainConfig(), "epochs=2.5", "epochs: expected an integer, got '2.5'"),
        (TrainConfig(), "lr=fast", "lr: expected a number, got 'fast'"),
        (TrainConfig(), "compile=maybe", "compile: expected a boolean"),
        (TrainConfig(), "amp=fp16", "amp: expected one of ('auto', 'bf16', 'off'), got 'fp16'"),
        (TrainConfig(), "betas=0.9", "betas: expected 2 comma-separated values, got '0.9'"),
        (TrainConfig(), "epochs=none", "epochs: expected an integer, got 'none'"),
        (TrainConfig(), "epochs=0", "TrainConfig.epochs must be > 0"),
        (TrainConfig(), "resume.path=x", "resume is None, not a config or mapping"),
        (MultimodalConfig(), "fusion=3", "fusion: expected a JSON object"),
    ],
)
def test_bad_overrides_name_the_override_and_the_problem(config, override, problem):
    with pytest.raises(ConfigError) as err:
        apply_overrides(config, [override])
    assert str(err.value).startswith(f"override {override!r}: ") and problem in str(err.value), str(err.value)


def test_overrides_leave_the_input_untouched_and_apply_in_order():
    base = TrainConfig()
    assert apply_overrides(base, ["epochs=2", "epochs=5"]).epochs == 5 and base.epochs == 25
    with pytest.raises(TypeError, match="list of 'key=value' strings"):
        apply_overrides(base, "epochs=2")  # type: ignore[arg-type]


def test_a_config_defined_in_a_function_checks_the_fields_it_can_resolve():
    class Local:
        pass

    @dataclasses.dataclass
    class Plugin(ConfigBase):
        width: int = 1
        helper: Local | None = None  # a local name: not checked, not refused

    assert Plugin.from_dict({"width": 2, "helper": None}) == Plugin(width=2)
    with pytest.raises(ConfigError, match="Plugin.width must be int"):
        Plugin(width="2")  # type: ignore[arg-type]


# ---- overrides of kind-valued fields ----------------------------------------------------------------------------
@dataclasses.dataclass
class _OtherFusionConfig(FusionKindConfig):
    weight: float = 0.5


@pytest.fixture
def other_fusion_kind():
    mmadapt.register_adapter_kind("fusion", "zz-other-fusion", _OtherFusionConfig, torch.nn.Identity)
    try:
        yield "zz-other-fusion"
    finally:
        mmadapt.unregister_adapter_kind("fusion", "zz-other-fusion")


def test_a_json_override_of_a_kind_field_is_built_through_the_kind_registry(other_fusion_kind):
    cfg = MultimodalConfig()
    assert apply_overrides(cfg, ['fusion={"latent_dim": 8}']).fusion == MeanBottleneckConfig(latent_dim=8)
    other = apply_overrides(cfg, [f'fusion={{"type": "{other_fusion_kind}", "weight": 0.25}}']).fusion
    assert other == _OtherFusionConfig(weight=0.25)


def test_a_type_override_switches_the_kind_to_its_defaults_and_later_keys_set_its_fields(other_fusion_kind):
    cfg = MultimodalConfig(fusion=MeanBottleneckConfig(latent_dim=8))
    switched = apply_overrides(cfg, [f"fusion.type={other_fusion_kind}", "fusion.weight=0.75"])
    assert switched.fusion == _OtherFusionConfig(weight=0.75)
    assert apply_overrides(switched, ["fusion.type=mean-bottleneck"]).fusion == MeanBottleneckConfig()


def test_a_dotted_override_switches_a_disabled_adapter_back_on_with_its_default_kind():
    off = MultimodalConfig(fusion=None, prompts=None)
    assert apply_overrides(off, ["fusion.latent_dim=8"]).fusion == MeanBottleneckConfig(latent_dim=8)
    assert apply_overrides(off, ['prompts={"num_prompts": 2}']).prompts == PromptConfig(num_prompts=2)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("fusion.type=mean-botleneck", "fusion: unknown fusion kind 'mean-botleneck'; did you mean 'mean-bottleneck',"),
        ('fusion={"type": "nope"}', "fusion: unknown fusion kind 'nope'"),
        ("head.joint.type=add-projct", "head.joint: unknown joint kind 'add-projct'; did you mean 'add-project'?"),
    ],
)
def test_an_unknown_kind_in_an_override_is_named_once_with_the_close_match(override, problem):
    with pytest.raises(mmadapt.UnknownNameError) as err:
        apply_overrides(MultimodalConfig(), [override])
    message = str(err.value)
    assert message.startswith(f"override {override!r}: {problem}"), message
    assert "\n" not in message and message.count("unknown") == 1
