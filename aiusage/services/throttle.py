"""Log-in throttling that an attacker cannot turn into a lock-out, and limits on the mails
anyone can make us send.

Log-in (and every re-entry of the current password) counts failed passwords three ways, in
Redis when `AIUSAGE_REDIS_URL` is set (every app instance counts the same failures:
services/login_counts.py), else, and while Redis is away, in this process:

- per (address, client IP) pair: after `AIUSAGE_LOGIN_FREE_FAILURES` failures the pair must
  wait 1 s, then 2 s, 4 s … doubling with each further failure, up to
  `AIUSAGE_LOGIN_MAX_DELAY_SECONDS` (15 min). An attempt made before the wait is over is
  answered 429 with Retry-After and its password is not even checked, so it costs the
  attacker a refusal and us nothing. The owner logging in from another IP is another pair
  and is not affected at all; a correct password clears its own pair only.
- per client IP, over any addresses: after `AIUSAGE_LOGIN_MAX_FAILURES_PER_IP` failures the
  IP waits the same growing delays (one machine trying many accounts). IPv6 addresses count
  by their /64, which one host usually holds whole.
- per address, over any IPs (the per-account ceiling), only as a slow-down: once an address
  has had `AIUSAGE_LOGIN_ACCOUNT_SLOWDOWN_FAILURES` failures that are not yet forgotten, each
  of its pairs gets no free failures: a new IP waits from its first wrong password. This
  takes a botnet's free guesses from `free` per IP down to one, but it never refuses an
  attempt by itself: a pair (or an IP) that has not failed yet is let through, so the owner's
  correct password from a new IP still signs in while the account is under attack. A hard
  per-account limit was not chosen because whoever triggers it locks the owner out, which is
  what this module replaces.

A count is forgotten once it has had no failure for its current delay plus
`AIUSAGE_LOGIN_WINDOW_SECONDS`, so waiting out the delay at the maximum does not reset it.

Memory is bounded: keys are 16-byte keyed BLAKE2 digests of the normalised address and the
IP (an arbitrary 16 KB "email" costs 16 bytes), keyed by a key derived from the app's secret
(the same in every instance). In the process each table holds at most MAX_ENTRIES keys, the
least recently failed dropped first; in Redis each count expires after its longest memory.

Mails (password reset, verification again, "someone tried to sign up with your address"):
at most `AIUSAGE_MAIL_LIMIT_PER_ADDRESS` per address and `AIUSAGE_MAIL_LIMIT_PER_IP` per
client IP per hour. Every request counts, whether or not the address has an account; beyond
the limit no mail is sent and the answer is the same as below it (never a 429), so neither
the answer nor its absence of mail tells anything about the address."""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from aiusage.config import get_settings
from aiusage.services.accounts import normalize_email
from aiusage.services.client_ip import limit_key
from aiusage.services.errors import ServiceError
from aiusage.services.login_counts import Count, SharedCounts
from aiusage.services.ratelimit import SlidingWindow
from aiusage.services.redis_link import RedisLink, shared_redis

MAX_ENTRIES = 50_000
BASE_DELAY_SECONDS = 1.0


@functools.cache
def _digest_key() -> bytes:
    """From the app's secret: the same in every instance (they share counts in Redis), and
    nobody without the secret can precompute colliding keys."""
    return hashlib.blake2b(get_settings().secret_key_bytes, person=b"login-throttle").digest()[:32]


def _digest(*parts: str) -> bytes:
    hasher = hashlib.blake2b(digest_size=16, key=_digest_key())
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x00")
    return hasher.digest()


def address_key(raw: str) -> str:
    """The address as the accounts table would have it; free text (not an address at all) is
    lowercased and stripped, so case or spaces do not make a new pair."""
    try:
        return normalize_email(raw)
    except ServiceError:
        return (raw or "").strip().lower()


def delay_for(failures: int, free: int, maximum: float) -> float:
    """Seconds to wait after `failures` failures when `free` of them cost nothing."""
    first = max(free, 1)
    if failures < first:
        return 0.0
    return min(BASE_DELAY_SECONDS * 2.0 ** min(failures - first, 40), maximum)


class FailureTable:
    """Failure counts by key, least recently failed first, at most `max_entries`."""

    def __init__(self, window: float, maximum_delay: float, max_entries: int = MAX_ENTRIES):
        self.window = window
        self.maximum_delay = maximum_delay
        self.max_entries = max_entries
        self._counts: OrderedDict[bytes, Count] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def _live(self, key: bytes, now: float) -> Count | None:
        count = self._counts.get(key)
        if count is None:
            return None
        # Forgotten after its longest possible delay plus a quiet window.
        if now - count.last > self.maximum_delay + self.window:
            del self._counts[key]
            return None
        return count

    def failures(self, key: bytes, now: float) -> int:
        return self.failures_of(self._live(key, now), now)

    def wait(self, key: bytes, free: int, now: float) -> float:
        count = self._live(key, now)
        wait = self.wait_of(count, free, now)
        if count is not None and wait == 0.0 and self.forgotten(count, free, now):
            del self._counts[key]
        return wait

    # The rules on one count, wherever it is kept (here, or in Redis: services/login_counts.py).

    def failures_of(self, count: Count | None, now: float) -> int:
        if count is None or now - count.last > self.maximum_delay + self.window:
            return 0
        return count.failures

    def forgotten(self, count: Count, free: int, now: float) -> bool:
        """Quiet for its delay plus the window: the next failure starts a new count."""
        return now - count.last > delay_for(count.failures, free, self.maximum_delay) + self.window

    def wait_of(self, count: Count | None, free: int, now: float) -> float:
        if not self.failures_of(count, now) or count is None or self.forgotten(count, free, now):
            return 0.0
        delay = delay_for(count.failures, free, self.maximum_delay)
        return max(0.0, count.last + delay - now)

    def fail(self, key: bytes, free: int, now: float) -> None:
        count = self._live(key, now)
        if count is not None and self.forgotten(count, free, now):
            count = None
        if count is None:
            while len(self._counts) >= self.max_entries:
                self._counts.popitem(last=False)
            count = self._counts[key] = Count(0, now)
        count.failures += 1
        count.last = now
        self._counts.move_to_end(key)

    def clear(self, key: bytes) -> None:
        self._counts.pop(key, None)


