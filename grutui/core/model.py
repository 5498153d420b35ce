"""The torch model: ``nn.GRU`` + ``nn.Linear`` on the last valid step (the blog's)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn as nn

from grutui.core.layout import PARAM_NAMES


def initial_params(
    input_size: int, hidden_size: int, output_size: int, init: str, generator: torch.Generator
) -> dict[str, np.ndarray]:
    """``AddingGRU``'s initial weights, drawn from ``generator`` as building the model
    draws them from torch's RNG: ``nn.GRU``'s and ``nn.Linear``'s own reset, then for
    ``init="blog"`` the blog's re-initialisation (orthogonal GRU weights, zero biases,
    a xavier read-out), the same calls in the same order. Without the modules it costs
    a fifth (a 4096-member ensemble's set-up draws one per member), and a generator of
    its own makes it safe on any thread."""
    h = hidden_size
    w_ih, w_hh = torch.empty(3 * h, input_size), torch.empty(3 * h, h)
    b_ih, b_hh = torch.empty(3 * h), torch.empty(3 * h)
    stdv = 1.0 / math.sqrt(h)  # nn.GRU.reset_parameters, over its parameters in order
    for t in (w_ih, w_hh, b_ih, b_hh):
        nn.init.uniform_(t, -stdv, stdv, generator=generator)
    w_o, b_o = torch.empty(output_size, h), torch.empty(output_size)
    nn.init.kaiming_uniform_(w_o, a=math.sqrt(5), generator=generator)  # nn.Linear's
    nn.init.uniform_(b_o, -1.0 / math.sqrt(h), 1.0 / math.sqrt(h), generator=generator)
    if init == "blog":
        nn.init.orthogonal_(w_ih, generator=generator)
        nn.init.orthogonal_(w_hh, generator=generator)
        b_ih.zero_()  # constant_ and zeros_ draw nothing
        b_hh.zero_()
        nn.init.xavier_uniform_(w_o, generator=generator)
        b_o.zero_()
    tensors = (w_ih, w_hh, b_ih, b_hh, w_o, b_o)
    return {name: t.numpy() for name, t in zip(PARAM_NAMES, tensors, strict=True)}


class AddingGRU(nn.Module):
    """The blog's ``AddingProblemGRU``; parameter names match its state dict. Built, it
    has drawn its weights from torch's RNG as the blog's model does (``initial_params``
    on the default generator: the reference run and the blog's script then draw their
    data order from the same state)."""

    def __init__(
        self, input_size: int = 2, hidden_size: int = 1, output_size: int = 1, init: str = "blog"
    ) -> None:
        super().__init__()
        with torch.device("meta"):  # built without drawing: the draws are initial_params'
            self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
            self.linear = nn.Linear(hidden_size, output_size)
        self.to_empty(device="cpu")
        self.load_numpy_params(
            initial_params(input_size, hidden_size, output_size, init, torch.default_generator)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out, _ = self.gru(x)
        if lengths is None:
            last = out[:, -1, :]
        else:
            last = out[torch.arange(out.shape[0], device=out.device), lengths - 1]
        y: torch.Tensor = self.linear(last)
        return y

    def numpy_params(self) -> dict[str, np.ndarray]:
        return {n: p.detach().cpu().numpy().copy() for n, p in self.named_parameters()}

    def load_numpy_params(self, params: Mapping[str, np.ndarray]) -> None:
        with torch.no_grad():
            for n, p in self.named_parameters():
                p.copy_(torch.as_tensor(np.asarray(params[n]), dtype=p.dtype))
