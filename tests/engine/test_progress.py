"""engine.progress: the one progress event and the one cancel token."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from engine.progress import Cancelled, CancelToken, Progress, report_progress


def test_a_progress_event_is_frozen_and_keeps_its_own_copy_of_info():
    info = {"loss": 2.5}
    p = Progress("fit", 3, 12, "step", "loss 2.500", info)
    info["loss"] = 0.0  # the sender reuses its dict
    assert p.info["loss"] == 2.5 and p.fraction == 0.25
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.done = 4  # type: ignore[misc]
    assert Progress("load").fraction is None and Progress("read", 5, 0).fraction is None
    assert p.to_dict() == {"stage": "fit", "done": 3, "total": 12, "unit": "step",
                           "message": "loss 2.500", "info": {"loss": 2.5}}


def test_report_progress_builds_one_event_and_is_a_no_op_without_a_callback():
    seen: list[Progress] = []
    report_progress(seen.append, "read", 1, 6, "file", "a.txt", rate=2.0)
    report_progress(None, "read", 2, 6)  # nothing to call: nothing happens
    assert seen == [Progress("read", 1, 6, "file", "a.txt", {"rate": 2.0})]


def test_a_cancel_token_set_from_another_thread_stops_work_at_its_next_check():
    token = CancelToken()
    assert not token.cancelled and not token.wait(0.01)
    token.raise_if_cancelled()  # not cancelled: returns
    threading.Timer(0.05, token.cancel).start()
    assert token.wait(5.0) and token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()


def test_generation_keeps_importing_the_same_token():
    from engine.generate import CancelToken as GenerateToken

    assert GenerateToken is CancelToken
