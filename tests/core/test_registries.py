"""Every registry of the package is one ``Registry``: the same rules for names, duplicates, unknown names, patterns
and removal, checked here over all of them; then the behaviour each migrated registry keeps of its own."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mmadapt
from mmadapt.adapters._config import AdapterConfig
from mmadapt.adapters.kinds import ADAPTER_KINDS, AdapterKind
from mmadapt.anatomy import ANATOMIES, TimmViTAnatomy, list_anatomies, register_anatomy, resolve_anatomy
from mmadapt.backbones import BACKBONES
from mmadapt.cli import COMMANDS, build_parser, main, register_command
from mmadapt.config import MultimodalConfig
from mmadapt.data import DATASET_SPECS, DatasetSpec, get_dataset_spec, register_dataset_spec
from mmadapt.errors import ConfigError, RegistryError, UnsupportedBackboneError
from mmadapt.export import FORMATS
from mmadapt.presets import PRESETS, Preset
from mmadapt.recipe.experiment import ExperimentConfig
from mmadapt.recipe.losses import LOSSES, get_loss, register_loss
from mmadapt.registry import Registry
from mmadapt.study.synthetic import SCENE_PRETRAINING, SCENES

from .backbones import timm_vit

_fresh = itertools.count()  # every made entry differs from the one before


def _temp_name(tag: str) -> str:
    return f"zz-registry-test-{tag}"


def _temp_anatomy(name: str) -> type:
    return type(f"TempAnatomy{next(_fresh)}", (TimmViTAnatomy,), {})


def _temp_preset(name: str) -> Preset:
    return Preset(lambda anatomies: MultimodalConfig(), f"temporary preset {next(_fresh)}")


def _temp_kind(role: str) -> Callable[[str], AdapterKind]:
    def make(name: str) -> AdapterKind:
        config_cls = dataclasses.make_dataclass(f"TempConfig{next(_fresh)}", [], bases=(AdapterConfig,))
        return AdapterKind(role, name, config_cls, nn.Identity)

    return make


def _temp_loss(name: str) -> Callable[[], Callable[..., torch.Tensor]]:
    return lambda: lambda logits, targets: F.cross_entropy(logits, targets, reduction="none")


def _temp_spec(name: str) -> DatasetSpec:
    return DatasetSpec(name=name, class_names=("a", f"b{next(_fresh)}"))


def _temp_builder(name: str) -> Callable[..., nn.Module]:
    return lambda checkpoint=None, **kwargs: nn.Identity()


def _temp_command(name: str) -> str:
    return f"zz_registry_test.command_{next(_fresh)}"


@dataclass(frozen=True)
class RegistryCase:
    """One registry and how to make a valid entry for it, a valid temporary name, and a typo of a real entry."""

    registry: Registry[Any]
    make: Callable[[str], Any]
    typo: str
    meant: str
    """The real entry ``typo`` misspells."""
    name: Callable[[str], str] = _temp_name

    def __repr__(self) -> str:
        return self.registry.what


CASES: dict[str, RegistryCase] = {
    "anatomies": RegistryCase(
        ANATOMIES,
        _temp_anatomy,
        typo="timm.models.vision_transformer.VisionTransformr",
        meant="timm.models.vision_transformer.VisionTransformer",
        name=lambda tag: f"zz_registry_test.Backbone_{tag}",
    ),
    "presets": RegistryCase(PRESETS, _temp_preset, typo="mma-dfr", meant="mma-dfer"),
    "prompts-kinds": RegistryCase(
        ADAPTER_KINDS["prompts"], _temp_kind("prompts"), typo="progresive", meant="progressive"
    ),
    "fusion-kinds": RegistryCase(
        ADAPTER_KINDS["fusion"], _temp_kind("fusion"), typo="mean-botleneck", meant="mean-bottleneck"
    ),
    "head-kinds": RegistryCase(
        ADAPTER_KINDS["head"], _temp_kind("head"), typo="temporal-transfomer", meant="temporal-transformer"
    ),
    "joint-kinds": RegistryCase(ADAPTER_KINDS["joint"], _temp_kind("joint"), typo="add-projct", meant="add-project"),
    "losses": RegistryCase(LOSSES, _temp_loss, typo="cross_entropi", meant="cross_entropy"),
    "dataset-specs": RegistryCase(DATASET_SPECS, _temp_spec, typo="dfwe", meant="dfew"),
    "commands": RegistryCase(COMMANDS, _temp_command, typo="predikt", meant="predict"),
    "export-formats": RegistryCase(FORMATS, lambda name: (".bin", lambda *args: None), typo="onxx", meant="onnx"),
    "scenes": RegistryCase(SCENES, lambda name: lambda root, cfg: None, typo="expresions", meant="expressions"),
    "scene-pretraining": RegistryCase(
        SCENE_PRETRAINING, lambda name: lambda k, seed, cfg, rng: None, typo="speakrs", meant="speakers"
    ),
    "backbones": RegistryCase(
        BACKBONES,
        _temp_builder,
        typo="audiomae_vit_bse",
        meant="audiomae_vit_base",
        name=lambda tag: f"zz_registry_test_{tag}",
    ),
}
"""Every registry of the package; ``test_every_registry_of_the_package_is_checked`` fails when one is missing."""


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request) -> RegistryCase:
    return CASES[request.param]


def _cleanup(registry: Registry[Any], *names: str) -> None:
    for name in names:
        if name in registry:
            registry.unregister(name)


# ---- the shared contract ------------------------------------------------------------------------------------
def test_every_registry_of_the_package_is_checked() -> None:
    import mmadapt.cli
    import mmadapt.data
    import mmadapt.recipe  # noqa: F401

    covered = {id(c.registry) for c in CASES.values()}
    found = {}
    for module_name, module in list(sys.modules.items()):
        if module_name == "mmadapt" or module_name.startswith("mmadapt."):
            for attr, value in vars(module).items():
                candidates = value.values() if isinstance(value, dict) else [value]
                for registry in candidates:
                    if isinstance(registry, Registry):
                        found[id(registry)] = f"{module_name}.{attr} ({registry.what})"
    missing = sorted(where for key, where in found.items() if key not in covered)
    assert not missing, f"add a RegistryCase to CASES for: {missing}"


@pytest.mark.parametrize("bad", ["", "has space", "-leading-dash", "semi;colon", 42])
def test_an_invalid_name_is_refused(case: RegistryCase, bad: object) -> None:
    with pytest.raises(RegistryError, match="invalid .* name"):
        case.registry.register(bad, case.make(case.name("valid")))  # type: ignore[arg-type]
    assert bad not in case.registry


def test_a_taken_name_is_refused_unless_override(case: RegistryCase) -> None:
    name = case.name("dup")
    first, second = case.make(name), case.make(name)
    try:
        assert case.registry.register(name, first) is first
        assert case.registry.register(name, first) is first  # the very same entry again: a no-op
        with pytest.raises(RegistryError, match=rf"{re.escape(repr(name))} is already registered.*override=True"):
            case.registry.register(name, second)
        assert case.registry.get(name) is first
        assert case.registry.register(name, second, override=True) is second
        assert case.registry.get(name) is second
        assert case.registry.list().count(name) == 1
    finally:
        _cleanup(case.registry, name)


def test_an_unknown_name_is_answered_with_the_close_match(case: RegistryCase) -> None:
    assert case.meant in case.registry and case.typo not in case.registry
    with pytest.raises(RegistryError) as err:
        case.registry.get(case.typo)
    message = str(err.value)
    assert message.startswith(f"unknown {case.registry.what} {case.typo!r}")
    assert re.search(rf"did you mean [^?]*{re.escape(repr(case.meant))}", message), message
    assert "\n" not in message
    assert isinstance(err.value, LookupError) and isinstance(err.value, mmadapt.MMAdaptError)


def test_list_filters_by_shell_pattern(case: RegistryCase) -> None:
    a, b = case.name("a"), case.name("b")
    try:
        case.registry.register(a, case.make(a))
        case.registry.register(b, case.make(b))
        assert case.registry.list(case.name("*")) == [a, b]
        assert case.registry.list(case.name("a")) == [a]
        assert case.registry.list(case.name("[!a]")) == [b]
        assert case.meant in case.registry.list() and case.meant not in case.registry.list(case.name("*"))
        assert case.registry.list() == sorted(case.registry)
    finally:
        _cleanup(case.registry, a, b)


def test_unregister_removes_the_entry(case: RegistryCase) -> None:
    name = case.name("gone")
    entry = case.make(name)
    before = case.registry.list()
    try:
        case.registry.register(name, entry)
        assert case.registry.unregister(name) is entry
        assert name not in case.registry and case.registry.list() == before
        with pytest.raises(RegistryError, match="unknown"):
            case.registry.get(name)
        with pytest.raises(RegistryError, match="unknown"):
            case.registry.unregister(name)
    finally:
        _cleanup(case.registry, name)


# ---- anatomies ----------------------------------------------------------------------------------------------
def _vit_subclass() -> type[nn.Module]:
    from timm.models.vision_transformer import VisionTransformer

    class MyViT(VisionTransformer):
        """A user's subclass of a registered backbone class (not itself registered)."""

    return MyViT


