"""The guard's in-process bench rows (bench/guard_inprocess.py): targets decided from the numbers, and a
section that shows each row; the init baseline builds the IAM client exactly as the handler does."""

from __future__ import annotations

from bench import guard_inprocess, guard_runtime
from bench.guard_inprocess import GuardRows

from profile_expand.guard import aws


def _rows(libyaml_s: float, slow_s: float) -> GuardRows:
    cpu = {"YAML, libyaml": libyaml_s, "JSON": 0.05, "YAML, pure Python": 6.0}
    return GuardRows(948_220, 783_326, cpu, "FAILED/InternalFailure", "ran out", slow_s, 4, 500, 5)


def test_the_targets_follow_the_numbers() -> None:
    met = [t.met for t in guard_inprocess.targets(_rows(1.0, 18.0))]
    missed = [t.met for t in guard_inprocess.targets(_rows(2.5, 25.0))]
    assert (met, missed) == ([True, True], [False, False])


def test_the_section_shows_every_row() -> None:
    text = guard_inprocess.section(_rows(1.06, 18.1))
    for part in ("| YAML, libyaml | 1.06 |", "| JSON | 0.05 |", "18.1 s", "**500**", "**5**"):
        assert part in text


def test_the_init_baseline_creates_the_handlers_iam_client() -> None:
    handler = (guard_runtime.sam_local.ROOT / "src/profile_expand/guard/handler.py").read_text()
    assert '"total_max_attempts": 1' in guard_runtime.BASELINE_SOURCE and '"total_max_attempts": 1' in handler
    timeouts = f"connect_timeout={aws.CONNECT_TIMEOUT_SECONDS}, read_timeout={aws.READ_TIMEOUT_SECONDS}"
    assert timeouts in guard_runtime.BASELINE_SOURCE
