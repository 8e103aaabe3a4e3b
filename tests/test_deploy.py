"""deploy/: the nginx site as rendered, and what the launcher refuses before starting anything.
(tests/test_proxy_live.py runs both for real.)"""

import os
import subprocess
import sys
from pathlib import Path

from deploy.cluster import SEVERAL_NEED_REDIS
from deploy.nginx_site import PLACEHOLDER, nginx_site, ports_of

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_each_process_is_an_upstream_on_the_loopback_with_sticky_routing(tmp_path):
    site = nginx_site(
        ports=ports_of(processes=3, first_port=8001),
        listen="80",
        server_name="chat.example.com",
        static_root=tmp_path / "static",
    )
    assert (
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n    server 127.0.0.1:8003;" in site
    )
    assert "hash $remote_addr consistent;" in site
    assert "listen 80;" in site
    assert "server_name chat.example.com;" in site
    assert f"alias {tmp_path / 'static'}/;" in site
    assert PLACEHOLDER.search(site) is None


def test_several_processes_without_redis_are_refused_before_anything_starts(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_ENV_FILE": str(tmp_path / "none.env"),
        "REDIS_URL": "",
    }
    two_processes = ["start", "--processes", "2", "--run-dir", str(tmp_path / "run")]
    completed = subprocess.run(
        [sys.executable, "-m", "deploy.cluster", *two_processes],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert SEVERAL_NEED_REDIS in completed.stderr
    assert not (tmp_path / "run").exists()
