"""The production topology on one machine: what runs on GKE, as separate processes against throwaway services.

- PostgreSQL (a new database on the session's throwaway server): the app tables in ``public`` (migrated the way
  the deploy's migration Job does) and Dagster's storage in schema ``dagster``, from ``deploy/dagster.yaml``
  used verbatim as the instance;
- the GCS emulator as the bucket, the loopback fake OneMap as OneMap;
- ``dagster api grpc`` (the code server), ``dagster-daemon run`` and ``dagster-webserver``, each its own
  process with SGROUTE_ENV=prod, talking to each other only over gRPC and the database.

A stop file uploaded to the bucket must become a successful run through the daemon alone (sensor tick, queued
run coordinator, run launched by the code server), with its exports in the bucket, all checked through the
webserver's GraphQL API; then the route_plan page of that partition is rendered by headless Chromium and must
show the partition, the map and the route table. The screenshot is kept under tests/artifacts/ (or
$PYTEST_ARTIFACTS). Every process is stopped at the end, also when the test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ARTIFACTS = Path(os.environ.get("PYTEST_ARTIFACTS") or REPO / "tests" / "artifacts")
LOCATION = "sgroute"
STOP_FILE = "topology_check.csv"
# Five stops with coordinates (reverse geocoded through the fake OneMap), one vehicle's worth of work.
STOPS = """stop_ref,address,postal_code,lat,lon,demand,service_time_min
T01,2 Orchard Turn,238801,1.30403,103.83180,2,10
T02,1 Fullerton Square,049178,1.28630,103.85350,1,10
T03,18 Raffles Quay,048582,1.28066,103.85040,3,10
T04,11 Jalan Tan Tock Seng,308433,1.32124,103.84595,1,10
T05,1 Jurong West Central 2,648886,1.33970,103.70670,2,10
"""
# Readable, but not one stop can be planned: geocoded_stops refuses it with the plain reason.
FAILING_FILE = "topology_no_valid_stops.csv"
FAILING_STOPS = "stop_ref,address,postal_code,lat,lon,demand\nX01,,12345,,,1\nX02,,99,,,1\n"
RUN_TIMEOUT_S = 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


class Processes:
    """Dagster processes in their own sessions: stopped with SIGINT (Dagster's clean shutdown), then killed as
    a whole process group, so run workers and code servers a process started go with it."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            args, env=env, cwd=self.logs, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.started.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for _, proc in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 15
        for _, proc in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, proc in self.started:  # whatever is left in each group, the process itself included
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def _wait(what: str, check, timeout: float, procs: Processes, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            value = check()
            if value:
                return value
        except (OSError, ValueError) as exc:  # not listening yet, or half an answer
            last_error = exc
        time.sleep(interval)
    logs = "\n".join(f"--- {name} ---\n{procs.tail(name)}" for name, _ in procs.started)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})\n{logs}")


