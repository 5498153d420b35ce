"""The new-run form (``grutui new --form``): task, preset and the options that matter
most, checked exactly as ``grutui new`` checks its command line (the form builds that
command line and shows it, so the run can be repeated from a shell).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from grutui.core.config import PRESETS, TrainConfig, preset
from grutui.core.errors import GrutuiError
from grutui.core.tasks import task_label, task_names
from grutui.ui.dialogs import Dialog

NewRun = tuple[TrainConfig, Path, bool]

# the form's text fields: (command-line flag, label, the preset's value shown as hint)
FIELDS: tuple[tuple[str, str], ...] = (
    ("hidden", "Hidden size"),
    ("epochs", "Epochs"),
    ("seeds", "Seeds"),
    ("lr", "Learning rate"),
    ("weight-decay", "Weight decay"),
    ("device", "Device"),
    ("task-option", "Task options"),
    ("out", "Session"),
)
PRESET_TASK = "(the preset's)"


def hints(cfg: TrainConfig) -> dict[str, str]:
    """What each field means when left empty: the preset's value."""
    return {
        "hidden": str(cfg.hidden),
        "epochs": str(cfg.epochs),
        "seeds": f"{cfg.seed} (one run; e.g. 0-7: an ensemble)",
        "lr": f"{cfg.lr:g}",
        "weight-decay": f"{cfg.weight_decay:g}",
        "device": cfg.device,
        "task-option": "KEY=VALUE …, e.g. p=23",
        "out": "sessions/PRESET-TIME",
    }


class NewRunForm(Dialog[NewRun | None]):
    """Fields prefilled from the command line's options; Enter checks and starts,
    Esc leaves. A refusal is shown in one line under the fields."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="newrun.cancel", tooltip="Leave without a run"),
        Binding("ctrl+s", "start", "Start", id="newrun.start", tooltip="Check and start the run"),
    ]

    def __init__(self, given: dict[str, str] | None = None) -> None:
        super().__init__()
        self._given = dict(given or {})
        self._checking = False

    def compose(self) -> ComposeResult:
        given = self._given
        name = given.get("preset", "blog")
        cfg = PRESETS.get(name, PRESETS["blog"])
        tasks = [(PRESET_TASK, PRESET_TASK), *((n, n) for n in task_names())]
        with Vertical(id="newrun-box"):
            yield Label("New run: Tab moves, Enter starts, Esc leaves", id="newrun-title")
            with Horizontal(classes="newrun-row"):
                yield Label("Preset", classes="newrun-label")
                yield Select(
                    [(p, p) for p in PRESETS],
                    value=name if name in PRESETS else "blog",
                    allow_blank=False,
                    compact=True,
                    id="newrun-preset",
                )
            with Horizontal(classes="newrun-row"):
                yield Label("Task", classes="newrun-label")
                task = given.get("task", PRESET_TASK)
                if task not in dict(tasks):
                    tasks.append((task, task))  # a package.module:Class reference
                yield Select(tasks, value=task, allow_blank=False, compact=True, id="newrun-task")
            shown = hints(cfg)
            for flag, label in FIELDS:
                with Horizontal(classes="newrun-row"):
                    yield Label(label, classes="newrun-label")
                    yield Input(
                        given.get(flag, ""),
                        placeholder=shown[flag],
                        compact=True,
                        id=f"newrun-{flag}",
                    )
            yield Static("", id="newrun-task-info")
            yield Static("", id="newrun-command")
            yield Label("", id="newrun-error")

    def on_mount(self) -> None:
        self._describe()

    def argv(self) -> list[str]:
        """The ``grutui new`` options the form holds."""
        out = ["--preset", str(self.query_one("#newrun-preset", Select).value)]
        task = str(self.query_one("#newrun-task", Select).value)
        if task != PRESET_TASK:
            out += ["--task", task]
        for flag, _label in FIELDS:
            text = self.query_one(f"#newrun-{flag}", Input).value.strip()
            if not text:
                continue
            if flag == "task-option":
                for item in shlex.split(text):
                    out += ["--task-option", item]
            else:
                out += [f"--{flag}", text]
        if "force" in self._given:
            out.append("--force")
        return out

    def _describe(self) -> None:
        """The task the form would train, the preset's values as hints, and the
        command line that makes the same run."""
        name = str(self.query_one("#newrun-preset", Select).value)
        cfg = preset(name)
        for flag, text in hints(cfg).items():
            self.query_one(f"#newrun-{flag}", Input).placeholder = text
        task = str(self.query_one("#newrun-task", Select).value)
        label = task_label(cfg.task) if task == PRESET_TASK else task
        self.query_one("#newrun-task-info", Static).update(f"task: {label}")
        try:
            line = "grutui new " + shlex.join(self.argv())
        except ValueError as exc:  # an unclosed quote in the task options
            line = f"task options: {exc}"
        self.query_one("#newrun-command", Static).update(line)

    @on(Select.Changed)
    @on(Input.Changed)
    def _changed(self, event: Any) -> None:
        self.query_one("#newrun-error", Label).update("")
        self._describe()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self._checking or self.dismissed:
            return
        try:
            argv = self.argv()
        except ValueError as exc:
            self._refuse(f"task options: {exc}")
            return
        self._checking = True
        self.query_one("#newrun-error", Label).update("checking…")
        self._check(argv)

    @work(thread=True, exclusive=True, group="newrun")
    def _check(self, argv: list[str]) -> None:
        # in a thread: checking may import torch and draw the task's data (seconds)
        from grutui.trainargs import checked_new_run

        try:
            run = checked_new_run(argv)
        except GrutuiError as exc:
            self.app.call_from_thread(self._refuse, str(exc))
            return
        self.app.call_from_thread(self.dismiss, run)

    def _refuse(self, message: str) -> None:
        self._checking = False
        self.query_one("#newrun-error", Label).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)
