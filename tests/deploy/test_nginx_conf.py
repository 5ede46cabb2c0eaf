"""Issue 13 item 7, the proxy's part: the socket path's query string (the page's client id)
never reaches nginx's access log, and nginx tells the app the origin the browser used."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from deploy.cluster import Cluster, find_nginx, render_nginx_conf
from tests.support.requirements import skip_or_fail


def _socket_location(conf: str) -> str:
    start = conf.index("location /_nicegui_ws/")
    return conf[start : conf.index("}", start)]


def _format(conf: str, name: str) -> str:
    match = re.search(rf"log_format {name}\s+(.*?);", conf, re.S)
    assert match, f"no log_format {name}"
    return match.group(1)


def test_the_socket_location_logs_its_path_without_the_query_string(tmp_path: Path):
    conf = render_nginx_conf(Cluster(run_dir=tmp_path, app_ports=[18081], port=18080))
    location = _socket_location(conf)
    log = re.search(r"access_log\s+\S+\s+(\w+);", location)
    assert log, "the socket location must choose its own access log format"
    fmt = _format(conf, log.group(1))
    assert "$uri" in fmt
    for leak in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$is_args"):
        assert leak not in fmt, leak
    assert "X-Forwarded-Host $http_host" in conf


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path):
    nginx = find_nginx()
    if nginx is None:
        skip_or_fail(
            "nginx", "nginx is not installed: the rendered configuration is checked with `nginx -t`"
        )
    cluster = Cluster(run_dir=tmp_path, app_ports=[18081], port=18080)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(cluster))
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