def _chromium() -> str | None:
    """Debian's chromium; installed (as `make chromium` does) when missing and this machine allows it."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(args, env=env, capture_output=True, timeout=600).returncode != 0:
            return None
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def topology(pg_server, gcs_emulator):
    """Migrated database, bucket, fake OneMap and the three Dagster processes, up and serving."""
    import psycopg
    from google.cloud import storage
    from onemap_fake_server import EMAIL, PASSWORD, running_fake_onemap

    from sgroute_resources import migrations

    started = time.monotonic()
    timings: dict[str, float] = {}
    home = Path(tempfile.mkdtemp(prefix="sgroute-topology-"))
    db = f"topology_{uuid.uuid4().hex[:10]}"
    admin = f"host={pg_server['host']} port={pg_server['port']} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    bucket = storage.Client(project="sgroute-test").create_bucket(f"sgroute-topology-{uuid.uuid4().hex[:8]}")
    procs = Processes(home)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, home, ignore_errors=True)
        stack.callback(_drop_database, admin, db)
        onemap = stack.enter_context(running_fake_onemap())
        stack.callback(procs.stop)

        app_url = f"postgresql+psycopg://postgres@{pg_server['host']}:{pg_server['port']}/{db}"
        (home / "dagster.yaml").write_bytes((REPO / "deploy" / "dagster.yaml").read_bytes())  # verbatim
        grpc_port, web_port = _free_port(), _free_port()
        (home / "workspace.yaml").write_text(
            f"load_from:\n  - grpc_server: {{host: 127.0.0.1, port: {grpc_port}, location_name: {LOCATION}}}\n"
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SGROUTE_", "DAGSTER_", "ONEMAP_"))},
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "trust-auth-ignores-it",
            "DAGSTER_PG_HOST": pg_server["host"],
            "DAGSTER_PG_PORT": str(pg_server["port"]),
            "DAGSTER_PG_DB": db,
            "SGROUTE_ENV": "prod",
            "SGROUTE_BUCKET": bucket.name,
            "DATABASE_URL": app_url,
            "GOOGLE_CLOUD_PROJECT": "sgroute-test",
            "STORAGE_EMULATOR_HOST": gcs_emulator,
            "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
            "ONEMAP_BASE_URL": onemap.url,
            "ONEMAP_EMAIL": EMAIL,
            "ONEMAP_PASSWORD": PASSWORD,
            "ONEMAP_REQUESTS_PER_SECOND": "200",
            "SGROUTE_SOLVER_TIME_LIMIT_S": "1",
            "PYTHONUNBUFFERED": "1",
        }
        # The migration Job's two steps (deploy/gcp/deploy.sh): app tables and the dagster schema first, then
        # Dagster's own tables in that schema.
        migrations.upgrade(app_url)
        migrate = subprocess.run(
            [str(BIN / "dagster"), "instance", "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        timings["migrations_s"] = time.monotonic() - started

        grpc = [str(BIN / "dagster"), "api", "grpc", "-h", "127.0.0.1", "-p", str(grpc_port)]
        procs.start("code-server", [*grpc, "-m", "sgroute_assets.definitions", "--location-name", LOCATION], env)

        def code_server_listening() -> bool:
            with socket.create_connection(("127.0.0.1", grpc_port), timeout=1):
                return True  # it binds once the definitions have loaded

        # The daemon and the webserver load the workspace once at start: the code server must be up first.
        _wait("the code server to serve gRPC", code_server_listening, 120, procs, 0.25)
        timings["code_server_up_s"] = time.monotonic() - started
        procs.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(home / "workspace.yaml")], env)
        web = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", "workspace.yaml"]
        procs.start("webserver", web, env)

        def location_loaded() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/server_info", timeout=5):
                pass
            data = _graphql(
                web_port,
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                "locationOrLoadError { __typename ... on PythonError { message } } } } } }",
            )
            entries = data["workspaceOrError"]["locationEntries"]
            entry = next(e for e in entries if e["name"] == LOCATION)
            error = entry["locationOrLoadError"]
            assert error is None or error["__typename"] != "PythonError", error
            return entry["loadStatus"] == "LOADED" and error is not None

        _wait("the webserver to load the code location over gRPC", location_loaded, 120, procs)
        timings["servers_up_s"] = time.monotonic() - started
        yield {
            "web_port": web_port,
            "bucket": bucket,
            "procs": procs,
            "home": home,
            "onemap": onemap,
            "timings": timings,
            "started": started,
            "app_url": app_url,
        }


def _drop_database(admin: str, db: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


RUNS = """query($job: String!) { runsOrError(filter: {pipelineName: $job}) { __typename
  ... on Runs { results { runId status tags { key value } } } ... on PythonError { message } } }"""
EXPORTS = """query($partition: String!) { assetOrError(assetKey: {path: ["route_exports"]}) { __typename
  ... on Asset { assetMaterializations(partitions: [$partition]) { partition runId metadataEntries { label
    ... on PathMetadataEntry { path } ... on UrlMetadataEntry { url } ... on TextMetadataEntry { text }
    ... on JsonMetadataEntry { jsonString } } } } } }"""


@pytest.fixture(scope="module")
def planned(topology):
    """The stop file uploaded to the bucket's inbox, planned by a run the daemon alone started."""
    bucket, port, procs = topology["bucket"], topology["web_port"], topology["procs"]
    bucket.blob(f"incoming/{STOP_FILE}").upload_from_string(STOPS, content_type="text/csv")
    bucket.blob(f"incoming/{FAILING_FILE}").upload_from_string(FAILING_STOPS, content_type="text/csv")
    uploaded = time.monotonic()
    topology["uploaded"] = uploaded

    def finished_run() -> dict | None:
        data = _graphql(port, RUNS, {"job": "route_planning_job"})["runsOrError"]
        assert data["__typename"] == "Runs", data
        for run in data["results"]:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if tags.get("dagster/partition") != STOP_FILE:
                continue
            assert run["status"] not in ("FAILURE", "CANCELED"), (run, procs.tail("daemon"))
            if run["status"] == "SUCCESS":
                return {**run, "tags": tags}
        return None

    run = _wait("the sensor's run of the uploaded file to succeed", finished_run, RUN_TIMEOUT_S, procs, 1.0)
    topology["timings"]["upload_to_success_s"] = time.monotonic() - uploaded
    return run


