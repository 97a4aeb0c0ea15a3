"""Helpers shared by the bench_*.py scripts: timing commands, medians, one table.

Every bench module defines ``run(quick: bool = False) -> list[dict]``; each row:
  {"benchmark": str, "ours": float, "reference": float, "unit": str,
   "ratio": ours/reference (or as the row explains), "reference_tool": str,
   "note": str, "goal": str}
bench/run.py imports them all and prints one table; each module also runs alone.
Benchmarks never decide a test's pass or fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(sysconfig.get_path("scripts"))
DATA = ROOT / "bench" / "data"


def script(name: str) -> str:
    path = SCRIPTS / name
    if not path.exists():
        sys.exit(f"bench: {name} is not installed next to {sys.executable}; run the README's install first")
    return str(path)


def interleaved(commands: dict[str, list[str]], *, runs: int = 7, warmup: int = 1, **kwargs) -> dict[str, list[float]]:
    """Wall times, in seconds, of each command's runs (warm-up rounds left
    out), run in interleaved rounds so that machine noise hits every command
    alike: round i of every command was measured at about the same moment."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    times = {name: [] for name in commands}
    for i in range(warmup + runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, check=False, **kwargs)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def row(benchmark, ours, reference, *, unit="s", reference_tool="", goal="", note="", ratio=None) -> dict:
    return {
        "benchmark": benchmark, "ours": ours, "reference": reference, "unit": unit,
        "ratio": ratio if ratio is not None else (ours / reference if reference else float("nan")),
        "reference_tool": reference_tool, "goal": goal, "note": note,
    }


def format_table(rows: list[dict]) -> str:
    header = ("benchmark", "ours", "reference", "ratio", "vs", "goal", "note")
    lines = [header]
    for r in rows:
        fmt = (lambda v: f"{v * 1000:.1f} ms") if r["unit"] == "s" else (lambda v: f"{v:,.3g} {r['unit']}")
        lines.append((r["benchmark"], fmt(r["ours"]), fmt(r["reference"]), f"{r['ratio']:.3f}",
                      r["reference_tool"], r["goal"], r["note"]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def main_for(run) -> None:
    quick = "--quick" in sys.argv
    print(format_table(run(quick=quick)))

