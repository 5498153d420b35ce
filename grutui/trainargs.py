"""The training options ``grutui train`` and ``grutui new`` share, and the run they
describe: flags to a checked config and session directory. The app's new-run form
submits through ``checked_new_run``, so a form and a command line are refused alike.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from grutui.core.errors import ConfigError

if TYPE_CHECKING:  # imported lazily: grutui info must start light
    from grutui.core.config import TrainConfig

SESSIONS_DIR = Path("sessions")


def one_line(message: str) -> str:
    """A message stays one line even when it quotes a path or value the user typed with
    a line break in it."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


class _CheckingParser(argparse.ArgumentParser):
    """The options parsed for a form: a bad value is a ``ConfigError`` to show beside
    the form, not an exit."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(one_line(message))


# -- training options shared by `train` and `new` ---------------------------------------

TRAIN_FLAGS: list[tuple[str, str, type, str]] = [
    # flag, config key, type, help
    ("--hidden", "hidden", int, "hidden size"),
    ("--epochs", "epochs", int, "number of epochs"),
    ("--batch-size", "batch_size", int, "mini-batch size"),
    ("--seed", "seed", int, "random seed (data, init and shuffling)"),
    ("--lr", "lr", float, "Adam learning rate"),
    ("--weight-decay", "weight_decay", float, "Adam weight decay"),
    ("--optimizer", "optimizer", str, "adam (weight decay as L2, the blog's) or adamw (decoupled)"),
    ("--betas", "betas", str, "Adam's betas, e.g. 0.9,0.98"),
    ("--grad-clip", "grad_clip", float, "max gradient norm (0 disables)"),
    ("--plateau-factor", "plateau_factor", float, "LR-on-plateau factor (0 disables)"),
    ("--plateau-patience", "plateau_patience", int, "LR-on-plateau patience (evaluations)"),
    ("--min-lr", "min_lr", float, "LR-on-plateau floor"),
    ("--eval-every", "eval_every", int, "evaluate the test set every N epochs"),
    ("--snapshot-every", "snapshot_every", int, "weight snapshot stride in epochs"),
    ("--threads", "threads", int, "torch threads (0: all cores; fast engine: 1 for small models)"),
    ("--device", "device", str, "auto (CPU for small runs, else CUDA if present), cpu, cuda[:N]"),
    ("--init", "init", str, "weight init: blog or torch"),
    ("--engine", "engine", str, "trainer: fast (default) or reference (the blog's loop, exactly)"),
    ("--seeds", "seeds", str, "ensemble seeds, e.g. 0-63, 0,3,7 or 0-7,12 (implies --engine fast)"),
    ("--task", "task", str, "TASK"),  # help: _task_help(), found when the parser is built
    ("--n-samples", "task.n_samples", int, "data set size (train + test)"),
    ("--train-split", "task.train_split", float, "fraction of samples used for training"),
    ("--high", "task.high", int, "values are 0..high-1; the model sees value/high"),
    ("--seq-len", "task.seq_len", int, "blog task: sequence length"),
    ("--min-len", "task.min_len", int, "general task: shortest sequence"),
    ("--max-len", "task.max_len", int, "general task: longest sequence"),
    ("--min-flags", "task.min_flags", int, "general task: fewest flags"),
    ("--max-flags", "task.max_flags", int, "general task: most flags"),
]


def _task_help() -> str:
    from grutui.core.tasks import task_names

    return (
        "the task: blog or general (the adding problem's flavours, also adding.blog, "
        f"adding.general), a task by name ({', '.join(task_names())}) or "
        "package.module:Class; installed packages add names through the grutui.tasks "
        "entry-point group"
    )


def add_train_options(p: argparse.ArgumentParser) -> None:
    from grutui.core.config import PRESETS

    p.add_argument(
        "--preset", default="blog", help=f"starting configuration ({', '.join(PRESETS)})"
    )
    for flag, key, typ, help_ in TRAIN_FLAGS:
        p.add_argument(
            flag, dest=key, type=typ, default=None, help=_task_help() if key == "task" else help_
        )
    p.add_argument(
        "--task-option",
        dest="task_options",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="set one of the task's options (VALUE read as JSON, else as text); repeatable",
    )
    p.add_argument(
        "--out",
        default=None,
        help="session directory (default: sessions/PRESET-TIMESTAMP)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing session")


def config_from_args(args: argparse.Namespace) -> Any:
    from grutui.core.config import preset

    cfg = preset(args.preset)
    if args.task is not None:
        cfg = cfg.replace(task=_task_from_arg(args.task, cfg.task))
    changes: dict[str, Any] = {}
    for _flag, key, _typ, _help in TRAIN_FLAGS:
        v = getattr(args, key)
        if v is None or key == "task":
            continue
        if key in ("grad_clip", "plateau_factor") and v == 0:
            v = None
        changes[key] = v
    if "betas" in changes:
        try:
            changes["betas"] = tuple(float(b) for b in changes["betas"].split(","))
        except ValueError:
            raise ConfigError(
                f"--betas wants two numbers such as 0.9,0.98, got {changes['betas']!r}"
            ) from None
    if "seeds" in changes:
        from grutui.core.config import parse_seeds

        seeds = parse_seeds(changes["seeds"])
        changes["seeds"] = seeds
        changes.setdefault("seed", seeds[0])  # what `info` and one-member tools show
        if len(seeds) > 1:
            changes.setdefault("engine", "fast")  # only the fast engine trains ensembles
    from grutui.core.tasks import AddingTask, foreign_fields, task_label

    given = [k.removeprefix("task.") for k in changes if k.startswith("task.")]
    if given and not isinstance(cfg.task, AddingTask):
        flag = "--" + given[0].replace("_", "-")
        raise ConfigError(
            f"{flag} is an option of the adding problem, not of task {task_label(cfg.task)!r}: "
            "use --task-option KEY=VALUE"
        )
    cfg = cfg.replace(**changes)
    if isinstance(cfg.task, AddingTask):
        for name in foreign_fields(cfg.task.flavour, given):
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{flag} does not apply to the {cfg.task.flavour} task (it is ignored there): "
                "drop it, or choose the other task with --task or --preset"
            )
    if args.task_options:
        cfg = cfg.replace(task=_task_options(cfg.task, args.task_options))
    cfg.validate()
    if not isinstance(cfg.task, AddingTask):
        from grutui.core.tasks import make_datasets

        make_datasets(cfg.task, cfg.member_seeds[0])  # a broken task fails here, in one line
    from grutui.core.resources import check_memory

    on_gpu = False
    if cfg.device != "cpu":  # a missing GPU, or one too small: fail before a session exists
        from grutui.core.device import resolve_device

        device = resolve_device(cfg)
        on_gpu = device.type == "cuda"
        if cfg.engine == "fast":
            from grutui.core.fast import check_fits

            check_fits(cfg, device)
    check_memory(cfg, on_gpu=on_gpu)  # main memory: data generation, and all on a CPU
    return cfg


def _task_from_arg(name: str, current: Any) -> Any:
    """``--task``: an adding flavour (``blog``, ``general``, ``adding.FLAVOUR``) keeps the
    preset's other task options; any other name is that task with its defaults."""
    from dataclasses import replace

    from grutui.core.tasks import AddingTask, make_task

    base, _, flavour = name.partition(".")
    if name in ("blog", "general") or (base == "adding" and flavour):
        adding = current if isinstance(current, AddingTask) else AddingTask()
        return replace(adding, flavour=flavour or name)  # type: ignore[arg-type]  # validated
    if name == "adding":
        return current if isinstance(current, AddingTask) else AddingTask()
    return make_task(name)


