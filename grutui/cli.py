"""Command line: ``grutui [open|new|train|resume|replay|info|trace|ood|...|export]``.

Start-up stays light: torch, rich and textual are imported only by the subcommands
that need them. Every user error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from grutui.core.errors import ConfigError, GrutuiError
from grutui.core.numfmt import NA, sig
from grutui.trainargs import (
    SESSIONS_DIR,
    add_train_options,
    given_options,
    new_run,
    one_line,
)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, no usage dump, the same prefix as every other error; the help to
        # see is the subcommand's
        self.exit(EXIT_USAGE, f"grutui: error: {one_line(message)} (see {self.prog} --help)\n")


def _fail(message: str) -> int:
    print(f"grutui: error: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


# -- subcommands ---------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    cfg, out = new_run(args)
    if not args.flush_interval >= 0:  # also rejects nan
        raise ConfigError(f"--flush-interval must be >= 0 seconds, got {args.flush_interval}")
    from grutui.core.driver import RunDriver
    from grutui.progress import run_with_progress

    driver = RunDriver.new(
        cfg, out, source="cli", overwrite=args.force, flush_interval=args.flush_interval
    )
    driver.open()
    return run_with_progress(driver, out)


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from grutui.core.device import recorded_device
    from grutui.core.session import Session

    with Session(args.session) as s:
        events = s.events()
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
            "events": len(events),
            "device": recorded_device(events),
            **_history(events),
        }
        classify = s.config.task.output().kind == "classification"
        # the regression losses' units (the blog's); cross-entropy has none
        units = ("target/high units", "raw units")
        if classify:
            units = ("cross-entropy", "cross-entropy")
        acc = s.metrics.test_acc
        last_acc = [
            (float(s.metrics.train_acc[rows[-1], m]), float(acc[rows[-1], m]))
            if len(rows := np.flatnonzero(np.isfinite(acc[:, m])))
            else None
            for m in range(s.members)
        ]
    if info["members"] > 1:
        info["member_summary"] = _member_summary(info, events)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    cfg = info["config"]
    print(f"session   {info['session']}  (created {info['created']})")
    seeds = cfg.get("seeds") or []
    if len(seeds) > 1:
        from grutui.core.config import format_seeds

        seed_text = f"seeds={format_seeds(seeds)}  engine={cfg.get('engine')}"
    else:
        seed_text = f"seed={cfg['seed']}"
    print(
        f"task      {cfg['task'].get('flavour') or cfg['task'].get('name')}  "
        f"hidden={cfg['hidden']}  {seed_text}  "
        f"members={info['members']}"
    )
    print(
        f"training  epochs={cfg['epochs']} batch={cfg['batch_size']} lr={cfg['lr']:g} "
        f"wd={cfg['weight_decay']:g} clip={cfg['grad_clip']} eval_every={cfg['eval_every']}"
    )
    ran = info["device"] or "not recorded"
    print(f"device    {ran}  (requested {cfg['device']}, engine {cfg.get('engine', 'reference')})")
    print(
        f"recorded  {info['epochs_recorded']} epochs ({info['first_epoch']}..{info['last_epoch']}),"
        f" {info['snapshots']} weight snapshots, {info['events']} events"
    )
    if info["resumed_from"]:
        froms = ", ".join(str(e) for e in info["resumed_from"])
        print(f"resumed   {len(info['resumed_from'])}× (from epoch {froms})")
    if info["diverged"] is not None:
        d = info["diverged"]
        print(
            f"stopped   diverged at epoch {d['epoch']} (train loss {d['train_loss']}, "
            f"test loss {d['test_loss']}): the snapshots before it are finite"
        )
    elif info["stopped"] is not None:
        st = info["stopped"]
        extra = f": {st['error']}" if st.get("error") else ""
        print(f"stopped   {st['reason']} after epoch {st['epoch']}{extra}")
    if info["members"] > 1 and not args.members:
        _print_member_summary(info["member_summary"], units)
        return 0
    for m, fl in enumerate(info["final"]):
        tag = f"member {m}: " if info["members"] > 1 else ""
        tr, te = fl["train_loss"], fl["test_loss"]
        print(
            f"final     {tag}train loss {sig(tr, 6, NA)} ({units[0]})  "
            f"test loss {sig(te, 6, NA)} ({units[1]})"
        )
        if (acc_m := last_acc[m]) is not None:
            tr_acc, te_acc = acc_m
            print(f"accuracy  {tag}train {tr_acc:.1%}  test {te_acc:.1%} (last evaluated epoch)")
    return 0


def _few(members: list[int], most: int = 8) -> str:
    return ", ".join(str(m) for m in members[:most]) + (", …" if len(members) > most else "")


def _member_summary(info: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """An ensemble's final losses as distributions: a line per member does not read at
    64 members (``--members`` still lists them)."""
    from grutui.core.analysis.spread import spread
    from grutui.core.config import format_seeds

    k = info["members"]
    seeds = info["config"].get("seeds") or []
    diverged: set[int] = set()
    for ev in events:  # a resume continues from finite snapshots: what came before is gone
        if ev.get("kind") == "resume" and ev.get("source") == "snapshot":
            diverged.clear()
        elif ev.get("kind") == "diverged":
            diverged.update([ev["member"]] if "member" in ev else range(k))
    finals = info["final"]
    diverged.update(m for m, fl in enumerate(finals) if fl["train_loss"] is None)
    return {
        "seeds": format_seeds(seeds) if len(seeds) == k else None,
        "train_loss": spread(fl["train_loss"] for fl in finals).to_json(),
        "test_loss": spread(fl["test_loss"] for fl in finals).to_json(),
        "diverged": sorted(diverged),
    }


def _print_member_summary(summary: dict[str, Any], units: tuple[str, str]) -> None:
    for key, unit in zip(("train_loss", "test_loss"), units, strict=True):
        sp = summary[key]
        name = key.replace("_", " ")
        if not sp["count"]:
            print(f"final     {name}: none finite")
            continue
        print(
            f"final     {name} ({unit}): median {sig(sp['median'], 3)}, "
            f"quartiles {sig(sp['q1'], 3)} .. {sig(sp['q3'], 3)}"
        )
        print(
            f"            min {sig(sp['min'], 3)} (member {sp['argmin']}), "
            f"max {sig(sp['max'], 3)} (member {sp['argmax']})"
            + (f", outliers: members {_few(sp['outliers'])}" if sp["outliers"] else "")
        )
    div = summary["diverged"]
    noun = "member" if len(div) == 1 else "members"
    print(f"diverged  {len(div)} {noun}" + (f" ({_few(div)})" if div else ""))
    print("          (--members lists every member's final losses)")


def _finite(v: Any) -> Any:
    """JSON has no NaN/inf: a non-finite loss is shown as its name."""
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def _history(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Divergence, stops and resumes from the event log, for ``info``."""
    diverged = None
    stopped = None
    resumed: list[Any] = []
    for ev in events:
        kind = ev.get("kind")
        if kind == "diverged":
            diverged = {k: _finite(ev.get(k)) for k in ("epoch", "train_loss", "test_loss")}
        elif kind == "stop" and ev.get("reason") != "diverged":
            stopped = {k: ev.get(k) for k in ("epoch", "reason", "error")}
        elif kind == "resume" and ev.get("source") == "snapshot":
            resumed.append(ev.get("from_epoch", ev.get("epoch")))
            diverged = stopped = None  # what came before was continued
        elif kind == "finish":
            stopped = None
    return {"diverged": diverged, "stopped": stopped, "resumed_from": resumed}


