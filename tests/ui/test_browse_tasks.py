"""Browse on tasks other than the adding problem: a column per input feature, the token
maps of one-hot inputs, a read-out row per output, and their snapshots at 80×24.

The sessions are trained for real with the CLI (tiny: a few epochs, small p and
hidden); the p = 97, hidden 64 one is built in memory (its shape, not its training,
is what the test needs)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig, preset
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.tasks import Feature
from grutui.ui import colours
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.browse import (
    BrowsePane,
    feature_labels,
    grid_rows,
    input_columns,
    token_maps,
    token_matrix,
    token_rows,
    weight_matrix,
)
from grutui.ui.widgets.heatgrid import WeightGrid
from tests.helpers import shown

P, HIDDEN = 7, 6  # the modadd session: 7 tokens, a heat map (hidden > 4)
BITS, FF_HIDDEN = 3, 4  # the flip-flop session: a table (hidden <= 4) wider than 80


def _train(path: Path, *argv: str) -> RunData:
    common = ["--epochs", "4", "--device", "cpu", "--threads", "1", "--out", str(path)]
    assert main(["train", *argv, *common]) == 0
    with Session(path) as s:
        return RunData.from_session(s)


@pytest.fixture(scope="module")
def _modadd(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    path = tmp_path_factory.mktemp("browse") / "modadd"
    return _train(path, "--preset", "grokking", "--task-option", f"p={P}", "--hidden", str(HIDDEN))


@pytest.fixture(scope="module")
def _flipflop(tmp_path_factory: pytest.TempPathFactory) -> RunData:
    path = tmp_path_factory.mktemp("browse") / "flipflop"
    return _train(
        path, "--preset", "flipflop", "--task-option", f"bits={BITS}", "--hidden", str(FF_HIDDEN)
    )


@pytest.fixture
def modadd(_modadd: RunData) -> RunData:
    return copy.deepcopy(_modadd)  # an app may grow or mutate its data


@pytest.fixture
def flipflop(_flipflop: RunData) -> RunData:
    return copy.deepcopy(_flipflop)


def synthetic_run(cfg: TrainConfig, epochs: int = 3) -> RunData:
    """A run of ``cfg``'s shape whose weights drift at random (training p = 97 at
    hidden 64 for real would take the test's time)."""
    rng = np.random.default_rng(3)
    shapes = param_shapes(cfg.hidden, cfg.input_size, cfg.output_size)
    w = {n: rng.normal(0, 0.5, (1, *shapes[n])).astype(np.float32) for n in PARAM_NAMES}
    run = RunData(cfg, name="synthetic")
    recs = []
    for e in range(epochs):
        w = {k: v + rng.normal(0, 0.05, v.shape).astype(np.float32) for k, v in w.items()}
        recs.append(
            EpochRecord(
                epoch=e,
                train_loss=np.array([1.0 / (e + 1)]),
                test_loss=np.array([1.2 / (e + 1)]),
                lr=np.array([1e-3]),
                wall_time=float(e),
                weights=w,
                initial_weights=None,
            )
        )
    run.extend(recs)
    return run


def _lines(app: GrutuiApp, sel: str) -> list[str]:
    w = app.screen.query_one(sel)
    return [line.text for line in w.render_lines(w.region.reset_offset)]  # type: ignore[attr-defined]


def _box(app: GrutuiApp) -> str:
    return " ".join(x.strip() for x in _lines(app, "#browse-row"))


def _w_ih(data: RunData, epoch: int) -> np.ndarray:
    return np.asarray(data.weights(epoch)["gru.weight_ih_l0"])


# -- the grid's parts -------------------------------------------------------------------


def test_features_are_named_by_their_shortest_distinct_prefix() -> None:
    assert feature_labels((Feature("value"), Feature("flag"))) == ["v", "f"]
    assert feature_labels(tuple(Feature(f"in{i}") for i in (1, 2, 3))) == ["in1", "in2", "in3"]
    assert feature_labels((Feature("in1"), Feature("in10"))) == ["in1", "in10"]
    mixed = (Feature("x"), Feature("tok", "token", vocab=5), Feature("y"))
    # a token feature's column is its selected token's unit; the units after it move on
    assert input_columns(mixed) == [("x", 0), ("t=0", 1), ("y", 6)]
    assert input_columns(mixed, {1: 3}) == [("x", 0), ("t=3", 4), ("y", 6)]


