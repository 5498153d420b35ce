"""Seeds pane (ensemble sessions): per-member final losses, the OOD grid per
member at the cursor epoch (compact: mean success in/out of the training distribution
and a strip over the 26 cells), and the weight distance between members minimised
over hidden-unit permutations and sign flips, against a random-symmetry baseline.

All of it is ``grutui.core.analysis.compare.compare_members`` at the cursor epoch, run
in the pane's job thread (``AnalysisPane``).

``d`` switches to the degeneracy view (``grutui.core.analysis.degeneracy``): a one-line
summary per level (behaviour, dynamics, weights) against its random baseline, each
level's mean over the epochs as a strip with the cursor's column marked, and one
level's K×K matrix (``l`` picks the level). The epoch's levels are computed in their
own latest-key-wins job, the curves in another that fills in as it goes (cached in
``analysis.h5`` for a session opened from disk).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Footer, Static

from grutui.core.analysis.compare import SeedComparison, compare_members
from grutui.core.analysis.degeneracy import (
    LEVELS,
    Degeneracy,
    DegeneracyAnalysis,
    DegeneracyHistory,
    degeneracy_history,
)
from grutui.core.analysis.history import BARS
from grutui.core.analysis.ood import DEFAULT_SAMPLES, snapshot_epoch
from grutui.core.analysis.spread import Spread, spread
from grutui.core.errors import SessionError
from grutui.core.numfmt import sig
from grutui.core.rundata import RunData
from grutui.ui.colours import success_colour
from grutui.ui.jobs import CachedResults, LatestJob
from grutui.ui.panes.analysis_base import AnalysisPane
from grutui.ui.panes.base import recorded
from grutui.ui.widgets.cursorbar import CursorBar

MARK = "▶"  # the member the other panes show
VIEWS = ("members", "degeneracy")

SINGLE = (
    "single-member session: the seed comparison needs an ensemble "
    "(a session trained with several members)."
)


# (samples, snapshot epoch)
SeedsKey = tuple[int, int]
HISTORY_ROWS = 100  # the curves: about this many snapshots (a stride beyond)
# seconds between partial curves posted by the worker: slower than the jobs' default,
# as each redraws the whole view (strips and matrix), not a counter
CURVES_INTERVAL = 0.5


class SeedsPane(AnalysisPane[SeedsKey, SeedComparison]):
    PANE_MODE = "seeds"
    PANE_TITLE = "Seeds"
    JOB_GROUP = "seeds"
    MAX_RESULTS = 256
    TITLE_ID = "cmp-title"
    BODY_ID = "cmp-content"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "d",
            "toggle_view",
            "Degeneracy",
            id="seeds.degeneracy",
            tooltip="Degeneracy at every level (behaviour, dynamics, weights), or the members",
            show=False,
        ),
        Binding(
            "l",
            "next_level",
            "Level",
            id="seeds.level",
            tooltip="The degeneracy view's matrix: the next level",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "members"  # or "degeneracy"
        self.level = "dynamics"
        self.degen = DegeneracyView(self)
        self.samples = DEFAULT_SAMPLES
        self.member = 0  # the app's, as of the last show_epoch
        self._body_shows: tuple[object, ...] | None = None  # what the body was built for
        self._body_res: SeedComparison | None = None
        self._body_shape: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Static("", id="cmp-title")
        with VerticalScroll(id="cmp-body", can_focus=False):
            yield Static("", id="cmp-content")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.degen.mount()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        self.member = member
        if self.view == "degeneracy" and data.members >= 2:
            self.degen.show_epoch(data, epoch)
            return
        if data.members < 2:
            self._body_shows = self._body_shape = None
            self.show_title(Text("seed comparison", style="bold"))
            self.query_one("#cmp-content", Static).update(Text(SINGLE, style="yellow"))
            return
        if epoch < 0 or not len(data.snapshot_epochs):
            self.no_result("seed comparison: no weights recorded yet")
            return
        try:
            key = (self.samples, snapshot_epoch(data, epoch))
        except SessionError as exc:  # before the first snapshot
            self.no_result(str(exc))
            return
        self.want(key)

    def data_grew(self, data: RunData) -> None:
        self.cache.clear()  # final losses moved
        self.degen.data_grew(data)

    def action_toggle_view(self) -> None:
        self._show_view("degeneracy" if self.view == "members" else "members")
        self.record_view()

    def action_next_level(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        if self.view == "degeneracy":
            self.degen.draw()
        self.record_view()

    def view_state(self) -> dict[str, Any]:
        return {"view": self.view, "level": self.level}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        self.level = recorded(state, "level", LEVELS, self.level)
        self._show_view(recorded(state, "view", VIEWS, self.view))

    def _show_view(self, view: str) -> None:
        if view != self.view:
            self.view = view
            self._body_shows = self._body_shape = None  # the body shows the other view now
        self.sync()

    def compute(self, key: SeedsKey) -> SeedComparison:
        samples, epoch = key
        data = self.grutui.data
        assert data is not None
        return compare_members(data, epoch, samples=samples)

    def draw(self) -> None:
        if self.view == "degeneracy":
            return  # a comparison arriving late: the members view draws it when shown
        res = self.cache.shown
        fresh = res is not None and self.cache.wanted == (self.samples, res.epoch)
        t = result_title("seed comparison", res, fresh)
        t.append(f"  OOD {self.samples}/cell", style="dim")
        self.show_title(t)
        body = self.query_one("#cmp-content", Static)
        width, height = self.room()
        data = self.grutui.data
        if res is None:
            n = data.n_epochs if data is not None else 0
            shows: tuple[object, ...] = (None, self.cache.error, data, n, width)
            if shows == self._body_shows:
                return
            self._body_shows = shows
            if self.cache.error or data is None:
                self._body_shape = None
                body.update(Text(self.cache.error or "", style="red"))
            else:  # the losses need no computing: useful while the rest is
                self._put(losses_summary(data), width)
            return
        member = min(self.member, res.members - 1)
        # a stale result stays shown while scrubbing to epochs being computed: only the
        # title changes, the body is not built again
        shows = (id(res), member, width, height, self.cache.error)
        if shows == self._body_shows and self._body_res is res:
            return
        self._body_shows, self._body_res = shows, res
        listed = res.members + 1 <= height  # the header and one row per member
        parts: list[RenderableType] = [
            members_table(res, member) if listed else members_summary(res, member),
            distance_table(res, member)
            if distance_fits(res, width)
            else distance_summary(res, member),
        ]
        if self.cache.error:
            parts.append(Text(self.cache.error, style="red"))
        self._put(Group(*parts), width)
        scroll = self.query_one("#cmp-body", VerticalScroll)
        # the shown member's row (below the header; the summary puts it near the top)
        row = 1 + member if listed else 0
        scroll.call_after_refresh(scroll.scroll_to_region, Region(0, row, 1, 1), animate=False)

    def no_result(self, why: str) -> None:
        self._body_shows = self._body_shape = None  # the body no longer shows a result
        super().no_result(why)

    def _put(self, renderable: RenderableType, width: int) -> None:
        """Show ``renderable`` (tables) laid out once at ``width``: Textual would
        measure and render the tables again on every layout pass; a layout pass only
        when the body's size changed."""
        console = self.app.console
        lines = console.render_lines(renderable, console.options.update_width(width), pad=False)
        shape = (len(lines), max((Segment.get_line_length(ln) for ln in lines), default=0))
        layout = shape != self._body_shape
        self._body_shape = shape
        self.query_one("#cmp-content", Static).update(Rendered(lines), layout=layout)

    def room(self) -> tuple[int, int]:
        """Columns and rows the body shows without scrolling (the screen's, less the bars,
        before the first layout)."""
        size = self.query_one("#cmp-body", VerticalScroll).scrollable_content_region.size
        if size.width and size.height:
            return size.width, size.height
        return max(self.app.size.width - 2, 1), max(self.app.size.height - 4, 1)

    def on_resize(self) -> None:
        if self.view == "degeneracy":
            self.degen.draw()
        elif self.cache.shown is not None:
            self.draw()


