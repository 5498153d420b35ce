"""Fourier pane at 80×24 on a tiny modular-addition session trained by the real command
line: the spectrum follows the cursor (checked against the core analysis), the keys
select frequencies and views, the survival history is cached for a session opened
from disk, and the pane is hidden for a task without tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis import fourier
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.config import preset
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.fourier import FourierPane, render_survival
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import shown, tiny_circles_argv, until
from tests.ui.noting import Noting

SIZE = (80, 24)
P = 13
TINY = tiny_circles_argv(P, 8)


@pytest.fixture(scope="module")
def modadd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fourier-ui") / "modadd"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def data(modadd: Path) -> RunData:
    with Session(modadd) as s:
        return RunData.from_session(s)


def pane(app: GrutuiApp) -> FourierPane:
    screen = app.screen
    assert isinstance(screen, FourierPane)
    return screen


def settled(app: GrutuiApp) -> bool:
    """The spectrum at the cursor and the survival history have arrived."""
    screen = app.screen
    if not isinstance(screen, FourierPane) or screen.survival is None:
        return False
    res = screen.cache.shown
    return res is not None and screen.cache.wanted == (res.spectrum.epoch, app.member)


async def test_spectrum_follows_the_cursor(data: RunData) -> None:
    app = GrutuiApp(data=data, start_pane="fourier")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: settled(app))
        for key in ("home", "right", "right", "end", "left"):
            await pilot.press(key)
            await until(pilot, lambda: settled(app))
            res = pane(app).current()
            ref = fourier.fourier_at(data, app.epoch)
            assert res is not None and res.spectrum.epoch == ref.epoch == app.epoch
            np.testing.assert_allclose(res.spectrum.signal, ref.signal)
            title = shown(app, "#fourier-title")
            assert f"spectrum at epoch {app.epoch}" in title
            assert f"{len(ref.circle_frequencies)} circles of {P // 2}" in title
            body = shown(app, "#fourier-body")
            assert f"2×mean = {fourier_fmt(ref.threshold)}" in body


def fourier_fmt(v: float) -> str:
    return f"{v:.3g}"


async def test_keys_select_a_frequency_and_cycle_the_views(data: RunData) -> None:
    surv = fourier.survival_history(data, use_cache=False)
    app = GrutuiApp(data=data, start_pane="fourier")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: settled(app))
        screen = pane(app)
        strongest = int(np.argmax(fourier.fourier_at(data, app.epoch).signal)) + 1
        assert screen.selected == strongest  # the first selection
        await pilot.press("home", *["up"] * P)  # the first epoch, and k=1
        assert screen.selected == 1
        await pilot.press("down", "down")
        await until(pilot, lambda: settled(app))
        assert screen.selected == 3
        body = shown(app, "#fourier-body")
        rank = next(r for r in surv.ranking() if r.k == 3)
        assert f"k=3: S {fourier_fmt(fourier.fourier_at(data, app.epoch).signal[2])}" in body
        assert f"(rank {rank.signal_rank}/{P // 2})" in body

        await pilot.press("v")
        assert screen.view == "survival"
        body = shown(app, "#fourier-body")
        assert body.splitlines()[1].startswith("k1")
        assert f"cursor column: epoch {app.epoch}" in body

        await pilot.press("v")
        assert screen.view == "ranking"
        lines = shown(app, "#fourier-body").splitlines()
        assert lines[0].startswith(f"circles: {surv.summary()['circles_at_start']} at the start")
        first = surv.ranking()[0]
        summ = surv.summary()
        assert lines[2].startswith("last signal's rank correlation: with initial signal ρ ")
        assert f"ρ {summ['spearman_gradient']:+.2f}" in lines[2]
        assert lines[4].split()[:2] == ["1", str(first.k)]
        await pilot.press("down")  # in the ranking, ↓ walks the ranking's order
        assert screen.selected == surv.ranking()[[r.k for r in surv.ranking()].index(3) + 1].k

        await pilot.press("v")
        assert screen.view == "circle"
        body = shown(app, "#fourier-body")
        assert body.startswith(f"k={screen.selected} on F[k]'s cos/sin plane: S ")
        assert any(ch.isdigit() for ch in body.split("\n", 1)[1])  # token labels

        await pilot.press("v")
        assert screen.view == "spectrum"


async def test_survival_strip_marks_the_cursor_column(data: RunData) -> None:
    surv = fourier.survival_history(data, use_cache=False)
    text = render_survival(surv, 3, 1, 76)
    lines = text.plain.splitlines()
    assert len(lines) == 1 + P // 2 + 1
    assert lines[1].startswith("k1") and lines[-1] == "cursor column: epoch 3"
    rev = [s for s in text.spans if "reverse" in str(s.style)]
    assert len(rev) == P // 2  # one cursor cell per strip
    assert rev[0].start - len(lines[0]) - 1 == len("k1   ") + 1 + 3  # snapshot 3 is column 3


async def test_history_cached_for_a_session_opened_from_disk(modadd: Path, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "copy"
    shutil.copytree(modadd, path)
    app = GrutuiApp(session=path, start_pane="fourier")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: settled(app))
        surv = pane(app).survival
        assert surv is not None and surv.computed == len(surv) == 8
        await app.shutdown()
    assert (path / ANALYSIS_NAME).is_file()
    with Session(path) as s:
        again = fourier.survival_history(s)
    assert again.computed == 0
    np.testing.assert_array_equal(again.signal, surv.signal)


async def test_hidden_for_a_task_without_tokens(demo_data: RunData) -> None:
    app = Noting(data=demo_data, start_pane="fourier")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.current_mode == "train"
        assert "Fourier" not in app.screen.query_one(CursorBar).render().plain
        await pilot.press("7")
        await pilot.pause()
        assert app.current_mode == "train"
        assert app.notes == [
            "Fourier: the Fourier analysis needs a token input feature (task 'blog' has none)"
        ]


def _settled(*keys: str) -> object:
    async def run_before(pilot: Any) -> None:
        await until(pilot, lambda: settled(pilot.app))
        await pilot.press(*keys)
        await until(pilot, lambda: settled(pilot.app))

    return run_before


@pytest.mark.parametrize(
    "keys",
    [(), ("v",), ("v", "v"), ("v", "v", "v")],
    ids=["spectrum", "survival", "ranking", "circle"],
)
def test_snapshot(snap_compare: Any, data: RunData, keys: tuple[str, ...]) -> None:
    app = GrutuiApp(data=data, start_pane="fourier")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled("home", "right", *keys))


async def test_a_diverged_run_shows_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "diverged"
    assert main(["train", *TINY, "--lr", "1e30", "--out", str(out)]) == 1  # it diverged
    app = GrutuiApp(session=out, start_pane="fourier")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: settled(app))
        for key in ("end", "c", "v", "down", "v", "up", "v", "home", "v"):
            await pilot.press(key)
            await until(pilot, lambda: settled(app))
            screen = pane(app)
            assert screen.cache.error is None and screen.survival_error is None
        assert app.is_running
        await pilot.press("end")
        await until(pilot, lambda: settled(app))
        assert "circles (S > 2×mean = nan): none" in shown(app, "#fourier-body")


async def test_a_live_run_extends_the_history_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bool, int, int]] = []  # (had a previous result, computed, rows)
    real = fourier.survival_history

    def recording(*args: Any, **kw: Any) -> fourier.Survival:
        res = real(*args, **kw)
        calls.append((kw.get("previous") is not None, res.computed, len(res)))
        return res

    monkeypatch.setattr(fourier, "survival_history", recording)
    cfg = preset("circles").replace(
        **{"task.p": P, "task.train_fraction": 0.5, "hidden": 4, "epochs": 100_000},
        snapshot_every=1,
        threads=1,
        device="cpu",
    )
    cfg = cfg.replace(batch_size=cfg.task.data_shape().n_train)
    out = tmp_path / "live"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs >= 3)
        await pilot.press("space")  # pause: the history catches up with a run that stands
        await until(pilot, lambda: app.run_status == "paused")
        await pilot.press("7")
        data = app.data
        assert data is not None
        await until(pilot, lambda: len(pane(app).survival or ()) == len(data.snapshot_epochs))
        first = len(data.snapshot_epochs)
        await pilot.press("1", "space", "7")  # resume, and watch it grow
        await until(pilot, lambda: len(pane(app).survival or ()) > first + 10)
        await pilot.press("1", "s")  # stop
        await until(pilot, lambda: app.run_status not in ("starting", "training", "paused"))
        await pilot.press("7")
        n = len(data.snapshot_epochs)
        await until(pilot, lambda: len(pane(app).survival or ()) == n)
        surv = pane(app).survival
        assert surv is not None
        ref = real(data, use_cache=False)
        np.testing.assert_array_equal(surv.epochs, ref.epochs)
        np.testing.assert_allclose(surv.signal, ref.signal)
        np.testing.assert_allclose(surv.initial_gradient, ref.initial_gradient)
    assert calls[0][0] is False and calls[-1][0] is True and len(calls) >= 3
    # only the first computed from scratch; later ones the snapshots added since
    assert sum(c for _p, c, _n in calls) == n and calls[0][1] <= first < n
    assert not (out / ANALYSIS_NAME).exists()  # a live run's file is the trainer's
