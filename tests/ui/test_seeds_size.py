"""The Seeds pane at size: the shown member is marked and stays in view; an ensemble
larger than the screen is summarised (spread, best and worst, outliers, the shown
member's row) and so is a distance matrix wider than the screen."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from grutui.core.analysis.compare import PairDistance, SeedComparison, compare_members
from grutui.core.analysis.spread import spread
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.seeds import MARK, SeedsPane, distance_summary
from tests.ui.test_panes_analysis import ensemble_data, settle


def _body(app: GrutuiApp) -> list[str]:
    w = app.screen.query_one("#cmp-content")
    return [line.text.rstrip() for line in w.render_lines(w.region.reset_offset)]


def _no_ellipsis(body: str) -> bool:
    """No number cut to "…" (the strip's header has one of its own)."""
    return "…" not in body.replace("L1F1 … L8F4", "")


def _visible(app: GrutuiApp) -> list[str]:
    """The body's lines the scroll view shows."""
    scroll = app.screen.query_one("#cmp-body")
    top = int(scroll.scroll_offset.y)
    return _body(app)[top : top + scroll.scrollable_content_region.height]


async def test_listed_members_mark_the_shown_one_in_view(tmp_path: Path) -> None:
    data = ensemble_data(tmp_path / "ens", members=12, epochs=2)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SeedsPane)
        marked = [ln for ln in _visible(app) if ln.startswith(MARK)]
        assert marked and all(ln.startswith(f"{MARK}0 ") for ln in marked)
        assert "▁" in marked[0]  # the table's row (the distance matrix marks its row too)
        await pilot.press("M")  # the last member, at the bottom of the table
        await settle(app, pilot)
        assert app.member == 11
        marked = [ln for ln in _visible(app) if ln.lstrip().startswith(MARK)]
        assert any("▁" in ln for ln in marked)
        assert all(ln.lstrip().startswith(f"{MARK}11 ") for ln in marked)
        body = "\n".join(_body(app))
        res = compare_members(data, app.epoch)
        assert "nearest pair" not in body and _no_ellipsis(body)  # 12 columns fit in 80
        assert f"{res.matrix('aligned')[10, 11]:.3g}" in body


async def test_a_large_ensemble_is_summarised(tmp_path: Path) -> None:
    k = 40
    data = ensemble_data(tmp_path / "ens", members=k, epochs=2)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("number_sign", *"17", "enter")
        await settle(app, pilot)
        assert app.member == 17
        res = compare_members(data, app.epoch)
        lines = _visible(app)
        text = "\n".join(lines)
        assert f"{k} members" in text and "median" in text and "quartiles" in text
        rows = [ln for ln in lines if ln.split() and ln.split()[0].lstrip(MARK).isdigit()]
        assert len(rows) < k  # not every member
        train = [fl["train_loss"] for fl in res.final_losses]
        sp = spread(train)
        row = next(ln for ln in lines if ln.startswith("final train"))
        assert f"m{sp.argmin} " in row and f"m{sp.argmax} " in row  # best, worst
        listed = {int(r.split()[0].lstrip(MARK)) for r in rows}
        assert {sp.argmin, sp.argmax, 17} <= listed
        assert (
            next(r for r in rows if r.lstrip().startswith(MARK)).lstrip().startswith(f"{MARK}17 ")
        )
        body = "\n".join(_body(app))
        aligned = res.matrix("aligned")
        off = ~np.eye(k, dtype=bool)
        assert f"aligned mean {aligned[off].mean():.3g}" in body and "farthest" in body
        assert f"{MARK}m17: nearest" in body and _no_ellipsis(body)


async def test_distance_matrix_shown_only_when_it_fits(tmp_path: Path) -> None:
    data = ensemble_data(tmp_path / "ens", members=20, epochs=2)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:  # 20 columns of 4+ characters
        await settle(app, pilot)
        body = "\n".join(_body(app))
        assert "nearest pair" in body and _no_ellipsis(body)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        res = compare_members(data, app.epoch)
        body = "\n".join(_body(app))
        assert "nearest pair" not in body and _no_ellipsis(body)
        assert f"{res.matrix('aligned')[18, 19]:.3g}" in body
        assert sum(ln.startswith(f"{MARK}0 ") for ln in _body(app)) == 2  # table, matrix


def test_distance_summary_leaves_out_diverged_members() -> None:
    nan = float("nan")
    pairs = [
        PairDistance(0, 1, 2.0, 1.0, 3.0, [0], [1], "exhaustive"),
        PairDistance(0, 2, nan, nan, nan, [0], [1], "exhaustive"),
        PairDistance(1, 2, nan, nan, nan, [0], [1], "exhaustive"),
    ]
    res = SeedComparison(epoch=0, members=3, final_losses=[], ood=[], pairs=pairs)
    text = Console(width=80, record=True)
    text.print(distance_summary(res, shown=2))
    out = text.export_text()
    assert "nearest pair m0–m1 1" in out and "nan" not in out.split("random-pair")[0]
    assert f"{MARK}m2" not in out  # no finite distance to the shown one
    gone = [PairDistance(0, 1, nan, nan, nan, [0], [1], "exhaustive"), *pairs[1:]]
    res = SeedComparison(epoch=0, members=3, final_losses=[], ood=[], pairs=gone)
    text.print(distance_summary(res, shown=0))
    assert "no finite distance" in text.export_text()


async def test_the_final_losses_show_while_the_comparison_is_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the first result: the members' final losses (no computing needed), not a
    blank pane."""
    data = ensemble_data(tmp_path / "ens", members=30, epochs=2)
    release = threading.Event()
    compute = SeedsPane.compute

    def held(self: SeedsPane, key: tuple[int, int]) -> SeedComparison:
        release.wait(20)
        return compute(self, key)

    monkeypatch.setattr(SeedsPane, "compute", held)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        end = time.monotonic() + 20
        while "final losses" not in "\n".join(_body(app)):
            assert time.monotonic() < end, "timed out"
            await pilot.pause(0.02)
        body = "\n".join(_body(app))
        train = spread(data.final_losses(m)["train_loss"] for m in range(30))
        assert f"m{train.argmin}" in body and f"m{train.argmax}" in body
        release.set()
        await settle(app, pilot)
        assert "OOD in" in "\n".join(_body(app))  # the result replaced it


async def test_the_body_is_built_once_per_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys while the next epoch is computed change the title only (the stale result's
    body stays as built); the new result builds it once."""
    data = ensemble_data(tmp_path / "ens", members=30, epochs=4)
    release = threading.Event()
    release.set()
    compute, put = SeedsPane.compute, SeedsPane._put
    builds: list[int] = []

    def held(self: SeedsPane, key: tuple[int, int]) -> SeedComparison:
        release.wait(20)
        return compute(self, key)

    def counted(self: SeedsPane, renderable: object, width: int) -> None:
        builds.append(self.grutui.epoch)
        put(self, renderable, width)  # type: ignore[arg-type]

    monkeypatch.setattr(SeedsPane, "compute", held)
    monkeypatch.setattr(SeedsPane, "_put", counted)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        before = list(builds)
        body = "\n".join(_body(app))
        release.clear()
        await pilot.press("left", "left")
        title = app.screen.query_one("#cmp-title")
        assert "updating" in str(title.render())
        assert builds == before and "\n".join(_body(app)) == body
        release.set()
        await settle(app, pilot)
        assert len(builds) == len(before) + 1 and "updating" not in str(title.render())
