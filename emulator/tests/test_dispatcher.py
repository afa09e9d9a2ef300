"""The dispatcher remembers each host's backend: moto's scan runs once per host, and the answer
is the one moto gives."""

from __future__ import annotations

from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from greenlight_emulator.server import Dispatcher


def test_each_host_is_looked_up_once_with_motos_answer(monkeypatch: Any) -> None:
    scans: list[str | None] = []
    original = DomainDispatcherApplication.get_backend_for_host

    def counted(self: Any, host: str | None) -> Any:
        scans.append(host)
        return original(self, host)

    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host", counted)
    dispatcher = Dispatcher(create_backend_app)
    hosts = ["ecs.us-east-1.amazonaws.com", "codedeploy.us-east-1.amazonaws.com", None, "nowhere.example"]
    first = [dispatcher.get_backend_for_host(h) for h in hosts]
    again = [dispatcher.get_backend_for_host(h) for h in hosts]

    assert first == again
    assert first[:3] == ["ecs", "codedeploy", None]
    assert first[3] is None
    assert scans == hosts
    # The same answers as moto's own dispatcher.
    plain = DomainDispatcherApplication(create_backend_app)
    assert [original(plain, h) for h in hosts] == first
