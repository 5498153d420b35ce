"""The model's parameter layout: PyTorch names and shapes, with no torch import.

One table for everything that stores, flattens, labels or fabricates weights: the
engines (the fast engine's flat row follows this order), the session and its readers,
the panes and the tests. The order is ``AddingGRU.named_parameters()``'s; the gate
rows of the stacked GRU matrices run r, z, n (PyTorch's order).
"""

from __future__ import annotations

# the adding problem's sizes, the default: the engines pass the task's D and O
# (``TrainConfig.input_size``/``output_size``), readers take shapes from the session
INPUT_SIZE = 2  # (value, flag)
OUTPUT_SIZE = 1

PARAM_NAMES = (
    "gru.weight_ih_l0",
    "gru.weight_hh_l0",
    "gru.bias_ih_l0",
    "gru.bias_hh_l0",
    "linear.weight",
    "linear.bias",
)


def param_shapes(
    hidden: int, input_size: int = INPUT_SIZE, output_size: int = OUTPUT_SIZE
) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape, in ``PARAM_NAMES`` order."""
    g = 3 * hidden
    shapes = (
        (g, input_size),
        (g, hidden),
        (g,),
        (g,),
        (output_size, hidden),
        (output_size,),
    )
    return dict(zip(PARAM_NAMES, shapes, strict=True))


def param_count(hidden: int, input_size: int = INPUT_SIZE, output_size: int = OUTPUT_SIZE) -> int:
    """Scalars in one model (the fast engine's flat row length)."""
    total = 0
    for shape in param_shapes(hidden, input_size, output_size).values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total
