"""The model's initial weights: drawn as building the blog's modules draws them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from grutui.core.model import AddingGRU, initial_params
from tests.blog_reference import AddingProblemGRU


class TorchInitGRU(nn.Module):
    """The blog's modules without its re-initialisation: torch's default init."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        self.linear = nn.Linear(hidden_size, output_size)


@pytest.mark.parametrize("init", ["blog", "torch"])
@pytest.mark.parametrize(("d", "h", "o"), [(2, 1, 1), (3, 8, 2), (98, 64, 97)])
def test_initial_weights_and_rng_state_are_the_modules_own(
    init: str, d: int, h: int, o: int
) -> None:
    for seed in (0, 37, 2**32 - 1):
        torch.manual_seed(seed)
        built = AddingProblemGRU(d, h, o) if init == "blog" else TorchInitGRU(d, h, o)
        want = {n: p.detach().numpy().copy() for n, p in built.named_parameters()}
        after = torch.get_rng_state()
        # on a generator of its own (the fast engine's members, any thread)
        gen = torch.Generator()
        gen.manual_seed(seed)
        got = initial_params(d, h, o, init, gen)
        # and the reference engine's model, on torch's RNG
        torch.manual_seed(seed)
        model = AddingGRU(d, h, o, init=init).numpy_params()
        assert torch.equal(torch.get_rng_state(), after)
        assert torch.equal(gen.get_state(), after)  # the data order draws on from here
        assert list(got) == list(model) == list(want)
        for name, w in want.items():
            np.testing.assert_array_equal(got[name], w, err_msg=name)
            np.testing.assert_array_equal(model[name], w, err_msg=name)