class LoginThrottle:
    """See the module docstring. Addresses are given as typed; `address_key` normalises.
    With a Redis link the counts live there (services/login_counts.py), shared by every
    instance; these in-process tables count while Redis is away."""

    def __init__(
        self,
        *,
        free_failures: int,
        ip_free_failures: int,
        account_slowdown_failures: int,
        max_delay: float,
        window: float,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
        link: RedisLink | None = None,
    ) -> None:
        self.free = free_failures
        self.ip_free = ip_free_failures
        self.slowdown = account_slowdown_failures
        self.clock = clock  # wall time: instances sharing Redis compare each other's stamps
        self.pairs = FailureTable(window, max_delay, max_entries)
        self.ips = FailureTable(window, max_delay, max_entries)
        # Counted over a plain quiet window, with no delay of its own: it only sets the
        # slow-down.
        self.accounts = FailureTable(window, 0.0, max_entries)
        self.shared = None if link is None else SharedCounts(link)

    def _keys(self, address: str, ip: str) -> tuple[bytes, bytes, bytes]:
        address = address_key(address)
        ip = limit_key(ip)
        return _digest("pair", address, ip), _digest("ip", ip), _digest("account", address)

    def _pair_free(self, account_failures: int) -> int:
        return 0 if account_failures >= self.slowdown else self.free

    async def retry_after(self, address: str, ip: str) -> int:
        """Whole seconds this (address, IP) must still wait; 0 when it may try now."""
        now = self.clock()
        pair, by_ip, account = self._keys(address, ip)
        shared = None
        if self.shared is not None:
            shared = await self.shared.read([("pair", pair), ("ip", by_ip), ("account", account)])
        if shared is None:
            free = self._pair_free(self.accounts.failures(account, now))
            wait = max(self.pairs.wait(pair, free, now), self.ips.wait(by_ip, self.ip_free, now))
        else:
            pair_count, ip_count, account_count = shared
            free = self._pair_free(self.accounts.failures_of(account_count, now))
            wait = max(
                self.pairs.wait_of(pair_count, free, now),
                self.ips.wait_of(ip_count, self.ip_free, now),
            )
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, address: str, ip: str) -> None:
        now = self.clock()
        pair, by_ip, account = self._keys(address, ip)
        if self.shared is not None:
            read = await self.shared.read([("account", account)])
            if read is not None:
                free = self._pair_free(self.accounts.failures_of(read[0], now))
                counted = await self.shared.fail(
                    [
                        ("pair", pair, self.pairs, free),
                        ("ip", by_ip, self.ips, self.ip_free),
                        ("account", account, self.accounts, 0),
                    ],
                    now,
                )
                if counted:
                    return
        free = self._pair_free(self.accounts.failures(account, now))
        self.pairs.fail(pair, free, now)
        self.ips.fail(by_ip, self.ip_free, now)
        self.accounts.fail(account, 0, now)

    async def succeeded(self, address: str, ip: str) -> None:
        """A correct password clears its own pair, never the IP's or the account's count."""
        pair, _by_ip, _account = self._keys(address, ip)
        self.pairs.clear(pair)
        if self.shared is not None:
            await self.shared.clear("pair", pair)


class MailLimiter:
    """Per address and per IP, per hour: whether one more unsolicited mail may go out."""

    def __init__(self, per_address: int, per_ip: int, window: float = 3600) -> None:
        self.addresses = SlidingWindow(per_address, window, max_keys=MAX_ENTRIES)
        self.ips = SlidingWindow(per_ip, window, max_keys=MAX_ENTRIES)

    def allow(self, address: str, ip: str) -> bool:
        """Counts the request and says whether its mail may be sent."""
        by_address = _digest("mail", address_key(address)).hex()
        by_ip = _digest("mail-ip", limit_key(ip)).hex()
        if self.ips.retry_after(by_ip) or self.addresses.retry_after(by_address):
            return False
        self.ips.hit(by_ip)
        self.addresses.hit(by_address)
        return True


@functools.cache
def login_throttle() -> LoginThrottle:
    settings = get_settings()
    return LoginThrottle(
        free_failures=settings.login_free_failures,
        ip_free_failures=settings.login_max_failures_per_ip,
        account_slowdown_failures=settings.login_account_slowdown_failures,
        max_delay=settings.login_max_delay_seconds,
        window=settings.login_window_seconds,
        link=shared_redis(),
    )


@functools.cache
def mail_limiter() -> MailLimiter:
    settings = get_settings()
    return MailLimiter(settings.mail_limit_per_address, settings.mail_limit_per_ip)