class Rendered:
    """Lines of segments rendered before: shown again as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = max((Segment.get_line_length(ln) for ln in self.lines), default=0)
        return Measurement(width, width)


class MembersAtEpoch(Protocol):
    members: int
    epoch: int


def result_title(what: str, res: MembersAtEpoch | None, fresh: bool) -> Text:
    """``what``, then the members and epoch of the result shown (dim, "updating…", while
    the cursor's own is computed) or "computing…" before the first."""
    t = Text()
    t.append(f"{what} ", style="bold")
    if res is None:
        t.append("computing…", style="dim italic")
        return t
    t.append(f"{res.members} members at epoch {res.epoch}", style="bold" if fresh else "dim")
    if not fresh:
        t.append(" (updating…)", style="dim italic")
    return t


def _table() -> Table:
    t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="dim", expand=False)
    t.add_column("m", justify="right", no_wrap=True)
    t.add_column("final train", justify="right")
    t.add_column("final test", justify="right")
    t.add_column("OOD in", justify="right")
    t.add_column("out", justify="right")
    t.add_column("cells (L1F1 … L8F4)", no_wrap=True)
    return t


def _add_member_row(t: Table, res: SeedComparison, m: int, shown: int) -> None:
    fl = res.final_losses[m]
    ins, outs = res.ood_in_out()
    in_v, out_v = ins[m], outs[m]
    strip = Text(no_wrap=True)
    if res.no_ood:
        strip.append("no grid for this task", style="dim")
    for v in res.ood[m].success if res.ood else ():
        bar = BARS[int(float(v) * (len(BARS) - 1) + 0.5)]
        strip.append(bar if bar != " " else "▁", style=success_colour(v))
    t.add_row(
        f"{MARK if m == shown else ''}{m}",
        sig(fl.get("train_loss"), 3),
        sig(fl.get("test_loss"), 3),
        "—" if in_v is None else f"{in_v:.2f}",
        "—" if out_v is None else f"{out_v:.2f}",
        strip,
        style="bold" if m == shown else None,
    )


