"""The run's report: JSON for machines, Markdown for people, PNG charts and snapshots."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from protocol import messages as m
from simulator import plot
from simulator.bot import Bot
from simulator.runner import RunResult
from simulator.snapshot import render_view
from simulator.verdict import MAX_FREEZE_S, MediaSession
from simulator.world import World

LATENCY_TARGET_MS = 50.0


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    out: dict[str, Any] = {"samples": len(ms)}
    for name, q in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)):
        v = _pct(ms, q)
        out[name] = None if v is None else round(v, 2)
    return out


def rates(series: list[tuple[float, int, int]]) -> list[tuple[float, float, float]]:
    """(t, kB/s in, kB/s out) between consecutive traffic samples."""
    out: list[tuple[float, float, float]] = []
    for (t0, i0, o0), (t1, i1, o1) in itertools.pairwise(series):
        dt = t1 - t0
        if dt > 0:
            out.append(
                (round(t1, 3), round((i1 - i0) / dt / 1000, 2), round((o1 - o0) / dt / 1000, 2))
            )
    return out


def cpu_percent(series: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for (t0, c0), (t1, c1) in itertools.pairwise(series):
        if t1 > t0:
            out.append((round(t1, 3), round(100 * (c1 - c0) / (t1 - t0), 1)))
    return out


def cpu_json(world: World, mode: str) -> dict[str, Any]:
    """What the CPU series measured, and its mean and peak in percent of one core."""
    series = world.series.cpu
    percent = cpu_percent(series)
    mean = None
    if len(series) >= 2 and series[-1][0] > series[0][0]:
        (t0, c0), (t1, c1) = series[0], series[-1]
        mean = round(100 * (c1 - c0) / (t1 - t0), 1)
    # Against --url the server is not a process of ours: its /proc is not ours to read (and
    # may be on another machine).
    where = "not measured (remote server)" if mode == "sockets" else "not measured"
    return {
        "measures": world.cpu_source or where,
        "percent_of_a_core": percent,
        "mean_pct": mean,
        "peak_pct": max((c for _, c in percent), default=None),
    }


def cpu_line(cpu: dict[str, Any]) -> str:
    if cpu.get("mean_pct") is None:
        return str(cpu["measures"])
    return (
        f"{cpu['mean_pct']:.0f}% of a core on average, peak {cpu['peak_pct']:.0f}% "
        f"({cpu['measures']})"
    )


def to_json(result: RunResult, files: dict[str, str] | None = None) -> dict[str, Any]:
    s, world, verdict = result.scenario, result.world, result.verdict
    layout_used = world.server_layout or world.layout.name
    bots = []
    for bot in world.bots.values():
        bots.append(
            {
                "name": bot.name,
                "role": bot.spec.role,
                "device": bot.spec.device,
                "hz": round(bot.hz, 1),
                "connections": bot.connections,
                "reliable_received": bot.ledger.received,
                "last_seq": bot.ledger.last_seq,
                "errors": [{"code": e.code, "msg": e.msg} for _, e in bot.errors],
                "closes": [
                    {"code": c.code, "reason": c.reason, "expected": c.expected} for c in bot.closes
                ],
                "poses_sent": bot.poses_sent,
                "bytes_in": bot.bytes_in,
                "bytes_out": bot.bytes_out + getattr(bot.link, "bytes_out", 0),
                "max_speed_m_s": round(bot.max_speed, 3),
            }
        )
        if bot.spec.thin:
            bots[-1]["media"] = media_json(bot, world)
    return {
        "scenario": s.name,
        "title": s.title,
        "source": s.source,
        "layout": s.layout,
        "layout_used": layout_used,
        "room": world.room_id,
        "mode": result.mode,
        "seed": result.seed,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(result.duration, 3),
        "clock": "virtual" if result.mode == "in-process" else "real",
        "verdict": {
            "ok": verdict.ok,
            "by_kind": verdict.by_kind(),
            "findings": [
                {"kind": f.kind, "step": f.step, "message": f.message} for f in verdict.findings
            ],
        },
        "steps": [
            {
                "index": r.index,
                "do": r.kind,
                "label": r.label,
                "at_s": round(r.started, 3),
                "took_s": round(r.took, 3),
                "status": r.status,
                "detail": r.detail,
            }
            for r in result.steps
        ],
        "checkpoints": [
            {
                "name": c.name,
                "step": c.step,
                "at_s": round(c.at, 3),
                "converged": c.converged,
                "took_s": round(c.took, 3),
                "bots": c.bots,
                "digest": c.digest,
                "compared_with": c.compared_with,
                "problems": c.problems,
            }
            for c in result.checkpoints
        ],
        "bots": bots,
        "latency_ms": latency_summary(world.series.latencies),
        "timings_s": {
            k: {"n": len(v), "mean": round(sum(v) / len(v), 4), "max": round(max(v), 4)}
            for k, v in result.timings.items()
            if v
        },
        "bandwidth_kB_s": rates(world.series.traffic),
        "cpu": cpu_json(world, result.mode),
        "notes": world.notes,
        "files": files or {},
    }


def media_json(bot: Bot, world: World) -> dict[str, Any]:
    """A thin bot's media: totals over its connections, and each connection's peer."""
    sessions = bot.media_sessions
    firsts = [s.first_frame_s for s in sessions if s.first_frame_s is not None]
    heard: dict[str, int] = {}
    for s in sessions:
        for src, frames in s.audio_frames.items():
            who = _source_name(src, bot, world)
            heard[who] = heard.get(who, 0) + frames
    return {
        "view_frames": sum(s.view_frames for s in sessions),
        "first_frame_s": round(firsts[0], 3) if firsts else None,
        "longest_freeze_s": round(max((s.longest_freeze_s for s in sessions), default=0.0), 3),
        "freezes": sum(s.freezes for s in sessions),
        "view_sizes": sorted({f"{w}x{h}" for s in sessions for w, h in s.view_sizes}),
        "audio_frames": heard,
        "poses_on_channel": sum(s.poses_on_channel for s in sessions),
        "sends_audio": any(s.speaks for s in sessions),
        "sessions": [_session_json(s, bot, world) for s in sessions],
    }


def _session_json(s: MediaSession, bot: Bot, world: World) -> dict[str, Any]:
    return {
        "connection": s.connection,
        "member": s.member,
        "opened_at_s": round(s.opened_at, 3),
        "ended_at_s": round(s.ended_at, 3),
        "view_frames": s.view_frames,
        "first_frame_s": None if s.first_frame_s is None else round(s.first_frame_s, 3),
        "longest_freeze_s": round(s.longest_freeze_s, 3),
        "freezes": s.freezes,
        "audio": {
            src: {
                "from": _source_name(src, bot, world),
                "frames": frames,
                "loud": s.loud_frames.get(src, 0),
            }
            for src, frames in s.audio_frames.items()
        },
        "poses_on_channel": s.poses_on_channel,
    }


def _source_name(src: str, bot: Bot, world: World) -> str:
    """``m7.a`` -> the bot that was member 7; ``e40.a`` -> the expert that was entity 40."""
    kind, number = src[:1], src[1:].partition(".")[0]
    if not number.isdigit():
        return src
    if kind == "m":
        other = world.bot_of_member(int(number))
        return other.name if other is not None else f"member {number}"
    if kind == "e":
        came = next(
            (x for x in bot.history if isinstance(x, m.ExpertCame) and x.e == int(number)), None
        )
        return f"{came.sp} expert {came.name}" if came is not None else f"expert {number}"
    return src


def media_line(b: dict[str, Any]) -> str:
    """One line of a thin bot's media for the summary."""
    md = b["media"]
    first = md["first_frame_s"]
    heard = ", ".join(f"{who} {n}" for who, n in md["audio_frames"].items()) or "nobody"
    return (
        f"  thin {b['name']}: view {md['view_frames']} frames "
        f"({', '.join(md['view_sizes']) or 'none'}), first after "
        f"{'-' if first is None else f'{first:.2f} s'}, longest freeze "
        f"{md['longest_freeze_s']:.2f} s ({md['freezes']} over 0.5 s); audio frames from "
        f"{heard}; {md['poses_on_channel']} poses on the data channel"
    )


