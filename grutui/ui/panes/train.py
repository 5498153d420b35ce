"""Train pane: the run at a glance, live or recorded.

Loss sparklines are drawn on log10, one column per bucket of epochs (``Spark``), with
the exact numbers beside them.
The app pulls a live run's new epochs five times a second; the cursor only
rewrites labels.
"""

from __future__ import annotations

import math
import time
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, ProgressBar

from grutui.core.device import recorded_device
from grutui.core.numfmt import duration, finite_sig
from grutui.core.paths import EVENTS_NAME
from grutui.core.recording import USER_ACTIONS
from grutui.core.rundata import RunData
from grutui.core.tasks import task_label
from grutui.ui.analyses import marker_key
from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.browse import downsample
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import CursorPlot, draw_series
from grutui.ui.widgets.spark import Spark, bucket_of
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

# training events only: the user's own actions (recorded in the same log) and the
# replay's clock anchors would crowd them out
HIDDEN_EVENTS = frozenset({"start", "clock", *USER_ACTIONS})
RATE_WINDOW = 50  # epochs over which epochs/s is measured
# seconds between redraws of the loss curves (sparklines, wide plot) while a run
# trained here grows: a sparkline draw costs a few ms of the GIL the trainer needs
CURVES_EVERY = 1.0
TRAIN_COLOUR = "#3fa7d6"
TEST_COLOUR = "#e0a030"
NORM_COLOUR = "#a0a0a0"
TRAIN_TITLE = "train loss (log10)"


def _pair_title(what: str) -> Text:
    """A curve title with the colours of its two series: ``loss  ■ train ■ test``."""
    return Text.assemble(
        (what, ""), ("  ■", TRAIN_COLOUR), (" train", ""), (" ■", TEST_COLOUR), (" test", "")
    )


def _log10(arr: np.ndarray) -> np.ndarray:
    """log10 of the positive finite values, NaN elsewhere."""
    y = np.full(arr.shape, np.nan)
    np.log10(arr, out=y, where=np.isfinite(arr) & (arr > 0))
    return y


def is_classification(data: RunData) -> bool:
    return data.config.task.output().kind == "classification"


def as_percent(v: float | None) -> str:
    """An accuracy as a percentage (``—`` when not evaluated)."""
    return "—" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def lr_changes(lr: np.ndarray) -> bool:
    """Whether a run's learning rate took more than one value (a schedule acted)."""
    ok = lr[np.isfinite(lr)]
    return bool(len(ok)) and bool(ok.min() != ok.max())


def last_finite(arr: np.ndarray, upto: int | None = None) -> tuple[float | None, int | None]:
    """The last finite value of ``arr[:upto]`` and its row (None, None: none)."""
    ok = np.flatnonzero(np.isfinite(arr[:upto]))
    return (float(arr[ok[-1]]), int(ok[-1])) if len(ok) else (None, None)