def test_an_uploaded_stop_file_is_planned_through_the_daemon_with_exports_in_the_bucket(topology, planned):
    # Started by the sensor, through the queue: the run carries the sensor's tags and the job's pod size.
    assert planned["tags"].get("dagster/sensor_name") == "stop_file_sensor"
    assert "dagster-k8s/config" in planned["tags"]
    data = _graphql(topology["web_port"], EXPORTS, {"partition": STOP_FILE})["assetOrError"]
    assert data["__typename"] == "Asset", data
    (materialisation,) = [m for m in data["assetMaterializations"] if m["runId"] == planned["runId"]]
    assert materialisation["partition"] == STOP_FILE
    (files,) = [e for e in materialisation["metadataEntries"] if e["label"] == "files"]
    written = json.loads(files["jsonString"])  # export name -> the URI it was written to
    uris = set(written.values())
    bucket = topology["bucket"]
    prefix = f"gs://{bucket.name}/"
    assert uris and all(uri.startswith(prefix + f"exports/{STOP_FILE}/") for uri in uris), uris
    names = {blob.name for blob in bucket.list_blobs()}
    missing = {uri for uri in uris if uri.removeprefix(prefix) not in names}
    assert not missing, f"exports named in the materialisation but not in the bucket: {missing}"
    manifest = json.loads(bucket.blob(f"exports/{STOP_FILE}/manifest.json").download_as_bytes())
    for export in ("planner.csv", "driver_pack.pdf", "routes.geojson"):
        assert export in manifest["files"] and written[export].startswith(manifest["location"])
    planner = bucket.blob(written["planner.csv"].removeprefix(prefix)).download_as_text()
    assert all(ref in planner for ref in ("T01", "T02", "T03", "T04", "T05")), planner[:500]
    # Asset values went to the bucket too (GCS pickle IO manager), and OneMap was the fake one.
    assert f"dagster/route_plan/{STOP_FILE}" in names
    assert topology["onemap"].calls("route"), "the matrix never asked (fake) OneMap"
    print("topology timings:", json.dumps(topology["timings"]))


class DevTools:
    """Headless Chromium driven over the DevTools protocol (websocket-client, in the lock through kubernetes):
    open a page, wait for what its JavaScript renders, click, read the DOM, take a screenshot."""

    def __init__(self, chromium: str, profile: Path, width: int = 1600, height: int = 1400):
        import websocket

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        endpoint = None
        deadline = time.monotonic() + 30
        while endpoint is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if "DevTools listening on " in line:
                endpoint = line.split("DevTools listening on ", 1)[1].strip()
        assert endpoint, "chromium did not open its DevTools endpoint"
        port = urllib.parse.urlsplit(endpoint).port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.loads(response.read()) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, what: str, expression: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"page never showed {what}")

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