def members_table(res: SeedComparison, shown: int = 0) -> Table:
    """One row per member, the shown one marked."""
    t = _table()
    for m in range(res.members):
        _add_member_row(t, res, m, shown)
    return t


def members_summary(res: SeedComparison, shown: int) -> Group:
    """More members than rows: each number's spread over the members (median,
    quartiles, best and worst, outliers beyond 1.5 IQR), then the rows of the best and
    worst members and of the shown one."""
    ins, outs = res.ood_in_out()
    rows = [
        ("final train", spread(fl.get("train_loss") for fl in res.final_losses), False, 3),
        ("final test", spread(fl.get("test_loss") for fl in res.final_losses), False, 3),
        ("OOD in", spread(ins), True, 2),
        ("OOD out", spread(outs), True, 2),
    ]
    t, picks = spread_table(rows)
    picks.add(shown)
    head = Text()
    head.append(f"{res.members} members", style="bold")
    head.append(f": their spread; rows: best, worst, {MARK}shown (m M # move)", style="dim")
    chosen = _table()
    for m in sorted(picks):
        _add_member_row(chosen, res, m, shown)
    return Group(head, t, Text(""), chosen)


SpreadRow = tuple[str, Spread, bool, int]  # name, spread, higher is better, digits


def spread_table(rows: list[SpreadRow]) -> tuple[Table, set[int]]:
    """Each number's spread over the members (median, quartiles, best and worst,
    outliers beyond 1.5 IQR), and the best and worst members."""
    t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="dim", expand=False)
    for name in ("", "median", "quartiles", "best", "worst", "outliers"):
        t.add_column(name, justify="left" if name in ("", "outliers") else "right")
    picks: set[int] = set()
    for name, sp, higher_better, digits in rows:
        if not sp.count:
            t.add_row(name, "—", "", "", "", f"{sp.missing} not finite")
            continue
        fmt = (lambda v: f"{v:.2f}") if digits == 2 else (lambda v: sig(v, 3))
        best, worst = (sp.argmax, sp.argmin) if higher_better else (sp.argmin, sp.argmax)
        lo, hi = (sp.max, sp.min) if higher_better else (sp.min, sp.max)
        assert best is not None and worst is not None
        picks.update((best, worst))
        outl = ", ".join(f"m{m}" for m in sp.outliers[:4]) + ("…" if len(sp.outliers) > 4 else "")
        if sp.missing:
            outl = f"{outl}; {sp.missing} not finite" if outl else f"{sp.missing} not finite"
        t.add_row(
            name,
            fmt(sp.median),
            f"{fmt(sp.q1)}..{fmt(sp.q3)}",
            f"m{best} {fmt(lo)}",
            f"m{worst} {fmt(hi)}",
            outl,
        )
    return t, picks


