"""Fourier pane: the circles in the token embedding (``grutui.core.analysis.fourier``).

Four views on the epoch cursor (``v`` cycles them):

- *spectrum*: the signal S(k) per frequency as bars, circles (S > 2 × mean) marked, and
  the selected frequency's start and fate;
- *survival*: one strip per frequency across the snapshots (its signal over that
  epoch's circle threshold), the cursor's column marked: which circles grow, which die;
- *ranking*: the frequencies by initial signal, beside their initial gradient and
  their fate at the last snapshot (the study's claim: the fittest start strongest);
- *circle*: the tokens projected on the selected frequency's cos/sin components.

↑/↓ select a frequency, ``c`` the next circle. The spectrum at the cursor is computed
in the pane's job thread (``AnalysisPane``), the survival history in a second one
(latest key wins; cached in ``analysis.h5`` for a session opened from disk, extended
incrementally while a run grows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer

from grutui.core.analysis import fourier
from grutui.core.analysis.fourier import Spectrum, Survival
from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.rundata import RunData
from grutui.ui.colours import current
from grutui.ui.jobs import LatestJob
from grutui.ui.panes.analysis_base import AnalysisPane
from grutui.ui.panes.base import recorded, recorded_int
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

VIEWS = ("spectrum", "survival", "ranking", "circle")
EIGHTHS = " ▁▂▃▄▅▆▇█"
CIRCLE_STYLE = "bold green"
SELECTED_STYLE = "bold yellow"

# (snapshot epoch, member)
EpochKey = tuple[int, int]
# (the run, member, snapshots): the survival history's job key
HistoryKey = tuple[RunData, int, int]


@dataclass(frozen=True)
class EpochFourier:
    """What the pane shows at one snapshot: the spectrum and the embedding it came from
    (the circle of any frequency is a cheap projection of it)."""

    spectrum: Spectrum
    embedding: np.ndarray  # (p, 3H)


class FourierPane(AnalysisPane[EpochKey, EpochFourier]):
    PANE_MODE = "fourier"
    PANE_TITLE = "Fourier"
    CSS_PATH = "../styles/fourier.tcss"
    JOB_GROUP = "fourier"
    HISTORY_GROUP = "fourier-history"
    MAX_RESULTS = 512
    TITLE_ID = "fourier-title"
    BODY_ID = "fourier-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "v",
            "cycle_view",
            "View",
            id="fourier.view",
            tooltip="Spectrum, survival strips, ranking or circle",
        ),
        Binding(
            "up,k",
            "select(-1)",
            "Prev k",
            id="fourier.prev",
            tooltip="Select the previous frequency",
            key_display="↑",
        ),
        Binding(
            "down,j",
            "select(1)",
            "Next k",
            id="fourier.next",
            tooltip="Select the next frequency",
            key_display="↓",
        ),
        Binding(
            "c", "next_circle", "Circle", id="fourier.circle", tooltip="Select the next circle"
        ),
    ]

    @classmethod
    def unavailable(cls, config: TrainConfig) -> str | None:
        return fourier.unavailable(config)

    def __init__(self) -> None:
        super().__init__()
        self.view = VIEWS[0]
        self.selected: int | None = None  # a frequency k; the strongest when first shown
        self.survival: Survival | None = None
        self.survival_error: str | None = None
        self._survival_run: RunData | None = None
        # the history job's last result and its run (touched by the job's thread only)
        self._computed_history: Survival | None = None
        self._computed_run: RunData | None = None
        self._history_key: HistoryKey | None = None
        self.history_job: LatestJob[HistoryKey, Survival] | None = None

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield TextView("", id="fourier-title")
        with VerticalScroll(id="fourier-body", can_focus=False):
            yield TextView("", id="fourier-text")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.history_job = LatestJob(
            self.grutui, self.HISTORY_GROUP, self._compute_history, self._history_done
        )

    # -- the pane interface --------------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        why = fourier.unavailable(data.config)
        if why is not None:
            self.no_result(why)
            return
        if epoch < 0 or not len(data.snapshot_epochs):
            self.no_result("no weights recorded yet")
            return
        try:
            snap = int(data.snapshot_epochs[data.snapshot_index(epoch)])
        except SessionError as exc:  # before the first snapshot
            self.no_result(str(exc))
            return
        self._want_history(data, member)
        self.want((snap, member))

    # -- keys --------------------------------------------------------------------------
    def action_cycle_view(self) -> None:
        self._show_view(VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)])
        self.record_view()

    def _show_view(self, view: str) -> None:
        if view != self.view:
            self.view = view
            self.query_one("#fourier-body", VerticalScroll).scroll_to(y=0, animate=False)
        self.draw()

    def action_select(self, delta: int) -> None:
        order = self._order()
        if not order:
            return
        i = order.index(self.selected) if self.selected in order else 0
        self.selected = order[min(max(i + delta, 0), len(order) - 1)]
        self.draw()
        self.record_view()

    def action_next_circle(self) -> None:
        res = self.cache.shown
        if res is None:
            return
        ks = res.spectrum.circle_frequencies
        if not ks:
            self.notify("no circles at this epoch", severity="warning")
            return
        sel = self.selected or 0
        self.selected = next((k for k in ks if k > sel), ks[0])
        self.draw()
        self.record_view()

    def view_state(self) -> dict[str, Any]:
        return {"view": self.view, "selected": self.selected}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        selected = recorded_int(state, "selected", -1)
        if selected > 0:  # a frequency k (from 1)
            self.selected = selected
        self._show_view(recorded(state, "view", VIEWS, self.view))

    def _order(self) -> list[int]:
        """The frequencies in the order the view lists them (↑/↓ walk it)."""
        if self.view == "ranking" and self.survival is not None:
            return [r.k for r in self.survival.ranking()]
        res = self.cache.shown
        n = len(res.spectrum.signal) if res is not None else 0
        return list(range(1, n + 1))

    # -- work ----------------------------------------------------------------------------
    def compute(self, key: EpochKey) -> EpochFourier:
        epoch, member = key
        data = self.grutui.data
        assert data is not None
        cols = fourier.require_columns(data.config)
        emb = fourier.embedding(data.weights(epoch, member)[fourier.W_IH], cols)
        return EpochFourier(Spectrum(epoch, member, cols.vocab, fourier.signal(emb)), emb)

    def _want_history(self, data: RunData, member: int) -> None:
        key = (data, member, len(data.snapshot_epochs))
        if key != self._history_key and self.history_job is not None:
            self._history_key = key
            self.history_job.request(key)

    def _compute_history(self, key: HistoryKey) -> Survival:
        """In the job's thread: extends the job's own last result (the one the UI holds
        may be older: results reach it later), so each snapshot is computed once."""
        data, member, _n = key
        prev = self._computed_history if self._computed_run is data else None
        use_cache = self.grutui.analyses.use_cache
        res = fourier.survival_history(data, member, use_cache=use_cache, previous=prev)
        self._computed_history, self._computed_run = res, data
        return res

    def _history_done(self, key: HistoryKey, res: Survival | Exception) -> None:
        if isinstance(res, Exception):
            self.survival_error = f"{type(res).__name__}: {res}"
        else:
            self.survival, self._survival_run, self.survival_error = res, key[0], None
        if self.app.screen is self:
            self.draw()

    # -- drawing -------------------------------------------------------------------------
    def draw(self) -> None:
        res = self.cache.shown
        if res is None:
            self.show_title(Text("Fourier: computing…", style="dim italic"))
            err = self.cache.error or ""
            set_text(self._body(), Text(err, style="red"))
            return
        spec = res.spectrum
        if self.selected is None or self.selected > len(spec.signal):
            self.selected = int(np.argmax(spec.signal)) + 1
        fresh = self.cache.wanted == (spec.epoch, spec.member)
        self.show_title(self._title(spec, fresh))
        width = max(20, (self.size.width or 80) - 2)
        height = max(8, (self.size.height or 24) - 3)
        surv = self.survival if self._survival_matches(spec) else None
        if self.view == "spectrum":
            body = render_spectrum(spec, self.selected, width, height, surv)
        elif self.view == "circle":
            body = render_circle(res, self.selected, width, height)
        elif surv is None:
            body = self._waiting_for_history()
        elif self.view == "survival":
            body = render_survival(surv, spec.epoch, self.selected, width)
        else:
            body = render_ranking(surv, self.selected)
        if self.cache.error:
            body.append(f"\n{self.cache.error}", style="red")
        set_text(self._body(), body)
        if self.view in ("survival", "ranking") and surv is not None:
            self.call_after_refresh(self._keep_visible, surv)

    def _survival_matches(self, spec: Spectrum) -> bool:
        s = self.survival
        return s is not None and s.member == spec.member and self._survival_run is self.grutui.data

    def _waiting_for_history(self) -> Text:
        if self.survival_error:
            return Text(self.survival_error, style="red")
        return Text("computing the survival history…", style="dim italic")

    def _keep_visible(self, surv: Survival) -> None:
        """Scroll the selected frequency's row into view."""
        if self.view == "ranking":
            row = 4 + [r.k for r in surv.ranking()].index(self.selected or 1)
        else:
            row = self.selected or 1
        body = self.query_one("#fourier-body", VerticalScroll)
        h = body.size.height or 1
        if not body.scroll_y <= row < body.scroll_y + h:
            body.scroll_to(y=max(0, row - h // 2), animate=False)

    def _title(self, spec: Spectrum, fresh: bool) -> Text:
        t = Text(no_wrap=True)
        t.append(f"{self.view} ", style="bold")
        t.append(f"at epoch {spec.epoch}", style="bold" if fresh else "dim")
        if not fresh:
            t.append(" (updating…)", style="dim italic")
        n = len(spec.circle_frequencies)
        t.append(f"  p={spec.vocab}  {n} circle{'s' if n != 1 else ''} of {len(spec.signal)}")
        t.append(f"  k={self.selected}", style=SELECTED_STYLE)
        t.append("  v ↑↓ c", style="dim")
        return t

    def _body(self) -> TextView:
        return self.query_one("#fourier-text", TextView)


# -- renderers (pure: text from results) ------------------------------------------------------


def _coloured() -> bool:
    return current() != "none"


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "nan"
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def spectrum_window(n: int, selected: int, cols: int) -> range:
    """The frequencies shown when only ``cols`` fit: a window holding ``selected``."""
    if n <= cols:
        return range(1, n + 1)
    lo = min(max(1, selected - cols // 2), n - cols + 1)
    return range(lo, lo + cols)


def render_spectrum(
    spec: Spectrum, selected: int, width: int, height: int, surv: Survival | None
) -> Text:
    """Bars of S(k) (one column group per frequency), the circle threshold as a dashed
    line, circles ``●`` and the selected frequency ``▲`` under the axis; then the
    circles' list and the selected frequency's start and fate."""
    sig = spec.signal
    n = len(sig)
    axis_w = 8
    colw = min(3, max(1, (width - axis_w) // n))
    ks = spectrum_window(n, selected, max(1, (width - axis_w) // colw))
    rows = max(3, height - 7)
    thr = spec.threshold
    # the threshold line stays on the chart when no bar reaches it
    top = max(float(np.nanmax(sig)) if np.isfinite(sig).any() else 0.0, 1.1 * thr)
    top = top if math.isfinite(top) and top > 0 else 1.0
    thr_row = rows - 1 - min(rows - 1, int(thr / top * rows)) if math.isfinite(thr) else -1
    circ = spec.circles
    colour = _coloured()
    out = Text(no_wrap=True)
    for r in range(rows):
        level = rows - 1 - r
        label = _fmt(top) if r == 0 else "2×mean" if r == thr_row else ""
        out.append(f"{label:>{axis_w - 1}} ", style="dim")
        for k in ks:
            fill = float(np.nan_to_num(sig[k - 1] / top * rows - level))  # NaN: no bar
            ch = EIGHTHS[int(min(max(fill, 0.0), 1.0) * 8)]
            if ch == " " and r == thr_row:
                ch = "╌"
                style = "dim"
            elif k == selected:
                style = SELECTED_STYLE if colour else "bold"
            else:
                style = CIRCLE_STYLE if circ[k - 1] and colour else ""
            out.append((ch * colw)[:colw] if ch != "╌" else "╌" * colw, style=style)
        out.append("\n")
    out.append(" " * axis_w + "└" + "─" * (len(ks) * colw - 1) + "\n", style="dim")
    out.append("circle ", style="dim")
    out.append(" ")
    for k in ks:
        mark = "▲" if k == selected else "●" if circ[k - 1] else " "
        style = SELECTED_STYLE if k == selected else CIRCLE_STYLE if colour else ""
        out.append(mark.ljust(colw), style=style)
    out.append("\n")
    out.append("k".rjust(axis_w))
    labels = [" "] * (len(ks) * colw)
    step = 5 if colw * 5 >= 3 else 10
    for i, k in enumerate(ks):
        if k % step == 0 or k == ks[0]:
            s = str(k)
            at = i * colw
            if at + len(s) <= len(labels) and all(
                c == " " for c in labels[max(0, at - 1) : at + len(s)]
            ):
                labels[at : at + len(s)] = list(s)
    out.append("".join(labels) + "\n", style="dim")
    circles = spec.circle_frequencies
    out.append(f"circles (S > 2×mean = {_fmt(thr)}): ", style="dim")
    out.append(", ".join(f"k={k}" for k in circles) or "none", style=CIRCLE_STYLE if colour else "")
    out.append("\n")
    out.append_text(_selected_lines(spec, selected, surv))
    return out


def _selected_lines(spec: Spectrum, k: int, surv: Survival | None) -> Text:
    s = float(spec.signal[k - 1])
    thr = spec.threshold
    energy = float(np.sum(spec.signal**2))
    share = s * s / energy if energy > 0 else 0.0
    t = Text(no_wrap=True)
    t.append(f"k={k}", style=SELECTED_STYLE)
    t.append(f": S {_fmt(s)} = {s / thr if thr > 0 else 0:.2f}× the threshold, ")
    t.append(f"{share:.0%} of the signal")
    if surv is None:
        t.append("\nstart and fate: computing…", style="dim italic")
        return t
    rank = next(r for r in surv.ranking() if r.k == k)
    nk = len(surv.initial_signal)
    t.append(
        f"\nstart: S {_fmt(rank.initial_signal)} (rank {rank.signal_rank}/{nk}), gradient "
        f"{_fmt(rank.initial_gradient)} (rank {rank.gradient_rank}), growth "
        f"{rank.initial_growth:+.2g}"
    )
    fate = "a circle" if rank.survived else "not a circle"
    t.append(f"\nepoch {int(surv.epochs[-1])} (last): S {_fmt(rank.final_signal)}, {fate}")
    return t


def survival_columns(n: int, width: int) -> np.ndarray:
    """Snapshot rows shown as columns: all of them, or an even sample of ``width``."""
    return np.unique(np.linspace(0, n - 1, min(width, n)).round().astype(int))


def render_survival(surv: Survival, epoch: int, selected: int, width: int) -> Text:
    """One strip per frequency: S(k) over its snapshot's circle threshold (a full
    block at twice the threshold; circles in colour, ``●`` where the cursor's snapshot
    has one), the cursor column reversed; the ratio at the cursor on the right."""
    ratio = surv.ratio
    cols = survival_columns(len(surv), max(4, width - 14))
    shown = surv.epochs[cols]
    cur = max(0, int(np.searchsorted(shown, epoch, side="right")) - 1)
    at = surv.row(epoch)
    colour = _coloured()
    out = Text(no_wrap=True)
    out.append(
        f"S(k) ÷ (2×mean), snapshots {int(surv.epochs[0])}..{int(surv.epochs[-1])}: "
        "█ = 2×, ● a circle at the cursor\n",
        style="dim",
    )
    for i, k in enumerate(surv.frequencies):
        now = float(ratio[at, i])
        label = f"k{k:<3}{'●' if now > 1 else ' '} "
        out.append(label, style=SELECTED_STYLE if k == selected else "bold" if now > 1 else "")
        for c, row in enumerate(cols):
            v = float(ratio[row, i])
            ch = EIGHTHS[int(min(max(v / 2, 0.0), 1.0) * 8)] if math.isfinite(v) else "?"
            style = CIRCLE_STYLE if v > 1 and colour else "dim" if colour else ""
            if c == cur:
                ch = ch if ch != " " else "▁"
                style = f"reverse {style}".strip()
            out.append(ch, style=style)
        out.append(f" {now:4.1f}\n" if math.isfinite(now) else "  nan\n")
    out.append(f"cursor column: epoch {int(shown[cur])}", style="dim")
    return out


def render_ranking(surv: Survival, selected: int) -> Text:
    """The frequencies by initial signal, with the initial gradient's rank and each
    frequency's fate at the last snapshot, after the study's summary."""
    summ = surv.summary()
    n = summ["circles_at_end"]
    out = Text(no_wrap=True)
    out.append(
        f"circles: {summ['circles_at_start']} at the start, {n} at epoch {int(surv.epochs[-1])}"
        " (the last snapshot)\n"
    )
    if n:
        out.append(
            f"of the {n} strongest at the start, survivors: {summ['survivors_in_top_signal']} by "
            f"signal, {summ['survivors_in_top_gradient']} by gradient (chance {summ['chance']:.1f})"
        )
    else:
        out.append("no survivors to rank", style="dim")
    out.append(
        f"\nlast signal's rank correlation: with initial signal {_rho(summ['spearman_signal'])}"
        f", gradient {_rho(summ['spearman_gradient'])}\n"
    )
    out.append(
        f"{'rank':>4} {'k':>4} {'S start':>9} {'gradient':>9} {'g.rank':>6} "
        f"{'growth':>9} {'S last':>9}  fate\n",
        style="bold",
    )
    colour = _coloured()
    for r in surv.ranking():
        fate = "● survived" if r.survived else "○ died" if r.circle_at_start else "· —"
        line = (
            f"{r.signal_rank:>4} {r.k:>4} {_fmt(r.initial_signal):>9} "
            f"{_fmt(r.initial_gradient):>9} {r.gradient_rank:>6} {r.initial_growth:>+9.2g} "
            f"{_fmt(r.final_signal):>9}  {fate}\n"
        )
        style = SELECTED_STYLE if r.k == selected else CIRCLE_STYLE if r.survived and colour else ""
        out.append(line, style=style)
    return out


def _rho(v: float | None) -> str:
    return "—" if v is None else f"ρ {v:+.2f}"


def render_circle(res: EpochFourier, k: int, width: int, height: int) -> Text:
    """The tokens on frequency ``k``'s cos/sin plane, each labelled with its number (a
    dot where a label would overlap another); two cells across per cell down, so a
    circle looks round on a terminal's tall cells."""
    with np.errstate(invalid="ignore"):
        pts = fourier.circle_points(res.embedding, k)
    radius = np.hypot(pts[:, 0], pts[:, 1])
    mean_r = float(radius.mean())
    spread = float(radius.std() / mean_r) if mean_r > 0 else 0.0
    rows = max(5, height - 2)
    cols = max(10, width)
    grid = [[" "] * cols for _ in range(rows)]
    style_at: dict[tuple[int, int], str] = {}
    half_h = (rows - 1) / 2
    half_w = min((cols - 4) / 2, 2 * half_h)
    ok = np.isfinite(pts).all(axis=1)  # a diverged run's tokens are not drawn
    scale = (float(np.max(np.abs(pts[ok]))) if ok.any() else 0.0) or 1.0
    cy, cx = half_h, (cols - 1) / 2
    for c in range(cols):
        grid[round(cy)][c] = "·"
    for r in range(rows):
        grid[r][round(cx)] = "·"
    placed: list[tuple[int, int, str]] = []
    for token in np.flatnonzero(ok):
        x, y = pts[token]
        col = round(cx + x / scale * half_w)
        row = round(cy - y / scale * half_h)
        placed.append((row, col, str(token)))
    colour = _coloured()
    for row, col, label in placed:
        start = min(max(0, col - len(label) // 2), cols - len(label))
        span = range(start, start + len(label))
        # a blank cell either side, so two labels never read as one number
        near = range(max(0, start - 1), min(cols, start + len(label) + 1))
        free = all(grid[row][c] in " ·" for c in span) and all(
            (row, c) not in style_at for c in near
        )
        if free:
            for i, c in enumerate(span):
                grid[row][c] = label[i]
                style_at[(row, c)] = CIRCLE_STYLE if colour else "bold"
        elif (row, col) not in style_at:
            grid[row][col] = "•"
            style_at[(row, col)] = "dim"
    out = Text(no_wrap=True)
    s = float(res.spectrum.signal[k - 1])
    thr = res.spectrum.threshold
    out.append(f"k={k}", style=SELECTED_STYLE)
    out.append(
        f" on F[k]'s cos/sin plane: S {_fmt(s)} ({s / thr if thr > 0 else 0:.2f}× the "
        f"threshold), radius ±{spread:.0%}\n",
        style="dim",
    )
    for r in range(rows):
        for c in range(cols):
            out.append(grid[r][c], style=style_at.get((r, c), "dim" if grid[r][c] == "·" else ""))
        if r < rows - 1:
            out.append("\n")
    return out
