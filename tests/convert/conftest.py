import pytest

from ..official._keys import official_state_dict


@pytest.fixture(scope="session")
def full_112():
    """Full ViT-B official state dict at 112 px (179M random values: built once) and its conversion."""
    from mmadapt.methods.mma_dfer.convert import from_official

    sd = official_state_dict(112)
    return sd, from_official(sd, 112, 7)