def losses_summary(data: RunData) -> Group:
    """The members' final losses (read from the metrics: no computing), shown while the
    comparison at the cursor is being computed."""
    final = [data.final_losses(m) for m in range(data.members)]
    t, _picks = spread_table(
        [
            ("final train", spread(f["train_loss"] for f in final), False, 3),
            ("final test", spread(f["test_loss"] for f in final), False, 3),
        ]
    )
    head = Text()
    head.append(f"{data.members} members", style="bold")
    head.append(": final losses (OOD grid and distances being computed)", style="dim")
    return Group(head, t)


def distance_fits(res: SeedComparison, width: int) -> bool:
    """The whole matrix fits ``width`` columns, every number in full."""
    k = res.members
    label = len(str(k - 1)) + len(MARK)
    if label + 2 * k > width:  # not even one character a cell: no need to format them
        return False
    aligned = res.matrix("aligned")
    off = ~np.eye(k, dtype=bool)
    cell = max((len(f"{v:.3g}") for v in aligned[off]), default=1)
    cell = max(cell, len(str(k - 1)))
    return label + k * (cell + 1) <= width


def distance_summary(res: SeedComparison, shown: int) -> Group:
    """Too many members for the matrix: the distances' range against the baseline, the
    nearest and farthest pair, and the shown member's nearest neighbour."""
    k = res.members
    aligned = res.matrix("aligned")
    off = ~np.eye(k, dtype=bool)
    ok = off & np.isfinite(aligned)  # a diverged member's distances are not
    t = Text()
    t.append("\nweight distance, aligned over unit permutations and sign flips\n", "bold")
    if not ok.any():
        t.append("no finite distance between members\n", style="yellow")
        return Group(t)
    a = np.where(np.triu(ok), aligned, np.nan)
    near = np.unravel_index(np.nanargmin(a), a.shape)
    far = np.unravel_index(np.nanargmax(a), a.shape)
    t.append(
        f"aligned mean {aligned[ok].mean():.3g}, nearest pair m{near[0]}–m{near[1]} "
        f"{aligned[near]:.3g}, farthest m{far[0]}–m{far[1]} {aligned[far]:.3g}\n"
    )
    if ok[shown].any():
        nn = int(np.argmin(np.where(ok[shown], aligned[shown], np.inf)))
        t.append(f"{MARK}m{shown}: nearest m{nn} {aligned[shown, nn]:.3g}, ", style="bold")
        t.append(f"mean {aligned[shown][ok[shown]].mean():.3g}\n", style="bold")
    t.append(_distance_note(res))
    return Group(t)


