"""The tests' one wait: it ends as soon as the thing happened, and a wait that runs out says what
it waited for."""

from __future__ import annotations

import pytest

from tests.waiting import wait_until


def test_a_wait_ends_when_the_predicate_holds() -> None:
    tries: list[int] = []

    def third_time() -> bool:
        tries.append(1)
        return len(tries) == 3

    wait_until(third_time, what="the third try", interval=0)
    assert len(tries) == 3


def test_a_wait_that_runs_out_names_what_it_waited_for() -> None:
    passed: list[int] = []
    with pytest.raises(AssertionError) as failed:
        wait_until(
            lambda: False,
            what="the device in Google",
            timeout=0.05,
            interval=0.01,
            between=lambda: passed.append(1),
            detail=lambda: "the log says: nothing",
        )
    assert str(failed.value) == (
        "waited 0.05 s for the device in Google; it did not happen:\nthe log says: nothing"
    )
    assert passed  # time was made to pass between the tries
