"""What moved into the MMA-DFER wing (``mmadapt.methods.mma_dfer``) or below the anatomies (``mmadapt.pos_embed``)
stays importable by its old name, as the very same objects, and the wing registers itself on ``import mmadapt``."""

import importlib
import subprocess
import sys

import pytest

import mmadapt
from mmadapt.methods import mma_dfer

WING = "mmadapt.methods.mma_dfer"

MOVED = [
    # (old module, new module, a name both must give)
    ("mmadapt.convert", f"{WING}.convert", "from_official"),
    ("mmadapt.convert", f"{WING}.convert", "load_converted"),
    ("mmadapt.convert.architecture", f"{WING}.convert.architecture", "OfficialArchitecture"),
    ("mmadapt.convert.directory", f"{WING}.convert.directory", "MANIFEST"),
    ("mmadapt.convert.from_official", f"{WING}.convert.from_official", "ConversionResult"),
    ("mmadapt.convert.layout", f"{WING}.convert.layout", "build_layout"),
    ("mmadapt.convert.reader", f"{WING}.convert.reader", "INERT_GLOBALS"),
    ("mmadapt.convert.to_official", f"{WING}.convert.to_official", "to_official"),
    ("mmadapt.convert._build", f"{WING}.convert._build", "build_meta_backbone"),
    ("mmadapt.backbones.audiomae", f"{WING}.audiomae", "audiomae_vit_base"),
    ("mmadapt.backbones.maeface", f"{WING}.maeface", "maeface_vit_base"),
    ("mmadapt.backbones", f"{WING}", "audiomae_vit_base"),
    ("mmadapt.backbones", f"{WING}", "maeface_vit_base"),
    ("mmadapt.backbones.pos_embed", "mmadapt.pos_embed", "resample_grid_pos_embed"),
    ("mmadapt.backbones.pos_embed", "mmadapt.pos_embed", "infer_grid"),
    ("mmadapt.backbones", "mmadapt.pos_embed", "resample_grid_pos_embed"),
]


@pytest.mark.parametrize(("old", "new", "name"), MOVED, ids=[f"{o}.{n}" for o, _, n in MOVED])
def test_the_old_path_gives_the_same_object(old, new, name):
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize(
    "name", ["audiomae_vit_base", "maeface_vit_base", "from_official", "to_official", "load_converted"]
)
def test_the_wing_is_re_exported_from_mmadapt(name):
    assert name in mmadapt.__all__
    assert getattr(mmadapt, name) is getattr(mma_dfer, name)


def test_an_unknown_name_of_backbones_is_still_an_attribute_error():
    import mmadapt.backbones

    with pytest.raises(AttributeError, match="has no attribute 'audiomae_vit_large'"):
        mmadapt.backbones.audiomae_vit_large  # noqa: B018


@pytest.mark.parametrize("first_import", ["mmadapt", "mmadapt.presets", "mmadapt.backbones.registry"])
def test_importing_any_part_of_mmadapt_registers_the_wing(first_import):
    code = (
        f"import {first_import}\n"
        "from mmadapt.presets import list_presets\n"
        "from mmadapt.backbones import list_backbones\n"
        "print(len(list_presets('mma-dfer*')), list_backbones())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split(None, 1) == ["17", "['audiomae_vit_base', 'maeface_vit_base']\n"]  # Tables 4, 6, 7 and VPT-deep


@pytest.mark.parametrize("name", mmadapt.list_presets("mma-dfer*"))
def test_the_mma_dfer_presets_live_in_the_wing(name):
    from mmadapt.presets import PRESETS

    assert PRESETS.get(name).fn.__module__.startswith(f"{WING}.")  # presets.py, table6.py, table7.py, vpt.py


@pytest.mark.parametrize("name", ["audiomae_vit_base", "maeface_vit_base"])
def test_the_mma_dfer_builders_live_in_the_wing(name):
    from mmadapt.backbones.registry import BACKBONES

    assert BACKBONES.get(name).__module__.startswith(f"{WING}.")


def test_the_generic_config_names_no_class_count():
    # 7 is DFEW's count: the mma-dfer preset sets it, the toolkit's default does not
    assert mmadapt.MultimodalConfig().num_classes is None
    assert mmadapt.get_preset("mma-dfer", {}).num_classes == 7


def test_the_moved_builders_are_listed_by_dir():
    import mmadapt.backbones

    assert {"audiomae_vit_base", "maeface_vit_base", "create_backbone"} <= set(dir(mmadapt.backbones))


@pytest.mark.parametrize("name", ["from_official", "to_official"])
def test_importing_an_old_submodule_does_not_shadow_the_function_of_its_name(name):
    # `import mmadapt.convert.from_official` binds the submodule on the package unless it was loaded already
    code = (
        f"import mmadapt.convert.{name}\n"
        f"from mmadapt.convert import {name}\n"
        f"from mmadapt.methods.mma_dfer.convert import {name} as wing\n"
        f"assert {name} is wing, {name}\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