# The route_plan metadata row "summary" is markdown the UI shows behind a "[Show Markdown]" link.
OPEN_SUMMARY = """(() => {
  const row = [...document.querySelectorAll('tr')]
    .find(r => r.cells.length && r.cells[0].innerText.trim() === 'summary');
  if (!row) return '';
  const link = [...row.querySelectorAll('*')]
    .find(e => !e.children.length && e.textContent.trim() === '[Show Markdown]');
  if (!link) return '';
  link.click();
  return 'clicked';
})()"""
SUMMARY_SHOWN = """(() => {
  const dialog = document.querySelector('[role="dialog"]');
  if (!dialog) return null;
  const map = dialog.querySelector('img[alt="route map"]');
  const table = [...dialog.querySelectorAll('table')].find(t => {
    const th = t.querySelector('th');
    return th && th.innerText.trim() === 'vehicle';
  });
  if (!map || !map.complete || !map.naturalWidth || !table) return null;
  return {src: map.getAttribute('src').slice(0, 30), width: map.naturalWidth,
          headers: [...table.querySelectorAll('th')].map(th => th.innerText.trim()),
          rows: [...table.querySelectorAll('tbody tr')].map(tr => tr.innerText), text: dialog.innerText};
})()"""


def test_a_failed_run_is_recorded_by_the_daemons_failure_sensor_in_the_app_table(topology, planned):
    """The second file fails its blocking check; record_failed_runs, ticked by the daemon, writes its row."""
    from sqlalchemy import select

    from sgroute_resources.app_database import engine_for
    from sgroute_resources.app_tables import FailedRun

    engine = engine_for(topology["app_url"])

    def recorded():
        with engine.connect() as conn:
            return conn.execute(select(FailedRun).where(FailedRun.partition_key == FAILING_FILE)).one_or_none()

    row = _wait("the failed run in the app table failed_runs", recorded, RUN_TIMEOUT_S, topology["procs"], 1.0)
    topology["timings"]["upload_to_failure_recorded_s"] = time.monotonic() - topology["uploaded"]
    assert row.job_name == "route_planning_job"
    # The plain reason (why no stop is valid) from geocoded_stops' dg.Failure, before any OneMap call; not
    # Dagster's "blocking asset check failed".
    assert row.step_key == "geocoded_stops", row.step_key
    assert row.error_type == "Failure"
    assert f"{FAILING_FILE} has no valid stop row" in row.reason and row.reason.startswith(FAILING_FILE), row.reason
    assert "Traceback" not in row.reason and "blocking" not in row.reason, row.reason
    runs = _graphql(topology["web_port"], RUNS, {"job": "route_planning_job"})["runsOrError"]["results"]
    assert {r["runId"]: r["status"] for r in runs}[row.run_id] == "FAILURE"
    assert f'"run_id": "{row.run_id}"' in topology["procs"].tail("code-server", 400)  # the JSON log line
    print("failed run recorded:", row.step_key, "-", row.reason[:120], json.dumps(topology["timings"]))


def test_the_route_plan_page_of_the_partition_shows_partition_map_and_route_table(topology, planned):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get)")
    partition = urllib.parse.quote(STOP_FILE)
    url = f"http://127.0.0.1:{topology['web_port']}/assets/route_plan?view=partitions&partition={partition}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "production_topology_route_plan.png"
    screenshot.unlink(missing_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="sgroute-chromium-"))
    browser = DevTools(chromium, profile)
    try:
        browser.call("Page.navigate", url=url)
        # The partition's own panel: its key as the heading beside the partition list, and its metadata table.
        browser.wait_for(
            "the partition's materialisation",
            f"document.body.innerText.includes({json.dumps(STOP_FILE)}) && document.body.innerText.includes('plan_id')",
        )
        browser.wait_for("the summary's [Show Markdown] link", OPEN_SUMMARY)
        shown = browser.wait_for("the route map and the route table", SUMMARY_SHOWN)
        (ARTIFACTS / "production_topology_route_plan.html").write_text(browser.js("document.documentElement.outerHTML"))
        browser.screenshot(screenshot)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert shown["src"].startswith("data:image/png;base64,") and shown["width"] > 200, shown
    assert shown["headers"] == ["vehicle", "stops", "load", "leaves", "back", "km", "min"], shown
    (route,) = shown["rows"]  # one vehicle carries all five stops
    assert route.split("\t")[1].strip() == "5", route
    assert STOP_FILE in shown["text"]  # the summary names its file
    assert screenshot.stat().st_size > 20_000
    print("screenshot:", screenshot, screenshot.stat().st_size, "bytes")
