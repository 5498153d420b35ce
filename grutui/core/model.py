"""The torch model: ``nn.GRU`` + ``nn.Linear`` on the last valid step (the blog's)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn as nn


class AddingGRU(nn.Module):
    """The blog's ``AddingProblemGRU``; parameter names match its state dict."""

    def __init__(
        self, input_size: int = 2, hidden_size: int = 1, output_size: int = 1, init: str = "blog"
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        self.linear = nn.Linear(hidden_size, output_size)
        if init == "blog":
            self.init_weights()

    def init_weights(self) -> None:
        # Same calls in the same order as the blog, so the torch RNG is consumed alike.
        for name, param in self.gru.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(param)
            elif "bias" in name:
                nn.init.constant_(param, 0)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

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
