"""Runs in this Python: expand() against the JSON round trip, and memory of the ~1 MB expansion."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generators import MAX_RESOURCES, compact_size
from bench.settings import HANDLER_MODULE, RATIO_TARGET, ROOT, SAM_TEMPLATE, memory_size_mb
from profile_expand import InvalidTemplateError, expand


@dataclass(frozen=True)
class Timing:
    label: str
    resources_in: int
    resources_out: int
    bytes_in: int
    expand_s: float  # median per call
    json_s: float  # median per call
    ratio: float  # median of the per-round ratios
    ratio_low: float
    ratio_high: float
    target: float | None


def _calls_for(function: Callable[[], object], seconds: float) -> int:
    """How many calls take about `seconds` (at least one)."""
    calls = 1
    while True:
        spent = timeit.timeit(function, number=calls, timer=time.process_time)
        if spent >= seconds / 4:
            return max(1, round(calls * seconds / spent))
        calls *= 4


def time_expansion(
    label: str, fragment: dict[str, Any], rounds: int, seconds: float, target: float | None = None
) -> Timing:
    """Time expand() and the JSON round trip of the same fragment, interleaved round by round.

    A fragment the macro rejects is timed to its error (the adversarial shapes of issue 17): the
    answer CloudFormation gets. target: the ratio to meet (default: RATIO_TARGET at 500 resources out).
    """

    def round_trip() -> object:
        return json.loads(json.dumps(fragment))

    def subject() -> object:
        try:
            return expand(fragment)
        except InvalidTemplateError as error:
            return error

    answer = subject()
    output = answer if isinstance(answer, dict) else fragment
    calls = {"json": _calls_for(round_trip, seconds), "expand": _calls_for(subject, seconds)}
    functions = {"json": round_trip, "expand": subject}
    per_call: dict[str, list[float]] = {"json": [], "expand": []}
    ratios = []
    for number in range(rounds):
        # Alternate which one goes first so that neither always runs right after the other's garbage.
        for name in ("json", "expand") if number % 2 == 0 else ("expand", "json"):
            spent = timeit.timeit(functions[name], number=calls[name], timer=time.process_time)
            per_call[name].append(spent / calls[name])
        ratios.append(per_call["expand"][-1] / per_call["json"][-1])
    return Timing(
        label=label,
        resources_in=len(fragment["Resources"]),
        resources_out=len(output["Resources"]),
        bytes_in=compact_size(fragment),
        expand_s=statistics.median(per_call["expand"]),
        json_s=statistics.median(per_call["json"]),
        ratio=statistics.median(ratios),
        ratio_low=min(ratios),
        ratio_high=max(ratios),
        target=target
        if target is not None
        else RATIO_TARGET
        if len(output["Resources"]) >= MAX_RESOURCES
        else None,
    )


_RSS_PROBE = textwrap.dedent(
    """
    import json, sys
    def rss():
        # (current, peak) RSS in MB. Peak is VmHWM, not ru_maxrss: ru_maxrss of a child carries over the
        # high-water mark of the parent it was forked from, here the benchmark holding all its templates.
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))
    import {handler}
    from profile_expand import expand
    stages = {{"after import": rss()}}
    with open(sys.argv[1], "rb") as source:
        fragment = json.loads(source.read())
    stages["after load"] = rss()
    result = expand(fragment)
    stages["after expand"] = rss()
    text = json.dumps({{"fragment": result}})
    stages["after dump"] = rss()
    print(json.dumps(stages))
    """
)


@dataclass(frozen=True)
class Memory:
    traced_peak_mb: float  # tracemalloc peak during expand(), above what was allocated before
    traced_json_mb: float  # the same for the JSON round trip, for scale
    rss_stages_mb: dict[str, tuple[float, float]]  # stage -> (current, peak)
    memory_size_mb: int


def measure_memory(fragment: dict[str, Any]) -> Memory:
    tracemalloc.start()
    try:
        peaks = []
        for function in (lambda: expand(fragment), lambda: json.loads(json.dumps(fragment))):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            function()
            _, peak = tracemalloc.get_traced_memory()
            peaks.append((peak - before) / 2**20)
    finally:
        tracemalloc.stop()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fragment.json"
        path.write_text(json.dumps(fragment))
        completed = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE.format(handler=HANDLER_MODULE), str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    return Memory(
        traced_peak_mb=peaks[0],
        traced_json_mb=peaks[1],
        rss_stages_mb=json.loads(completed.stdout),
        memory_size_mb=memory_size_mb(SAM_TEMPLATE.read_text()),
    )