def _task_options(task: Any, items: list[str]) -> Any:
    """``--task-option KEY=VALUE`` pairs applied to ``task`` through its ``from_dict``
    (so the task checks them as it checks a stored config)."""
    from grutui.core.tasks import make_task, task_ref

    options = dict(task.to_dict())
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--task-option wants KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return make_task(task_ref(task), options)


def default_out(args: argparse.Namespace) -> Path:
    """The new session's directory, refused up front where none can be created."""
    from grutui.core.paths import check_new_session_dir

    if args.out is not None:
        return check_new_session_dir(args.out)
    import time

    return check_new_session_dir(SESSIONS_DIR / f"{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}")


def new_run(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """A new run's config and directory, every refusal made before anything is created
    (``grutui train`` and ``grutui new`` alike)."""
    cfg = config_from_args(args)
    out = default_out(args)
    from grutui.core.resources import check_disk

    check_disk(cfg, out)
    return cfg, out


def checked_new_run(argv: list[str]) -> tuple[TrainConfig, Path, bool]:
    """``grutui new ARGV``'s run (config, directory, overwrite), checked as the command
    line checks it: the app's new-run form submits through here. ``ConfigError`` (a
    ``GrutuiError``) for anything the command line would refuse."""
    parser = _CheckingParser(prog="grutui new")
    add_train_options(parser)
    args = parser.parse_args(argv)
    cfg, out = new_run(args)
    return cfg, out, args.force


def given_options(args: argparse.Namespace) -> dict[str, str]:
    """The training options given on the command line, as the form's field texts."""
    given = {"preset": args.preset}
    for flag, key, _typ, _help in TRAIN_FLAGS:
        v = getattr(args, key)
        if v is not None:
            given[flag.removeprefix("--")] = str(v)
    if args.task_options:
        given["task-option"] = " ".join(args.task_options)
    if args.out is not None:
        given["out"] = str(args.out)
    if args.force:
        given["force"] = "yes"
    return given
