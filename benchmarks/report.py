"""Reporting: speedups between implementations, and the JSON, markdown and plots of a run.

Rows are plain dicts (what goes into the JSON). A run's files are rewritten after every kernel,
so a run cut off by the device call's time limit still leaves its finished rows behind.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks.impls import PEERS

Row = dict[str, Any]


def add_speedups(rows: list[Row]) -> None:
    """Fill `speedup_vs` (each other peer's ms / this ms) and the same against the best other peer.

    Only peers that ran and matched torch eager count as something to beat.
    """
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r["kernel"], r["shape"], r["dtype"]), []).append(r)
    for group in groups.values():
        peers = {
            r["impl"]: r["ms"]
            for r in group
            if r["impl"] in PEERS and r.get("ms") and r.get("correct")
        }
        for r in group:
            if not r.get("ms"):
                continue
            others = {p: ms for p, ms in peers.items() if p != r["impl"]}
            r["speedup_vs"] = {p: ms / r["ms"] for p, ms in others.items()}
            best = min(others, key=others.__getitem__, default=None)
            r["best_peer"] = best
            r["speedup_vs_best_peer"] = others[best] / r["ms"] if best else None


def geomean(xs: list[float]) -> float | None:
    """Geometric mean, None for an empty list."""
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _f(x: Any, fmt: str) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _cell(text: str | None, limit: int = 90) -> str:
    text = (text or "").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_md(meta: dict[str, Any]) -> list[str]:
    v = meta["versions"]
    lines = [
        f"# kcompiler benchmarks: {meta['mode']} on {meta['card']}",
        "",
        f"{meta['date']} · torch {v['torch']} · triton {v['triton']} · liger {v['liger']}"
        f" · helion {v['helion']} · kcompiler {v['kcompiler']}",
        "",
    ]
    if meta.get("copy_gbps"):
        parts = meta.get("merged_from") or [meta]
        gbps = ", ".join(f"{p['copy_gbps']:,.0f}" for p in parts)
        lines += [
            f"Copy bandwidth {gbps} GB/s ({meta['copy_gib']} GiB `copy_`, read + written bytes;"
            " one figure per merged run). Times: "
            f"{meta['timer']}. GB/s counts the minimal bytes read plus written.",
            "",
        ]
    lines += [f"Command: `{meta['command']}`", ""]
    return lines


def markdown(meta: dict[str, Any], rows: list[Row]) -> str:
    """The run as markdown: header, kcompiler-vs-best-peer summary, then every row."""
    lines = _header_md(meta)
    if meta["mode"] == "small":
        lines += [
            f"Host overhead: vector_add of {meta['small_n']} fp32 elements, {meta['small_calls']}"
            " back-to-back calls, one synchronize. `*-graph-K`: replays of a CUDA graph holding K"
            " calls, per call (one replay's time / K). `triton-run`: the bare add through"
            " `CompiledKernel.run` with its arguments computed once; `triton-empty-run`: an empty"
            " one-program kernel launched so, the launch floor. Ratios: to `triton-bare` (a launch"
            " through `kernel[grid]`) and to `triton-empty-run`.",
            "",
            "| impl | µs per call | × triton-bare | × launch floor | status | 1st call s | note |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in rows:
            lines.append(
                f"| {r['impl']} | {_f(r.get('us_per_call'), '.1f')}"
                f" | {_f(r.get('vs_triton_bare'), '.2f')} | {_f(r.get('vs_launch_floor'), '.2f')}"
                f" | {_ok(r)} | {_f(r.get('first_call_s'), '.2f')}"
                f" | {_cell(r.get('error') or r.get('note'))} |"
            )
        return "\n".join(lines) + "\n"

    kc = [r for r in rows if r["impl"] == "kcompiler"]
    if kc:
        lines += [
            "## kcompiler vs the best peer",
            "",
            "| kernel | shape | dtype | best peer | peer ms | kcompiler ms | % copy BW | speedup | ok |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in kc:
            best = r.get("best_peer")
            peer_ms = r["ms"] * r["speedup_vs_best_peer"] if r.get("speedup_vs_best_peer") else None
            lines.append(
                f"| {r['kernel']} | {r['shape']} | {r['dtype']} | {best or ''} | {_f(peer_ms, '.4f')}"
                f" | {_f(r.get('ms'), '.4f') or _cell(r.get('error'), 60)} | {_f(r.get('pct_copy'), '.1f')}"
                f" | {_f(r.get('speedup_vs_best_peer'), '.2f')} | {_ok(r)} |"
            )
        sp = [
            r["speedup_vs_best_peer"]
            for r in kc
            if r.get("speedup_vs_best_peer") and r.get("correct")
        ]
        g = geomean(sp)
        gm = f"{g:.3f}×" if g else "n/a"
        lines += [
            "",
            f"Geomean speedup vs best peer (passing shapes): {gm} over {len(sp)} shape(s).",
            "",
        ]

    lines += [
        "## All rows",
        "",
        "| kernel | shape | dtype | impl | ms | GB/s | % copy BW | vs best peer | vs each peer"
        " | max abs err | ok | 1st call s | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        vs = " ".join(f"{p} {x:.2f}×" for p, x in (r.get("speedup_vs") or {}).items())
        best = r.get("speedup_vs_best_peer")
        best_s = f"{best:.2f}× ({r['best_peer']})" if best else ""
        note = r.get("error") or r.get("note") or ""
        if r.get("tune"):
            t = r["tune"]
            note = f"tuned {_f(t.get('tune_s'), '.1f')} s, {t.get('configs_tried')} configs; {note}"
        lines.append(
            f"| {r['kernel']} | {r['shape']} | {r['dtype']} | {r['impl']} | {_f(r.get('ms'), '.4f')}"
            f" | {_f(r.get('gbps'), ',.0f')} | {_f(r.get('pct_copy'), '.1f')} | {best_s} | {vs}"
            f" | {_f(r.get('max_abs_err'), '.2e')} | {_ok(r)} | {_f(r.get('first_call_s'), '.2f')}"
            f" | {_cell(note)} |"
        )
    return "\n".join(lines) + "\n"


def _ok(r: Row) -> str:
    if r["status"] != "ok":
        return r["status"]
    if "correct" not in r:  # a row with no output to check (--small's empty kernel)
        return "ok"
    return "pass" if r["correct"] else "FAIL"


def write(out_dir: Path, meta: dict[str, Any], rows: list[Row], plots: bool) -> list[str]:
    """Write <mode>.json and <mode>.md (and plots when asked); returns notes, e.g. plots skipped."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = meta["mode"]
    if mode != "small":
        add_speedups(rows)
    (out_dir / f"{mode}.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1, default=str)
    )
    (out_dir / f"{mode}.md").write_text(markdown(meta, rows))
    if not plots or mode == "small":
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError as e:
        return [f"plots skipped: {e}"]
    plot_speedup(out_dir / f"{mode}-speedup.png", meta, rows)
    plot_bandwidth(out_dir / f"{mode}-bandwidth.png", meta, rows)
    return []


def _impls(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.get("ms") and r["impl"] not in seen:
            seen.append(r["impl"])
    return seen


def plot_speedup(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    """Grouped bars: each implementation's speedup over torch eager, per kernel and shape."""
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((r["kernel"], r["shape"], r["dtype"]) for r in rows))
    eager = {
        (r["kernel"], r["shape"], r["dtype"]): r["ms"]
        for r in rows
        if r["impl"] == "torch" and r.get("ms")
    }
    impls = _impls(rows)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(groups) * max(1, len(impls)) / 3), 5))
    width = 0.8 / max(1, len(impls))
    for i, impl in enumerate(impls):
        ms = {
            (r["kernel"], r["shape"], r["dtype"]): r["ms"]
            for r in rows
            if r["impl"] == impl and r.get("ms")
        }
        ys = [eager[g] / ms[g] if g in ms and g in eager else 0 for g in groups]
        ax.bar([x + i * width for x in range(len(groups))], ys, width, label=impl)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(groups))])
    ax.set_xticklabels([f"{k}\n{s} {d}" for k, s, d in groups], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speedup over torch eager")
    ax.set_title(f"{meta['mode']} · {meta['card']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_bandwidth(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    """One panel per kernel: % of copy bandwidth against shape, one line per implementation."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["kernel"] for r in rows))
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        mine = [r for r in rows if r["kernel"] == name]
        shapes = list(dict.fromkeys(f"{r['shape']} {r['dtype']}" for r in mine))
        for impl in _impls(mine):
            pts = {
                f"{r['shape']} {r['dtype']}": r["pct_copy"]
                for r in mine
                if r["impl"] == impl and r.get("pct_copy")
            }
            xs = [i for i, s in enumerate(shapes) if s in pts]
            ax.plot(xs, [pts[shapes[i]] for i in xs], marker="o", label=impl)
        ax.set_title(name)
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels(shapes, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("% of copy bandwidth")
        ax.axhline(100, color="k", lw=0.6, ls="--")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(f"{meta['mode']} · {meta['card']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
