"""The only module that talks to HarperDB: one method per Operations API call we use.

Every call goes through one pooled `requests` transport adapter with explicit timeouts.
HarperDB's own error text is carried in `HarperDBError`; a server that cannot be reached (or
does not answer in time) raises `HarperDBUnavailable`, so callers can tell "retry later"
from "this request is wrong".

Each message batch costs HarperDB requests, so they are made lean, at requests' and
urllib3's documented extension points (requests 2.32, urllib3 2.x; `test_harperdb.py`):
- a request is a copy of one prepared request with the operation as its body, sent by the
  transport adapter (`HTTPAdapter.send`); `Session.request` would merge session, proxy,
  cookie and redirect settings that never change here, on every call;
- its head and body leave in one write (`OneWriteHTTPConnection`, urllib3's `ConnectionCls`
  of a pool): written apart, they are two TCP segments and HarperDB wakes up for each;
- the adapter (`HarperDBAdapter`) finds its connection pool and the request's path once, not
  per request (requests' `get_connection_with_tls_context` and `request_url`, both documented
  for subclasses).
Measured with `bench/harperdb_requests.py` (client_id lookups one at a time on loopback):
this process's CPU per request 389 -> 251 us, HarperDB's 415 -> 370 us, latency 711 -> 552 us
(the first two); the pool and path once: 743 -> 487-505 us on a slower machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import requests
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

from chatsite import metrics


class HarperDBError(Exception):
    """HarperDB refused an operation; `message` is HarperDB's own explanation."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth retrying: HarperDB was unreachable or failed on its side."""
        return isinstance(self, HarperDBUnavailable) or (self.status or 0) >= 500


class HarperDBUnavailable(HarperDBError):
    """HarperDB could not be reached or did not answer within the timeout."""


@dataclass(frozen=True)
class InsertResult:
    inserted: list[str]
    skipped: list[str]


def _already_exists(error: HarperDBError) -> bool:
    return error.status == 400 and "already exists" in error.message


class OneWrite:
    """Sends what urllib3's `request()` writes (head, then body) in one write."""

    _parts: list[bytes] | None = None

    def request(self, method, url, body=None, headers=None, **kwargs) -> None:
        self._parts = []
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)
            parts = self._parts
        finally:
            self._parts = None
        self.send(b"".join(parts))

    def send(self, data) -> None:
        if self._parts is None:
            super().send(data)
        else:
            self._parts.append(data if isinstance(data, bytes) else bytes(data))


class OneWriteHTTPConnection(OneWrite, HTTPConnection):
    pass


class OneWriteHTTPSConnection(OneWrite, HTTPSConnection):
    pass


class OneWriteHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = OneWriteHTTPConnection


class OneWriteHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = OneWriteHTTPSConnection