def test_a_subclass_of_a_registered_backbone_resolves_along_the_mro() -> None:
    MyViT = _vit_subclass()
    model = MyViT(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=0)
    key = f"{MyViT.__module__}.{MyViT.__qualname__}"
    assert "<locals>" in key and key not in ANATOMIES
    assert type(resolve_anatomy(model)) is TimmViTAnatomy

    class MyViTAnatomy(TimmViTAnatomy):
        family = "my-vit"

    try:
        assert register_anatomy(MyViT, MyViTAnatomy) is MyViTAnatomy
        assert list_anatomies()[key] == "my-vit"
        assert type(resolve_anatomy(model)) is MyViTAnatomy  # the nearest registered class wins
        assert type(resolve_anatomy(timm_vit()[0])) is TimmViTAnatomy  # the parent keeps its own
    finally:
        _cleanup(ANATOMIES, key)
    with pytest.raises(UnsupportedBackboneError, match=r"Linear.*supported families:.*VisionTransformer"):
        resolve_anatomy(nn.Linear(2, 2))  # an unregistered backbone is still a backbone error, not a look-up


def test_registering_the_same_preset_function_again_is_a_no_op_and_other_figures_are_refused() -> None:
    """``register_preset`` builds a fresh record per call; an equal record (a re-run module) must not be refused."""
    from mmadapt.presets import register_preset

    def preset_fn(anatomies):
        """A temporary preset."""
        return MultimodalConfig()

    try:
        register_preset("zz-registry-test-same", preset_fn, paper_params_m=1.0)
        register_preset("zz-registry-test-same", preset_fn, paper_params_m=1.0)  # equal record: a no-op
        with pytest.raises(RegistryError, match="already registered"):
            register_preset("zz-registry-test-same", preset_fn, paper_params_m=2.0)  # other figures: refused
        assert PRESETS.get("zz-registry-test-same").paper_params_m == 1.0
    finally:
        _cleanup(PRESETS, "zz-registry-test-same")


