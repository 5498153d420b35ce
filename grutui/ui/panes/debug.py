"""Debug pane: a typed sequence through the gate function, one time step at a time.

The whole trace is computed once per (epoch's snapshot, member, sequence) by
``grutui.core.debug.trace_sequence``; stepping only re-renders. A wide model shows a
window of hidden units, as many as the pane's height fits with all three gates in
view; ↑/↓ (j/k) move it a unit, shift+↑/↓ (K/J) a window. Only the window is rendered,
so a key costs the same at hidden 64 as at hidden 4.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input

from grutui.core.debug import SequenceTrace, trace_sequence
from grutui.core.errors import SequenceError
from grutui.core.gru import GATES
from grutui.core.numfmt import signed
from grutui.core.rundata import RunData
from grutui.core.sequence import Step, format_sequence, parse_sequence
from grutui.core.tasks import AddingTask, task_label
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

DEFAULT_SEQUENCE = "12:0 37:1 12:0 21:1"
MAX_UNITS_SHOWN = 16  # hidden units listed per gate at most (every one: `grutui trace --json`)
# lines of the step view besides the gate rows: step, columns, h_prev, h
FIXED_LINES = 4


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
    ]

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[Step] = parse_sequence(DEFAULT_SEQUENCE)
        self.t = 0
        self.trace: SequenceTrace | None = None
        self._cache_key: tuple[Any, ...] | None = None
        self.unit0 = 0  # the first hidden unit shown
        self._unsupported = ""  # the session's task, when the debugger cannot read it

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Input(value=DEFAULT_SEQUENCE, id="debug-input", placeholder="12:0 37:1 12:0 21:1")
        yield TextView("", id="debug-error")
        yield TextView("", id="debug-steps")
        with VerticalScroll(id="debug-body"):
            yield TextView("", id="debug-trace")
        yield TextView("", id="debug-output")
        yield Footer()

    # -- the pane interface ----------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if not isinstance(data.config.task, AddingTask):
            # its gate maths are the same, but the sequence syntax, the output and the
            # expected value here are the adding problem's (as `grutui trace`'s)
            self.trace = None
            self._unsupported = task_label(data.config.task)
            self._redraw()
            return
        self._unsupported = ""
        if epoch < 0 or not len(data.snapshot_epochs):
            self.trace = None
            self._redraw()
            return
        row = data.snapshot_index(epoch)
        key = (data, row, int(data.snapshot_epochs[row]), member, tuple(self.steps))
        if key != self._cache_key:
            self._cache_key = key
            self.trace = trace_sequence(data.weights(epoch, member), self.steps, data.high)
            self.t = min(self.t, len(self.steps) - 1)
        self._redraw()

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

    def action_unit_page(self, direction: int) -> None:
        self.action_units(direction * max(len(self.units_shown()), 1))

    def action_edit(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#debug-input")
    def _submitted(self, event: Input.Submitted) -> None:
        err = self.query_one("#debug-error", TextView)
        if self._unsupported:
            return  # said in the pane: nothing to trace
        try:
            data = self.grutui.data  # its task's value range bounds the values typed
            steps = parse_sequence(event.value, data.config.task if data else None)
        except SequenceError as exc:
            # say what and where; keep every character the user typed
            pad = " " * (exc.column + 1)  # the input's left padding
            err.update(Text.assemble((f"{pad}^\n", "bold red"), (str(exc), "red")))
            err.add_class("-error")
            return
        err.update("")
        err.remove_class("-error")
        self.steps = steps
        self.t = 0
        self.set_focus(None)
        self.grutui.record("sequence", text=format_sequence(steps))
        self.sync()

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            self.set_focus(None)
            event.stop()

    # -- rendering ---------------------------------------------------------------
    def _redraw(self) -> None:
        tr = self.trace
        strip = Text("t ", style="dim")
        for i, s in enumerate(self.steps):
            label = f"{s.value:g}:{s.flag}"
            strip.append(f" {label} ", style="reverse bold" if i == self.t else "")
        strip.append("   n/. next  p/, prev  i edit", style="dim")
        units = self.units_shown()
        if tr is not None and len(units) < tr.trace.h.shape[-1]:
            strip.append("  ↑↓ units", style="dim")
        set_text(self.query_one("#debug-steps", TextView), strip)
        body = self.query_one("#debug-trace", TextView)
        out = self.query_one("#debug-output", TextView)
        if tr is None:
            body.update(
                f"the step-through debugger reads the adding problem's (value, flag) "
                f"sequences; it cannot trace a {self._unsupported} session yet"
                if self._unsupported
                else "no weights recorded yet"
            )
            out.update("")
            return
        self.unit0 = units.start  # clamped: a narrower model or a taller pane
        set_text(body, self._step_view(tr, self.t, units))
        err = tr.output_x_high - tr.expected
        set_text(
            out,
            Text.assemble(
                ("output × high ", "dim"),
                (f"{tr.output_x_high:.4f}", "bold"),
                ("   expected ", "dim"),
                (f"{tr.expected:g}", "bold"),
                ("   error ", "dim"),
                (f"{err:+.4f}", "bold red" if abs(err) > 0.5 else "bold green"),
            ),
        )

    @staticmethod
    def _step_view(tr: SequenceTrace, t: int, units: range) -> Text:
        """Fixed-width text of one step for the hidden units in ``units`` (cheaper than
        a rich Table on every key; only those units are read)."""
        g_ = tr.trace
        h = g_.h.shape[-1]
        u = slice(units.start, units.stop)
        step = tr.steps[t]
        x = tr.x[t]
        h_prev = (g_.h0[0] if t == 0 else g_.h[0, t - 1])[u]
        out = Text(no_wrap=True)
        out.append(f"step {t + 1}/{len(tr)}  ", style="bold")
        out.append(f"x = ({step.value:g}, {step.flag}) → [{x[0]:.4f}, {x[1]:g}]")
        if len(units) < h:
            last = units.stop - 1
            span = f"unit {units.start}" if last == units.start else f"units {units.start}–{last}"
            out.append(f"   {span} of {h}", style="bold")
        out.append("\n")
        unit = "unit " if h > 1 else ""
        out.append(
            f"gate {unit}{'input W_i·x+b_i':>16} {'hidden W_h·h+b_h':>22} {'pre':>8} {'act':>13}",
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
                out.append(f"{signed(float(inp[i])):>16} {hidden:>22} {signed(float(pre[i])):>8} ")
                out.append(f"{fn:>4} {signed(float(act[i]))}", style="bold")
        out.append("\nh_prev ", style="dim")
        out.append(" ".join(signed(float(v)) for v in h_prev))
        out.append("\nh = (1−z)⊙n + z⊙h_prev = ", style="dim")
        out.append(" ".join(signed(float(v)) for v in g_.h[0, t, u]), style="bold")
        # every step at a glance (activations of the first unit shown), the current marked
        j0 = units.start
        which = f" (unit {j0})" if h > 1 else ""
        out.append(f"\n\nall steps{which}", style="dim")
        out.append(f"\n{'t':>3} {'x':>10} {'r':>8} {'z':>8} {'n':>8} {'h':>8}", style="dim")
        for k, s in enumerate(tr.steps):
            acts = (g_.r.act[0, k, j0], g_.z.act[0, k, j0], g_.n.act[0, k, j0], g_.h[0, k, j0])
            row = f"\n{k + 1:>3} {f'{s.value:g}:{s.flag}':>10} " + " ".join(
                f"{signed(float(a)):>8}" for a in acts
            )
            out.append(row, style="reverse" if k == t else "")
        return out
