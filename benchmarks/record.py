"""Record benchmark figures: the machine, the command, the date, and the numbers.

Each benchmark writes benchmarks/results/<name>.json and <name>.md (a markdown table).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__}


def median(values: list[float]) -> float:
    return statistics.median(values)


def record(name: str, rows: list[dict], notes: str = "") -> Path:
    """Write <name>.json and <name>.md under benchmarks/results and print the table."""
    RESULTS.mkdir(exist_ok=True)
    info = {"benchmark": name, "date": dt.date.today().isoformat(),
            "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
            "machine": machine(), "notes": notes, "rows": rows}
    (RESULTS / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    m = info["machine"]
    where = m["gpu"] or f"{m['cpu']}, {m['cores']} cores"
    header = list(rows[0])
    lines = [f"# {name}", "", f"- machine: {where} (torch {m['torch']}, Python {m['python']})",
             f"- command: `{info['command']}`", f"- date: {info['date']}"]
    if notes:
        lines.append(f"- notes: {notes}")
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    table = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(table)
    print(table)
    return RESULTS / f"{name}.json"