def test_token_map_and_gate_rows_place_every_cell(modadd: RunData) -> None:
    cfg = modadd.config
    w = modadd.weights(modadd.last_epoch)
    (tm,) = token_maps(cfg.task.features())
    rows = token_rows(HIDDEN, tm)
    m = token_matrix(w, tm)
    assert m.shape == (P, 3 * HIDDEN) == (len(rows), len(rows[0].cells))
    for i, r in enumerate(rows):
        assert r.label == str(i) and r.title == f"token={i}"
        for (_name, p, ix), c in zip(r.cells, r.cols, strict=True):
            assert m[i, c] == w[p][ix]
    # the gate rows: the token's column, then a read-out row per class
    inputs = input_columns(cfg.task.features(), {0: 4})
    grows = grid_rows(HIDDEN, inputs, cfg.output_size)
    g = weight_matrix(w, HIDDEN, [u for _n, u in inputs])
    assert len(grows) == 3 * HIDDEN + P == g.shape[0]
    assert [r.label for r in grows[-P:]] == [f"o{k}" for k in range(P)]
    for i, r in enumerate(grows):
        for (_name, p, ix), c in zip(r.cells, r.cols, strict=True):
            assert g[i, c] == w[p][ix]
        assert np.isnan(np.delete(g[i], r.cols)).all()
    assert grows[0].cells[0][0] == "W_ir·t=4"


# -- modular addition: the token map --------------------------------------------------