def test_register_anatomy_validates_and_works_as_a_decorator() -> None:
    key = "zz_registry_test.DecoratedBackbone"
    try:

        @register_anatomy(key)
        class Decorated(TimmViTAnatomy):
            family = "decorated"

        assert ANATOMIES.get(key) is Decorated and list_anatomies()[key] == "decorated"
        register_anatomy(key, Decorated)  # the same anatomy again: a no-op
        other = type("Other", (TimmViTAnatomy,), {})
        with pytest.raises(RegistryError, match="already registered"):
            register_anatomy(key, other)
        assert register_anatomy(key, other, override=True) is other and ANATOMIES.get(key) is other
    finally:
        _cleanup(ANATOMIES, key)
    with pytest.raises(TypeError, match="not a subclass of mmadapt.anatomy.Anatomy"):
        register_anatomy(key, nn.Module)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a class or a dotted class path"):
        register_anatomy(nn.Linear(2, 2), TimmViTAnatomy)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="invalid backbone class name 'NoModule'"):
        register_anatomy("NoModule", TimmViTAnatomy)
    assert key not in ANATOMIES and "NoModule" not in ANATOMIES


def test_resolving_an_anatomy_imports_neither_peft_nor_transformers() -> None:
    code = (
        "import sys, mmadapt\n"
        "from timm.models.vision_transformer import VisionTransformer\n"
        "class Sub(VisionTransformer): pass\n"
        "m = Sub(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2, num_classes=0)\n"
        "print(mmadapt.resolve_anatomy(m).family, 'peft' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["timm-vit", "False", "False"]


# ---- losses -------------------------------------------------------------------------------------------------
def test_get_loss_gives_per_sample_cross_entropy_and_names_a_typo() -> None:
    logits, targets = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 2, 1, 2])
    assert torch.equal(get_loss("cross_entropy")(logits, targets), F.cross_entropy(logits, targets, reduction="none"))
    with pytest.raises(RegistryError, match=r"unknown loss 'cross_entropi'; did you mean 'cross_entropy'"):
        get_loss("cross_entropi")


def test_register_loss_needs_override_to_replace() -> None:
    name = "zz_registry_test_loss"
    first, second = _temp_loss(name), _temp_loss(name)
    try:
        assert register_loss(name, first) is first and name in mmadapt.recipe.list_losses("zz_*")
        with pytest.raises(RegistryError, match="already registered"):
            register_loss(name, second)
        register_loss(name, second, override=True)
        assert LOSSES.get(name) is second
        with pytest.raises(TypeError, match="callable"):
            register_loss("zz_not_callable", 3)  # type: ignore[arg-type]
    finally:
        _cleanup(LOSSES, name)


