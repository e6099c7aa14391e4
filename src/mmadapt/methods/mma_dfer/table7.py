"""The paper's Table 7 (frequency of progressive prompt updates) as presets ``mma-dfer-updates-{12,6,4,2,0}``.

"12 corresponds to introducing new learnable prompts every layer, 6 every 2nd layer, [4] every 3rd layer, 2 every
6th layer (our final model case), and 0 not using learnable prompts at all." Where the updates go and which prompt
tokens each one refreshes :class:`~mmadapt.adapters.PromptConfig` derives from the depth (its docstring, and
docs/kinds-prompts.md); ``-updates-2`` is ``mma-dfer`` itself. The 0 row is Table 4's no-prompts row (64.62 / 77.40):
no prompt tokens at all, not static prompts.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import PresetFn, register_preset
from .presets import mma_dfer_config

__all__ = ["TABLE7"]

TABLE7: dict[int, tuple[float, float]] = {
    12: (65.14, 77.87),
    6: (65.44, 77.83),
    4: (64.41, 77.62),
    2: (66.52, 77.92),
    0: (64.62, 77.40),
}
"""Table 7: number of progressive updates -> (UAR, WAR) on DFEW, as the paper prints them."""


def _updates(n: int) -> PresetFn:
    def fn(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
        c = mma_dfer_config(anatomies)
        return c.with_overrides(prompts=c.prompts.replace(num_updates=n) if n else None)

    what = "no prompts at all (= mma-dfer-no-prompts)" if n == 0 else f"{n} progressive prompt updates"
    uar, war = TABLE7[n]
    fn.__doc__ = f"MMA-DFER with {what} (Table 7: UAR {uar:.2f}, WAR {war:.2f})"
    return fn


for _n in TABLE7:
    # the 2 row is mma-dfer, whose count the paper prints (§4.2); Table 7 prints none
    _params = 7.5 if _n == 2 else None
    register_preset(f"mma-dfer-updates-{_n}", _updates(_n), paper_params_m=_params, paper_ref="MMA-DFER Table 7")