def summary(doc: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    v = doc["verdict"]
    lat = doc["latency_ms"]
    lines = [
        f"{doc['title']} ({doc['mode']}, seed {doc['seed']}): "
        f"{'PASSED' if v['ok'] else 'FAILED'} in {doc['duration_s']:.1f} s ({doc['clock']} time)",
        f"  bots {len(doc['bots'])}, steps {len(doc['steps'])}, checkpoints "
        f"{sum(c['converged'] for c in doc['checkpoints'])}/{len(doc['checkpoints'])} in sync, "
        f"reliable messages {sum(b['reliable_received'] for b in doc['bots'])}",
    ]
    if lat["samples"]:
        lines.append(
            f"  pose-to-peer latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms "
            f"({lat['samples']} samples)"
        )
    for b in doc["bots"]:
        if "media" in b:
            lines.append(media_line(b))
    for note in doc["notes"]:
        lines.append(f"  note: {note}")
    for f in v["findings"][:20]:
        where = f"step {f['step']}: " if f["step"] is not None else ""
        lines.append(f"  [{f['kind']}] {where}{f['message']}")
    if len(v["findings"]) > 20:
        lines.append(f"  ... and {len(v['findings']) - 20} more (see the report)")
    return "\n".join(lines)


def to_markdown(doc: dict[str, Any]) -> str:
    v = doc["verdict"]
    out = [
        f"# {doc['title']}: {'passed' if v['ok'] else 'FAILED'}",
        "",
        f"Scenario `{doc['scenario']}` ({doc['source']}), {doc['mode']}, seed {doc['seed']}, "
        f"layout `{doc['layout_used']}`, {doc['duration_s']:.1f} s of {doc['clock']} time, "
        f"finished {doc['finished_at']}.",
        "",
    ]
    if doc["notes"]:
        out += [f"- Note: {n}" for n in doc["notes"]] + [""]
    out += ["## Verdict", ""]
    if v["ok"]:
        out.append(
            "Every checkpoint in sync, every reliable message received exactly once and in order "
            "by every bot, every expectation met, no error frames, no unexpected closes."
        )
    else:
        for f in v["findings"]:
            step = f" (step {f['step']})" if f["step"] else ""
            out.append(f"- **{f['kind']}**{step}: {_md(f['message'])}")
    out += [
        "",
        "## Steps",
        "",
        "| # | step | at s | took s | status | detail |",
        "|---|---|---|---|---|---|",
    ]
    for st in doc["steps"]:
        out.append(
            f"| {st['index']} | {_md(st['label'])} | {st['at_s']:.2f} | {st['took_s']:.2f} | "
            f"{st['status']} | {_md(st['detail'])} |"
        )
    out += [
        "",
        "## Checkpoints",
        "",
        "| checkpoint | at s | bots | compared with | in sync | took s | digest |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in doc["checkpoints"]:
        out.append(
            f"| {_md(c['name'])} | {c['at_s']:.2f} | {c['bots']} | {c['compared_with']} | "
            f"{'yes' if c['converged'] else 'NO: ' + _md('; '.join(c['problems'][:3]))} | "
            f"{c['took_s']:.2f} | `{c['digest']}` |"
        )
    out += [
        "",
        "## Bots",
        "",
        "| bot | role | device | connections | reliable | poses sent | kB in | kB out | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for b in doc["bots"]:
        device = f"vr {b['hz']:g} Hz" if b["device"] == "vr" else b["device"]
        out.append(
            f"| {_md(b['name'])} | {b['role']} | {device} | {b['connections']} | "
            f"{b['reliable_received']} | {b['poses_sent']} | {b['bytes_in'] / 1000:.1f} | "
            f"{b['bytes_out'] / 1000:.1f} | {len(b['errors'])} |"
        )
    thin = [b for b in doc["bots"] if "media" in b]
    if thin:
        out += [
            "",
            "## Thin clients",
            "",
            "The room as video drawn by the server from each thin bot's head, and the voices "
            "of the others, over WebRTC; their poses go on the data channel. A freeze is a gap "
            "over 0.5 s between pictures (the verdict allows none over "
            f"{MAX_FREEZE_S:g} s).",
            "",
            "| bot | view frames | size | first picture s | longest freeze s | freezes | "
            "audio frames from | poses on channel |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for b in thin:
            md = b["media"]
            first = md["first_frame_s"]
            heard = ", ".join(f"{who} {n}" for who, n in md["audio_frames"].items()) or "-"
            out.append(
                f"| {_md(b['name'])} | {md['view_frames']} | "
                f"{', '.join(md['view_sizes']) or '-'} | "
                f"{'-' if first is None else f'{first:.2f}'} | {md['longest_freeze_s']:.2f} | "
                f"{md['freezes']} | {_md(heard)} | {md['poses_on_channel']} |"
            )
    lat = doc["latency_ms"]
    out += ["", "## Latency and load", ""]
    if lat["samples"]:
        out.append(
            "Pose-to-peer latency (a pose sent by one bot, applied by another): "
            f"p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms "
            f"over {lat['samples']} samples. In rooms with interest management (lobby, seminar) "
            "far avatars are sent every tenth tick, which shows in the tail."
        )
    for k, t in doc["timings_s"].items():
        out.append(
            f"- {k}: mean {t['mean'] * 1000:.0f} ms, max {t['max'] * 1000:.0f} ms (n={t['n']})"
        )
    out.append(f"- CPU: {cpu_line(doc['cpu'])}")
    files = doc["files"]
    for key, title in (("latency", "Latency"), ("bandwidth", "Bandwidth"), ("cpu", "CPU")):
        if key in files:
            out += ["", f"![{title}]({files[key]})"]
    shots = [(k, f) for k, f in files.items() if k.startswith("snapshot:")]
    if shots:
        out += ["", "## Snapshots", ""]
        for key, f in shots:
            out += [f"{_md(key.removeprefix('snapshot:'))}:", "", f"![{key}]({f})", ""]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(
    result: RunResult, out_dir: str | Path, *, snapshot_size: tuple[int, int] = (960, 540)
) -> tuple[dict[str, Any], list[Path]]:
    """Write report.json, report.md, the charts and any snapshots; return the JSON document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = result.world
    files: dict[str, str] = {}
    written: list[Path] = []
    lat_ms = [s * 1000 for s in world.series.latencies]
    if lat_ms:
        p50, p99 = _pct(lat_ms, 50.0), _pct(lat_ms, 99.0)
        assert p50 is not None
        assert p99 is not None
        written.append(
            plot.histogram(
                lat_ms,
                out / "latency.png",
                title=f"Pose-to-peer latency, {len(lat_ms)} samples",
                xlabel="milliseconds",
                marks=[
                    ("p50", p50, plot.GREEN),
                    ("p99", p99, plot.ORANGE),
                    ("target", LATENCY_TARGET_MS, plot.RED),
                ],
            )
        )
        files["latency"] = "latency.png"
    bw = rates(world.series.traffic)
    if bw:
        ts = [t for t, _, _ in bw]
        written.append(
            plot.lines(
                [
                    ("received by all bots", ts, [i for _, i, _ in bw], plot.BLUE),
                    ("sent by all bots", ts, [o for _, _, o in bw], plot.ORANGE),
                ],
                out / "bandwidth.png",
                title="Bandwidth over time",
                xlabel=f"seconds ({'virtual' if result.mode == 'in-process' else 'real'})",
                ylabel="kB/s",
            )
        )
        files["bandwidth"] = "bandwidth.png"
    cpu = cpu_percent(world.series.cpu)
    if cpu:
        written.append(
            plot.lines(
                [(world.cpu_source, [t for t, _ in cpu], [c for _, c in cpu], plot.GREEN)],
                out / "cpu.png",
                title="Server CPU over time",
                xlabel="seconds",
                ylabel="% of one core",
            )
        )
        files["cpu"] = "cpu.png"
    layout = world.server_layout or world.layout.name
    for i, shot in enumerate(result.snapshots, 1):
        name = f"snapshots/{i:02d}-{_slug(shot.checkpoint)}-{_slug(shot.bot)}.png"
        written.append(
            render_view(
                layout,
                shot.ents,
                shot.member,
                out / name,
                width=snapshot_size[0],
                height=snapshot_size[1],
            )
        )
        files[f"snapshot:{shot.bot} at '{shot.checkpoint}' (step {shot.step})"] = name
    doc = to_json(result, files)
    (out / "report.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(to_markdown(doc))
    written += [out / "report.json", out / "report.md"]
    return doc, written


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"
