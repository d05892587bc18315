"""Sign-in throttling (issue 15, item 4), for real: uvicorn web processes on one database.

Clients are told apart by ``X-Forwarded-For``, which uvicorn trusts from 127.0.0.1 (its
``--forwarded-allow-ips`` default), as it would from a reverse proxy on the same machine.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import _free_port
from tests.conftest import REPO, heaters_cmd
from web.throttle import address_key

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"


class Browser:
    """A client at one address that has loaded the sign-in form (it holds the CSRF cookie)."""

    def __init__(self, url: str, address: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60, headers={"X-Forwarded-For": address})
        assert self.client.get("/login").status_code == 200

    def sign_in(self, name: str, password: str) -> httpx.Response:
        return self.client.post(
            "/login",
            data={"name": name, "password": password, "next": "/review",
                  "_csrf_token": self.client.cookies["heaters_csrf"]},
        )  # fmt: skip

    def close(self) -> None:
        self.client.close()


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``uvicorn web.app:create_app`` on a free port with ``env``; stderr to ``log``; yields
    its URL once it answers."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**env, "PYTHONUNBUFFERED": "1"}, cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the web did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def add_users(env: dict[str, str], *names: str) -> None:
    for name in names:
        made = subprocess.run(
            heaters_cmd("user", "add", name, "--password-stdin"), input=PASSWORD + "\n",
            env=env, capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr


def alert(response: httpx.Response) -> str:
    """The message of a sign-in page."""
    found = re.search(r'role="alert">([^<]*)<', response.text)
    assert found, response.text[:500]
    return found.group(1)


def throttled_lines(*logs: Path) -> list[str]:
    return [line for log in logs for line in log.read_text().splitlines()
            if "sign-in throttled" in line]  # fmt: skip


def assert_throttled(response: httpx.Response, window: float) -> int:
    """A 429 sign-in page with a Retry-After in (0, window]; returns the Retry-After."""
    assert response.status_code == 429, (response.status_code, response.text[:300])
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= window, retry_after
    assert alert(response) == f"too many sign-in attempts: try again in {retry_after} s"
    return retry_after


WINDOW = 600
"""Sign-in window (seconds) of the test of the default limit."""


def test_51st_wrong_password_within_a_minute_is_429_in_every_web_process(
    heaters_env: dict[str, str], tmp_path: Path
) -> None:
    # The default limits, in a 10-minute window: 51 sign-ins hash 51 passwords, which on a
    # loaded machine can take longer than the default minute (the window would end first).
    env = {**heaters_env, "HEATERS_LOGIN_WINDOW_SECONDS": str(WINDOW)}
    add_users(env, "victim", "ops")
    logs = [tmp_path / "web1.err", tmp_path / "web2.err"]
    with web_server(env, logs[0]) as one, web_server(env, logs[1]) as two:
        attacker = [Browser(one, "198.51.100.7"), Browser(two, "198.51.100.7")]
        prober = [Browser(one, "198.51.100.8"), Browser(two, "198.51.100.8")]
        reviewer = [Browser(one, "203.0.113.9"), Browser(two, "203.0.113.9")]
        try:
            started = time.monotonic()
            # 50 wrong passwords for an account, shared between the two web processes.
            for i in range(50):
                r = attacker[i % 2].sign_in("victim", WRONG)
                assert r.status_code == 401, (i, r.status_code, r.text[:300])
                assert alert(r) == "wrong name or password"
            # The 51st is refused by either process: they count in the same table.
            first = attacker[0].sign_in("victim", WRONG)
            assert time.monotonic() - started < WINDOW, "51 attempts took over the window"
            assert_throttled(first, WINDOW)
            assert_throttled(attacker[1].sign_in("victim", WRONG), WINDOW)
            # Refused before the password is checked: the right one is refused alike, and
            # from another address too (the account is throttled, not the address).
            assert_throttled(attacker[0].sign_in("victim", PASSWORD), WINDOW)
            assert_throttled(reviewer[1].sign_in("victim", PASSWORD), WINDOW)

            # An account that does not exist is throttled the same way, with the same page.
            for i in range(50):
                r = prober[i % 2].sign_in("nobody", WRONG)
                assert r.status_code == 401 and alert(r) == "wrong name or password", i
            missing = prober[1].sign_in("nobody", WRONG)
            assert_throttled(missing, WINDOW)
            existing = attacker[1].sign_in("victim", WRONG)
            assert_throttled(existing, WINDOW)
            assert set(missing.headers) == set(existing.headers)

            def page(r: httpx.Response) -> str:  # the page less the name, timer and token
                text = r.text.replace("nobody", "NAME").replace("victim", "NAME")
                text = re.sub(r"try again in \d+ s", "", text)
                return re.sub(r"[0-9a-f]{64,}", "TOKEN", text)  # the CSRF tokens

            assert page(missing) == page(existing)

            # Another account signs in from another address while both are hammered.
            for browser in reviewer:
                r = browser.sign_in("ops", PASSWORD)
                assert r.status_code == 303 and r.headers["location"] == "/review", r.text[:300]
                assert browser.client.get("/review").status_code in (200, 303)
            # Each throttle is logged once, by whichever process refused first.
            lines = throttled_lines(*logs)
            assert len([line for line in lines if "account 'victim'" in line]) == 1, lines
            assert len([line for line in lines if "account 'nobody'" in line]) == 1, lines
            assert len(lines) == 2, lines
        finally:
            for browser in [*attacker, *prober, *reviewer]:
                browser.close()


@pytest.fixture
def small_limits(heaters_env: dict[str, str]) -> dict[str, str]:
    """Limits small enough to reach quickly: 4 failures per account, 6 per address, 5 s."""
    return {**heaters_env, "HEATERS_LOGIN_ACCOUNT_LIMIT": "4",
            "HEATERS_LOGIN_ADDRESS_LIMIT": "6", "HEATERS_LOGIN_WINDOW_SECONDS": "5"}  # fmt: skip


def test_parallel_guesses_cannot_pass_the_limit_and_the_address_limit_spans_accounts(
    small_limits: dict[str, str], tmp_path: Path
) -> None:
    add_users(small_limits, "victim", "ops")
    with web_server(small_limits, tmp_path / "web.err") as url:
        # 12 guesses at once from 12 addresses: exactly 4 are checked, 8 refused (each
        # attempt is counted before its password hash is checked).
        guessers = [Browser(url, f"192.0.2.{i + 1}") for i in range(12)]
        try:
            with ThreadPoolExecutor(len(guessers)) as pool:
                codes = sorted(pool.map(lambda b: b.sign_in("victim", WRONG).status_code,
                                        guessers))  # fmt: skip
            assert codes == [401] * 4 + [429] * 8, codes
        finally:
            for browser in guessers:
                browser.close()

        # One address trying many names: 6 failures, then it is refused for every account,
        # even with the right password, while another address signs in.
        sprayer = Browser(url, "198.51.100.7")
        other = Browser(url, "203.0.113.9")
        try:
            for i in range(6):
                r = sprayer.sign_in(f"user{i}", WRONG)
                assert r.status_code == 401, (i, r.text[:300])
            assert_throttled(sprayer.sign_in("ops", PASSWORD), 5)
            assert other.sign_in("ops", PASSWORD).status_code == 303
        finally:
            sprayer.close()
            other.close()
        lines = throttled_lines(tmp_path / "web.err")
        address = [line for line in lines if "for address" in line]
        assert len(address) == 1 and "from 198.51.100.7" in address[0], lines
        assert len([line for line in lines if "account 'victim'" in line]) == 1, lines


def test_sign_in_works_again_once_the_window_has_passed(
    small_limits: dict[str, str], tmp_path: Path
) -> None:
    add_users(small_limits, "ops")
    with web_server(small_limits, tmp_path / "web.err") as url:
        browser = Browser(url, "198.51.100.7")
        try:
            for _ in range(4):
                assert browser.sign_in("ops", WRONG).status_code == 401
            assert_throttled(browser.sign_in("ops", PASSWORD), 5)
            # Wait on the condition: the right password is let in once the window ends.
            deadline = time.monotonic() + 60
            while (r := browser.sign_in("ops", PASSWORD)).status_code != 303:
                assert_throttled(r, 5)
                assert time.monotonic() < deadline, "still throttled after a minute"
                time.sleep(0.2)
            # Successful sign-ins are given back: more than the limit in one window pass.
            for _ in range(6):
                assert browser.sign_in("ops", PASSWORD).status_code == 303
        finally:
            browser.close()


def test_address_keys() -> None:
    assert address_key("198.51.100.7") == "address:198.51.100.7"
    # An IPv6 host usually has a whole /64: its addresses are one client.
    assert (
        address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == ("address:2001:db8::/64")
    )
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:198.51.100.7") == "address:198.51.100.7"
    assert address_key(None) == "address:unknown"
    assert address_key("proxy\nforged log line") == "address:proxyforgedlogline"