async def test_a_token_task_opens_on_its_token_map_that_follows_keys_and_cursor(
    modadd: RunData,
) -> None:
    app = GrutuiApp(data=modadd, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        last = modadd.last_epoch
        title = shown(app, "#browse-title")
        assert title.startswith(f"token × W_i at epoch {last}") and "t rows" in title
        grid = _lines(app, "#browse-weights")
        assert "W_ir" in grid[0] and "W_iz" in grid[0] and "W_in" in grid[0]
        assert [line.split()[0] for line in grid[1:4]] == ["0", "1", "2"]  # a row per token
        w = _w_ih(modadd, last)
        assert _box(app).startswith(f"token=0: W_ir·r0 {w[0, 0]:+.4f}")
        await pilot.press("down", "down", "l")  # token 2, unit r1
        assert _box(app).startswith(f"token=2: W_ir·r1 {w[1, 2]:+.4f}")
        # all the token's 3H numbers are beneath, a page at a time
        assert f"z0 {w[HIDDEN, 2]:+.4f}" in " ".join(_box(app).split())
        assert f"of {3 * HIDDEN}" in _box(app)
        await pilot.press("home")  # the epoch cursor: the same cell at epoch 0
        w0 = _w_ih(modadd, 0)
        assert _box(app).startswith(f"token=2: W_ir·r1 {w0[1, 2]:+.4f}")
        assert shown(app, "#browse-title").startswith("token × W_i at epoch 0")
        assert screen._traj and screen._traj[0][0] == "W_ir·r0"  # the box line's cells
        await pilot.press("J")  # a page of tokens down, within the vocabulary
        assert screen.sel > 2 and _box(app).startswith(f"token={screen.sel}:")
        await pilot.press("J", "J", "J")
        assert screen.sel == P - 1


async def test_t_switches_to_the_gate_rows_with_the_selected_token_as_the_input(
    modadd: RunData,
) -> None:
    app = GrutuiApp(data=modadd, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end", "down", "down", "down")  # token 3
        await pilot.press("t")
        last = modadd.last_epoch
        w = _w_ih(modadd, last)
        title = shown(app, "#browse-title")
        assert title.startswith(f"weights at epoch {last}") and "t tokens" in title
        assert _box(app).startswith(f"r0: W_ir·t=3 {w[0, 3]:+.4f}")
        assert [line.split()[0] for line in _lines(app, "#browse-weights")[1:3]] == ["r0", "r1"]
        await pilot.press("J", "J", "J")  # r, z, n blocks, then the read-out
        assert _box(app).startswith("o0: W_o0·h0")
        await pilot.press("down")
        b = float(modadd.weights(last)["linear.bias"][1])
        await pilot.press(*["l"] * HIDDEN)  # o1's bias, the last cell
        assert _box(app).startswith(f"o1: b_o1 {b:+.4f}")
        await pilot.press("t")  # back to the map, on the token left there
        assert _box(app).startswith("token=3:")
        await pilot.press("down", "t")  # token 4, then the gate rows again
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        assert _box(app).startswith(f"o1: b_o1 {b:+.4f}")  # the row left there
        await pilot.press("home", *["up"] * (3 * HIDDEN + 1), *["h"] * (HIDDEN + 2))
        # r0's first cell, at epoch 0
        assert _box(app).startswith(f"r0: W_ir·t=4 {_w_ih(modadd, 0)[0, 4]:+.4f}")
        name, _xs, ys = screen._traj[0]  # the plotted trajectory is token 4's too
        hist = modadd.weight_history("gru.weight_ih_l0")[:, 0, 4]
        assert name == "W_ir·t=4" and ys == [float(v) for v in hist]


async def test_the_token_key_is_shown_only_for_token_tasks(
    modadd: RunData, flipflop: RunData
) -> None:
    for data, has in ((modadd, True), (flipflop, False)):
        app = GrutuiApp(data=data, start_pane="browse")
        async with app.run_test(size=(120, 24)) as pilot:
            await pilot.pause()
            assert (" t Tokens" in shown(app, "Footer")) is has
            if not has:
                before = shown(app, "#browse-title")
                await pilot.press("t")
                assert shown(app, "#browse-title") == before


async def test_at_p97_hidden_64_the_map_scrolls_to_the_selected_unit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # the glyph path: signs readable without colour
    data = synthetic_run(preset("grokking").replace(hidden=64, device="cpu"))
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        grid = screen.query_one(WeightGrid)
        w = _w_ih(data, data.last_epoch)
        for presses in (0, 70, 60):
            await pilot.press(*["l"] * presses)
            strips = grid.render_lines(grid.region.reset_offset)
            assert all(s.cell_length == grid.region.width for s in strips)
            # reversed: the selected row's label ("0") and the selected cell
            sel = [
                s
                for s in strips[1]
                if s.style and s.style.reverse and s.text.strip() and s.text.strip() != "0"
            ]
            assert len(sel) == 1 and len(sel[0].text) == 1  # the selected cell, reversed
        assert "›" in strips[1].text and "‹" in strips[1].text
        head = strips[0].text
        assert "W_iz" in head and "–" in head  # the cut groups say which units they show
        unit = 130  # n2
        assert _box(app).startswith(f"token=0: W_in·n2 {w[unit, 0]:+.4f}")
        # every drawn cell's glyph carries its level's sign and size
        block = screen._blocks[next(reversed(screen._blocks))]
        text = strips[1].text
        cells = [ch for ch in text[text.index("0") + 5 :] if ch not in " ‹›"][:50]
        assert set(cells) <= set(colours.POS_GLYPHS + colours.NEG_GLYPHS + colours.ZERO_GLYPH)
        lv = [colours.glyph(int(v), "none") for v in block.vlev[0]]
        assert "".join(cells) in "".join(lv)
        await pilot.press(*["down"] * 40)  # tokens scroll under the header
        assert any(line.split()[:1] == ["40"] for line in _lines(app, "#browse-weights")[1:])
        assert _box(app).startswith(f"token=40: W_in·n2 {w[unit, 40]:+.4f}")


# -- the flip-flop: a column per input bit ---------------------------------------------


async def test_flipflop_columns_are_its_bits_and_scroll_when_the_table_is_too_wide(
    flipflop: RunData,
) -> None:
    app = GrutuiApp(data=flipflop, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        last = flipflop.last_epoch
        w = flipflop.weights(last)
        title = shown(app, "#browse-title")
        assert "h/l column" in title and "t tokens" not in title
        head = _lines(app, "#browse-weights")[0]
        assert [f"W_i·in{i}" in head for i in (1, 2, 3)] == [True] * 3
        assert head.rstrip().endswith("›") and "‹" not in head and "b_h" not in head
        assert f"{w['gru.weight_ih_l0'][0, 2]:+.4f}" in _lines(app, "#browse-weights")[1]
        await pilot.press(*["l"] * 9)  # to b_h, the last column
        head = _lines(app, "#browse-weights")[0]
        assert "‹" in head and "b_h" in head and "W_i·in1" not in head
        assert f"{w['gru.bias_hh_l0'][0]:+.4f}" in _lines(app, "#browse-weights")[1]
        grid = app.screen.query_one(WeightGrid)
        row = grid.render_lines(grid.region.reset_offset)[1]
        marked = [s.text.strip() for s in row if s.style and s.style.reverse]
        assert marked == ["r0", f"{w['gru.bias_hh_l0'][0]:+.4f}"]  # its label and cell
        box = _box(app)
        assert box.startswith("r0: ") and "b_hr" in box and "W_ir·in1" not in box
        await pilot.press("H")  # a page (the 7 columns in view) back: from b_h to bit 2
        head = _lines(app, "#browse-weights")[0]
        assert head.split()[:2] == ["‹", "W_i·in2"]
        assert _box(app).startswith("r0: W_ir·in2 ")
        await pilot.press("home")
        w0 = flipflop.weights(0)
        await pilot.press(*["h"] * 9)
        assert f"{w0['gru.weight_ih_l0'][0, 0]:+.4f}" in _lines(app, "#browse-weights")[1]
        # three outputs: a read-out row each
        await pilot.press("up")  # wraps to the last row
        assert _box(app).startswith("o2: ")
        await pilot.press("K")
        assert _box(app).startswith("n0: ")


async def test_ten_bits_stay_beside_the_labels_in_the_heat_map(tmp_path: Path) -> None:
    cfg = preset("flipflop").replace(hidden=8, device="cpu", **{"task.bits": 10})
    data = synthetic_run(cfg, epochs=2)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end", *["l"] * 9)
        w = _w_ih(data, data.last_epoch)
        assert _box(app).startswith(f"r0: W_ir·in10 {w[0, 9]:+.4f}")
        row = _lines(app, "#browse-weights")[1]
        assert row.startswith(" r0   ") and len(row.split()[1]) == 10  # the ten bits
        head = _lines(app, "#browse-weights")[0]
        assert head.split()[:2] == ["W_i", "W_h"]


async def test_many_bits_scroll_with_the_hidden_units_in_the_heat_map() -> None:
    cfg = preset("flipflop").replace(hidden=8, device="cpu", **{"task.bits": 64})
    data = synthetic_run(cfg, epochs=2)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        grid = app.screen.query_one(WeightGrid)
        head = _lines(app, "#browse-weights")[0]
        assert head.split()[:3] == ["W_i", "W_h", "h0–h2"]  # most of W_h is off to the right
        assert "›" in _lines(app, "#browse-weights")[1]
        await pilot.press(*["l"] * 71)  # W_hr·h7, the last hidden column
        w = data.weights(data.last_epoch)
        assert _box(app).startswith(f"r0: W_hr·h7 {float(w['gru.weight_hh_l0'][0, 7]):+.4f}")
        strips = grid.render_lines(grid.region.reset_offset)
        assert all(s.cell_length == grid.region.width for s in strips)
        assert "‹" in strips[1].text  # the first bits scrolled off to the left
        head = strips[0].text
        assert "W_i in" in head and "W_h" in head and "b" in head.split()


# -- snapshots ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "keys", "size"),
    [
        ("modadd", ("end", "down", "down", "l"), (80, 24)),  # token 2, unit r1
        ("modadd-rows", ("end", "down", "down", "t"), (80, 24)),  # token 2's column
        ("flipflop", ("end", "down", "l", "l", "l"), (80, 24)),  # r1, W_h·h0
        ("modadd", ("end", "down", "down", "l"), (160, 48)),
    ],
    ids=["modadd-80x24", "modadd-rows-80x24", "flipflop-80x24", "modadd-160x48"],
)
def test_snapshot_tasks(
    snap_compare: Any,
    modadd: RunData,
    flipflop: RunData,
    task: str,
    keys: tuple[str, ...],
    size: tuple[int, int],
) -> None:
    data = flipflop if task == "flipflop" else modadd
    app = GrutuiApp(data=data, start_pane="browse")
    assert snap_compare(app, press=keys, terminal_size=size)