class TrainPane(PaneScreen):
    PANE_MODE = "train"
    PANE_TITLE = "Train"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "Pause/resume", id="train.pause", tooltip="Pause or resume"),
        Binding("s", "stop", "Stop", id="train.stop", tooltip="Stop training (keeps the epochs)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._member_shown = -1
        self._plot_built = 0.0
        self._plot_marks: object = None  # marker_key of the markers the figure shows
        self._events_stamp: tuple[int, int] | None = None
        self._device_stamp: tuple[int, int] | None = None
        self._device: str | None = None  # recorded_device of the log at _device_stamp
        self._curves_drawn = -math.inf  # sparklines and the event list
        self._percent_shown: tuple[int, int] | None = None
        self._ruler_shown: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        with Horizontal(id="train-body"):
            with Vertical(id="train-left"):
                yield TextView("", id="train-run")
                with Horizontal(id="train-progress-row"):
                    yield ProgressBar(id="train-progress", show_eta=False, show_percentage=True)
                    yield TextView("", id="train-rate")
                with Vertical(id="train-curves"):
                    yield Label(TRAIN_TITLE, id="train-title", classes="curve-title")
                    with Horizontal(classes="curve-row"):
                        yield Spark(style=TRAIN_COLOUR, id="spark-train", classes="spark")
                        yield TextView("", id="train-values", classes="curve-values")
                    yield Label("test loss (log10)", classes="curve-title regression")
                    with Horizontal(classes="curve-row regression"):
                        yield Spark(style=TEST_COLOUR, id="spark-test", classes="spark")
                        yield TextView("", id="test-values", classes="curve-values")
                    # classification: accuracy (train behind test) and the weight norm
                    yield Label(_pair_title("accuracy"), classes="curve-title classify")
                    with Horizontal(classes="curve-row classify"):
                        yield Spark(
                            style=TEST_COLOUR,
                            behind_style=TRAIN_COLOUR,
                            limits=(0.0, 1.0),
                            id="spark-acc",
                            classes="spark",
                        )
                        yield TextView("", id="acc-values", classes="curve-values")
                    yield Label("weight norm ‖θ‖₂", classes="curve-title classify")
                    with Horizontal(classes="curve-row classify"):
                        yield Spark(style=NORM_COLOUR, id="spark-norm", classes="spark")
                        yield TextView("", id="norm-values", classes="curve-values")
                    yield TextView("", id="train-ruler")  # the cursor under the curves
                yield TextView("", id="train-cursor")
                yield TextView("", id="train-events")
            yield CursorPlot(id="train-plot")  # wide terminals only
        yield Footer()

    # -- actions -----------------------------------------------------------------
    def action_pause(self) -> None:
        app = self.grutui
        if not app.training:
            self.notify("no run in progress", severity="warning")
            return
        app.toggle_pause()
        self.grutui.record("pause_request", paused=app.paused, epoch=app.epoch)

    def action_stop(self) -> None:
        app = self.grutui
        if not app.training:
            self.notify("no run in progress", severity="warning")
            return
        app.request_stop()
        app.record("stop_request", epoch=app.epoch)

    # -- the pane interface ---------------------------------------------------------
    def data_grew(self, data: RunData) -> None:
        self._update(data, force=False)

    def _update(self, data: RunData, *, force: bool) -> None:
        """Everything but the cursor. While a run trained here grows, the sparklines
        (a few ms a draw) and the event list are redrawn at most every ``CURVES_EVERY``
        seconds and the progress bar per whole percent; the numbers at every pull."""
        m = data.metrics
        member = self.grutui.member
        now = time.monotonic()
        slow = force or not self.grutui.live or now - self._curves_drawn >= CURVES_EVERY
        classify = is_classification(data)
        if slow:
            self._curves_drawn = now
            self._mode(classify)
            lo, hi = self.grutui.epoch_axis()
            train_log, test_log = (_log10(arr[:, member]) for arr in (m.train_loss, m.test_loss))
            if classify:  # both losses in one sparkline, the test loss behind
                self.query_one("#spark-train", Spark).show(m.epoch, train_log, lo, hi, test_log)
                self.query_one("#spark-acc", Spark).show(
                    m.epoch, m.test_acc[:, member], lo, hi, m.train_acc[:, member]
                )
                self.query_one("#spark-norm", Spark).show(m.epoch, m.weight_norm[:, member], lo, hi)
            else:
                self.query_one("#spark-train", Spark).show(m.epoch, train_log, lo, hi)
                self.query_one("#spark-test", Spark).show(m.epoch, test_log, lo, hi)
            self._events(data)
        total = data.config.epochs
        n = data.n_epochs
        percent = (total, 100 * n // total if total else 0)
        if slow or percent != self._percent_shown:
            self._percent_shown = percent
            self.query_one("#train-progress", ProgressBar).update(total=total, progress=n)
        rate = eta = float("nan")
        if n >= 2:
            k = min(n - 1, RATE_WINDOW)
            dt = float(m.wall_time[-1] - m.wall_time[-1 - k])
            if dt > 0:
                rate = k / dt
                eta = (total - n) / rate
        elif n == 1 and m.wall_time[0] > 0:
            rate = 1 / float(m.wall_time[0])
            eta = (total - n) / rate
        rate_s = f"{rate:.1f} ep/s" if math.isfinite(rate) else "— ep/s"
        self._put(
            "#train-rate",
            f" {n}/{total}  {rate_s}  ETA {duration(eta) if n < total else '0:00'}",
        )
        last_train = float(m.train_loss[-1, member]) if n else None
        last_test, _ = last_finite(m.test_loss[:, member])
        if classify:
            self._put(
                "#train-values", f"train {finite_sig(last_train)}\ntest  {finite_sig(last_test)}"
            )
            train_acc, _ = last_finite(m.train_acc[:, member])
            test_acc, _ = last_finite(m.test_acc[:, member])
            self._put("#acc-values", f"train {as_percent(train_acc)}\ntest  {as_percent(test_acc)}")
            norm, _ = last_finite(m.weight_norm[:, member])
            self._put("#norm-values", f"last {finite_sig(norm)}")
        else:
            self._put("#train-values", f"last {finite_sig(last_train)}")
            self._put("#test-values", f"last {finite_sig(last_test)}")
        self._run_line(data)
        self._plot(data, member)

    def _put(self, selector: str, text: str) -> None:
        set_text(self.query_one(selector, TextView), text)

    def _mode(self, classify: bool) -> None:
        """Regression: the train and test losses, one sparkline each (as always).
        Classification: the two losses in one, accuracy and the weight norm beneath."""
        curves = self.query_one("#train-curves")
        if curves.has_class("-classify") != classify:
            curves.set_class(classify, "-classify")
            title = _pair_title("loss (log10)") if classify else TRAIN_TITLE
            self.query_one("#train-title", Label).update(title)
            self.query_one("#spark-train", Spark).behind_style = TEST_COLOUR if classify else ""

    def analysis_changed(self) -> None:
        """Transition markers were found: redraw the plot with them (at once)."""
        app = self.grutui
        marks = marker_key(app.analyses.markers_for(app.member))
        if app.data is not None and marks != self._plot_marks:
            self._plot(app.data, app.member, force=True)

    def _plot(self, data: RunData, member: int, *, force: bool = False) -> None:
        """The loss with a cursor line and any transition markers found, on wide
        terminals; rebuilt at most every ``CURVES_EVERY`` seconds while a run grows
        (a build costs ~10 ms) unless ``force``d."""
        plot = self.query_one("#train-plot", CursorPlot)
        if not plot.display or not data.n_epochs:
            return
        now = time.monotonic()
        done = data.n_epochs >= data.config.epochs or not self.grutui.training
        if not (done or force) and now - self._plot_built < CURVES_EVERY:
            return
        self._plot_built = now
        found = self.grutui.analyses.markers_for(member)
        self._plot_marks = marker_key(found)
        m = data.metrics
        classify = is_classification(data)
        series = []
        if classify:  # the grokking picture: accuracy, and the markers where it crosses 99 %
            pairs = (("train", m.train_acc[:, member]), ("test", m.test_acc[:, member]))
        else:
            pairs = (("train", m.train_loss[:, member]), ("test", m.test_loss[:, member]))
        for name, arr in pairs:
            ok = np.isfinite(arr) & (classify or arr > 0)
            xs, ys = downsample(m.epoch[ok], arr[ok] if classify else np.log10(arr[ok]))
            series.append((name, xs, ys))
        marks = sorted({t.epoch for t in found or ()})
        lo, hi = self.grutui.epoch_axis()
        draw_series(plot, "accuracy" if classify else "log10 loss", series, lo, hi, markers=marks)

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if member != self._member_shown:
            self._member_shown = member
            self._update(data, force=True)
        self._run_line(data)
        self.query_one("#train-plot", CursorPlot).set_cursor(epoch if epoch >= 0 else None)
        self._ruler(data, epoch)
        w = self.query_one("#train-cursor", TextView)
        if epoch < 0:
            set_text(w, Text("waiting for the first epoch…", style="italic"))
            return
        m = data.metrics
        i = epoch - data.first_epoch
        test, row = last_finite(m.test_loss[:, member], i + 1)
        test_at = None if row is None else int(m.epoch[row])
        parts: list[tuple[str, str] | str] = [
            ("at epoch ", "dim"),
            (f"{epoch}", "bold"),
            ("  train ", "dim"),
            finite_sig(float(m.train_loss[i, member])),
            ("  test ", "dim"),
            finite_sig(test),
            (f" (epoch {test_at})" if test_at is not None and test_at != epoch else "", "dim"),
        ]
        classify = is_classification(data)
        if classify:  # accuracy (last evaluated) and the norm
            train_acc, _ = last_finite(m.train_acc[:, member], i + 1)
            test_acc, _ = last_finite(m.test_acc[:, member], i + 1)
            norm = float(m.weight_norm[i, member])
            parts += [
                ("  acc ", "dim"),
                f"{as_percent(train_acc)}/{as_percent(test_acc)}",
                ("  ‖θ‖ ", "dim"),
                finite_sig(norm if math.isfinite(norm) else None),
            ]
        # an 80-column line has no room for a constant lr besides accuracy and norm
        if not classify or lr_changes(m.lr[:, member]):
            parts += [("  lr ", "dim"), f"{float(m.lr[i, member]):.3g}"]
        set_text(w, Text.assemble(*parts))

    def _ruler(self, data: RunData, epoch: int) -> None:
        """A ▲ under the sparklines at the cursor: in the column of its bucket."""
        width = self.query_one("#spark-train", Spark).size.width
        ruler = self.query_one("#train-ruler", TextView)
        if epoch < 0 or width < 2:
            self._ruler_shown = None
            set_text(ruler, "")
            return
        col = bucket_of(epoch, *self.grutui.epoch_axis(), width)
        if (col, width) == self._ruler_shown:
            return  # following a live run: the ▲ stays at the right end
        self._ruler_shown = (col, width)
        set_text(
            ruler,
            Text.assemble(
                ("─" * col, "dim"), ("▲", "bold yellow"), ("─" * (width - 1 - col), "dim")
            ),
        )

    def _run_line(self, data: RunData) -> None:
        app = self.grutui
        cfg = data.config
        label = "live" if app.writing else "recorded"
        status = f"{label}  {app.run_status}" if app.run_status not in ("", label) else label
        if app.training_error:
            status = f"error: {app.training_error}"
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{data.name}", style="bold")
        t.append(f"  {status}", style="bold red" if app.training_error else "italic")
        threads = app.threads or cfg.threads or "auto"  # 0: TrainConfig.torch_threads decides
        device = app.device or self._recorded_device(data) or cfg.device
        t.append(f"  device {device}  threads {threads}")
        t.append(
            f"\nhidden {cfg.hidden}  batch {cfg.batch_size}  lr {cfg.lr:g}  "
            f"task {task_label(cfg.task)}  seed {cfg.seed}  epochs {cfg.epochs}",
            style="dim",
        )
        set_text(self.query_one("#train-run", TextView), t)

    @staticmethod
    def _log_stamp(data: RunData) -> tuple[int, int] | None:
        """Changes when the run's event log does (None: no log to look at)."""
        if not data.events_on_disk:  # a replay: its events so far, in memory
            return (-1, len(data.events()))
        try:
            st = (data.dir / EVENTS_NAME).stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _recorded_device(self, data: RunData) -> str | None:
        """The device the log names, read again only when the log changed: the run line
        is drawn on every key, and a recording session's log grows with every key."""
        stamp = self._log_stamp(data)
        if stamp is None or stamp != self._device_stamp:
            self._device_stamp = stamp
            self._device = recorded_device(data.events())
        return self._device

    def _events(self, data: RunData) -> None:
        stamp = self._log_stamp(data)
        if stamp is not None and stamp == self._events_stamp:
            return  # the log is unchanged: no re-read
        self._events_stamp = stamp
        evs = [e for e in data.events() if e.get("kind") not in HIDDEN_EVENTS][-3:]
        t = Text(no_wrap=True, overflow="ellipsis")
        for e in evs:
            extra = {k: v for k, v in e.items() if k not in ("t", "kind", "epoch", "config")}
            more = "  ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items()
            )
            t.append(f"{e['kind']}", style="bold")
            t.append(f" @ {e.get('epoch')}  {more}\n", style="dim")
        set_text(self.query_one("#train-events", TextView), t)
