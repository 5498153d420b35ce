"""Debug pane: a typed sequence through the gate function, one time step at a time.

The whole trace is computed once per (epoch's snapshot, member, sequence) by
``grutui.core.debug.trace_sequence``; stepping only re-renders.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Static

from grutui.core.debug import SequenceTrace, trace_sequence
from grutui.core.errors import SequenceError
from grutui.core.gru import GATES
from grutui.core.numfmt import signed
from grutui.core.rundata import RunData
from grutui.core.sequence import Step, format_sequence, parse_sequence
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.text import set_text

DEFAULT_SEQUENCE = "12:0 37:1 12:0 21:1"
MAX_UNITS_SHOWN = 16  # hidden units listed per gate (the rest: `grutui trace --json`)


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
    ]

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[Step] = parse_sequence(DEFAULT_SEQUENCE)
        self.t = 0
        self.trace: SequenceTrace | None = None
        self._cache_key: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Input(value=DEFAULT_SEQUENCE, id="debug-input", placeholder="12:0 37:1 12:0 21:1")
        yield Static("", id="debug-error")
        yield Static("", id="debug-steps")
        with VerticalScroll(id="debug-body"):
            yield Static("", id="debug-trace")
        yield Static("", id="debug-output")
        yield Footer()

    # -- the pane interface ----------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
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

    def action_edit(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#debug-input")
    def _submitted(self, event: Input.Submitted) -> None:
        err = self.query_one("#debug-error", Static)
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
        set_text(self.query_one("#debug-steps", Static), strip)
        body = self.query_one("#debug-trace", Static)
        out = self.query_one("#debug-output", Static)
        if tr is None:
            body.update("no weights recorded yet")
            out.update("")
            return
        set_text(body, self._step_view(tr, self.t))
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
    def _step_view(tr: SequenceTrace, t: int) -> Text:
        """Fixed-width text of one step (cheaper than a rich Table on every key)."""
        d = tr.step_terms(t)
        h = len(d["h"])
        units = range(min(h, MAX_UNITS_SHOWN))
        out = Text(no_wrap=True)
        out.append(f"step {t + 1}/{len(tr)}  ", style="bold")
        out.append(f"x = ({d['value']:g}, {d['flag']}) → [{d['x'][0]:.4f}, {d['x'][1]:g}]\n")
        unit = "unit " if h > 1 else ""
        out.append(
            f"gate {unit}{'input W_i·x+b_i':>16} {'hidden W_h·h+b_h':>22} {'pre':>8} {'act':>13}",
            style="dim",
        )
        for g in GATES:
            gd = d[g]
            fn = "tanh" if g == "n" else "σ"
            for j in units:
                hidden = signed(gd["hidden"][j])
                if g == "n":  # r ⊙ (W_hn h + b_hn) is what enters the pre-activation
                    hidden = f"r⊙{hidden}={signed(gd['gated_hidden'][j])}"
                out.append("\n")
                out.append(f"{g if j == 0 else '':<5}", style="bold")
                if h > 1:
                    out.append(f"{j:>4} ")
                out.append(f"{signed(gd['input'][j]):>16} {hidden:>22} {signed(gd['pre'][j]):>8} ")
                out.append(f"{fn:>4} {signed(gd['act'][j])}", style="bold")
        more = f"  (+{h - MAX_UNITS_SHOWN} units: grutui trace --json)" if h > len(units) else ""
        out.append("\nh_prev ", style="dim")
        out.append(" ".join(signed(d["h_prev"][j]) for j in units))
        out.append("\nh = (1−z)⊙n + z⊙h_prev = ", style="dim")
        out.append(" ".join(signed(d["h"][j]) for j in units), style="bold")
        out.append(more)
        # every step at a glance (activations of unit 0), the current one marked
        unit0 = " (unit 0)" if h > 1 else ""
        out.append(f"\n\nall steps{unit0}", style="dim")
        out.append(f"\n{'t':>3} {'x':>10} {'r':>8} {'z':>8} {'n':>8} {'h':>8}", style="dim")
        tr_ = tr.trace
        for k, s in enumerate(tr.steps):
            acts = (tr_.r.act[0, k, 0], tr_.z.act[0, k, 0], tr_.n.act[0, k, 0], tr_.h[0, k, 0])
            row = f"\n{k + 1:>3} {f'{s.value:g}:{s.flag}':>10} " + " ".join(
                f"{signed(float(a)):>8}" for a in acts
            )
            out.append(row, style="reverse" if k == t else "")
        return out
