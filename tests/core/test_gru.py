"""The one gate function against torch.nn.GRU: PyTorch's equations, gate order r, z, n."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grutui.core.gru import GRUWeights, gru_trace
from grutui.core.model import AddingGRU

TOL = 1e-6


def _model(hidden: int, seed: int) -> AddingGRU:
    torch.manual_seed(seed)
    m = AddingGRU(2, hidden, 1, init="torch")
    with torch.no_grad():  # spread the weights beyond torch's small default init
        for p in m.parameters():
            p.mul_(3.0)
    return m


@pytest.mark.parametrize("hidden", [1, 2, 3, 8, 17, 64])
@pytest.mark.parametrize("length", [1, 2, 7, 20])
def test_trace_matches_torch(hidden: int, length: int) -> None:
    m = _model(hidden, seed=hidden * 100 + length)
    rng = np.random.default_rng(hidden + length)
    x = np.stack(
        [rng.integers(0, 100, (5, length)) / 100, rng.integers(0, 2, (5, length))], axis=2
    ).astype(np.float32)
    w = GRUWeights.from_params(m.numpy_params())
    tr = gru_trace(w, x)

    with torch.no_grad():
        xt = torch.tensor(x)
        out, _ = m.gru(xt)
        y = m.linear(out[:, -1])
    np.testing.assert_allclose(tr.h, out.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(
        tr.output, y.numpy(), atol=TOL * max(1.0, float(y.abs().max())), rtol=0
    )

    # every intermediate term, recomputed with torch's ops from torch's own hidden states
    h_prev = torch.cat([torch.zeros(5, 1, hidden), out[:, :-1]], dim=1)
    wih, whh = m.gru.weight_ih_l0.detach(), m.gru.weight_hh_l0.detach()
    bih, bhh = m.gru.bias_ih_l0.detach(), m.gru.bias_hh_l0.detach()
    gi = xt @ wih.T + bih
    gh = h_prev @ whh.T + bhh
    hs = hidden
    i_r, i_z, i_n = gi[..., :hs], gi[..., hs : 2 * hs], gi[..., 2 * hs :]
    h_r, h_z, h_n = gh[..., :hs], gh[..., hs : 2 * hs], gh[..., 2 * hs :]
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    expect = {
        ("r", "input"): i_r,
        ("r", "hidden"): h_r,
        ("r", "act"): r,
        ("z", "input"): i_z,
        ("z", "hidden"): h_z,
        ("z", "act"): z,
        ("n", "input"): i_n,
        ("n", "hidden"): h_n,
        ("n", "act"): n,
        ("n", "pre"): i_n + r * h_n,
        ("r", "pre"): i_r + h_r,
        ("z", "pre"): i_z + h_z,
    }
    for (gate, term), val in expect.items():
        got = getattr(tr.gate(gate), term)
        scale = max(1.0, float(val.abs().max()))
        np.testing.assert_allclose(
            got, val.numpy(), atol=TOL * scale, rtol=0, err_msg=f"{gate}.{term}"
        )
    np.testing.assert_allclose(tr.gated_hidden_n, (r * h_n).numpy(), atol=TOL * 10, rtol=0)


def test_lengths_select_the_read_out_step() -> None:
    m = _model(4, seed=1)
    rng = np.random.default_rng(0)
    x = rng.random((6, 9, 2)).astype(np.float32)
    lengths = np.array([1, 3, 9, 4, 2, 7])
    tr = gru_trace(GRUWeights.from_params(m.numpy_params()), x, lengths)
    for i, n in enumerate(lengths):
        with torch.no_grad():
            y = m(torch.tensor(x[i : i + 1, :n]))
        np.testing.assert_allclose(tr.output[i], y.numpy()[0], atol=TOL, rtol=0)


def test_gate_blocks_follow_pytorch_order() -> None:
    m = _model(3, seed=2)
    w = GRUWeights.from_params(m.numpy_params())
    wih = m.gru.weight_ih_l0.detach().numpy()
    np.testing.assert_array_equal(w.gate("r")["W_i"], wih[0:3])
    np.testing.assert_array_equal(w.gate("z")["W_i"], wih[3:6])
    np.testing.assert_array_equal(w.gate("n")["W_i"], wih[6:9])


def test_saturated_gates_stay_finite() -> None:
    m = _model(2, seed=3)
    p = m.numpy_params()
    p["gru.weight_ih_l0"] = p["gru.weight_ih_l0"] * 1e4
    tr = gru_trace(GRUWeights.from_params(p), np.ones((1, 3, 2), np.float32))
    assert np.all(np.isfinite(tr.h))
    assert np.all((tr.r.act >= 0) & (tr.r.act <= 1))


def test_stepping_members_at_once_equals_a_trace_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from grutui.core import gru
    from grutui.core.gru import GRUWeights, gru_states, gru_trace

    rng = np.random.default_rng(4)
    hidden, d, o = 5, 3, 2

    def member() -> GRUWeights:
        shapes = [
            (3 * hidden, d),
            (3 * hidden, hidden),
            (3 * hidden,),
            (3 * hidden,),
            (o, hidden),
            (o,),
        ]
        return GRUWeights(*(rng.normal(0, 0.5, s).astype(np.float32) for s in shapes))

    members = [member() for _ in range(4)]
    x = rng.normal(size=(6, 7, d)).astype(np.float32)
    lengths = np.array([7, 1, 3, 7, 5, 2])
    states, outputs = gru_states(members, x, lengths)
    assert states.shape == (4, 6, 7, hidden) and outputs.shape == (4, 6, o)
    for k, w in enumerate(members):
        tr = gru_trace(w, x, lengths)
        np.testing.assert_array_equal(states[k], tr.h)
        np.testing.assert_array_equal(outputs[k], tr.output)
    # stepped a block of members at a time (two, two): the same bits
    monkeypatch.setattr(gru, "MEMBER_BLOCK", 2 * 6 * 3 * hidden)
    blocks = gru_states(members, x, lengths)
    np.testing.assert_array_equal(blocks[0], states)
    np.testing.assert_array_equal(blocks[1], outputs)
