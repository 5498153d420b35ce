"""The grutui app: panes as Textual modes on one shared epoch cursor.

Adding a pane: see ``grutui/ui/panes/registry.py`` (the app gives each pane there a
mode, the next digit key and F-key, a tab in the cursor bar, a help section and
command-palette entries).

The UI reads only ``RunData`` (memory). The h5py file has one owner: the training
run driver's ``SessionWriter`` for a run started here, or the watcher worker's ``Session``
for a session opened from disk (which may be growing in another process).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import constants, on, work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType, Keymap
from textual.command import CommandPalette
from textual.theme import ThemeProvider
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from grutui.core.config import TrainConfig, format_seeds
from grutui.core.driver import RunDriver, Trainer
from grutui.core.errors import GrutuiError, NoEpochError
from grutui.core.rundata import RunData
from grutui.ui import colours
from grutui.ui.analyses import Analyses
from grutui.ui.commands import GrutuiCommands
from grutui.ui.dialogs import GotoDialog, HelpScreen, Palette
from grutui.ui.export import export_view
from grutui.ui.keys import declared_bindings, help_rows
from grutui.ui.messages import SessionGrew, SessionOpened, WatchStatus
from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.registry import PANES
from grutui.ui.sessionapp import SessionApp
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import axis_end

if TYPE_CHECKING:
    from grutui.core.session import Session

PULL_INTERVAL = 0.2  # seconds between pulls of a live run's snapshot (5 Hz)
# While the cursor follows a growing run, the pane's view of that epoch (every number
# changes each epoch: kilobytes to the terminal) is redrawn at most this often; the
# cursor bar and progress follow every pull. Over SSH this keeps watching a run light.
FOLLOW_EVERY = 2.0
follow_clock = time.monotonic  # the clock of that rule (tests replace it)
# The UI thread shares the GIL with the trainer: the next pull waits until the UI
# thread's CPU time since the last one (drawing it, keys) is at most this share of
# the gap, so a slow machine or a costly pane gets fewer frames, never a slower run;
# at least one pull every PULL_GAP seconds.
UI_CPU_BUDGET = 0.05
PULL_GAP = 0.5
WATCH_INTERVAL = 1.0  # seconds between looks at a session opened from disk
# a session opened before its run recorded an epoch: how long to wait while no run
# holds it (one that holds it is waited for as long as it lives)
WAIT_FOR_WRITER = 60.0
WAITING = "waiting for the first epoch…"


def pull_interval() -> float:
    """5 Hz, or slower when ``TEXTUAL_FPS`` asks for fewer frames."""
    return max(PULL_INTERVAL, 1 / max(constants.MAX_FPS, 1))


def pane_keys() -> list[Binding]:
    """Digit n and F<n> show the n-th pane of ``PANES`` (ids ``pane.<mode>.<1|f>``)."""
    keys = []
    for i, spec in enumerate(PANES[:9], start=1):
        for key in (str(i), f"f{i}"):
            keys.append(
                Binding(
                    key,
                    f"pane('{spec.mode}')",
                    spec.title,
                    show=not key.startswith("f"),
                    id=f"pane.{spec.mode}.{key[0]}",
                    tooltip=f"Show the {spec.title} pane",
                )
            )
    return keys


class GrutuiApp(SessionApp):
    """Train, browse and debug tiny GRUs on one epoch cursor (recording, bookmarks and
    replay come from ``SessionApp``)."""

    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    TITLE = "grutui"
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {GrutuiCommands}
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "-1 epoch", id="cursor.prev", tooltip="Previous epoch"),
        Binding("right", "step(1)", "+1 epoch", id="cursor.next", tooltip="Next epoch"),
        Binding("pageup", "step(-10)", "-10", id="cursor.prev10", tooltip="Back 10 epochs"),
        Binding("pagedown", "step(10)", "+10", id="cursor.next10", tooltip="Forward 10 epochs"),
        Binding(
            "left_square_bracket,shift+left",
            "step(-100)",
            "-100",
            id="cursor.prev100",
            tooltip="Back 100 epochs",
        ),
        Binding(
            "right_square_bracket,shift+right",
            "step(100)",
            "+100",
            id="cursor.next100",
            tooltip="Forward 100 epochs",
        ),
        Binding("home", "first", "First", id="cursor.first", tooltip="First epoch", show=False),
        Binding("end", "last", "Last", id="cursor.last", tooltip="Last epoch", show=False),
        Binding("g", "goto", "Go to", id="cursor.goto", tooltip="Go to an epoch by number"),
        Binding("m", "next_member", "Member", id="cursor.member", tooltip="Next ensemble member"),
        Binding(
            "M",
            "member_step(-1)",
            "Prev member",
            id="cursor.member_prev",
            tooltip="Previous ensemble member",
            show=False,
        ),
        # `#` like `<`/`>` is a typed character in the Debug pane's input; ctrl+g works there
        Binding(
            "number_sign,ctrl+g",
            "goto_member",
            "Go to member",
            id="cursor.member_goto",
            tooltip="Go to an ensemble member by index or seed",
            show=False,
        ),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Stop training and quit"),
        # Textual 8 gives ctrl+c to copy; here it quits like q, even while typing
        Binding(
            "ctrl+c",
            "quit",
            "Quit",
            id="app.interrupt",
            tooltip="Stop training and quit",
            show=False,
            priority=True,
        ),
        # `<`/`>` are free everywhere except while the Debug pane's input has focus (it
        # takes typed characters); ctrl+s works there too
        Binding(
            "less_than_sign",
            "marker(-1)",
            "◀ mark",
            id="cursor.prev_marker",
            tooltip="Cursor to the previous transition marker",
            key_display="<",
        ),
        Binding(
            "greater_than_sign",
            "marker(1)",
            "mark ▶",
            id="cursor.next_marker",
            tooltip="Cursor to the next transition marker",
            key_display=">",
        ),
        Binding(
            "x,ctrl+s",
            "export",
            "Export",
            id="app.export",
            tooltip="Save the pane as SVG and the metrics as CSV (session directory)",
            key_display="x",
        ),
        # Textual's own palette key, declared here so that it has an id (remappable)
        Binding(
            App.COMMAND_PALETTE_BINDING,
            "command_palette",
            "palette",
            show=False,
            key_display=App.COMMAND_PALETTE_DISPLAY,
            priority=True,
            tooltip="Open the command palette",
            id="app.palette",
        ),
        *pane_keys(),
    ]

    def __init__(
        self,
        session: Path | None = None,
        new: tuple[TrainConfig, Path, bool] | None = None,
        replay: float | None = None,
        *,
        data: RunData | None = None,
        trainer: Trainer | None = None,
        start_pane: str | None = None,
        replay_clock: Callable[[], float] | None = None,
        form: dict[str, str] | None = None,
    ) -> None:
        # without colour, Textual's own choice is greys (NO_COLOR) or truecolour (a
        # dumb terminal); the terminal's default colours are what such a user asked for
        super().__init__(ansi_color=colourless())
        colours.use(colours.colour_mode(self))  # the heat maps' look for this terminal
        self.session_path = session
        self.new_run = new
        self.form = form  # not None: ask for the new run in a form first (its prefill)
        self.replay_speed = replay  # not None: replay mode (grutui.ui.replay)
        self._replay_clock = replay_clock  # tests drive the replay with a fake clock
        self.data: RunData | None = data
        self.epoch = -1
        self.member = 0
        self.run_status = ""
        self.device = ""  # where the live run trains (set by the worker)
        self.threads = 0
        self.training_error: str | None = None
        self._trainer = trainer
        self._start_pane = start_pane or PANES[0].mode
        self.driver: RunDriver | None = None  # the run trained here, if any
        self._pull_timer: Timer | None = None
        self._run_state: tuple[bool, bool, str | None] = (False, False, None)
        self._last_pull = (-math.inf, 0.0)  # wall clock, UI thread CPU time
        self._follow_due = -math.inf  # when a followed epoch may next be redrawn
        self._follow_timer: Timer | None = None
        self.closing = threading.Event()  # the app is exiting: every worker ends
        self._watched: Session | None = None  # the Session a watcher owns
        self._work_done: list[threading.Event] = []  # one per worker run, set on return
        self.analyses = Analyses(self)  # markers and strategy history
        self.keymap: Keymap = {}  # what set_keymap/update_keymap were given
        self.quit_on_signals = False  # run_app: SIGTERM and SIGHUP quit like q
        self.watch_live = False  # the session opened is being written by another process
        # which panes do not apply, and why, for the config they were asked for: the
        # tabs ask on every cursor-bar update, and a task's answer may cost milliseconds
        # (a third-party task's name reads the installed packages' entry points)
        self._unavailable: tuple[TrainConfig | None, dict[str, str | None]] = (None, {})
        for spec in PANES:
            self.add_mode(spec.mode, spec.screen)

    # -- recording hook --------------------------------------------------------
    def record(self, kind: str, **fields: Any) -> None:
        """A user action (cursor move, pane switch, debugger sequence or step, a pane's
        view keys): to the session's event log when recording
        (``SessionApp.record_action``)."""
        self.record_action(kind, fields)

    # -- start-up ----------------------------------------------------------------
    def on_mount(self) -> None:
        self.theme = "textual-dark"
        if self.quit_on_signals:
            # SIGTERM/SIGHUP (a closed terminal, kill): the same way out as q, so the
            # terminal is restored and a run ends with its stop event
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.call_later, self.action_quit)
        if self.replay_speed is not None and self.session_path is not None:
            try:
                self.start_replay(self.session_path, self.replay_speed, self._replay_clock)
            except GrutuiError as exc:
                self.exit(return_code=2, message=f"grutui: error: {exc}")
                return
            self.switch_mode(self.available_pane(self._start_pane))
            return
        if self.data is None and self.session_path is not None:
            from grutui.core.session import open_growing

            try:
                session = open_growing(self.session_path)
            except GrutuiError as exc:
                self.exit(return_code=2, message=f"grutui: error: {exc}")
                return
            if session is None:  # a run is creating it: the watcher waits for it
                self.run_status = WAITING
            else:
                self.data = RunData.from_session(session)
                self.start_recording(self.session_path)
            self._watched = session
            self._watch()
        if self.form is not None and self.new_run is None:
            from grutui.ui.newrun import NewRunForm

            self.push_screen(NewRunForm(self.form), self._form_done)
            return
        self._start_new_run()

    def _form_done(self, run: tuple[TrainConfig, Path, bool] | None) -> None:
        if run is None:  # left the form: nothing to show
            self.exit()
            return
        self.new_run = run
        self._start_new_run()

    def _start_new_run(self) -> None:
        """Show the run asked for (``grutui new``) and start training it."""
        if self.new_run is not None and self.data is None:
            cfg, out, _overwrite = self.new_run
            self.data = RunData(cfg, name=out.name, directory=out)
        if self.data is not None and self.data.n_epochs:
            self.epoch = self.data.last_epoch
        self.switch_mode(self.available_pane(self._start_pane))
        if self.new_run is not None:
            cfg, out, overwrite = self.new_run
            self.start_training(cfg, out, overwrite)

    # -- the cursor ----------------------------------------------------------------
    def set_epoch(self, epoch: int, via: str = "key") -> None:
        """Move the cursor (clamped to the recorded epochs) and show it."""
        d = self.data
        if d is None or not d.n_epochs:
            return
        e = min(max(int(epoch), d.first_epoch), d.last_epoch)
        if e == self.epoch:
            return
        self.epoch = e
        self.record("cursor", epoch=e, member=self.member, via=via)
        self.show_cursor()

    def visible_pane(self) -> PaneScreen | None:
        """The pane on screen, once mounted: a pane just switched to is composed
        asynchronously and catches up by itself (``PaneScreen.sync`` on resume)."""
        try:
            screen = self.screen
        except ScreenStackError:  # the app is closing: its screens are gone
            return None
        return screen if isinstance(screen, PaneScreen) and screen.is_mounted else None

    def show_cursor(self) -> None:
        screen = self.visible_pane()
        if screen is not None and self.data is not None:
            screen.show_epoch(self.data, self.epoch, self.member)
            self.update_cursor_bar(screen)

    def update_cursor_bar(self, screen: PaneScreen) -> None:
        d = self.data
        try:
            bar = screen.query_one(CursorBar)
        except Exception:
            return
        tabs = [
            (str(i), spec.title, spec.mode == self.current_mode)
            for i, spec in enumerate(PANES, start=1)
            if self.pane_unavailable(spec.mode) is None
        ]
        last = d.last_epoch if d is not None else -1
        members = d.members if d is not None else 1
        bar.show(tabs, self.epoch, last, self.member, members, self.bar_status())

    def action_step(self, delta: int) -> None:
        if self.epoch < 0:
            return
        self.set_epoch(self.epoch + delta, via=f"step{delta:+d}")

    def action_first(self) -> None:
        if self.data is not None and self.data.n_epochs:
            self.set_epoch(self.data.first_epoch, via="first")

    def action_last(self) -> None:
        if self.data is not None and self.data.n_epochs:
            self.set_epoch(self.data.last_epoch, via="last")

    def action_goto(self) -> None:
        d = self.data
        if d is None or not d.n_epochs:
            self.notify("no epochs recorded yet", severity="warning")
            return

        def done(epoch: int | None) -> None:
            if epoch is not None:
                self.set_epoch(epoch, via="goto")

        self.push_screen(GotoDialog(d.resolve_epoch, d.first_epoch, d.last_epoch), done)

    def action_next_member(self) -> None:
        self.action_member_step(1)

    def action_member_step(self, delta: int) -> None:
        if self.data is not None and self.data.members > 1:
            self.set_member((self.member + delta) % self.data.members)

    def set_member(self, member: int) -> None:
        """Show ensemble member ``member`` (an index the data holds) in every pane."""
        if member == self.member:
            return
        self.member = member
        self.record("member", member=self.member, epoch=self.epoch)
        self.show_cursor()

    def action_goto_member(self) -> None:
        d = self.data
        if d is None or d.members < 2:
            self.notify("a single-member session: no other member", severity="warning")
            return
        seeds = d.member_seeds()
        by_seed = f", or s<seed> (seeds {format_seeds(seeds)})" if seeds else ""
        prompt = f"Go to member: index 0..{d.members - 1}{by_seed}"

        def done(member: int | None) -> None:
            if member is not None:
                self.set_member(member)

        dialog = GotoDialog(d.resolve_member, 0, d.members - 1, prompt=prompt, placeholder="member")
        self.push_screen(dialog, done)

    def pane_unavailable(self, mode: str) -> str | None:
        """Why pane ``mode`` does not apply to the session shown (None: it does, or no
        session is known yet)."""
        config = self.data.config if self.data is not None else None
        if config is None:
            return None
        if self._unavailable[0] is not config:  # a new session, or resumed with a new config
            self._unavailable = (config, {s.mode: s.screen.unavailable(config) for s in PANES})
        return self._unavailable[1].get(mode)

    def available_pane(self, mode: str) -> str:
        """``mode``, or the first pane when ``mode`` does not apply to the session."""
        return PANES[0].mode if self.pane_unavailable(mode) is not None else mode

    def action_pane(self, mode: str) -> None:
        if mode == self.current_mode:
            return
        reason = self.pane_unavailable(mode)
        if reason is not None:
            title = next(s.title for s in PANES if s.mode == mode)
            self.notify(f"{title}: {reason}", severity="warning")
            return
        self.record("pane", pane=mode, epoch=self.epoch)
        self.switch_mode(mode)

    def action_marker(self, direction: int) -> None:
        self.analyses.jump(direction)

    def action_export(self) -> None:
        export_view(self)

    def action_command_palette(self) -> None:
        # Textual's, with our palette (it closes once, whatever the keys); no fixed id:
        # a palette just closed may still be in the DOM when the next one opens
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(Palette())

    def search_themes(self) -> None:
        # the palette's Theme command: Textual's theme list, in our palette (guarded:
        # it closes once, and its page keys hold while its list fills)
        self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def set_keymap(self, keymap: Keymap) -> None:
        super().set_keymap(keymap)
        self.keymap = dict(keymap)

    def update_keymap(self, keymap: Keymap) -> None:
        super().update_keymap(keymap)
        self.keymap = {**self.keymap, **keymap}

    def global_bindings(self) -> list[Binding]:
        """The app's keys (ours and Textual's), as the keymap has them."""
        return declared_bindings(type(self), self.keymap)

    def pane_bindings(self, pane: type[PaneScreen]) -> list[Binding]:
        """A pane's own keys, as the keymap has them."""
        return declared_bindings(pane, self.keymap)

    def key_sections(self) -> list[tuple[str, list[Binding]]]:
        """Every binding, grouped (global, then each pane's): the help screen is
        generated from this."""
        out = [("Global", self.global_bindings())]
        for spec in PANES:
            out.append((f"{spec.title} pane", self.pane_bindings(spec.screen)))
        return out

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(title, help_rows(bs, self.get_key_display)) for title, bs in self.key_sections()]

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    # -- live data ---------------------------------------------------------------------
    def grow(self, apply: Callable[[RunData], int]) -> None:
        """Append epochs (``apply`` mutates ``self.data``) keeping the cursor rule: it
        follows the run only when it sat on the last epoch."""
        d = self.data
        if d is None:
            return
        old_last = d.last_epoch
        config = d.config
        if apply(d) <= 0:
            if d.config is not config:  # resumed with a new config: totals follow it
                self._refresh_bar()
            return
        follow = self.epoch == old_last
        if follow:
            self.epoch = d.last_epoch
        screen = self.visible_pane()
        if screen is not None:
            screen.seen_epochs = d.n_epochs
            screen.seen_config = d.config
            screen.data_grew(d)
            if follow:
                self._show_followed()
            self.update_cursor_bar(screen)

    def _show_followed(self) -> None:
        """Redraw the followed epoch now, or once ``FOLLOW_EVERY`` has passed since the
        last redraw (a timer, so the last epoch of a burst is always shown)."""
        now = follow_clock()
        if now < self._follow_due:
            if self._follow_timer is None:
                self._follow_timer = self.set_timer(self._follow_due - now, self._follow_late)
            return
        self._follow_due = now + FOLLOW_EVERY
        screen = self.visible_pane()
        if screen is not None and self.data is not None:
            screen.show_epoch(self.data, self.epoch, self.member)

    def _follow_late(self) -> None:
        self._follow_timer = None
        self._show_followed()

    @on(SessionGrew)
    def _on_session_grew(self, msg: SessionGrew) -> None:
        self.grow(lambda d: d.apply(msg.chunk))

    @on(SessionOpened)
    def _on_session_opened(self, msg: SessionOpened) -> None:
        """The session waited for exists: shown from now on, like one opened at once."""
        if self.data is not None or self.session_path is None:
            return
        self.data = msg.data
        if msg.data.n_epochs:
            self.epoch = msg.data.last_epoch
        self.start_recording(self.session_path)
        self._refresh_bar()

    @on(WatchStatus)
    def _on_watch_status(self, msg: WatchStatus) -> None:
        self.watch_live = msg.live
        self.run_status = msg.note or ("live" if msg.live else "")
        if msg.problem:
            self.notify(msg.note, severity="error", timeout=30)
        self._refresh_bar()

    # -- watching a session on disk ------------------------------------------------
    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def _watch(self) -> None:
        """Follow the opened session: wait for a run to create it, then poll it for the
        epochs another process appends (stat first: an idle file costs no HDF5 read)
        and whether a run still writes it."""
        with self.track_worker():
            self._watch_loop()

    def _watch_loop(self) -> None:
        worker = get_current_worker()

        def wait() -> bool:  # False once the app closes
            return not (worker.is_cancelled or self.closing.wait(WATCH_INTERVAL))

        session = self._watched
        data = self.data
        if session is None:
            session = self._await_session(wait)
            if session is None:
                return
            data = RunData.from_session(session)
            self.post_message(SessionOpened(data))
        try:
            if data is not None:
                self._follow(session, data, wait)
        finally:
            session.close()

    def _await_session(self, wait: Callable[[], bool]) -> Session | None:
        """The session once a run has created it; None when the app closed first or
        no run will (said in the status)."""
        from grutui.core.session import open_growing
        from grutui.core.writer import being_written

        assert self.session_path is not None
        path = self.session_path
        seen = time.monotonic()  # the last time a run held the directory
        while True:
            try:
                session = open_growing(path)
            except GrutuiError as exc:  # the bar has room for the reason, not the path
                note = exc.reason if isinstance(exc, NoEpochError) else str(exc)
                self.post_message(WatchStatus(False, note, problem=True))
                return None
            if session is not None:
                return session
            if being_written(path):
                seen = time.monotonic()
            elif time.monotonic() - seen > WAIT_FOR_WRITER:
                note = f"no run has written to {path} for {WAIT_FOR_WRITER:g} s: nothing to show"
                self.post_message(WatchStatus(False, note, problem=True))
                return None
            if not wait():
                return None

    def _follow(self, session: Session, data: RunData, wait: Callable[[], bool]) -> None:
        """Rows appended beyond ``data``'s and config changes go to the UI as
        ``SessionGrew``; whether a run writes the session as ``WatchStatus``."""
        from grutui.core.session import ENDED_EARLY
        from grutui.core.writer import being_written

        n, s = data.n_epochs, len(data.snapshot_epochs)  # only the UI thread grows it
        path = Path(session.path)
        # none yet: the first look reads the session, which may have grown since it
        # was opened (a stamp taken now would hide rows written in between)
        stamp: tuple[int, int] | None = None
        config = session.config_dict
        status: tuple[bool, str] | None = None
        while True:
            live = being_written(session.dir)  # first: a run that ended has flushed
            now = _stamp(path)
            if now != stamp:
                stamp = now
                session.refresh()
                chunk = data.pull(session, n, s)  # reads only the session
                if session.config_dict != config:
                    config = session.config_dict
                    chunk.config = (session.config, session.config_dict)
                if len(chunk) or chunk.config is not None:
                    n += len(chunk)
                    s += len(chunk.snapshot_epochs)
                    self.post_message(SessionGrew(chunk))
            note, problem = "", False
            if not session.n_epochs:
                note = WAITING if live else ENDED_EARLY
                problem = not live
            if (live, note) != status:
                status = (live, note)
                self.post_message(WatchStatus(live, note, problem))
            if not wait():
                return

    # -- training --------------------------------------------------------------------
    def start_training(self, config: TrainConfig, out: Path, overwrite: bool = False) -> None:
        """Train a new session at ``out`` in a worker; a timer pulls what it made."""
        if self.driver is not None:
            self.driver.stop()
        self.training_error = None
        self.run_status = "starting"
        self._run_state = (False, False, None)
        self.driver = RunDriver.new(
            config, out, source="app", overwrite=overwrite, trainer=self._trainer
        )
        self._train_worker(self.driver)
        if self._pull_timer is not None:
            self._pull_timer.stop()
        self._last_pull = (-math.inf, 0.0)
        self._pull_timer = self.set_timer(pull_interval(), self.pull_training)

    @property
    def training(self) -> bool:
        return any(w.group == "training" and not w.is_finished for w in self.workers)

    @property
    def live(self) -> bool:
        """A run trained here is still growing (its last pull had no outcome): panes
        may thin out costly redraws until it ends."""
        return self.driver is not None and self._run_state[2] is None

    @property
    def writing(self) -> bool:
        """The session shown is still being written: by a run trained here, or by
        another process (a watched session): "live", else "recorded"."""
        return self.live or self.watch_live

    def epoch_axis(self) -> tuple[int, int]:
        """The epochs plots span: those recorded, or while the session is still being
        written a round span ahead (``axis_end``), so a growing curve stays put."""
        d = self.data
        if d is None or d.n_epochs == 0:
            return 0, 1
        first, last = d.first_epoch, d.last_epoch
        if self.writing:
            last = axis_end(first, last, d.config.epochs - 1)
        return first, last

    @property
    def paused(self) -> bool:
        return self.driver is not None and self.driver.pause_requested

    def toggle_pause(self) -> None:
        if not self.training or self.driver is None:
            return
        if self.driver.pause_requested:
            self.driver.unpause()
        else:
            self.driver.pause()

    def request_stop(self) -> None:
        """Stop the run after the current step (the driver logs it and closes)."""
        if self.driver is not None:
            self.driver.stop()

    async def shutdown(self) -> None:
        """End every worker and wait until its thread has returned (each closes the
        file it owns). Not ``Worker.cancel``: that abandons a thread, it cannot end it."""
        self.closing.set()
        self.request_stop()
        for w in list(self.workers):
            if w.group in ("training", "watch") and not w.is_finished:
                await _join(w)
        self._join_threads()

    def _join_threads(self, timeout: float = 30.0) -> None:
        self.closing.set()
        self.request_stop()
        if self._pull_timer is not None:
            self._pull_timer.stop()
            self._pull_timer = None
        for done in list(self._work_done):
            done.wait(timeout)
        self._work_done = [d for d in self._work_done if not d.is_set()]

    @contextmanager
    def track_worker(self) -> Iterator[None]:
        """Mark a worker body as running until it returns (pool threads outlive it,
        so joining the thread would wait for nothing)."""
        done = threading.Event()
        self._work_done.append(done)
        try:
            yield
        finally:
            done.set()

    def on_unmount(self) -> None:
        # any exit path (ctrl+c, app.exit in tests): no thread outlives the app
        self._join_threads()
        self.stop_recording()

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def _train_worker(self, driver: RunDriver) -> str:
        with self.track_worker():
            return driver.run()

    def pull_training(self) -> None:
        """The pull timer: the run's new epochs through ``grow``, its state in the
        status line. The UI sets the pace (``UI_CPU_BUDGET``); the worker never posts."""
        driver = self.driver
        if driver is None or self.closing.is_set():
            return
        wall, cpu = time.perf_counter(), time.thread_time()
        spent = cpu - self._last_pull[1] if math.isfinite(self._last_pull[0]) else 0.0
        self._last_pull = (wall, cpu)
        snap = driver.pull()
        state = (snap.started, snap.paused, snap.outcome)
        changed = state != self._run_state
        ended = snap.outcome is not None and self._run_state[2] is None
        if snap.started and not self._run_state[0]:
            self.threads = snap.threads
            if self.new_run is not None:  # the driver has created the session
                self.start_recording(self.new_run[1])
        if snap.device != self.device and snap.device:
            self.device = snap.device  # the trainer's first record names it
            changed = True
        self._run_state = state
        if snap.outcome is not None:
            self._pull_timer = None
            self.run_status = "error" if self.training_error else snap.outcome
        else:
            gap = min(max(pull_interval(), spent / UI_CPU_BUDGET), PULL_GAP)
            self._pull_timer = self.set_timer(gap, self.pull_training)
            if snap.paused:
                self.run_status = "paused"
            elif snap.epoch is not None:
                self.run_status = f"training {snap.epoch + 1}/{driver.config.epochs}"
            elif snap.started:
                self.run_status = "training"
        if snap.records:
            self.grow(lambda d: d.extend(snap.records))
        screen = self.visible_pane()
        if ended and screen is not None:
            screen.seen_epochs = -1  # the last frame in full: panes thin out live redraws
        if changed:
            self._refresh_bar()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker errors in one place: shown in the status and a notification."""
        if event.state == WorkerState.ERROR:
            err = event.worker.error
            text = f"{type(err).__name__}: {err}" if err is not None else "unknown error"
            if event.worker.group == "training":
                self.training_error = text
                self.run_status = "error"
            self.notify(f"{event.worker.group} failed: {text}", severity="error", timeout=30)
            self._refresh_bar()

    def _refresh_bar(self) -> None:
        screen = self.visible_pane()
        if screen is not None:
            screen.sync()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


async def _join(worker: Worker[Any]) -> None:
    try:
        await worker.wait()
    except Exception:  # its error was already reported through StateChanged
        return


def colourless() -> bool:
    """No colour wanted (``NO_COLOR``, no-color.org) or possible (``TERM=dumb``)."""
    return "NO_COLOR" in os.environ or os.environ.get("TERM", "") in ("dumb", "unknown")


def run_app(
    session: Path | None = None,
    new: tuple[TrainConfig, Path, bool] | None = None,
    replay: float | None = None,
    form: dict[str, str] | None = None,
) -> int:
    """Run the app (``grutui``, ``grutui open``, ``grutui new [--form]``); the exit
    status."""
    if colourless():
        os.environ.setdefault("NO_COLOR", "1")  # Textual drops colour only for NO_COLOR
    app = GrutuiApp(session=session, new=new, replay=replay, form=form)
    app.quit_on_signals = True
    app.run()
    return app.return_code or 0