def _distance_note(res: SeedComparison) -> Text:
    k = res.members
    aligned = res.matrix("aligned")
    base = res.matrix("baseline")
    raw = res.matrix("raw")
    off = ~np.eye(k, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = aligned[off] / base[off]
    ratio = ratio[np.isfinite(ratio)]  # a diverged member's are not
    span = f"{ratio.min():.2f}–{ratio.max():.2f}" if ratio.size else "—"
    note = Text()
    note.append(
        f"random-pair baseline {base[off].mean():.3g} (mean); unaligned {raw[off].mean():.3g}; "
        f"aligned/baseline {span}",
        style="dim",
    )
    note.append(f"  ({', '.join(res.methods)})", style="dim")
    return note


def distance_table(res: SeedComparison, shown: int = 0) -> Table | Text:
    """Aligned distance per pair; colour = its ratio to the random-symmetry baseline."""
    k = res.members
    aligned = res.matrix("aligned")
    base = res.matrix("baseline")
    t = Table(
        box=None,
        pad_edge=False,
        padding=(0, 1),
        header_style="dim",
        expand=False,
    )
    t.add_column("", justify="right", style="dim", no_wrap=True)
    for j in range(k):
        t.add_column(str(j), justify="right", no_wrap=True)
    for i in range(k):
        cells: list[Text] = []
        for j in range(k):
            if i == j:
                cells.append(Text("·", style="dim"))
                continue
            ratio = aligned[i, j] / base[i, j] if base[i, j] > 0 else np.nan
            cells.append(Text(f"{aligned[i, j]:.3g}", style=success_colour(1 - ratio)))
        label = Text(f"{MARK}{i}", style="bold") if i == shown else str(i)
        t.add_row(label, *cells)
    g = Table.grid()
    g.add_row(Text("\nweight distance, aligned over unit permutations and sign flips", "bold"))
    g.add_row(t)
    g.add_row(_distance_note(res))
    return g


# -- the degeneracy view --------------------------------------------------------------


class DegeneracyView:
    """The Seeds pane's degeneracy view: the levels at the cursor (one job, latest key
    wins) and the curves over the epochs (another job, partial curves as it goes)."""

    def __init__(self, pane: SeedsPane) -> None:
        self.pane = pane
        self.cache: CachedResults[int, Degeneracy] = CachedResults(256)
        self.job: LatestJob[int, Degeneracy] | None = None
        self.hist_job: LatestJob[tuple[int, int], DegeneracyHistory] | None = None
        self.history: DegeneracyHistory | None = None
        self.history_error: str | None = None
        self.history_for: tuple[int, int] | None = None  # (snapshots, stride) wanted
        self._analysis: tuple[RunData, DegeneracyAnalysis] | None = None
        self._lock = threading.Lock()
        self.epoch = -1

    def mount(self) -> None:
        app = self.pane.grutui
        self.job = LatestJob(app, "seeds-degeneracy", self._compute, self._computed)
        self.hist_job = LatestJob(
            app,
            "seeds-degeneracy-history",
            self._curves,
            self._curved,
            progress=self._curved,  # the partial curves
            interval=CURVES_INTERVAL,
            latest_only=True,
        )

    def analysis(self) -> DegeneracyAnalysis:
        """One per run (the probe and baselines are made once; worker threads share it)."""
        data = self.pane.grutui.data
        assert data is not None
        with self._lock:
            if self._analysis is None or self._analysis[0] is not data:
                self._analysis = (data, DegeneracyAnalysis(data))
            return self._analysis[1]

    def show_epoch(self, data: RunData, epoch: int) -> None:
        self.epoch = epoch
        if epoch < 0 or not len(data.snapshot_epochs):
            self.pane.no_result("degeneracy: no weights recorded yet")
            return
        try:
            e = snapshot_epoch(data, epoch)
        except SessionError as exc:
            self.pane.no_result(str(exc))
            return
        self._want_curves(data)
        assert self.job is not None
        self.cache.want(e, self.job.request)
        self.draw()

    def data_grew(self, data: RunData) -> None:
        with self._lock:
            other = self._analysis is not None and self._analysis[0] is not data
        if other:  # another run (a replay rebuilds its own): nothing computed applies
            self.cache.clear()
            self.cache.shown = None
            self.history = self.history_for = None
            if self.hist_job is not None:
                self.hist_job.abandon()
        if self.pane.view == "degeneracy" and data.members >= 2:
            self._want_curves(data)

    def _want_curves(self, data: RunData) -> None:
        n = len(data.snapshot_epochs)
        key = (n, max(1, -(-n // HISTORY_ROWS)))
        if key != self.history_for and n:
            self.history_for = key
            assert self.hist_job is not None
            self.hist_job.request(key)

    # -- the workers -------------------------------------------------------------------
    def _compute(self, epoch: int) -> Degeneracy:
        return self.analysis().at(epoch)

    def _computed(self, epoch: int, res: Degeneracy | Exception) -> None:
        self.cache.store(epoch, res)
        if self.pane.app.screen is self.pane and self.pane.view == "degeneracy":
            self.draw()

    def _curves(self, key: tuple[int, int]) -> DegeneracyHistory:
        job = self.hist_job
        assert job is not None
        analysis = self.analysis()
        known = self.history  # a growing run: only its new snapshots are computed
        return degeneracy_history(
            analysis.session,
            key[1],
            analysis=analysis,
            known=known if known is not None and known.stride == key[1] else None,
            use_cache=self.pane.grutui.analyses.use_cache,
            should_stop=job.should_stop,
            on_progress=job.report,
        )

    def _curved(self, key: tuple[int, int], res: DegeneracyHistory | Exception) -> None:
        if isinstance(res, Exception):
            self.history_error = f"{type(res).__name__}: {res}"
        else:
            self.history, self.history_error = res, None
        if self.pane.app.screen is self.pane and self.pane.view == "degeneracy":
            self.draw()

    # -- drawing -------------------------------------------------------------------------
    def draw(self) -> None:
        pane = self.pane
        res = self.cache.shown
        want = self.cache.wanted
        fresh = res is not None and res.epoch == want
        t = result_title("degeneracy", res, fresh)
        t.append("  d: members  l: level", style="dim")
        pane.show_title(t)
        width, _height = pane.room()
        body = Text()
        if res is None:
            body.append(self.cache.error or "", style="red")
        else:
            body.append_text(render_degeneracy(res, self.level_name(), width))
            if self.cache.error:
                body.append(f"\n{self.cache.error}", style="red")
        body.append("\n")
        body.append_text(render_curves(self.history, self.epoch, width, self.history_error))
        if res is not None:
            body.append("\n\n")
            body.append_text(render_matrix(res, self.level_name(), pane.member, width))
        pane.query_one("#cmp-content", Static).update(body)

    def level_name(self) -> str:
        return self.pane.level


def render_degeneracy(res: Degeneracy, selected: str, width: int) -> Text:
    """One line per level: its mean distance against the random baseline (the selected
    level, whose matrix is shown below, marked)."""
    t = Text()
    for name in LEVELS:
        lv = res.level(name)
        mark = MARK if name == selected else " "
        line = Text(f"{mark}{lv.summary()}"[:width], style="bold" if name == selected else "")
        r = lv.ratio
        if math.isfinite(r):
            line.stylize(success_colour(1 - min(r, 1.0)), len(line) - 7, len(line))
        t.append_text(line)
        t.append("\n")
    t.append("×: the mean over the pairs / the same for random networks", style="dim")
    return t


def render_curves(
    hist: DegeneracyHistory | None, epoch: int, width: int, error: str | None = None
) -> Text:
    """Each level's mean over the evaluated epochs as a bar strip (its own min..max),
    the column at the cursor's epoch in reverse."""
    t = Text()
    if hist is None or not len(hist):
        t.append(error or "over epochs: computing…", style="red" if error else "dim italic")
        return t
    n = len(hist)
    cols = max(1, min(n, width - 12))
    idx = np.unique(np.linspace(0, n - 1, cols).round().astype(int))
    at = int(np.searchsorted(hist.epochs, epoch, side="right")) - 1
    cur = int(np.argmin(np.abs(idx - at))) if at >= 0 else -1
    head = f"over epochs {hist.epochs[0]}..{hist.epochs[-1]}, {n} snapshots"
    if not hist.complete:
        head += " (computing…)"
    t.append(head[:width], style="dim")
    for i, name in enumerate(LEVELS):
        vals = hist.means[idx, i]
        ok = np.isfinite(vals)
        lo = float(vals[ok].min()) if ok.any() else 0.0
        hi = float(vals[ok].max()) if ok.any() else 1.0
        t.append(f"\n{name:<10}", style="dim")
        for c, v in enumerate(vals):
            frac = (v - lo) / (hi - lo) if hi > lo and np.isfinite(v) else 0.5
            bar = BARS[int(frac * (len(BARS) - 2) + 0.5) + 1] if np.isfinite(v) else "·"
            t.append(bar, style="reverse" if c == cur else "")
    return t


def render_matrix(res: Degeneracy, level: str, shown: int, width: int) -> Text:
    """The level's K×K distances: numbers when K columns of them fit, else one coloured
    block a cell; colour: the distance against the level's random baseline."""
    lv = res.level(level)
    m = lv.matrix
    k = len(m)
    t = Text()
    t.append(f"{level}: {lv.measure}"[:width], style="bold")
    label = len(str(k - 1)) + len(MARK)
    off = m[~np.eye(k, dtype=bool)]
    wide = 1 + max((len(f"{v:.3g}") for v in off), default=1)  # a space between numbers
    wide = max(wide, 1 + len(str(k - 1)))
    numbers = label + k * wide <= width
    cell = wide if numbers else 2 if label + 2 * k <= width else 1
    t.append("\n" + " " * label)
    if cell > 1:
        for j in range(k):
            t.append(f"{j:>{cell}}", style="dim")
    base = lv.baseline
    for i in range(k):
        t.append("\n")
        t.append(
            f"{MARK if i == shown else ''}{i}".rjust(label), style="bold" if i == shown else "dim"
        )
        for j in range(k):
            v = float(m[i, j])
            ratio = v / base if base > 0 else math.nan
            colour = success_colour(1 - ratio) if math.isfinite(ratio) else ""
            if i == j:
                t.append(f"{'·':>{cell}}", style="dim")
            elif numbers:
                t.append(f"{v:>{cell}.3g}" if math.isfinite(v) else f"{'—':>{cell}}", style=colour)
            else:
                t.append(" " * (cell - 1) + "█", style=colour)
    return t