class HarperDBAdapter(requests.adapters.HTTPAdapter):
    """The transport adapter of one HarperDB client: one URL, no proxy, the same TLS
    settings on every request. What requests works out per request from those (the pool,
    after parsing the URL and looking at proxies; the path) is worked out once."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pool: urllib3.HTTPConnectionPool | None = None
        # (url, its path) in one attribute: the pool's threads read it while one may set it.
        self._path_of: tuple[str, str] | None = None

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": OneWriteHTTPPool,
            "https": OneWriteHTTPSPool,
        }

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if self._pool is None:
            self._pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
        return self._pool

    def request_url(self, request, proxies) -> str:
        known = self._path_of
        if known is None or known[0] != request.url:
            known = self._path_of = (request.url, super().request_url(request, proxies))
        return known[1]

    def close(self) -> None:
        super().close()
        self._pool = None


class HarperDBClient:
    def __init__(self, *, url: str, username: str, password: str, timeout: float = 5.0):
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.requests_sent = 0  # for benchmarks: how many operations reached the wire
        self._adapter = HarperDBAdapter(pool_connections=1, pool_maxsize=32)
        # HarperDB is reached directly: no proxy or .netrc from the environment. A CA bundle
        # named in REQUESTS_CA_BUNDLE (an HTTPS HarperDB with a private CA) is still used.
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or True
        self._request = requests.Request(
            "POST",
            self.url,
            auth=(username, password),
            data=b"{}",
            headers={"Content-Type": "application/json"},
        ).prepare()

    def _call(self, operation: dict[str, Any], *, timeout: float | None = None) -> Any:
        self.requests_sent += 1
        timeout = timeout or self.timeout
        request = self._request.copy()
        request.prepare_body(orjson.dumps(operation), None)
        try:
            response = self._adapter.send(
                request, timeout=(min(timeout, 3.0), timeout), verify=self._verify, proxies={}
            )
        except requests.RequestException as exc:
            metrics.HARPERDB_ERRORS.labels("unavailable").inc()
            raise HarperDBUnavailable(f"HarperDB at {self.url} is unavailable: {exc}") from exc
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = {"error": response.text[:500]}
        if response.status_code in (502, 503, 504):
            metrics.HARPERDB_ERRORS.labels("unavailable").inc()
            raise HarperDBUnavailable(
                f"HarperDB answered {response.status_code}", status=response.status_code
            )
        if response.status_code >= 400:
            metrics.HARPERDB_ERRORS.labels("refused").inc()
            message = (body.get("error") or body.get("message")) if isinstance(body, dict) else body
            raise HarperDBError(str(message), status=response.status_code)
        return body

    def ping(self, *, timeout: float | None = None) -> None:
        """Raise unless HarperDB answers an authenticated request (within `timeout` s)."""
        self._call({"operation": "describe_all"}, timeout=timeout)

    def alter_user(self, *, username: str, password: str) -> None:
        """Give `username` a new password."""
        self._call({"operation": "alter_user", "username": username, "password": password})

    def create_database(self, *, database: str) -> bool:
        """Create `database`; False when it already existed."""
        try:
            self._call({"operation": "create_database", "database": database})
        except HarperDBError as error:
            if _already_exists(error):
                return False
            raise
        return True

    def create_table(
        self, *, database: str, table: str, primary_key: str, attributes: list[dict[str, Any]]
    ) -> bool:
        """Create `table` with declared attributes; False when it already existed."""
        try:
            self._call(
                {
                    "operation": "create_table",
                    "database": database,
                    "table": table,
                    "primary_key": primary_key,
                    "attributes": attributes,
                }
            )
        except HarperDBError as error:
            if _already_exists(error):
                return False
            raise
        return True

    def describe_table(self, *, database: str, table: str) -> dict[str, Any]:
        return self._call({"operation": "describe_table", "database": database, "table": table})

    def insert(self, *, database: str, table: str, records: list[dict[str, Any]]) -> InsertResult:
        """Insert records; records whose primary key exists are skipped, not overwritten."""
        body = self._call(
            {"operation": "insert", "database": database, "table": table, "records": records}
        )
        return InsertResult(
            inserted=list(body.get("inserted_hashes") or []),
            skipped=list(body.get("skipped_hashes") or []),
        )

    def update(self, *, database: str, table: str, records: list[dict[str, Any]]) -> list[str]:
        """Write the given attributes of existing records (by primary key); returns the ids
        updated. A record whose primary key does not exist is skipped, not created."""
        body = self._call(
            {"operation": "update", "database": database, "table": table, "records": records}
        )
        return list(body.get("update_hashes") or [])

    def search_by_conditions(
        self,
        *,
        database: str,
        table: str,
        conditions: list[dict[str, Any]],
        sort: dict[str, Any] | None = None,
        limit: int | None = None,
        attributes: list[str] | None = None,
        operator: str = "and",
    ) -> list[dict[str, Any]]:
        """Rows matching `conditions` (values are data, never parsed as a query)."""
        operation: dict[str, Any] = {
            "operation": "search_by_conditions",
            "database": database,
            "table": table,
            "operator": operator,
            "get_attributes": attributes or ["*"],
            "conditions": conditions,
        }
        if sort is not None:
            operation["sort"] = sort
        if limit is not None:
            operation["limit"] = limit
        return self._call(operation)

    def search_by_id(
        self, *, database: str, table: str, ids: list[str], attributes: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The rows with these primary keys (missing ones are simply absent)."""
        return self._call(
            {
                "operation": "search_by_id",
                "database": database,
                "table": table,
                "ids": ids,
                "get_attributes": attributes or ["*"],
            }
        )

    def delete(self, *, database: str, table: str, ids: list[str]) -> list[str]:
        """Delete rows by primary key. HarperDB lists every id asked for as deleted, whether
        it existed or not."""
        body = self._call({"operation": "delete", "database": database, "table": table, "ids": ids})
        return list(body.get("deleted_hashes") or [])


def local_url() -> str:
    return f"http://127.0.0.1:{settings.HARPERDB_LOCAL_PORT}"


def configured_url() -> str:
    return settings.HARPERDB_URL or local_url()


@lru_cache(maxsize=1)
def get_client() -> HarperDBClient:
    """The process-wide client built from settings (one pooled session)."""
    return HarperDBClient(
        url=configured_url(),
        username=settings.HARPERDB_USERNAME,
        password=settings.HARPERDB_PASSWORD,
        timeout=settings.HARPERDB_TIMEOUT_SECONDS,
    )