def cmd_trace(args: argparse.Namespace) -> int:
    from grutui.core.debug import check_trace_json_size, read_sequence, trace_typed
    from grutui.core.session import Session
    from grutui.core.tasks import task_label

    with Session(args.session) as s:
        task = s.config.task
        seq = read_sequence(task, args.sequence)  # the task's syntax and vocabulary
        if args.json:
            inputs = 0 if seq.steps is not None else int(seq.typed.x.shape[-1])
            check_trace_json_size(len(seq), s.config.hidden, inputs)
        epoch = s.resolve_epoch(args.epoch)
        st = trace_typed(s.weights(epoch, args.member), task, seq)
        name = str(s.dir)
    if args.json:
        head: dict[str, Any] = {"session": name, "epoch": epoch, "member": args.member}
        if not st.adding:
            head["task"] = task_label(task)
        print(json.dumps({**head, **st.to_json()}, indent=2))
        return 0
    print(f"{name}  epoch {epoch}  " + (f"high={st.high}" if st.adding else task_label(task)))
    for t in range(len(st)):
        d = st.step_terms(t)
        print(f"t={t}  x=({st.inputs_text(t)})  h_prev={_vec(d['h_prev'])}")
        if st.token_columns(t):  # a one-hot input's term is the weight column it selects
            print(f"  input terms: {st.input_term_label(t)}")
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
    if st.classification:
        top = ", ".join(f"{c} {p:.4f}" for c, p in st.top())
        print(
            f"predicted {st.predicted}   expected {int(st.expected)}   top {len(st.top())}: {top}"
        )
        return 0
    for k, (v, e) in enumerate(zip(st.scaled, st.expected_all, strict=True)):
        what = "output" if len(st.scaled) == 1 else f"output {k + 1}"
        if st.adding or st.out.scale != 1:
            what += f" × {st.high if st.adding else f'{st.out.scale:g}'}"
        print(f"{what} = {float(v):.6f}   expected {e:g}   error {float(v) - e:+.6f}")
    return 0


