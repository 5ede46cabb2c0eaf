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


def _location(conf: str, name: str) -> str:
    start = conf.index(f"location {name} ")
    return conf[start : conf.index("}", start)]


def test_pages_and_sockets_are_throttled_per_address(tmp_path: Path):
    conf = render_nginx_conf(Cluster(run_dir=tmp_path, app_ports=[18081], port=18080))
    assert re.search(r"limit_req_zone \$binary_remote_addr zone=pages:\S+ rate=\d+r/s;", conf)
    assert re.search(r"limit_req_zone \$binary_remote_addr zone=sockets:\S+ rate=\d+r/s;", conf)
    assert re.search(r"limit_conn per_address \d+;", conf)
    assert "limit_req_status 429;" in conf and "limit_conn_status 429;" in conf
    assert "limit_req zone=pages" in _location(conf, "/")
    assert "limit_req zone=sockets" in _socket_location(conf)
    assert "limit_req" not in _location(conf, "/api/")  # the API limits its callers itself
    limit = int(re.search(r"worker_rlimit_nofile (\d+);", conf).group(1))  # type: ignore[union-attr]
    assert limit >= 2 * 1100 + 100  # two descriptors per proxied kiosk socket


def test_the_system_configuration_keeps_nothing_in_the_app_users_reach(
    tmp_path: Path,
):
    cluster = Cluster(run_dir=Path("/var/lib/eventhub/nginx"), app_ports=[8101], port=80)
    conf = render_nginx_conf(cluster, system=True)
    assert "/var/lib/eventhub" not in conf and "/opt/eventhub" not in conf
    assert re.search(r"^pid /run/\S+;", conf, re.M)
    assert re.search(r"^error_log /var/log/\S+ ", conf, re.M)
    assert re.search(r"access_log /var/log/\S+;", conf)
    assert re.search(r"proxy_temp_path /var/cache/\S+;", conf)
    unit = (Path(__file__).parents[2] / "deploy/systemd/eventhub-nginx.service").read_text()
    assert "-c /etc/eventhub/nginx.conf" in unit and "/var/lib/eventhub" not in unit
    assert "User=" not in unit  # the master is root's: it reads root's files only
    for directory in ("RuntimeDirectory=", "LogsDirectory=", "CacheDirectory="):
        assert directory in unit


def test_the_app_units_cap_memory_and_raise_the_descriptor_limit():
    unit = (Path(__file__).parents[2] / "deploy/systemd/eventhub@.service").read_text()
    assert re.search(r"^MemoryMax=\d+[KMG]$", unit, re.M)
    nofile = re.search(r"^LimitNOFILE=(\d+)$", unit, re.M)
    assert nofile and int(nofile.group(1)) >= 4096
