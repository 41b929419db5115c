"""Simulated Chromebooks: the returned ones are switched on sooner or later, check in, and
execute the powerwash waiting for them. Time in the sandbox runs faster than on the wall."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from fleetsync.domain.lifecycle import CommandState, DeviceState
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Device, DeviceCommand
from fleetsync.log import get_logger
from fleetsync.sandbox.control import SandboxControl

__all__ = ["SimulatedDevices"]

log = get_logger("fleetsync.demo.devices")

_ISSUED = [CommandState.PENDING, CommandState.SENT_TO_CLIENT, CommandState.ACKED_BY_CLIENT]


class SimulatedDevices(threading.Thread):
    def __init__(
        self,
        *,
        control: SandboxControl,
        ledger: Ledger,
        stop: threading.Event,
        tick_seconds: float = 2.0,
        minutes_per_tick: float = 2.0,
        seed: int = 11,
    ) -> None:
        super().__init__(name="simulated-devices", daemon=True)
        self.control = control
        self.ledger = ledger
        self.stop = stop
        self.tick = tick_seconds
        self.minutes_per_tick = minutes_per_tick
        self.rng = random.Random(seed)  # noqa: S311 - a simulation
        self.switched_on = 0
        self._online: set[str] = set()

    def run(self) -> None:
        while not self.stop.wait(self.tick):
            try:
                self._tick()
            except Exception:
                log.warning("devices.tick_failed", exc_info=True)

    def _tick(self) -> None:
        # The sandbox's clock runs ahead: devices check in, powerwashes execute.
        self.control.advance(minutes=self.minutes_per_tick)
        with self.ledger.read() as session:
            waiting = list(
                session.execute(
                    sa.select(Device.serial, Device.google_device_id)
                    .join(DeviceCommand, DeviceCommand.device_id == Device.id)
                    .where(
                        Device.state == DeviceState.IN_REFURBISHMENT,
                        DeviceCommand.state.in_(_ISSUED),
                    )
                )
            )
        # A technician switches a returned device on: not all at once.
        fresh = [(s, d) for s, d in waiting if d and d not in self._online]
        chosen = [item for item in fresh if self.rng.random() < 0.5]
        if chosen:
            self.control.online([device_id for _, device_id in chosen])
            self._online.update(device_id for _, device_id in chosen)
            self.switched_on += len(chosen)
            for serial, _ in chosen:
                log.info("device.switched_on", serial=serial)
