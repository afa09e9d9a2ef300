"""sequential_round_trips on hand-made call-log entries."""

from __future__ import annotations

from greenlight_emulator.round_trips import calls_until, sequential_round_trips


def call(ts: float, end: float | None, action: str = "DescribeServices", service: str = "ecs") -> dict:
    entry = {"service": service, "action": action, "ts": ts, "status": 200}
    if end is not None:
        entry["end"] = end
    return entry


def test_no_calls_no_round_trips():
    assert sequential_round_trips([]) == 0
    assert sequential_round_trips([], until="CreateDeployment") == 0


def test_chained_calls_count_one_each():
    calls = [call(0.0, 1.0), call(1.1, 2.0), call(2.5, 3.0)]
    assert sequential_round_trips(calls) == 3


def test_overlapping_calls_count_once():
    calls = [call(0.0, 1.0), call(0.2, 1.1), call(0.9, 1.5)]
    assert sequential_round_trips(calls) == 1


def test_a_call_that_starts_as_the_previous_one_ends_does_not_follow_it():
    assert sequential_round_trips([call(0.0, 1.0), call(1.0, 2.0)]) == 1


def test_mixed_concurrent_and_chained_calls():
    # 1: two concurrent calls; 2: one after both; 3: three concurrent ones after it, one of them
    # long; 4: one after the short ones but while the long one is still running.
    calls = [
        call(0.0, 1.0),
        call(0.1, 0.9),
        call(1.2, 2.0),
        call(2.1, 2.5),
        call(2.1, 2.6),
        call(2.2, 9.0),
        call(2.7, 3.0),
    ]
    assert sequential_round_trips(calls) == 4


def test_the_longest_chain_wins_over_the_number_of_calls():
    # One long call beside a chain of three short ones.
    calls = [call(0.0, 10.0), call(0.1, 1.0), call(1.1, 2.0), call(2.1, 3.0)]
    assert sequential_round_trips(calls) == 3


def test_the_order_of_the_entries_does_not_matter():
    calls = [call(2.5, 3.0), call(0.0, 1.0), call(1.1, 2.0)]
    assert sequential_round_trips(calls) == 3


def test_until_counts_up_to_and_including_the_first_matching_call():
    calls = [
        call(0.0, 1.0, "DescribeServices"),
        call(1.1, 2.0, "RegisterTaskDefinition"),
        call(2.1, 3.0, "CreateDeployment", "codedeploy"),
        call(3.1, 4.0, "GetDeployment", "codedeploy"),
        call(4.1, 5.0, "CreateDeployment", "codedeploy"),
    ]
    assert sequential_round_trips(calls, until="CreateDeployment") == 3
    assert sequential_round_trips(calls, until="codedeploy.CreateDeployment") == 3
    assert sequential_round_trips(calls, until="ecs.RegisterTaskDefinition") == 2
    assert len(calls_until(calls, "CreateDeployment")) == 3
    # Another service's action of that name does not match "service.action".
    assert sequential_round_trips(calls, until="ecs.CreateDeployment") == 5
    assert sequential_round_trips(calls) == 5


def test_until_that_no_call_matches_considers_every_call():
    calls = [call(0.0, 1.0), call(1.1, 2.0)]
    assert len(calls_until(calls, "CreateDeployment")) == 2
    assert sequential_round_trips(calls, until="CreateDeployment") == 2


def test_concurrent_calls_before_until_are_one_level():
    calls = [
        call(0.0, 1.0, "DescribeServices"),
        call(0.0, 1.0, "DescribeTaskDefinition"),
        call(0.05, 1.1, "DescribeImages", "ecr"),
        call(1.2, 2.0, "RegisterTaskDefinition"),
        call(2.1, 3.0, "CreateDeployment", "codedeploy"),
    ]
    assert sequential_round_trips(calls, until="CreateDeployment") == 3


def test_a_call_still_in_flight_ends_a_chain_but_continues_none():
    calls = [call(0.0, 1.0), call(1.1, None), call(5.0, 6.0)]
    # The third call cannot follow the unanswered second one, only the first.
    assert sequential_round_trips(calls) == 2
