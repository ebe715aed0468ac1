"""Lookup rules for a config table, scored offline on the matrix a regret run measured.

``python -m benchmarks.regret_rules DIR/regret-*.json [--detail KERNEL] [--md OUT.md]``

``benchmarks/aot_regret`` times, at every sweep shape of a kernel, every config a table could
serve there, and writes that matrix into ``regret-<kernel>.json`` (``"matrix"``, the format
below). A lookup rule maps an untuned shape to one of the shape's measured configs, so any
rule over the tuned shapes' data can be scored without a GPU: score = the shape's best time /
the chosen config's time, a kernel's score the geometric mean over its untuned shapes (issue
22's criterion: >= 0.97).

Matrix format (``Matrix.to_json``)::

    {"configs": [{config}, ...],        # every distinct config, referred to by index
     "sources": [config index, ...],    # what a table may hold: the pool, then table entries
     "pool": 12,                        # the first ``pool`` sources are the pool as drawn
     "entries": [{"key": {key}, "source": i}, ...],   # the table tuned on the tuned shapes
     "points": [{"label": "4096x181", "sizes": {"m": 4096, "n": 181}, "key": {key},
                 "tuned": false, "skip": [],       # dims the distance skips (batched)
                 "cols": [config index, ...],       # the configs measured at this shape
                 "ms": [ms or null, ...],           # tuner's benchmark per column
                 "why": [[col, reason], ...],       # columns without a time, and why
                 "sbs": [[col, ms], ...],           # columns re-timed side by side
                 "served": [col per source],        # what each source runs as here
                 "default": col,                    # the kernel's default config here
                 "table": col}, ...]}               # the runtime's choice (untuned shapes)

A source runs at a shape as the runtime would run it from a table entry
(``table_configs.adapt``: as is where valid, else fitted), so ``served`` says which measured
column each table entry, pool config or rule's choice is at every shape.

Times: the side-by-side times (``sbs``, interleaved rounds) are the precise ones; a shape's
best is the fastest of them. A score whose two configs were both re-timed side by side uses
those times, otherwise the tuner's benchmark times of both (the ``basis`` the report counts).

Rules (``RULES``), each a function (matrix, point index) -> column:

- ``runtime``: the runtime's rule (``config_table.Table.lookup`` over the recorded entries,
  served as ``served`` says; no entry of the class: the default);
- ``nearest``: the entry of the tuned shape nearest in log2 size (summed over the sweep's
  parameters; ties to the larger shape);
- ``below`` / ``above``: the entry of the nearest tuned shape below / above;
- ``robust-max`` / ``robust-geomean``: the source with the best worst / geomean score over
  the (up to two) tuned shapes bracketing the shape;
- ``oracle``: the shape's best column (the upper bound of any rule over these configs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from benchmarks.report import geomean as report_geomean
from kcompiler.config import Config
from kcompiler.runtime.config_table import Entry, Key, Table

INF = math.inf


def geomean(values: Sequence[float]) -> float:
    """Geometric mean; 0.0 when any value is 0 (a failed config), NaN when there are none."""
    if not values:
        return math.nan
    if any(v <= 0 for v in values):
        return 0.0
    g = report_geomean(list(values))
    return math.nan if g is None else g


@dataclass
class Point:
    """One sweep shape: its key, its measured columns and what each source runs as there."""

    label: str
    sizes: dict[str, int]
    key: Key
    tuned: bool
    cols: list[int]  # config index per column
    ms: list[float]  # tuner's benchmark per column; inf where not timed
    served: list[int]  # column per source
    default: int
    why: dict[int, str] = field(default_factory=dict)
    sbs: dict[int, float] = field(default_factory=dict)  # column -> side-by-side ms
    table: int | None = None  # the runtime's choice, measured online (untuned shapes)
    skip: frozenset[int] = frozenset()

    def best(self) -> int:
        """The fastest column: of the side-by-side group where there is one."""
        if self.sbs:
            return min(self.sbs, key=lambda c: self.sbs[c])
        return min(range(len(self.cols)), key=lambda c: self.ms[c])

    def score(self, col: int) -> tuple[float, str]:
        """(best time / ``col``'s time, the times used: "sbs", "ms", or "same")."""
        best = self.best()
        if col == best:
            return 1.0, "same"
        if col in self.sbs and best in self.sbs:
            return self.sbs[best] / self.sbs[col], "sbs"
        t = self.ms[col]
        return (self.ms[best] / t if math.isfinite(t) and t > 0 else 0.0), "ms"

    @property
    def log_size(self) -> float:
        return sum(math.log2(max(1, v)) for v in self.sizes.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "sizes": self.sizes,
            "key": self.key.to_json(),
            "tuned": self.tuned,
            "cols": self.cols,
            "ms": [None if not math.isfinite(t) else float(f"{t:.6g}") for t in self.ms],
            "why": sorted([c, w] for c, w in self.why.items()),
            "sbs": sorted([c, float(f"{t:.6g}")] for c, t in self.sbs.items()),
            "served": self.served,
            "default": self.default,
        }
        if self.table is not None:
            out["table"] = self.table
        if self.skip:
            out["skip"] = sorted(self.skip)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Point:
        return cls(
            str(data["label"]),
            {str(k): int(v) for k, v in data["sizes"].items()},
            Key.from_json(data["key"]),
            bool(data["tuned"]),
            [int(c) for c in data["cols"]],
            [INF if t is None else float(t) for t in data["ms"]],
            [int(c) for c in data["served"]],
            int(data["default"]),
            {int(c): str(w) for c, w in data.get("why", [])},
            {int(c): float(t) for c, t in data.get("sbs", [])},
            data.get("table"),
            frozenset(int(i) for i in data.get("skip", [])),
        )


@dataclass
class Matrix:
    """One kernel's measured matrix (see the module docstring)."""

    kernel: str
    configs: list[dict[str, Any]]
    sources: list[int]
    pool: int
    entries: list[tuple[Key, int]]  # (key, source) of each table entry
    points: list[Point]

    def to_json(self) -> dict[str, Any]:
        return {
            "configs": self.configs,
            "sources": self.sources,
            "pool": self.pool,
            "entries": [{"key": k.to_json(), "source": s} for k, s in self.entries],
            "points": [p.to_json() for p in self.points],
        }

    @classmethod
    def from_json(cls, kernel: str, data: dict[str, Any]) -> Matrix:
        return cls(
            kernel,
            list(data["configs"]),
            [int(s) for s in data["sources"]],
            int(data["pool"]),
            [(Key.from_json(e["key"]), int(e["source"])) for e in data["entries"]],
            [Point.from_json(p) for p in data["points"]],
        )

    @cached_property
    def table(self) -> Table:
        """The recorded entries as the runtime's ``Table`` (its lookup is the rule)."""
        entries = [Entry(k, Config(self.configs[self.sources[s]])) for k, s in self.entries]
        return Table(self.kernel, entries)

    def entry_source(self, entry: Entry) -> int:
        return next(s for e, (_, s) in zip(self.table.entries, self.entries) if e is entry)

    def tuned_source(self, t: int) -> int:
        """The source of the entry that holds tuned point ``t``'s key."""
        key = self.points[t].key
        return next(s for k, s in self.entries if k == key)

    def tuned(self) -> list[int]:
        return [i for i, p in enumerate(self.points) if p.tuned]

    def untuned(self) -> list[int]:
        return [i for i, p in enumerate(self.points) if not p.tuned]

    def brackets(self, i: int) -> list[int]:
        """The nearest tuned points at or below and at or above point ``i``'s log size."""
        size = self.points[i].log_size
        tuned = self.tuned()
        below = [t for t in tuned if self.points[t].log_size <= size]
        above = [t for t in tuned if self.points[t].log_size >= size]
        out = []
        if below:
            out.append(max(below, key=lambda t: self.points[t].log_size))
        if above:
            t = min(above, key=lambda t: self.points[t].log_size)
            if t not in out:
                out.append(t)
        return out


Rule = Callable[[Matrix, int], int]


def runtime_rule(m: Matrix, i: int) -> int:
    p = m.points[i]
    found = m.table.lookup(p.key, p.skip)
    if found is None:
        return p.default
    return p.served[m.entry_source(found[0])]


def nearest_rule(m: Matrix, i: int) -> int:
    size = m.points[i].log_size
    t = min(m.tuned(), key=lambda t: (abs(m.points[t].log_size - size), -m.points[t].log_size))
    return m.points[i].served[m.tuned_source(t)]


def below_rule(m: Matrix, i: int) -> int:
    t = m.brackets(i)[0]
    return m.points[i].served[m.tuned_source(t)]


def above_rule(m: Matrix, i: int) -> int:
    t = m.brackets(i)[-1]
    return m.points[i].served[m.tuned_source(t)]


def robust(m: Matrix, i: int, worst_first: bool) -> int:
    """The source of best (worst score, geomean) over the bracketing tuned points, or
    (geomean, worst) with ``worst_first`` False; remaining ties to the lower source."""
    brackets = m.brackets(i)

    def rank(s: int) -> tuple[float, float, int]:
        scores = [m.points[t].score(m.points[t].served[s])[0] for t in brackets]
        worst, mean = min(scores), geomean(scores)
        return (worst, mean, -s) if worst_first else (mean, worst, -s)

    return m.points[i].served[max(range(len(m.sources)), key=rank)]


def oracle_rule(m: Matrix, i: int) -> int:
    return m.points[i].best()


RULES: dict[str, Rule] = {
    "runtime": runtime_rule,
    "nearest": nearest_rule,
    "below": below_rule,
    "above": above_rule,
    "robust-max": lambda m, i: robust(m, i, True),
    "robust-geomean": lambda m, i: robust(m, i, False),
    "oracle": oracle_rule,
}


def candidates(m: Matrix, i: int) -> set[int]:
    """The columns the rules (but the oracle) choose at point ``i``: what a regret run times
    side by side, so that every rule's score rests on side-by-side times."""
    return {rule(m, i) for name, rule in RULES.items() if name != "oracle"}


@dataclass
class Score:
    rule: str
    geomean: float
    worst: float
    basis: dict[str, int]  # "sbs"/"ms"/"same" -> shapes scored on it
    per_point: list[tuple[int, int, float]]  # (point, column, score)


def evaluate(m: Matrix, rule: str) -> Score:
    per_point, basis = [], {"same": 0, "sbs": 0, "ms": 0}
    for i in m.untuned():
        col = RULES[rule](m, i)
        score, how = m.points[i].score(col)
        basis[how] += 1
        per_point.append((i, col, score))
    scores = [s for _, _, s in per_point]
    return Score(rule, geomean(scores), min(scores, default=math.nan), basis, per_point)


def load(paths: Iterable[Path]) -> list[tuple[str, Matrix]]:
    """(label, matrix) of each regret JSON with a matrix (other JSON files are passed over,
    so ``regret-*.json`` may match the tables too); the label is the kernel, with the file's
    folder when kernels repeat."""
    found = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        if "rows" not in data:  # a table the run wrote beside it (regret-table-*.json)
            continue
        if "matrix" not in data:
            print(f"{path}: no matrix (written before aot_regret recorded one)", file=sys.stderr)
            continue
        found.append((path, Matrix.from_json(data.get("kc_kernel", ""), data["matrix"]), data))
    names = [d["kernel"] for _, _, d in found]
    return [
        (d["kernel"] if names.count(d["kernel"]) == 1 else f"{d['kernel']} ({p.parent})", m)
        for p, m, d in found
    ]


def agreement(m: Matrix) -> tuple[int, int]:
    """(untuned points where the runtime rule here gives the column chosen online, those
    with an online choice): a check that the offline lookup is the runtime's."""
    online = [i for i in m.untuned() if m.points[i].table is not None]
    return sum(runtime_rule(m, i) == m.points[i].table for i in online), len(online)


def markdown(matrices: Sequence[tuple[str, Matrix]]) -> str:
    """Per kernel and rule: geomean score (worst), and how many scores rest on the tuner's
    single benchmark times instead of side-by-side ones."""
    rules = list(RULES)
    lines = [
        "| kernel | " + " | ".join(rules) + " | runtime = online | scored on ms only |",
        "| --- | " + " | ".join("---" for _ in rules) + " | --- | --- |",
    ]
    means: dict[str, list[float]] = {r: [] for r in rules}
    for label, m in matrices:
        scores = [evaluate(m, r) for r in rules]
        for s in scores:
            means[s.rule].append(s.geomean)
        agree, online = agreement(m)
        ms_only = sum(s.basis["ms"] for s in scores)
        lines.append(
            f"| {label} | "
            + " | ".join(f"{s.geomean:.3f} ({s.worst:.2f})" for s in scores)
            + f" | {agree}/{online} | {ms_only} |"
        )
    if len(matrices) > 1:
        lines.append(
            "| geomean | " + " | ".join(f"{geomean(means[r]):.3f}" for r in rules) + " | | |"
        )
    return "\n".join(lines)


def detail(m: Matrix) -> str:
    """Per untuned shape: each rule's choice (config index) and score."""
    rules = list(RULES)
    scores = {r: evaluate(m, r) for r in rules}
    lines = ["| shape | " + " | ".join(rules) + " |", "| --- |" + " --- |" * len(rules)]
    for k, i in enumerate(m.untuned()):
        cells = []
        for r in rules:
            _, col, score = scores[r].per_point[k]
            cells.append(f"c{m.points[i].cols[col]} {score:.3f}")
        lines.append(f"| {m.points[i].label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"c{j}: {json.dumps(c)}" for j, c in enumerate(m.configs)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="regret-<kernel>.json files")
    parser.add_argument("--detail", default="", help="kernels to show per shape (a,b)")
    parser.add_argument("--md", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    matrices = load(args.files)
    if not matrices:
        print("no regret matrix in the files given", file=sys.stderr)
        return 1
    text = markdown(matrices)
    for label, m in matrices:
        if label.split(" ")[0] in args.detail.split(","):
            text += f"\n\n## {label}\n\n{detail(m)}"
    print(text)
    if args.md:
        args.md.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
