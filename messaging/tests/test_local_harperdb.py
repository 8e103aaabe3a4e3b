"""The local HarperDB: its password, and what it lets others reach (a HarperDB of its own)."""

import dataclasses
import secrets
import stat
import subprocess

import pytest
import requests

from messaging.harperdb import HarperDBError
from messaging.local_harperdb import LEGACY_PASSWORD, LocalHarperDB, local_password


def test_the_first_run_generates_a_password_into_env_and_later_runs_reuse_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=true\n")
    first = local_password(env_file)
    written = env_file.read_text()
    assert local_password(env_file) == first
    assert env_file.read_text() == written == f"DJANGO_DEBUG=true\nHARPERDB_PASSWORD={first}\n"
    assert len(first) >= 32
    assert first != LEGACY_PASSWORD


def test_the_env_file_holding_the_password_is_readable_by_its_owner_only(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=true\n")
    env_file.chmod(0o644)
    local_password(env_file)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_an_empty_password_line_copied_from_the_example_is_filled_in_where_it_stands(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("HARPERDB_URL=\nHARPERDB_PASSWORD=\nHARPERDB_TABLE=messages\n")
    password = local_password(env_file)
    assert env_file.read_text().splitlines() == [
        "HARPERDB_URL=",
        f"HARPERDB_PASSWORD={password}",
        "HARPERDB_TABLE=messages",
    ]


def test_a_password_already_in_env_is_kept(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('export HARPERDB_PASSWORD="chosen-by-me"\n')
    assert local_password(env_file) == "chosen-by-me"


def listening_addresses(pid: int) -> set[str]:
    """Where the process listens for TCP connections, as `ss -ltnp` shows it."""
    listed = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True)
    return {line.split()[3] for line in listed.stdout.splitlines() if f"pid={pid}," in line}


def configure_as_installed_before(server: LocalHarperDB) -> None:
    """Put back what an install of the previous DevRooms had in its config file: CORS on
    for every origin, and no port for the authentication layer."""
    config = server.root / "hdb" / "harperdb-config.yaml"
    text = config.read_text()
    auth_port = f"\n  port: 127.0.0.1:{server.port}\nanalytics:"
    cors_off = "operationsApi:\n  network:\n    cors: false\n"
    assert auth_port in text
    assert cors_off in text
    text = text.replace(auth_port, "\nanalytics:")
    config.write_text(text.replace(cors_off, cors_off.replace("false", "true")))


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """A local HarperDB installed by the previous DevRooms (old published password, CORS
    on), started again with a generated password, as the first `make run` after the upgrade."""
    root = tmp_path_factory.mktemp("local-harperdb")
    old = LocalHarperDB.on_free_ports(root, username="devrooms", password=LEGACY_PASSWORD)
    old.start()
    old.stop()
    configure_as_installed_before(old)
    server = dataclasses.replace(old, password=secrets.token_urlsafe(24))
    server.start()
    yield server
    server.stop()


def test_an_install_with_the_old_password_takes_the_generated_one(upgraded):
    upgraded.client().ping()
    with pytest.raises(HarperDBError) as refused:
        dataclasses.replace(upgraded, password=LEGACY_PASSWORD).client().ping()
    assert refused.value.status == 401


@pytest.mark.parametrize("method", ["OPTIONS", "POST"])
def test_a_page_of_another_origin_gets_no_cors_permission(upgraded, method):
    response = requests.request(
        method,
        upgraded.url,
        json={"operation": "describe_all"},
        auth=(upgraded.username, upgraded.password),
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_it_listens_on_its_loopback_port_and_nowhere_else(upgraded):
    assert listening_addresses(upgraded.pid()) == {f"127.0.0.1:{upgraded.port}"}
