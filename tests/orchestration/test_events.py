from __future__ import annotations

from structlog.testing import capture_logs

from agentls.orchestration.events import Event, EventBus, WorkflowFinished


def test_a_failing_subscriber_is_logged_and_the_others_still_hear_the_event() -> None:
    heard: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("renderer bug")

    bus = EventBus()
    bus.subscribe(broken)
    bus.subscribe(heard.append)
    event = WorkflowFinished(run_id="r1", status="ok", summary="done")
    with capture_logs() as logs:
        bus.emit(event)
    assert heard == [event]
    [entry] = [e for e in logs if e["event"] == "event subscriber failed"]
    assert entry["event_type"] == "WorkflowFinished" and entry["log_level"] == "error"
    assert entry.get("exc_info")
