"""Render deploy/nginx-site.conf.template for DevRooms processes on 127.0.0.1.

    python -m deploy.nginx_site --processes 2 --first-port 8001 --listen 80 \\
        --server-name chat.example.com --static-root /srv/devrooms/static > devrooms.conf
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx-site.conf.template"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def ports_of(*, processes: int, first_port: int) -> list[int]:
    """The ports of `processes` processes, one each from `first_port` on (as deploy.cluster)."""
    return [first_port + number for number in range(processes)]


def nginx_site(*, ports: list[int], listen: str, server_name: str, static_root: Path) -> str:
    """The site's configuration, with the processes on 127.0.0.1 at `ports` as upstreams."""
    if not ports:
        raise ValueError("at least one process")
    values = {
        "@UPSTREAM_SERVERS@": "\n".join(f"    server 127.0.0.1:{port};" for port in ports),
        "@LISTEN@": listen,
        "@SERVER_NAME@": server_name,
        "@STATIC_ROOT@": str(static_root.resolve()),
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(0)], TEMPLATE.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--first-port", type=int, default=8001)
    parser.add_argument("--listen", default="80", help="nginx's `listen`: a port or address:port")
    parser.add_argument("--server-name", default="_", help="nginx's `server_name`")
    parser.add_argument("--static-root", type=Path, required=True, help="DJANGO_STATIC_ROOT")
    options = parser.parse_args(argv)
    ports = ports_of(processes=options.processes, first_port=options.first_port)
    sys.stdout.write(
        nginx_site(
            ports=ports,
            listen=options.listen,
            server_name=options.server_name,
            static_root=options.static_root,
        )
    )


if __name__ == "__main__":
    main()
