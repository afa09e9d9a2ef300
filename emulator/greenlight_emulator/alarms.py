"""CloudWatch alarms for deployments: the `alarm` fault and what watches alarms.

An alarm fault is taken by the next deployment created (CodeDeploy CreateDeployment or an
ECS deployment of any service): its alarm is scheduled to go into ALARM `after_seconds` AWS
seconds after that (STATE.alarms). Before every request tick_all() applies what is due to
moto's CloudWatch (SetAlarmState with the state reason, StateUpdatedTimestamp the AWS
instant it was due). SetAlarmState calls made by clients into ALARM are noted too, so that
either way a deployment watching the alarm (a CodeDeploy group's alarmConfiguration, an ECS
service's deploymentConfiguration.alarms) stops or rolls back at that instant
(codedeploy/engine.py, ecs/service_deployment.py)."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends

from .control import STATE, wall_datetime

_PATCHED = False
_applying = False


def _backend(account: str, region: str) -> CloudWatchBackend:
    return cloudwatch_backends[account][region]


def default_reason(alarm: Any) -> str:
    """A state reason in CloudWatch's manner for an alarm whose threshold was crossed."""
    threshold = getattr(alarm, "threshold", None)
    comparison = {
        "GreaterThanOrEqualToThreshold": "greater than or equal to",
        "GreaterThanThreshold": "greater than",
        "LessThanThreshold": "less than",
        "LessThanOrEqualToThreshold": "less than or equal to",
    }.get(str(getattr(alarm, "comparison_operator", "")), "greater than or equal to")
    shown = f" ({float(threshold)})" if threshold is not None else ""
    return f"Threshold Crossed: 1 out of the last 1 datapoints was {comparison} the threshold{shown}."


def schedule_faults(account: str, region: str, at: float) -> None:
    """A deployment was created at the AWS instant at: the alarm faults it takes."""
    for fault in STATE.faults.take_alarm_faults():
        name = fault["alarmName"]
        alarm = _backend(account, region).alarms.get(name)
        if alarm is None:
            continue  # no such alarm in that region: nothing can go into ALARM
        reason = fault.get("stateReason") or default_reason(alarm)
        STATE.alarms.add(at + float(fault["after_seconds"]), account, region, name, reason, applied=False)


def watched(account: str, region: str, names: list[str], since: float) -> tuple[float, list[str]] | None:
    """When one of the alarms first went (or goes) into ALARM at or after since, and which."""
    if not names:
        return None
    return STATE.alarms.first(account, region, names, since)


def tick_all() -> None:
    """Applies the scheduled alarm states that are due to moto's CloudWatch."""
    global _applying
    for entry in STATE.alarms.due(STATE.clock.now()):
        backend = _backend(entry["account"], entry["region"])
        alarm = backend.alarms.get(entry["alarmName"])
        if alarm is None:
            continue
        _applying = True
        try:
            backend.set_alarm_state(entry["alarmName"], entry["reason"], None, "ALARM")
        finally:
            _applying = False
        alarm.state_updated_timestamp = wall_datetime(entry["at"])


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    original = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        before = getattr(self.alarms.get(alarm_name), "state_value", None)
        original(self, alarm_name, reason, reason_data, state_value)
        if not _applying and state_value == "ALARM" and before != "ALARM":
            # A client set it: deployments watching it react from now on.
            STATE.alarms.add(STATE.clock.now(), self.account_id, self.region_name, alarm_name, reason, applied=True)

    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]
