"""Command line: ``grutui [open|new|train|info|trace] ...``.

Start-up stays light: torch, rich and textual are imported only by the subcommands
that need them. Every user error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from grutui.core.errors import GrutuiError

EXIT_USAGE = 2
SESSIONS_DIR = Path("sessions")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, no usage dump: the brief asks for a single clear error line
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _fail(message: str) -> int:
    print(f"grutui: error: {message}", file=sys.stderr)
    return EXIT_USAGE


# -- training options shared by `train` and `new` ---------------------------------------

_TRAIN_FLAGS: list[tuple[str, str, type, str]] = [
    # flag, config key, type, help
    ("--hidden", "hidden", int, "hidden size"),
    ("--epochs", "epochs", int, "number of epochs"),
    ("--batch-size", "batch_size", int, "mini-batch size"),
    ("--seed", "seed", int, "random seed (data, init and shuffling)"),
    ("--lr", "lr", float, "Adam learning rate"),
    ("--weight-decay", "weight_decay", float, "Adam weight decay"),
    ("--grad-clip", "grad_clip", float, "max gradient norm (0 disables)"),
    ("--plateau-factor", "plateau_factor", float, "LR-on-plateau factor (0 disables)"),
    ("--plateau-patience", "plateau_patience", int, "LR-on-plateau patience (evaluations)"),
    ("--min-lr", "min_lr", float, "LR-on-plateau floor"),
    ("--eval-every", "eval_every", int, "evaluate the test set every N epochs"),
    ("--snapshot-every", "snapshot_every", int, "weight snapshot stride in epochs"),
    ("--threads", "threads", int, "torch threads (0: all cores)"),
    ("--device", "device", str, "auto, cpu, cuda or cuda:N"),
    ("--init", "init", str, "weight init: blog or torch"),
    ("--task", "task.flavour", str, "task flavour: blog or general"),
    ("--n-samples", "task.n_samples", int, "data set size (train + test)"),
    ("--train-split", "task.train_split", float, "fraction of samples used for training"),
    ("--high", "task.high", int, "values are 0..high-1; the model sees value/high"),
    ("--seq-len", "task.seq_len", int, "blog task: sequence length"),
    ("--min-len", "task.min_len", int, "general task: shortest sequence"),
    ("--max-len", "task.max_len", int, "general task: longest sequence"),
    ("--min-flags", "task.min_flags", int, "general task: fewest flags"),
    ("--max-flags", "task.max_flags", int, "general task: most flags"),
]


def add_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="blog", help="starting configuration (blog, general)")
    for flag, key, typ, help_ in _TRAIN_FLAGS:
        p.add_argument(flag, dest=key, type=typ, default=None, help=help_)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="session directory (default: sessions/PRESET-TIMESTAMP)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing session")


def config_from_args(args: argparse.Namespace) -> Any:
    from grutui.core.config import preset

    cfg = preset(args.preset)
    changes: dict[str, Any] = {}
    for _flag, key, _typ, _help in _TRAIN_FLAGS:
        v = getattr(args, key)
        if v is None:
            continue
        if key in ("grad_clip", "plateau_factor") and v == 0:
            v = None
        changes[key] = v
    cfg = cfg.replace(**changes)
    cfg.validate()
    return cfg


def default_out(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return Path(args.out)
    import time

    return SESSIONS_DIR / f"{args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"


# -- subcommands ---------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    out = default_out(args)
    from grutui.core.headless import train_headless

    return train_headless(cfg, out, overwrite=args.force)


def cmd_info(args: argparse.Namespace) -> int:
    from grutui.core.session import Session

    with Session(args.session) as s:
        info: dict[str, Any] = {
            "session": str(s.dir),
            "created": s.created,
            "config": s.config_dict,
            "members": s.members,
            "epochs_recorded": s.n_epochs,
            "first_epoch": int(s.metrics.epoch[0]) if s.n_epochs else None,
            "last_epoch": s.last_epoch if s.n_epochs else None,
            "snapshots": len(s.snapshot_epochs),
            "parameters": {k: list(v) for k, v in s.param_shapes.items()},
            "final": [s.final_losses(m) for m in range(s.members)],
            "events": len(s.events()),
        }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    cfg = info["config"]
    print(f"session   {info['session']}  (created {info['created']})")
    print(
        f"task      {cfg['task']['flavour']}  hidden={cfg['hidden']}  seed={cfg['seed']}  "
        f"members={info['members']}"
    )
    print(
        f"training  epochs={cfg['epochs']} batch={cfg['batch_size']} lr={cfg['lr']:g} "
        f"wd={cfg['weight_decay']:g} clip={cfg['grad_clip']} eval_every={cfg['eval_every']}"
    )
    print(
        f"recorded  {info['epochs_recorded']} epochs ({info['first_epoch']}..{info['last_epoch']}),"
        f" {info['snapshots']} weight snapshots, {info['events']} events"
    )
    for m, fl in enumerate(info["final"]):
        tag = f"member {m}: " if info["members"] > 1 else ""
        tr, te = fl["train_loss"], fl["test_loss"]
        print(
            f"final     {tag}train loss {_num(tr)} (target/high units)  "
            f"test loss {_num(te)} (raw units)"
        )
    return 0


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6g}"


def cmd_trace(args: argparse.Namespace) -> int:
    from grutui.core.debug import trace_sequence
    from grutui.core.sequence import parse_sequence
    from grutui.core.session import Session

    steps = parse_sequence(args.sequence)
    with Session(args.session) as s:
        epoch = s.resolve_epoch(args.epoch)
        params = s.weights(epoch, args.member)
        st = trace_sequence(params, steps, s.high)
        name = str(s.dir)
    if args.json:
        print(
            json.dumps(
                {"session": name, "epoch": epoch, "member": args.member, **st.to_json()}, indent=2
            )
        )
        return 0
    print(f"{name}  epoch {epoch}  high={st.high}")
    for t in range(len(st)):
        d = st.step_terms(t)
        print(f"t={t}  x=({d['value']:g}, {d['flag']})  h_prev={_vec(d['h_prev'])}")
        for g in ("r", "z"):
            print(
                f"  {g}: input {_vec(d[g]['input'])} + hidden {_vec(d[g]['hidden'])}"
                f" = {_vec(d[g]['pre'])} -> σ = {_vec(d[g]['act'])}"
            )
        n = d["n"]
        print(
            f"  n: input {_vec(n['input'])} + r⊙hidden {_vec(n['gated_hidden'])}"
            f" (hidden {_vec(n['hidden'])}) = {_vec(n['pre'])} -> tanh = {_vec(n['act'])}"
        )
        print(f"  h = (1-z)⊙n + z⊙h_prev = {_vec(d['h'])}")
    print(
        f"output × {st.high} = {st.output_x_high:.6f}   expected {st.expected:g}   "
        f"error {st.output_x_high - st.expected:+.6f}"
    )
    return 0


def _vec(v: list[float]) -> str:
    if len(v) == 1:
        return f"{v[0]:+.6f}"
    inner = " ".join(f"{x:+.4f}" for x in v[:8])
    return f"[{inner}{' …' if len(v) > 8 else ''}]"


def cmd_open(args: argparse.Namespace) -> int:
    from grutui.core.session import Session, find_sessions

    path = args.session
    if path is None:
        found = find_sessions(SESSIONS_DIR)
        if not found:
            return _fail(
                f"no sessions in ./{SESSIONS_DIR}: train one with 'grutui new' or 'grutui train'"
            )
        path = found[0]
    Session(path).close()  # fail fast with a clear line before the UI starts
    from grutui.ui.app import run_app

    return run_app(session=Path(path))


def cmd_new(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    out = default_out(args)
    from grutui.core.session import H5_NAME

    if (out / H5_NAME).exists() and not args.force:
        return _fail(f"session {out} already exists (choose another --out or --force)")
    from grutui.ui.app import run_app

    return run_app(new=(cfg, out, args.force))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="grutui", description="A terminal lab for watching small GRUs learn.")
    from grutui import __version__

    p.add_argument("--version", action="version", version=f"grutui {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    o = sub.add_parser("open", help="open a session in the app (default: the newest)")
    o.add_argument("session", nargs="?", type=Path)
    o.set_defaults(func=cmd_open)

    n = sub.add_parser("new", help="open the app and train a new session")
    add_train_options(n)
    n.set_defaults(func=cmd_new)

    t = sub.add_parser("train", help="train without the UI, with a progress bar")
    add_train_options(t)
    t.set_defaults(func=cmd_train)

    i = sub.add_parser("info", help="config, epochs recorded and final losses of a session")
    i.add_argument("session", type=Path)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    tr = sub.add_parser("trace", help="gate-by-gate trace of a sequence at an epoch")
    tr.add_argument("session", type=Path)
    tr.add_argument("sequence", help='e.g. "12:0 37:1 12:0 21:1"')
    tr.add_argument("--epoch", default="last", help="epoch number, negative from the end, or last")
    tr.add_argument("--member", type=int, default=0, help="ensemble member")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_trace)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["open"])
    try:
        rc: int = args.func(args)
        return rc
    except GrutuiError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
