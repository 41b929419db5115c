"""A simulated loan desk: lends devices to a trickle of borrowers and takes them back, through
the API's signed webhooks, exactly as a desk's own software would."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from fleetsync import clock
from fleetsync.domain.lifecycle import Connectivity, DeviceState
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Borrower, Device, Loan
from fleetsync.log import get_logger

__all__ = ["DeskStats", "SimulatedDesk"]

log = get_logger("fleetsync.demo.desk")

_GIVEN = ("Ayşe", "Mohammed", "Olena", "Amira", "Yusuf", "Fatima", "Daniel", "Nadia", "Tariq",
          "Elif", "Zainab", "Ivan", "Lina", "Samir", "Mariam", "Karim")  # fmt: skip
# Real spellings on purpose (a Turkish dotless i, apostrophes, particles): usernames fold them.
_FAMILY = ("Öztürk", "El Amrani", "Kovalenko", "Haddad", "Yılmaz", "Diallo",  # noqa: RUF001
           "Popescu", "Nazari", "Mensah", "Rahimi", "Osei", "Shevchenko", "Demir", "Bakr",
           "N'Diaye", "Van den Berg")  # fmt: skip


@dataclass
class DeskStats:
    checkouts: int = 0
    returns: int = 0
    refused: int = 0
    passwords: int = 0


class SimulatedDesk(threading.Thread):
    def __init__(
        self,
        *,
        api_url: str,
        secret: str,
        token: str,
        ledger: Ledger,
        stop: threading.Event,
        pace_seconds: float,
        return_share: float = 0.4,
        return_after_seconds: float = 20.0,
        seed: int = 7,
    ) -> None:
        super().__init__(name="simulated-loan-desk", daemon=True)
        self.api_url = api_url.rstrip("/")
        self.webhook = Webhook(secret)
        self.token = token
        self.ledger = ledger
        self.stop = stop
        self.pace = pace_seconds
        self.return_share = return_share
        self.return_after = timedelta(seconds=return_after_seconds)
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.stats = DeskStats()
        self._borrowers = self._last_borrower()

    def _last_borrower(self) -> int:
        """The desk numbers its borrowers B-1001, B-1002...; a demo that continues an earlier run
        goes on after the borrowers that run made (the same id with other names is refused)."""
        with self.ledger.read() as session:
            ids = session.scalars(sa.select(Borrower.desk_id).where(Borrower.desk_id.like("B-%")))
            return max((int(i[2:]) for i in ids if i[2:].isdigit()), default=1000)

    # ------------------------------------------------------------------- the loop
    def run(self) -> None:
        while not self.stop.wait(self.pace * self.rng.uniform(0.5, 1.5)):
            try:
                self._one_event()
            except (OSError, urllib.error.URLError) as exc:
                log.warning("desk.unreachable", error=str(exc))

    def _one_event(self) -> None:
        spare, on_loan = self._fleet()
        # Courses end: a share of the events are returns of loans that ran a while (a demo's
        # "while" is seconds, not the agency's 65 days).
        due = [serial for serial, since in on_loan if clock.now() - since > self.return_after]
        if due and (self.rng.random() < self.return_share or not spare):
            self._return(self.rng.choice(due))
        elif spare:
            self._checkout(self.rng.choice(spare))

    def _fleet(self) -> tuple[list[tuple[str, str, Connectivity]], list[tuple[str, datetime]]]:
        """Spare devices (serial, region, connectivity) and on-loan devices with their loan's
        start."""
        with self.ledger.read() as session:
            spare = [
                (serial, region, connectivity)
                for serial, region, connectivity in session.execute(
                    sa.select(Device.serial, Device.region, Device.connectivity).where(
                        Device.state == DeviceState.SPARE
                    )
                )
            ]
            on_loan = [
                (serial, since)
                for serial, since in session.execute(
                    sa.select(Device.serial, Loan.checked_out_at).join(
                        Loan, sa.and_(Loan.device_id == Device.id, Loan.returned_at.is_(None))
                    )
                )
            ]
        return spare, on_loan

    # ------------------------------------------------------------------ the events
    def _checkout(self, device: tuple[str, str, Connectivity]) -> None:
        serial, region, connectivity = device
        self._borrowers += 1
        borrower = f"B-{self._borrowers}"
        given, family = self.rng.choice(_GIVEN), self.rng.choice(_FAMILY)
        answer = self._send(
            "loan.checked_out",
            {
                "device": {"serial": serial},
                "borrower": {
                    "id": borrower,
                    "given_name": given,
                    "family_name": family,
                    "region": region,
                },
                "agreed_end": (
                    clock.today() + timedelta(days=self.rng.randint(45, 90))
                ).isoformat(),
                "needs_data": connectivity is Connectivity.FOUR_G,
            },
        )
        if answer is None:
            return
        self.stats.checkouts += 1
        log.info("desk.checkout", serial=serial, borrower=borrower, loan=answer.get("loan"))
        if self.rng.random() < 0.5:
            self._collect(str(answer.get("loan")))

    def _return(self, serial: str) -> None:
        condition = "damaged" if self.rng.random() < 0.1 else "ok"
        answer = self._send("loan.returned", {"device": {"serial": serial}, "condition": condition})
        if answer is not None:
            self.stats.returns += 1
            log.info("desk.return", serial=serial, condition=condition, loan=answer.get("loan"))

    def _collect(self, loan: str) -> None:
        """Hand the first password over at the counter (the API gives it once)."""
        request = urllib.request.Request(  # noqa: S310 - the demo's own API on loopback
            f"{self.api_url}/v1/loans/{loan}/credentials",
            method="POST",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                if reply.status == 200:
                    self.stats.passwords += 1
                    log.info("desk.first_password_handed_over", loan=loan)
        except urllib.error.HTTPError as exc:
            log.info("desk.first_password_not_yet", loan=loan, status=exc.code)

    def _send(self, kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
        body = json.dumps({"type": kind, "data": data})
        msg_id = f"msg_{uuid.uuid4().hex}"
        at = clock.machine_now()  # the signing time: the server checks it against its own clock
        request = urllib.request.Request(  # noqa: S310 - the demo's own API on loopback
            f"{self.api_url}/webhooks/loan-desk",
            data=body.encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": self.webhook.sign(msg_id, at, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                answer: dict[str, Any] = json.loads(reply.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            self.stats.refused += 1
            detail = json.loads(exc.read() or b"{}").get("detail", "")
            log.info("desk.refused", webhook=kind, status=exc.code, why=detail)
            return None