def _vec(v: list[float]) -> str:
    if len(v) == 1:
        return f"{v[0]:+.6f}"
    inner = " ".join(f"{x:+.4f}" for x in v[:8])
    return f"[{inner}{' …' if len(v) > 8 else ''}]"


def cmd_open(args: argparse.Namespace) -> int:
    from grutui.core.paths import find_sessions
    from grutui.core.session import open_growing

    path = args.session
    if path is None:
        found = find_sessions(SESSIONS_DIR)
        if not found:
            return _fail(
                f"no sessions in ./{SESSIONS_DIR}: train one with 'grutui new' or 'grutui train'"
            )
        path = found[0]
    session = open_growing(path)  # fail fast with a clear line before the UI starts
    if session is not None:  # None: a run is creating it, the app waits for it
        session.close()
    from grutui.ui.app import run_app

    return run_app(session=Path(path))


def cmd_new(args: argparse.Namespace) -> int:
    if args.form:
        from grutui.ui.app import run_app

        return run_app(form=given_options(args))
    cfg, out = new_run(args)
    from grutui.core.paths import H5_NAME

    if (out / H5_NAME).exists() and not args.force:
        return _fail(f"session {out} already exists (choose another --out or --force)")
    from grutui.ui.app import run_app

    return run_app(new=(cfg, out, args.force))


def cmd_resume(args: argparse.Namespace) -> int:
    from grutui.core.driver import RunDriver
    from grutui.progress import run_with_progress

    path = Path(args.session)
    driver = RunDriver.resume(path, args.epochs)
    driver.open()
    return run_with_progress(driver, path)


def parse_speed(text: str) -> float | None:
    """``--speed``: ``auto`` (None: the timeline's default) or a positive factor."""
    if text == "auto":
        return None
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"--speed must be a positive number or 'auto', got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise ConfigError(f"--speed must be a positive number or 'auto', got {text!r}")
    return v


def cmd_replay(args: argparse.Namespace) -> int:
    from grutui.core.replay import Timeline
    from grutui.core.session import Session

    speed = parse_speed(args.speed)
    with Session(args.session) as s:  # fail fast with a clear line before the UI starts
        timeline = Timeline.from_session(s)
    if speed is None:
        speed = timeline.default_speed
    from grutui.ui.app import run_app

    return run_app(session=Path(args.session), replay=speed)


# -- analyses ---------------------------------------------------------------------------


def _positive(name: str, v: int) -> None:
    if v < 1:
        raise ConfigError(f"{name} must be at least 1, got {v}")