def test_the_cli_reports_an_unknown_loss_in_one_line(monkeypatch, capsys) -> None:
    command = types.ModuleType("zz_registry_test_cli_command")
    command.HELP = "asks for a misspelt loss"
    command.add_arguments = lambda parser: None
    command.run = lambda args: get_loss("cross_entropi")
    monkeypatch.setitem(sys.modules, command.__name__, command)
    try:
        register_command("zz-misspelt-loss", command.__name__)
        assert main(["zz-misspelt-loss"]) == 2
    finally:
        _cleanup(COMMANDS, "zz-misspelt-loss")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mmadapt zz-misspelt-loss: error: unknown loss 'cross_entropi'; did you mean 'cross_entropy'")


# ---- dataset specs ------------------------------------------------------------------------------------------
def test_an_unknown_dataset_is_a_registry_and_a_config_error() -> None:
    with pytest.raises(RegistryError, match=r"unknown dataset 'dfwe'; did you mean 'dfew'") as err:
        get_dataset_spec("dfwe")
    assert isinstance(err.value, ConfigError)


def test_an_unknown_dataset_in_an_experiment_config_names_the_override_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        ExperimentConfig().with_overrides(["data.source.dataset=dfwe"])
    message = str(err.value)
    assert message.startswith("override 'data.source.dataset=dfwe': ") and "did you mean 'dfew'" in message
    assert "\n" not in message


def test_overwrite_is_a_deprecated_alias_of_override() -> None:
    name = "zz-registry-test-alias"
    first, second = _temp_spec(name), _temp_spec(name)
    try:
        register_dataset_spec(first)
        with pytest.warns(DeprecationWarning, match="override"), pytest.raises(RegistryError, match="already"):
            register_dataset_spec(second, overwrite=False)
        with pytest.warns(DeprecationWarning, match="override"):
            assert register_dataset_spec(second, overwrite=True) is second
        assert get_dataset_spec(name) is second
        assert register_dataset_spec(first, override=True) is first
    finally:
        _cleanup(DATASET_SPECS, name)


def test_a_dataset_spec_is_registered_under_its_own_name() -> None:
    with pytest.raises(ValueError, match="'zz-a' registered under another name, 'zz-b'"):
        DATASET_SPECS.register("zz-b", _temp_spec("zz-a"))
    with pytest.raises(TypeError, match="expected a DatasetSpec"):
        register_dataset_spec({"name": "zz-a"})  # type: ignore[arg-type]
    assert "zz-a" not in DATASET_SPECS and "zz-b" not in DATASET_SPECS


# ---- commands -----------------------------------------------------------------------------------------------
def test_help_lists_the_registered_commands_in_registration_order() -> None:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(action.choices) == list(COMMANDS) == ["demo", "train", "study", "eval", "predict", "export",
                                                       "prep-faces", "info", "convert-official"]  # fmt: skip
    assert COMMANDS.get("eval") == "mmadapt.cli.evaluate"


def test_register_command_treats_an_equal_module_path_as_the_same_command() -> None:
    name = "zz-registry-test-command"
    path = "zz_registry_test.some_command"
    try:
        register_command(name, path)
        register_command(name, "".join(["zz_registry_test.", "some_command"]))  # equal, not identical: a no-op
        with pytest.raises(RegistryError, match="already registered"):
            register_command(name, "zz_registry_test.other_command")
        register_command(name, "zz_registry_test.other_command", override=True)
        assert COMMANDS.get(name) == "zz_registry_test.other_command"
        with pytest.raises(TypeError, match="dotted module path"):
            register_command("zz-bad-module", "not a module")
    finally:
        _cleanup(COMMANDS, name)
    assert "zz-bad-module" not in COMMANDS


@pytest.mark.parametrize(
    ("register", "holder"),
    [
        (
            lambda: mmadapt.register_adapter_kind(
                "fusion", "mean-bottleneck", mmadapt.MeanBottleneckConfig, nn.Identity
            ),
            "mmadapt.adapters.fusion.mean_bottleneck.MeanBottleneck",
        ),
        (
            lambda: mmadapt.register_preset("mma-dfer", lambda anatomies: MultimodalConfig()),
            "mmadapt.methods.mma_dfer.presets.mma_dfer_config",
        ),
    ],
    ids=["fusion-kind", "preset"],
)
def test_a_taken_name_is_refused_naming_what_holds_it(register, holder):
    with pytest.raises(RegistryError, match=rf"already registered \({re.escape(holder)}\); pass override=True"):
        register()
