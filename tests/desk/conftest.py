"""The desk web app on a fresh ledger (SQLite and PostgreSQL), through Starlette's TestClient:
staff of two desks, devices of two regions, and a browser-like client that signs in and posts
forms with the page's own CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetsync import services
from fleetsync.api import create_app
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.domain.staff import StaffRole
from fleetsync.ledger import Ledger, open_ledger
from fleetsync.log import configure_logging
from fleetsync.services.staff import add_staff
from fleetsync.settings import (
    ApiSettings,
    DeskAppSettings,
    DeskSettings,
    LoanSettings,
    Settings,
)

#: serial, asset tag, model, region, connectivity
DEVICES = (
    "5CD1234XYZ,CB-0001,Acer Chromebook 314,Antwerpen,4g",
    "5CD2000AAA,CB-0002,Acer Chromebook 314,Antwerpen,wifi",
    "5CD3000BBB,CB-0003,Acer Chromebook 314,Brussel,wifi",
)
#: username → (desk, role); every password is ``<username>-password!``. Two clerks of two desks
#: (argon2 costs a tenth of a second a hash: a test adds more with the ``technician`` fixture).
STAFF = {
    "ann": ("antwerpen", StaffRole.CLERK),
    "bea": ("brussel", StaffRole.CLERK),
}
#: For what does not depend on the database (headers, cookies, forms): SQLite is enough.
ANY_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def password_of(username: str) -> str:
    return f"{username}-password!"


@pytest.fixture(autouse=True)
def _logging_as_served() -> None:
    configure_logging("info", "json")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        api=ApiSettings(
            desks={
                "antwerpen": DeskSettings(region="Antwerpen", return_address="Desk Antwerpen"),
                "brussel": DeskSettings(region="Brussel", return_address="Desk Brussel"),
            }
        ),
        desk=DeskAppSettings(sign_in_attempts=3, lockout_minutes=15, contact="0800 12 345"),
        # No Google here (the browser tests have the sandbox): the imported devices are lendable.
        loans=LoanSettings(lend_unconfirmed=True),
    )


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    with open_ledger(settings) as opened:
        text = "serial,asset_tag,model,region,connectivity\n" + "\n".join(DEVICES) + "\n"
        rows = parse_devices_csv(text, regions=settings.regions)
        with opened.transaction() as session:
            services.import_devices(session, rows, actor="cli:tester")
            for username, (desk, role) in STAFF.items():
                add_staff(
                    session,
                    username=username,
                    display_name=username.title(),
                    desk=desk,
                    role=role,
                    actor="cli:tester",
                    password=password_of(username),
                )
        yield opened


def _staff_member(ledger: Ledger, username: str, desk: str, role: StaffRole) -> str:
    with ledger.transaction() as session:
        add_staff(
            session,
            username=username,
            display_name=username.title(),
            desk=desk,
            role=role,
            actor="cli:tester",
            password=password_of(username),
        )
    return username


@pytest.fixture
def technician(ledger: Ledger) -> str:
    """``tom``, a technician at Ann's desk."""
    return _staff_member(ledger, "tom", "antwerpen", StaffRole.TECHNICIAN)


@pytest.fixture
def admin(ledger: Ledger) -> str:
    """``ada``, an admin at Bea's desk (Brussel): she sees every desk."""
    return _staff_member(ledger, "ada", "brussel", StaffRole.ADMIN)


@pytest.fixture
def app(settings: Settings, ledger: Ledger) -> FastAPI:
    return create_app(settings, ledger)


@dataclass
class Browser:
    """A TestClient that behaves like a person's browser: it keeps the cookies, reads the CSRF
    token from the last page, and sends it with every form."""

    client: TestClient
    csrf: str = ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = self.client.get(path, **kwargs)  # type: ignore[arg-type]
        self._remember(response)
        return response

    def post(
        self, path: str, data: dict[str, str] | None = None, **kwargs: object
    ) -> httpx.Response:
        fields = {"csrf": self.csrf} | (data or {})
        response = self.client.post(path, data=fields, **kwargs)  # type: ignore[arg-type]
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found[1]

    def sign_in(self, username: str, password: str | None = None) -> httpx.Response:
        self.get("/desk/sign-in")
        return self.post(
            "/desk/sign-in",
            {"username": username, "password": password or password_of(username)},
        )


@pytest.fixture
def browser(app: FastAPI) -> Iterator[Browser]:
    with TestClient(app) as client:
        yield Browser(client)


@pytest.fixture
def other_browser(app: FastAPI) -> Iterator[Browser]:
    with TestClient(app) as client:
        yield Browser(client)


@pytest.fixture
def third_browser(app: FastAPI) -> Iterator[Browser]:
    with TestClient(app) as client:
        yield Browser(client)