def cmd_ood(args: argparse.Namespace) -> int:
    from grutui.core.analysis.history import format_history, ood_history
    from grutui.core.analysis.ood import format_grid, ood_at, ood_unavailable
    from grutui.core.session import Session

    _positive("--samples", args.samples)
    _positive("--stride", args.stride)
    with Session(args.session) as s:
        reason = ood_unavailable(s.config.task)
        if reason is not None:
            raise ConfigError(f"no out-of-distribution grid: {reason}")
        name = str(s.dir)
        if args.history:
            hist = ood_history(s, args.member, args.samples, args.seed, args.stride)
        else:
            res = ood_at(s, args.epoch, args.member, args.samples, args.seed)
    if args.history:
        if args.json:
            print(json.dumps({"session": name, **hist.to_json()}))
        else:
            print(f"{name}  member {args.member}")
            print(format_history(hist))
        return 0
    if args.json:
        print(json.dumps({"session": name, **res.to_json()}, indent=2))
        return 0
    print(f"{name}  epoch {res.epoch}  member {res.member}")
    print(format_grid(res))
    return 0


def cmd_transitions(args: argparse.Namespace) -> int:
    from grutui.core.analysis.history import ood_history
    from grutui.core.analysis.ood import ood_unavailable
    from grutui.core.analysis.transitions import accuracy_gap, find_transitions
    from grutui.core.session import Session

    if not args.sigma >= 0:
        raise ConfigError(f"--sigma must be >= 0, got {args.sigma}")
    _positive("--top", args.top)
    _positive("--samples", args.samples)
    with Session(args.session) as s:
        hist = None
        # a task without generalisation axes has no OOD grid to watch
        ood = not args.no_ood and ood_unavailable(s.config.task) is None
        if ood and len(s.snapshot_epochs) > 1:
            stride = args.ood_stride or max(1, math.ceil(len(s.snapshot_epochs) / 100))
            _positive("--ood-stride", stride)
            hist = ood_history(s, args.member, args.samples, 0, stride)
        found = find_transitions(
            s, args.member, args.sigma, hist, args.top, min_score=args.min_score
        )
        gap = accuracy_gap(s, args.member)  # classification only
        name = str(s.dir)
    if args.json:
        out: dict[str, Any] = {
            "session": name,
            "member": args.member,
            "sigma": args.sigma,
            "ood_epochs_evaluated": len(hist) if hist is not None else 0,
            "transitions": [t.to_json() for t in found],
        }
        if gap is not None:
            out["accuracy_gap"] = gap.to_json()
        print(json.dumps(out, indent=2))
        return 0
    print(f"{name}  member {args.member}  σ={args.sigma:g}  {len(found)} candidates")
    if gap is not None:
        print(gap.describe())
    for t in found:
        print(f"{t.epoch:>7}  {t.kind:<16} {sig(t.score, 6, NA):>10}  {t.detail}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from grutui.core.analysis.compare import compare_members
    from grutui.core.session import Session

    _positive("--samples", args.samples)
    with Session(args.session) as s:
        comp = compare_members(s, args.epoch, args.samples)
        name = str(s.dir)
    if args.json:
        print(json.dumps({"session": name, **comp.to_json()}, indent=2))
        return 0
    print(f"{name}  epoch {comp.epoch}  {comp.members} members")
    for m, fl in enumerate(comp.final_losses):
        ood = f"  OOD mean success {float(comp.ood[m].success.mean()):.2f}" if comp.ood else ""
        print(
            f"member {m}: train loss {sig(fl['train_loss'], 6, NA)}"
            f"  test loss {sig(fl['test_loss'], 6, NA)}{ood}"
        )
    if comp.ood:
        spread = comp.ood_spread()
        print(f"OOD success spread across members: mean std {float(spread.mean()):.3f}")
    else:
        print(f"no OOD comparison: {comp.no_ood}")
    print("weight distance  (raw / aligned over permutations and sign flips / random baseline)")
    for p in comp.pairs:
        print(f"  {p.a} vs {p.b}: {p.raw:.4g} / {p.aligned:.4g} / {p.baseline:.4g}  ({p.method})")
    return 0


def cmd_degeneracy(args: argparse.Namespace) -> int:
    from grutui.core.analysis.degeneracy import (
        LEVELS,
        DegeneracyAnalysis,
        degeneracy_history,
    )
    from grutui.core.session import Session

    _positive("--stride", args.stride)
    with Session(args.session) as s:
        an = DegeneracyAnalysis(s)
        name = str(s.dir)
        if args.history:
            hist = degeneracy_history(s, args.stride, analysis=an)
            if args.json:
                print(json.dumps({"session": name, **hist.to_json()}))
                return 0
            print(f"{name}  {s.members} members  each level's mean over epochs (× random)")
            print(f"{'epoch':>7}  " + "  ".join(f"{n:>16}" for n in LEVELS))
            for e, m, b in zip(hist.epochs, hist.means, hist.baselines, strict=True):
                cells = [
                    f"{sig(float(v), 4, NA):>8} ×{float(v / r):<6.2f}"
                    for v, r in zip(m, b, strict=True)
                ]
                print(f"{int(e):>7}  " + "  ".join(cells))
            return 0
        res = an.at(args.epoch)
    if args.json:
        print(json.dumps({"session": name, **res.to_json()}, indent=2))
        return 0
    print(f"{name}  epoch {res.epoch}  {res.members} members")
    for lv in res.levels.values():
        print(f"{lv.summary()}  [{lv.measure}]")
    return 0


def _epoch_option(p: argparse.ArgumentParser) -> None:
    """``--epoch``: which epoch a command reads (``Session.resolve_epoch``)."""
    p.add_argument("--epoch", default="last", help="epoch number, negative from the end, or last")


def _member_option(p: argparse.ArgumentParser) -> None:
    """``--member``: which ensemble member a command reads."""
    p.add_argument("--member", type=int, default=0, help="ensemble member")


def _degeneracy_parser(sub: Any) -> None:
    dg = sub.add_parser(
        "degeneracy",
        help="how alike an ensemble's members are: behaviour, dynamics (DSA), weights",
    )
    dg.add_argument("session", type=Path)
    _epoch_option(dg)
    dg.add_argument(
        "--history",
        action="store_true",
        help="each level's mean at every snapshot (cached in SESSION/analysis.h5)",
    )
    dg.add_argument("--stride", type=int, default=1, help="with --history: every Nth snapshot")
    dg.add_argument("--json", action="store_true")
    dg.set_defaults(func=cmd_degeneracy)


def cmd_fourier(args: argparse.Namespace) -> int:
    """The token embedding's Fourier spectrum at an epoch, and each frequency's start
    beside its fate (the survival history, cached in SESSION/analysis.h5)."""
    import numpy as np

    from grutui.core.analysis.fourier import fourier_at, require_columns, survival_history
    from grutui.core.session import Session

    with Session(args.session) as s:
        require_columns(s.config)  # a task without tokens: one line before any work
        s.check_member(args.member)
        spec = fourier_at(s, args.epoch, args.member)
        surv = survival_history(s, args.member)
        name = str(s.dir)
    if args.json:
        out: dict[str, Any] = {"session": name, **spec.to_json()}
        ranking = [r.to_json() for r in surv.ranking()]
        out["survival"] = {
            "first_epoch": int(surv.epochs[0]),
            "last_epoch": int(surv.epochs[-1]),
            "snapshots": len(surv),
            "summary": surv.summary(),
            "ranking": ranking,
        }
        if args.history:
            out["survival"]["epochs"] = [int(e) for e in surv.epochs]
            out["survival"]["signal"] = surv.to_json()["signal"]
        print(json.dumps(out, indent=2))
        return 0
    print(f"{name}  epoch {spec.epoch}  member {spec.member}  p={spec.vocab}")
    finite = spec.signal[np.isfinite(spec.signal)]
    top = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    for k, v, c in zip(spec.frequencies, spec.signal, spec.circles, strict=True):
        bar = "█" * round(30 * float(v) / top) if math.isfinite(v) else "?"
        print(f"k={k:<4} S {sig(float(v), 4):>10} {'●' if c else ' '} {bar}")
    circles = ", ".join(str(k) for k in spec.circle_frequencies) or "none"
    print(f"circles (S > 2×mean = {sig(spec.threshold, 4)}): {circles}")
    summ = surv.summary()
    n = summ["circles_at_end"]
    print(
        f"survival over snapshots {int(surv.epochs[0])}..{int(surv.epochs[-1])}: "
        f"{summ['circles_at_start']} circles at the start, {n} at the last snapshot"
    )
    if n:
        print(
            f"survivors among the {n} strongest at the start: by signal "
            f"{summ['survivors_in_top_signal']}, by gradient {summ['survivors_in_top_gradient']}"
            f" (chance {summ['chance']:.2f})"
        )
    rho = {
        k: "n/a" if summ[k] is None else f"{summ[k]:+.2f}"
        for k in ("spearman_signal", "spearman_gradient")
    }
    print(
        "rank correlation with the last signal (Spearman): initial signal "
        f"{rho['spearman_signal']}, initial gradient {rho['spearman_gradient']}"
    )
    print("rank    k    S start   gradient g.rank     growth     S last  fate")
    for r in surv.ranking():
        fate = "survived" if r.survived else "died" if r.circle_at_start else "-"
        print(
            f"{r.signal_rank:>4} {r.k:>4} {sig(r.initial_signal, 4):>10} "
            f"{sig(r.initial_gradient, 4):>10} {r.gradient_rank:>6} {sig(r.initial_growth, 3):>10} "
            f"{sig(r.final_signal, 4):>10}  {fate}"
        )
    return 0


def _fourier_parser(sub: Any) -> None:
    fo = sub.add_parser(
        "fourier", help="Fourier circles of the token embedding at an epoch, and their survival"
    )
    fo.add_argument("session", type=Path)
    _epoch_option(fo)
    _member_option(fo)
    fo.add_argument(
        "--history", action="store_true", help="with --json: the signal at every snapshot too"
    )
    fo.add_argument("--json", action="store_true")
    fo.set_defaults(func=cmd_fourier)


def cmd_import_blog(args: argparse.Namespace) -> int:
    from grutui.core.interop import import_blog

    out = args.out or SESSIONS_DIR / f"blog-{Path(args.dir).resolve().name}"
    path = import_blog(args.dir, out, pth=args.pth, overwrite=args.force)
    print(f"imported {args.dir} into {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from grutui.core.interop import export_csv
    from grutui.core.session import Session

    with Session(args.session) as s:
        export_csv(s, args.csv)
    return 0


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
    n.add_argument(
        "--form",
        action="store_true",
        help="choose the task, preset and options in a form first (the options given fill it)",
    )
    n.set_defaults(func=cmd_new)

    t = sub.add_parser("train", help="train without the UI, with a progress bar")
    add_train_options(t)
    t.add_argument(
        "--flush-interval",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="write epochs in blocks at most this far apart (0: every epoch); "
        "a killed run loses at most the epochs of the last interval",
    )
    t.set_defaults(func=cmd_train)

    rs = sub.add_parser("resume", help="continue a stopped or killed run from its last saved state")
    rs.add_argument("session", type=Path)
    rs.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="new total number of epochs (default: the session's own)",
    )
    rs.set_defaults(func=cmd_resume)

    rp = sub.add_parser("replay", help="replay a recorded session in the app")
    rp.add_argument("session", type=Path)
    rp.add_argument(
        "--speed",
        default="auto",
        help="replay speed factor, or auto (a whole run in about 45 s, never slower than 1)",
    )
    rp.set_defaults(func=cmd_replay)

    i = sub.add_parser("info", help="config, epochs recorded and final losses of a session")
    i.add_argument("session", type=Path)
    i.add_argument("--json", action="store_true")
    i.add_argument(
        "--members",
        action="store_true",
        help="an ensemble's final losses member by member (default: a summary)",
    )
    i.set_defaults(func=cmd_info)

    tr = sub.add_parser("trace", help="gate-by-gate trace of a sequence at an epoch")
    tr.add_argument("session", type=Path)
    tr.add_argument(
        "sequence",
        help='in the task\'s syntax: "12:0 37:1 12:0 21:1" (adding), "3 5" (modadd), '
        '"+1 0 -1; 0 0 0" (flipflop)',
    )
    _epoch_option(tr)
    _member_option(tr)
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_trace)

    od = sub.add_parser("ood", help="out-of-distribution grid over the task's axes at an epoch")
    od.add_argument("session", type=Path)
    _epoch_option(od)
    _member_option(od)
    od.add_argument("--samples", type=int, default=200, help="sequences per cell")
    od.add_argument("--seed", type=int, default=0, help="seed of the grid's sample")
    od.add_argument(
        "--history",
        action="store_true",
        help="the grid at every snapshot (cached in SESSION/analysis.h5) instead of one epoch",
    )
    od.add_argument("--stride", type=int, default=1, help="with --history: every Nth snapshot")
    od.add_argument("--json", action="store_true")
    od.set_defaults(func=cmd_ood)

    tn = sub.add_parser("transitions", help="candidate transitions in training, with evidence")
    tn.add_argument("session", type=Path)
    tn.add_argument("--sigma", type=float, default=5.0, help="Gaussian smoothing σ in epochs")
    _member_option(tn)
    tn.add_argument("--top", type=int, default=8, help="candidates kept per detector")
    tn.add_argument(
        "--min-score",
        type=float,
        default=2.0,
        help="keep curvature/velocity peaks at least this many times their median",
    )
    tn.add_argument("--samples", type=int, default=200, help="OOD sequences per cell")
    tn.add_argument(
        "--ood-stride", type=int, default=0, help="OOD grid every N snapshots (0: about 100)"
    )
    tn.add_argument("--no-ood", action="store_true", help="skip the OOD-jump detector")
    tn.add_argument("--json", action="store_true")
    tn.set_defaults(func=cmd_transitions)

    cp = sub.add_parser("compare", help="compare the members of an ensemble session")
    cp.add_argument("session", type=Path)
    _epoch_option(cp)
    cp.add_argument("--samples", type=int, default=200, help="OOD sequences per cell")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)

    _degeneracy_parser(sub)
    _fourier_parser(sub)

    ib = sub.add_parser("import-blog", help="turn the blog's output files into a session")
    ib.add_argument("dir", type=Path, help="directory with train_losses.json etc.")
    ib.add_argument("--out", type=Path, default=None, help="session directory")
    ib.add_argument("--pth", type=Path, default=None, help="final state dict (default: *.pth)")
    ib.add_argument("--force", action="store_true", help="overwrite an existing session")
    ib.set_defaults(func=cmd_import_blog)

    ex = sub.add_parser("export", help="export a session's per-epoch metrics")
    ex.add_argument("session", type=Path)
    ex.add_argument("--csv", required=True, help="CSV file to write (- for stdout)")
    ex.set_defaults(func=cmd_export)
    return p


# what a user sets to choose OpenBLAS's threads; then grutui leaves them alone
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """numpy's and scipy's OpenBLAS on one thread, unless the user chose: the analyses
    multiply many small matrices, which its threads only slow down (measured on the
    2-core VM under load: degeneracy traces 30 s on its default threads against 0.75 s
    on one, the OOD grid at hidden 64 132 against 80 ms). OpenBLAS reads the variable
    when it loads, so this runs before anything imports numpy; torch's threads are its
    own (``TrainConfig.threads``)."""
    if not any(os.environ.get(v) for v in BLAS_THREAD_VARS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()
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
    except BrokenPipeError:
        return _closed_pipe()


EXIT_PIPE = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


def _closed_pipe() -> int:
    """The reader of stdout went away (``grutui info --json | head``): nothing more can
    be said there, so end quietly with the status a SIGPIPE'd command gives. Python's
    recipe: point stdout at devnull so the flush at exit does not raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (tests capture it)
        pass
    return EXIT_PIPE
