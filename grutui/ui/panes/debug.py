"""Debug pane: a typed sequence through the gate function, one time step at a time.

The sequence is typed in the session's task's syntax (``12:0 37:1`` for the adding
problem, ``3 5`` for modular addition, ``+1 0 -1; 0 0 0`` for a flip-flop) and read by
its parser. The whole trace is computed once per (epoch's snapshot, member, sequence) by
``grutui.core.debug.trace_typed``; stepping only re-renders. A wide model shows a
window of hidden units, as many as the pane's height fits with all three gates in
view; ↑/↓ (j/k) move it a unit, shift+↑/↓ (K/J) a window. Only the window is rendered,
so a key costs the same at hidden 64 as at hidden 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input

from grutui.core.analysis.fixedpoints import FixedPoints, find_fixed_points
from grutui.core.debug import (
    SequenceTrace,
    TypedSequence,
    default_text,
    read_sequence,
    trace_typed,
)
from grutui.core.errors import GrutuiError, SequenceError
from grutui.core.gru import GATES, GRUWeights
from grutui.core.numfmt import signed
from grutui.core.rundata import RunData
from grutui.core.sequence import Step
from grutui.core.tasks import Task
from grutui.core.tasks.registry import describe
from grutui.ui.jobs import CachedResults, LatestJob
from grutui.ui.panes.base import PaneScreen, recorded, recorded_int
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

DEFAULT_SEQUENCE = "12:0 37:1 12:0 21:1"  # the adding problem's (``default_text``)
MAX_UNITS_SHOWN = 16  # hidden units listed per gate at most (every one: `grutui trace --json`)
# lines of the step view besides the gate rows: step, columns, h_prev, h
FIXED_LINES = 4
INPUT_WIDTH = 16  # the gate input column at least ("W_i·x+b_i"; a token's column is wider)
STEP_LABEL_WIDTH = 10  # the trajectory's input column at least (``12:0``)
MAX_STEP_LABEL = 24  # ... and at most (a wide flip-flop's step is cut)
FIXED_LIST_WIDTH = 38  # the fixed points' table; the picture takes the rest of the line
MAX_FIXED_ROWS = 12  # fixed points listed at most (the picture shows every one)
KIND_MARK = {"stable": "●", "saddle": "◆", "unstable": "○"}


@dataclass(frozen=True)
class FixedPointQuery:
    """The fixed points wanted: of a trace's weights with one step's input held,
    started from its trajectory. Equal (and cached) by ``ident`` alone."""

    ident: tuple[Any, ...]  # (snapshot, member, sequence, held input)
    weights: GRUWeights = field(compare=False, hash=False)
    x: np.ndarray = field(compare=False, hash=False)
    states: np.ndarray = field(compare=False, hash=False)


def compute_fixed_points(q: FixedPointQuery) -> FixedPoints:
    return find_fixed_points(q.weights, q.x, states=q.states)


class DebugPane(PaneScreen):
    PANE_MODE = "debug"
    PANE_TITLE = "Debug"
    AUTO_FOCUS = ""  # arrows belong to the epoch cursor until the user edits
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,full_stop", "step(1)", "Next step", id="debug.next", tooltip="Next time step"),
        Binding("p,comma", "step(-1)", "Prev step", id="debug.prev", tooltip="Previous time step"),
        Binding(
            "i,slash",
            "edit",
            "Edit sequence",
            id="debug.edit",
            tooltip="Edit the sequence (Enter traces it, Esc leaves)",
        ),
        # the footer is full at 80 columns: the step strip names these when they apply
        Binding(
            "down,j",
            "units(1)",
            "Next unit",
            id="debug.unit_next",
            tooltip="Show the next hidden unit (a wide model shows a window of them)",
            show=False,
        ),
        Binding(
            "up,k",
            "units(-1)",
            "Prev unit",
            id="debug.unit_prev",
            tooltip="Show the previous hidden unit",
            show=False,
        ),
        Binding(
            "shift+down,J",
            "unit_page(1)",
            "Next units",
            id="debug.units_next",
            tooltip="Show the next window of hidden units",
            show=False,
        ),
        Binding(
            "shift+up,K",
            "unit_page(-1)",
            "Prev units",
            id="debug.units_prev",
            tooltip="Show the previous window of hidden units",
            show=False,
        ),
        Binding(
            "f",
            "fixed_points",
            "Fixed pts",
            id="debug.fixed_points",
            tooltip="Show the fixed points for the step's input held, beside the trajectory "
            "(f again: the gate terms)",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.seq_task: Task | None = None  # the session's task, once known
        self.seq: TypedSequence | None = None  # the sequence traced, read by that task
        self.t = 0
        self.trace: SequenceTrace | None = None
        self._cache_key: tuple[Any, ...] | None = None
        self.unit0 = 0  # the first hidden unit shown
        self._problem = ""  # why nothing can be traced (a task whose parser broke)
        self._params: Mapping[str, np.ndarray] | None = None  # the weights traced
        self.fixed_view = False  # f: the fixed points instead of the gate terms
        self.fixed: CachedResults[FixedPointQuery, FixedPoints] = CachedResults(64)
        self.fixed_job: LatestJob[FixedPointQuery, FixedPoints] | None = None

    def on_mount(self) -> None:
        self.fixed_job = LatestJob(
            self.grutui, "fixed-points", compute_fixed_points, self._fixed_computed
        )

    @property
    def steps(self) -> list[Step]:
        """The adding problem's pairs traced (empty for another task)."""
        return list(self.seq.steps or ()) if self.seq is not None else []

    def compose(self) -> ComposeResult:
        data = self.grutui.data
        text = default_text(data.config.task) if data is not None else DEFAULT_SEQUENCE
        syntax = data.config.task.syntax() if data is not None else DEFAULT_SEQUENCE
        yield CursorBar(id="cursor-bar")
        yield Input(value=text, id="debug-input", placeholder=syntax)
        yield TextView("", id="debug-error")
        yield TextView("", id="debug-steps")
        with VerticalScroll(id="debug-body"):
            yield TextView("", id="debug-trace")
        yield TextView("", id="debug-output")
        yield Footer()

    # -- the pane interface ----------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        task = data.config.task
        if task != self.seq_task:
            self._use_task(task)
        if self.seq is None or epoch < 0 or not len(data.snapshot_epochs):
            self.trace = None
            self._redraw()
            return
        row = data.snapshot_index(epoch)
        key = (data, row, int(data.snapshot_epochs[row]), member, self.seq)
        if key != self._cache_key:
            self._cache_key = key
            try:
                params = data.weights(epoch, member)
                self.trace = trace_typed(params, task, self.seq)
                self._params = params  # made GRUWeights only if f asks for them
                self._problem = ""
            except GrutuiError as exc:  # weights that do not fit the task's input
                self.trace, self._problem = None, str(exc)
            self.t = min(self.t, len(self.seq) - 1)
        self._redraw()

    def _use_task(self, task: Task) -> None:
        """A session of another task (or the first one): its syntax and example."""
        self.seq_task = task
        self.trace, self._cache_key, self.t, self._problem = None, None, 0, ""
        text = default_text(task)
        inp = self.query_one("#debug-input", Input)
        inp.placeholder = task.syntax()
        inp.value = text
        self._show_error(None)
        try:
            self.seq = read_sequence(task, text)
        except GrutuiError as exc:  # a task whose parser refuses its own example
            self.seq = None
            self._show_error(exc)

    def set_sequence(self, text: str) -> bool:
        """Trace ``text`` (what a replay applies): False, showing why, when the
        session's task cannot read it."""
        self.query_one("#debug-input", Input).value = text
        if self.seq_task is None:  # no session shown yet
            return False
        try:
            seq = read_sequence(self.seq_task, text)
        except GrutuiError as exc:
            self._show_error(exc)
            return False
        self._show_error(None)
        self.seq = seq
        self.t = 0
        self.sync()
        return True

    # -- actions ---------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        if self.trace is None:
            return
        t = min(max(self.t + delta, 0), len(self.trace) - 1)
        if t != self.t:
            self.t = t
            self.grutui.record("step", step=t, epoch=self.grutui.epoch)
            self._redraw()

    def units_shown(self) -> range:
        """The hidden units in view: from ``unit0``, as many as fit (see ``_window``)."""
        if self.trace is None:
            return range(0)
        h = self.trace.trace.h.shape[-1]
        per = self._window(h)
        start = min(max(self.unit0, 0), max(h - per, 0))
        return range(start, min(start + per, h))

    def _window(self, h: int) -> int:
        """Units per window: every gate row of each in the body's height (one at least,
        ``MAX_UNITS_SHOWN`` at most, all when the body is not laid out yet)."""
        height = self.query_one("#debug-body").size.height
        if height <= 0:
            return min(h, MAX_UNITS_SHOWN)
        return min(h, MAX_UNITS_SHOWN, max(1, (height - FIXED_LINES) // len(GATES)))

    def action_units(self, delta: int) -> None:
        shown = self.units_shown()
        if not shown:
            return
        h = self.trace.trace.h.shape[-1] if self.trace is not None else 0
        start = min(max(shown.start + delta, 0), max(h - len(shown), 0))
        if start != shown.start:
            self.unit0 = start
            self._redraw()
            self.record_view()

    def action_unit_page(self, direction: int) -> None:
        self.action_units(direction * max(len(self.units_shown()), 1))

    def action_fixed_points(self) -> None:
        self.fixed_view = not self.fixed_view
        self._redraw()
        self.record_view()

    def view_state(self) -> dict[str, Any]:
        return {"fixed_points": self.fixed_view, "unit0": self.unit0}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        self.fixed_view = bool(recorded(state, "fixed_points", (False, True), self.fixed_view))
        self.unit0 = max(recorded_int(state, "unit0", self.unit0), 0)
        self._redraw()

    def fixed_query(self) -> FixedPointQuery | None:
        """The fixed points the view wants now: step ``t``'s input held."""
        tr, params = self.trace, self._params
        if tr is None or params is None or self._cache_key is None:
            return None
        w = GRUWeights.from_params(params)
        x = np.asarray(tr.x[self.t], np.float64)
        _data, _row, snap, member, seq = self._cache_key
        ident = (id(_data), snap, member, seq.canonical, x.tobytes())
        return FixedPointQuery(ident, w, x, np.asarray(tr.trace.h[0], np.float64))

    def _fixed_computed(self, key: FixedPointQuery, res: FixedPoints | Exception) -> None:
        self.fixed.store(key, res)
        if self.app.screen is self and self.fixed_view:
            self._redraw()

    def action_edit(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#debug-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.seq_task is None:
            return  # no session yet: nothing to read the sequence by
        try:
            seq = read_sequence(self.seq_task, event.value)
        except GrutuiError as exc:
            self._show_error(exc)  # keep every character the user typed
            return
        self._show_error(None)
        self.seq = seq
        self.t = 0
        self.set_focus(None)
        self.grutui.record("sequence", text=seq.canonical)
        self.sync()

    def _show_error(self, exc: GrutuiError | None) -> None:
        """Say what and where (a caret under the column at fault), or clear it."""
        err = self.query_one("#debug-error", TextView)
        if exc is None:
            err.update("")
            err.remove_class("-error")
            return
        if isinstance(exc, SequenceError):
            pad = " " * (exc.column + 1)  # the input's left padding
            err.update(Text.assemble((f"{pad}^\n", "bold red"), (str(exc), "red")))
        else:  # the task's parser broke, not the text
            err.update(Text(str(exc), style="red"))
        err.add_class("-error")

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            self.set_focus(None)
            event.stop()

    # -- rendering ---------------------------------------------------------------
    def _redraw(self) -> None:
        tr = self.trace
        strip = Text("t ", style="dim")
        labels: tuple[str, ...] = ()
        if tr is not None:
            labels = tr.step_labels
        elif self.seq is not None and self.seq_task is not None:  # no weights yet
            labels = self.seq.labels(describe(self.seq_task)[0])
        for i, label in enumerate(labels):
            strip.append(f" {label} ", style="reverse bold" if i == self.t else "")
        strip.append("   n/. next  p/, prev  i edit  f fixed pts", style="dim")
        units = self.units_shown()
        if tr is not None and len(units) < tr.trace.h.shape[-1]:
            strip.append("  ↑↓ units", style="dim")
        set_text(self.query_one("#debug-steps", TextView), strip)
        body = self.query_one("#debug-trace", TextView)
        out = self.query_one("#debug-output", TextView)
        if tr is None and self.seq is None and not self._problem:
            syntax = self.seq_task.syntax() if self.seq_task is not None else ""
            body.update(f"nothing traced yet: type a sequence such as {syntax} (i edits)")
            out.update("")
            return
        if tr is None:
            body.update(
                Text(self._problem, style="red") if self._problem else "no weights recorded yet"
            )
            out.update("")
            return
        self.unit0 = units.start  # clamped: a narrower model or a taller pane
        if self.fixed_view:
            set_text(body, self._fixed_view(tr))
        else:
            set_text(body, self._step_view(tr, self.t, units))
        set_text(out, output_text(tr, max(self.size.width, 40)))

    def _fixed_view(self, tr: SequenceTrace) -> Text:
        """The fixed points for this step's input held, listed, and a picture of
        them with the trajectory (computed in a worker: the last result stays, marked,
        until the wanted one arrives)."""
        q = self.fixed_query()
        assert q is not None and self.fixed_job is not None
        self.fixed.want(q, self.fixed_job.request)
        fps = self.fixed.shown
        t = self.t
        out = Text(no_wrap=True)
        out.append(f"step {t + 1}/{len(tr)}  ", style="bold")
        out.append(f"fixed points of h ↦ F(h, x), x = ({tr.inputs_text(t)}) held")
        if fps is None or self.fixed.wanted != q:
            out.append("  computing…", style="italic")
        if self.fixed.error:
            out.append(f"\n{self.fixed.error}", style="red")
        if fps is None:
            return out
        h_t = tr.trace.h[0, t]
        near, _dist = fps.nearest(h_t)
        out.append(f"\n{fps.summary()}", style="bold")
        out.append(f"  ({fps.starts} starts, {fps.unconverged} found none)", style="dim")
        table = fixed_table(fps, h_t, t, near)
        height = max(self.query_one("#debug-body").size.height - 2, 6)
        width = max(self.size.width - FIXED_LIST_WIDTH - 4, 10)
        picture = fixed_picture(fps, tr, t, width, min(height, 14))
        for i in range(max(len(table), len(picture))):
            left = table[i] if i < len(table) else Text()
            left.pad_right(FIXED_LIST_WIDTH - left.cell_len)
            out.append("\n")
            out.append_text(left)
            if i < len(picture):
                out.append_text(picture[i])
        return out

    @staticmethod
    def _step_view(tr: SequenceTrace, t: int, units: range) -> Text:
        """Fixed-width text of one step for the hidden units in ``units`` (cheaper than
        a rich Table on every key; only those units are read)."""
        g_ = tr.trace
        h = g_.h.shape[-1]
        u = slice(units.start, units.stop)
        h_prev = (g_.h0[0] if t == 0 else g_.h[0, t - 1])[u]
        out = Text(no_wrap=True)
        out.append(f"step {t + 1}/{len(tr)}  ", style="bold")
        out.append(f"x = ({tr.inputs_text(t)}) → {tr.model_input_text(t)}")
        if len(units) < h:
            last = units.stop - 1
            span = f"unit {units.start}" if last == units.start else f"units {units.start}–{last}"
            out.append(f"   {span} of {h}", style="bold")
        out.append("\n")
        unit = "unit " if h > 1 else ""
        label = tr.input_term_label(t)
        # the widest step's label sets the column, so it stays put while stepping
        width = max(INPUT_WIDTH, tr.input_label_width)
        label = "input " + label if len(label) < INPUT_WIDTH - 6 else label
        out.append(
            f"gate {unit}{label:>{width}} {'hidden W_h·h+b_h':>22} {'pre':>8} {'act':>13}",
            style="dim",
        )
        for g in GATES:
            gt = g_.gate(g)
            inp, hid, pre, act = (a[0, t, u] for a in (gt.input, gt.hidden, gt.pre, gt.act))
            gated = g_.gated_hidden_n[0, t, u] if g == "n" else None
            fn = "tanh" if g == "n" else "σ"
            for i, j in enumerate(units):
                hidden = signed(float(hid[i]))
                if gated is not None:  # r ⊙ (W_hn h + b_hn) is what enters the pre-activation
                    hidden = f"r⊙{hidden}={signed(float(gated[i]))}"
                out.append("\n")
                out.append(f"{g if i == 0 else '':<5}", style="bold")
                if h > 1:
                    out.append(f"{j:>4} ")
                out.append(
                    f"{signed(float(inp[i])):>{width}} {hidden:>22} {signed(float(pre[i])):>8} "
                )
                out.append(f"{fn:>4} {signed(float(act[i]))}", style="bold")
        out.append("\nh_prev ", style="dim")
        out.append(" ".join(signed(float(v)) for v in h_prev))
        out.append("\nh = (1−z)⊙n + z⊙h_prev = ", style="dim")
        out.append(" ".join(signed(float(v)) for v in g_.h[0, t, u]), style="bold")
        out.append("\n\n")
        out.append_text(trajectory(tr, t, units.start))
        return out


def trajectory(tr: SequenceTrace, t: int, unit: int) -> Text:
    """Every step at a glance: the activations of hidden unit ``unit``, step ``t``
    marked (the step view's last section)."""
    g_ = tr.trace
    h = g_.h.shape[-1]
    labels = [label[:MAX_STEP_LABEL] for label in tr.step_labels]
    w = max(STEP_LABEL_WIDTH, *map(len, labels))
    which = f" (unit {unit})" if h > 1 else ""
    out = Text(no_wrap=True)
    out.append(f"all steps{which}", style="dim")
    out.append(f"\n{'t':>3} {'x':>{w}} {'r':>8} {'z':>8} {'n':>8} {'h':>8}", style="dim")
    for k, label in enumerate(labels):
        acts = (g_.r.act[0, k, unit], g_.z.act[0, k, unit], g_.n.act[0, k, unit], g_.h[0, k, unit])
        row = f"\n{k + 1:>3} {label:>{w}} " + " ".join(f"{signed(float(a)):>8}" for a in acts)
        out.append(row, style="reverse" if k == t else "")
    return out


def fixed_table(fps: FixedPoints, h_t: np.ndarray, t: int, near: int) -> list[Text]:
    """One line per fixed point: its mark, kind, slowest |λ|, unstable directions and
    distance from the state after step ``t`` (the nearest marked)."""
    rows = [Text(f"{'#':>3} {'kind':<8} {'|λ|max':>7} {'unst':>4} {f'‖h−h{t + 1}‖':>8}", "dim")]
    for i, p in enumerate(fps.points[:MAX_FIXED_ROWS]):
        dist = float(np.linalg.norm(p.h - h_t))
        row = Text(f"{KIND_MARK[p.kind]}{i + 1:>2} ", style="bold")
        row.append(f"{p.kind:<8} {p.max_modulus:>7.3f} {p.unstable_dims:>4} {dist:>8.3f}")
        if i == near:
            row.append(" ◀", style="bold")
        rows.append(row)
    if len(fps.points) > MAX_FIXED_ROWS:
        rows.append(Text(f"… {len(fps.points) - MAX_FIXED_ROWS} more", style="dim"))
    return rows


def fixed_picture(
    fps: FixedPoints, tr: SequenceTrace, t: int, width: int, height: int
) -> list[Text]:
    """The trajectory (h0, then each step by its number's last digit, step ``t``
    highlighted) and the fixed points (marked by kind) in their common principal
    plane, as ``height`` lines of ``width`` cells."""
    states = np.concatenate([tr.trace.h0[:1], tr.trace.h[0]]).astype(np.float64)
    traj, pts = fps.projection(states)
    both = np.concatenate([traj, pts])
    lo, hi = both.min(axis=0), both.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    cols = np.rint((both[:, 0] - lo[0]) / span[0] * (width - 1)).astype(int)
    rows = np.rint((hi[1] - both[:, 1]) / span[1] * (height - 1)).astype(int)
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]
    for k in range(len(traj)):  # later steps over earlier ones; fixed points on top
        mark = "0" if k == 0 else str(k % 10)
        grid[rows[k]][cols[k]] = (mark, "reverse bold" if k == t + 1 else "dim")
    for i, p in enumerate(fps.points):
        j = len(traj) + i
        grid[rows[j]][cols[j]] = (KIND_MARK[p.kind], "bold")
    lines = []
    for cells in grid:
        line = Text("│", style="dim")
        for ch, style in cells:
            line.append(ch, style=style)
        lines.append(line)
    return lines


def _error_style(err: float) -> str:
    return "bold red" if not abs(err) <= 0.5 else "bold green"


def output_text(tr: SequenceTrace, width: int) -> Text:
    """The read-out against what the task expects, in ``width`` columns: the adding
    problem's sum, a class with the most probable ones, or each output of a regression."""
    if tr.classification:
        want = int(tr.expected)
        hit = tr.predicted == want
        out = Text.assemble(
            ("predicted ", "dim"),
            (f"{tr.predicted}", "bold green" if hit else "bold red"),
            ("   expected ", "dim"),
            (f"{want}", "bold"),
            (f"   top {len(tr.top())} ", "dim"),
        )
        for i, (c, p) in enumerate(tr.top()):
            out.append("  " if i else "")
            out.append(f"{c}", style="bold" if c == want else "")
            out.append(f" {p:.3f}", style="dim")
        return out
    scaled, expected = tr.scaled, tr.expected_all
    if len(scaled) == 1:
        err = float(scaled[0]) - expected[0]
        what = "output × high " if tr.adding else "output "
        if not tr.adding and tr.out.scale != 1:
            what = f"output × {tr.out.scale:g} "
        return Text.assemble(
            (what, "dim"),
            (f"{float(scaled[0]):.4f}", "bold"),
            ("   expected ", "dim"),
            (f"{expected[0]:g}", "bold"),
            ("   error ", "dim"),
            (f"{err:+.4f}", _error_style(err)),
        )
    # several outputs: "k value/expected" items, as many lines as they need
    out = Text("output/expected", style="dim")
    col = len(out)
    for k, (v, e) in enumerate(zip(scaled, expected, strict=True)):
        item = f"  {k + 1} {float(v):+.3f}/{e:g}"
        if col + len(item) > width:
            out.append("\n" + " " * len("output/expected"))
            col = len("output/expected")
        out.append(f"  {k + 1} ", style="dim")
        out.append(f"{float(v):+.3f}", style=_error_style(float(v) - e))
        out.append(f"/{e:g}")
        col += len(item)
    return out
