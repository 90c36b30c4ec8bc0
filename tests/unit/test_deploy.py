"""deploy/: what can be checked without Docker. The compose file, Prometheus' configuration, the
alert rules and the Grafana dashboard are parsed and cross-checked (every metric they use is one the
app exports, every file they mount exists); nginx.conf is checked by Debian's nginx itself, plain
and with its TLS lines switched on. tests/e2e/test_two_backends.py runs the same nginx.conf for real."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.deploy_support import NGINX_CONF, nginx_check, render_nginx_conf

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# What GET /api/metrics exports (bilten/observability).
METRICS = {
    "bilten_http_requests_total",
    "bilten_http_request_duration_seconds",
    "bilten_orders_total",
    "bilten_tickets_sold_total",
    "bilten_checkins_total",
    "bilten_holds_active",
    "bilten_outbox_pending",
    "bilten_notifications_failed_total",
    "bilten_live_connections",
    "bilten_db_pool_in_use",
    "bilten_job_queue_depth",
    "bilten_sweeper_lag_seconds",
}
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


def _metrics_in(expression: str) -> set[str]:
    names = set(re.findall(r"\bbilten_[a-z0-9_]+", expression))
    return {
        HISTOGRAM_SERIES.sub("", name) if name.startswith("bilten_http_request_duration") else name for name in names
    }


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def _alert_rules() -> list[dict]:
    return [rule for group in _load("alerts.yml")["groups"] for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "bilten.json").read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_alert_rules_use_only_exported_metrics_and_cover_what_pages_someone() -> None:
    rules = _alert_rules()
    used = set()
    for rule in rules:
        assert rule["alert"].startswith("Bilten") and rule["expr"].strip()
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        used |= _metrics_in(rule["expr"])
    assert used <= METRICS, used - METRICS
    expressions = {rule["alert"]: " ".join(rule["expr"].split()) for rule in rules}
    joined = " || ".join(expressions.values())
    assert 'bilten_http_requests_total{status=~"5.."}' in joined  # error rate
    assert "histogram_quantile(0.95" in joined and "bilten_http_request_duration_seconds_bucket" in joined
    assert "bilten_notifications_failed_total" in joined
    assert "bilten_job_queue_depth" in joined
    assert "bilten_sweeper_lag_seconds" in joined
    assert 'up{job="bilten"} == 0' in joined  # instance down


def test_the_dashboard_shows_every_metric_and_nothing_else() -> None:
    used = set()
    for expression in _dashboard_expressions():
        used |= _metrics_in(expression)
    assert used == METRICS


def test_prometheus_scrapes_the_metrics_endpoint_of_every_backend_and_loads_the_rules() -> None:
    config = _load("prometheus.yml")
    (bilten,) = [job for job in config["scrape_configs"] if job["job_name"] == "bilten"]
    assert bilten["metrics_path"] == "/api/metrics"
    (discovery,) = bilten["dns_sd_configs"]
    assert discovery["names"] == ["web"] and discovery["port"] == 8000
    compose = _load("docker-compose.yml")
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["prometheus"]["volumes"] if ":" in volume)
    for rule_file in config["rule_files"]:
        source = next(host for host, inside in mounts.items() if inside == rule_file)
        assert (DEPLOY / source).is_file()


def test_compose_runs_every_part_with_several_backends() -> None:
    compose = _load("docker-compose.yml")
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "proxy", "prometheus", "grafana"} <= set(services)
    web = services["web"]
    assert web["deploy"]["replicas"] >= 2
    assert "GRANIAN_WORKERS" in web["environment"]
    environment = web["environment"]
    assert environment["REDIS_URL"].startswith("redis://redis:")  # several workers need Redis
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert environment["TRUSTED_PROXIES"]
    assert services["worker"]["command"] == ["bilten", "worker"]
    assert services["migrate"]["command"] == ["bilten", "migrate"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "expose" in web and "ports" not in web  # only nginx is published
    assert "ports" not in services["prometheus"]
    # Every file or folder mounted from deploy/ exists.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./tls":
                assert (DEPLOY / source).exists(), source
    # The targets it builds exist in the Dockerfile.
    stages = set(re.findall(r"^FROM \S+ AS (\w+)$", (DEPLOY / "Dockerfile").read_text(), re.M))
    for service in services.values():
        if "build" in service:
            assert service["build"]["dockerfile"] == "deploy/Dockerfile"
            assert service["build"]["target"] in stages


def test_the_dockerfile_builds_the_frontend_and_runs_without_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    by_name = {stage.split("\n", 1)[0].split(" AS ")[1].strip(): stage for stage in stages}
    assert set(by_name) == {"build", "web", "proxy"}
    assert "reflex export --frontend-only" in by_name["build"]
    web = by_name["web"]
    users = re.findall(r"^USER (\S+)$", web, re.M)
    assert users and users[-1] not in ("root", "0")
    assert web.index(f"USER {users[-1]}") < web.index("CMD [")
    assert 'CMD ["reflex", "run", "--env", "prod", "--backend-only"' in web  # exec form: SIGTERM reaches it
    assert "COPY --from=build /app/.web/build/client /usr/share/bilten/static" in by_name["proxy"]
    assert "COPY deploy/nginx.conf /etc/nginx/nginx.conf" in by_name["proxy"]


def test_grafana_is_provisioned_with_the_prometheus_source_the_dashboard_uses() -> None:
    (source,) = _load("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "bilten.json").read_text(encoding="utf-8"))
    assert source["url"] == "http://prometheus:9090"
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {source["uid"]}
    (provider,) = _load("grafana/provisioning/dashboards/bilten.yml")["providers"]
    compose = _load("docker-compose.yml")
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in compose["services"]["grafana"]["volumes"]


def _location(text: str, opening: str) -> str:
    start = text.index(opening)
    return text[start : text.index("}", start)]


def test_nginx_forwards_websockets_and_the_client_address_and_caps_bodies() -> None:
    text = NGINX_CONF.read_text(encoding="utf-8")
    websocket = _location(text, "location /_event {")
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $connection_upgrade;" in websocket
    assert "proxy_http_version 1.1;" in text
    assert re.search(r"client_max_body_size \d+m;", text)
    # The address nginx saw replaces whatever the client claimed (never appended to it).
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert "proxy_next_upstream error timeout" in text
    assert "least_conn;" in text
    assert "expires 1y;" in _location(text, "location /assets/ {")


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_nginx_accepts_the_configuration(tmp_path: Path, tls: bool) -> None:
    static = tmp_path / "static"
    static.mkdir()
    conf = render_nginx_conf(
        tmp_path / "nginx",
        listen_port=8080,
        backends=["127.0.0.1:8001", "127.0.0.1:8002"],
        static_root=static,
        tls=(*_self_signed(tmp_path), 8443) if tls else None,
    )
    if tls:
        assert "ssl_certificate " in conf.read_text() and "# ssl_certificate" not in conf.read_text()
    checked = nginx_check(conf, tmp_path / "nginx")
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
