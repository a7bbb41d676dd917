"""The Helm values and the deploy script as far as this machine allows (no cluster, no helm binary, no GCP):

- deploy/helm/values.yaml parses, names only placeholders deploy.sh fills in, and is filled in by deploy.sh's own
  dry run;
- the instance the chart renders from it (its configmap-instance template, for the settings we use: storage, run
  launcher, run coordinator, compute logs, concurrency, monitoring, retries) passes Dagster's own validation,
  equals deploy/dagster.yaml where both say the same thing, and becomes a real DagsterInstance on a throwaway
  PostgreSQL with the GCS emulator, with a real K8sRunLauncher;
- the run pod settings are valid Kubernetes models, and route_planning_job's dagster-k8s/config tag reads back;
- deploy.sh: a dry run prints the expected commands in order and runs none; missing settings stop it before
  anything runs, with one message naming every missing one; shellcheck finds nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
VALUES = REPO / "deploy" / "helm" / "values.yaml"
DEPLOY = REPO / "deploy" / "gcp" / "deploy.sh"
BIN = Path(sys.executable).parent
RELEASE, NAMESPACE = "sgroute", "sgroute"
SETTINGS = {
    "GCP_PROJECT": "acme-sg",
    "GCP_REGION": "asia-southeast1",
    "GKE_CLUSTER": "routes",
    "SGROUTE_BUCKET": "acme-sgroute",
    "CLOUDSQL_PRIVATE_IP": "10.20.0.3",
}
TOOLS = ("gcloud", "kubectl", "helm", "docker")


def _pinned_dagster() -> str:
    return re.search(r'"dagster==([0-9.]+)"', (REPO / "pyproject.toml").read_text()).group(1)


# --- deploy.sh --------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_tools(tmp_path: Path) -> tuple[Path, Path]:
    """gcloud/kubectl/helm/docker on PATH that only record being called: a dry run must leave no record."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in TOOLS:
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 0\n')
        script.chmod(0o755)
    return bin_dir, calls


def _deploy(args: list[str], settings: dict[str, str], bin_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith(("ONEMAP_", "DATABASE"))}
    env.update(settings)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(DEPLOY), *args], env=env, capture_output=True, text=True, timeout=60)


def test_missing_settings_stop_the_script_before_anything_runs_naming_each_one(fake_tools):
    bin_dir, calls = fake_tools
    none = _deploy([], {}, bin_dir)
    assert none.returncode == 2 and none.stdout == ""
    (message,) = none.stderr.strip().splitlines()
    assert all(name in message for name in SETTINGS), message
    some = _deploy(["--dry-run"], {"GCP_PROJECT": "acme-sg", "GKE_CLUSTER": "routes"}, bin_dir)
    assert some.returncode == 2
    assert "missing settings: GCP_REGION SGROUTE_BUCKET CLOUDSQL_PRIVATE_IP (" in some.stderr
    assert "GCP_PROJECT" not in some.stderr.split("(")[0]
    assert not calls.exists(), calls.read_text()


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> str:
    bin_dir = tmp_path_factory.mktemp("bin")
    calls = bin_dir / "calls.log"
    for tool in TOOLS:
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 0\n')
        (bin_dir / tool).chmod(0o755)
    secret = "s3cret|with&odd chars"
    result = _deploy(["--dry-run"], {**SETTINGS, "IMAGE_TAG": "abc123", "ONEMAP_PASSWORD": secret}, bin_dir)
    assert result.returncode == 0, result.stderr
    assert not calls.exists(), f"a dry run ran commands: {calls.read_text()}"
    assert secret not in result.stdout + result.stderr
    return result.stdout


def _commands(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def test_dry_run_prints_every_step_in_order(dry_run):
    commands = _commands(dry_run)
    project = "gcloud --project acme-sg --quiet"
    image = "asia-southeast1-docker.pkg.dev/acme-sg/sgroute/sgroute:abc123"
    expected = [
        f"{project} storage buckets create gs://acme-sgroute --location asia-southeast1",
        f"{project} storage cp ",  # the prefixes
        f"{project} secrets create sgroute-onemap-password --replication-policy automatic",
        f"{project} secrets versions add sgroute-onemap-password --data-file -",
        f"{project} iam service-accounts create sgroute-dagster",
        f"{project} storage buckets add-iam-policy-binding gs://acme-sgroute "
        "--member serviceAccount:sgroute-dagster@acme-sg.iam.gserviceaccount.com --role roles/storage.objectAdmin",
        f"{project} iam service-accounts add-iam-policy-binding sgroute-dagster@acme-sg.iam.gserviceaccount.com "
        "--role roles/iam.workloadIdentityUser "
        "--member serviceAccount:acme-sg.svc.id.goog\\[sgroute/sgroute-dagster\\]",
        f"{project} builds submit {REPO} --config {REPO}/deploy/gcp/cloudbuild.yaml --substitutions _IMAGE={image}",
        f"{project} container clusters get-credentials routes --region asia-southeast1",
        "kubectl --namespace sgroute apply -f ",  # service account, settings, external secrets
        "kubectl --namespace sgroute wait --for condition=Ready externalsecret/sgroute-secrets",
        "kubectl --namespace sgroute apply -f ",  # the migration Job
        "kubectl --namespace sgroute wait --for condition=complete job/sgroute-migrate-abc123 --timeout 900s",
        f"helm upgrade --install sgroute dagster/dagster --version {_pinned_dagster()} --namespace sgroute -f ",
    ]
    position = 0
    for want in expected:
        found = next((i for i in range(position, len(commands)) if want in commands[i]), None)
        assert found is not None, f"not found after command {position}: {want}\n" + "\n".join(commands)
        position = found + 1
    for secret in ("sgroute-database-url", "sgroute-onemap-email", "sgroute-onemap-password"):
        assert any(f"secrets create {secret} " in c for c in commands), secret
    # Secrets without a value given are created empty, never given a version here.
    assert not any("versions add sgroute-database-url" in c for c in commands)


def _printed_file(output: str, name: str) -> str:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"--- {name} (from "))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("    ") and line.strip():
            break
        body.append(line[4:])
    return "\n".join(body)


def test_dry_run_fills_in_the_migration_job_with_both_migrations_from_the_new_image(dry_run):
    job = yaml.safe_load(_printed_file(dry_run, "migrate-job.yaml"))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "asia-southeast1-docker.pkg.dev/acme-sg/sgroute/sgroute:abc123"
    assert container["command"][-1] == "sgroute db upgrade && dagster instance migrate"
    assert job["metadata"]["name"] == "sgroute-migrate-abc123" and job["spec"]["backoffLimit"] == 0
    docs = list(yaml.safe_load_all(_printed_file(dry_run, "kubernetes.yaml")))
    kinds = {d["kind"]: d for d in docs}
    account = kinds["ServiceAccount"]
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == (
        "sgroute-dagster@acme-sg.iam.gserviceaccount.com"
    )
    settings = kinds["ConfigMap"]["data"]
    assert settings["SGROUTE_ENV"] == "prod" and settings["SGROUTE_BUCKET"] == "acme-sgroute"
    assert settings["DAGSTER_PG_HOST"] == "10.20.0.3" and settings["SGROUTE_RETENTION_DAYS"] == "90"
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ExternalSecret"}
    keys = {item["secretKey"] for item in secrets["sgroute-secrets"]["spec"]["data"]}
    assert keys == {"DATABASE_URL", "ONEMAP_EMAIL", "ONEMAP_PASSWORD"}
    assert secrets["sgroute-dagster-postgresql"]["spec"]["data"][0]["secretKey"] == "postgresql-password"


def test_deploy_script_is_shellcheck_clean():
    lint = subprocess.run([str(BIN / "shellcheck"), str(DEPLOY)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


# --- the chart's instance from values.yaml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def values(dry_run) -> dict:
    """values.yaml as deploy.sh fills it in (its dry run prints the filled-in copy)."""
    filled = yaml.safe_load(_printed_file(dry_run, "values.yaml"))
    raw = VALUES.read_text()
    assert re.findall(r"\$\{([A-Z_]+)\}", raw)  # the template has placeholders, and the filled copy none
    assert "${" not in json.dumps(filled)
    assert filled["dagsterWebserver"]["image"] == {
        "repository": "asia-southeast1-docker.pkg.dev/acme-sg/sgroute/sgroute",
        "tag": "abc123",
        "pullPolicy": "IfNotPresent",
    }
    assert filled["postgresql"]["postgresqlHost"] == "10.20.0.3"
    assert yaml.safe_load(raw)["dagsterDaemon"]["image"]["tag"] == "${IMAGE_TAG}"  # the template itself parses
    return filled


def _postgres(values: dict) -> dict:
    """dagsterYaml.postgresql.config"""
    pg = values["postgresql"]
    config = {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"],
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams", {}),
    }
    if pg.get("postgresqlScheme"):
        config["scheme"] = pg["postgresqlScheme"]
    return {"postgres_db": config}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def chart_instance(values: dict) -> dict:
    """The dagster.yaml the chart's configmap-instance.yaml renders, for the parts these values use (the
    templates helpers/instance/_postgresql, _run-launcher (k8s), _run-coordinator (queued), _compute-log-manager
    (gcs), _concurrency, and the monitoring/retries/sensors/schedules/telemetry blocks)."""
    pg = _postgres(values)
    storage = {
        kind: {"module": f"dagster_postgres.{module}", "class": cls, "config": pg}
        for kind, module, cls in (
            ("schedule_storage", "schedule_storage", "PostgresScheduleStorage"),
            ("run_storage", "run_storage", "PostgresRunStorage"),
            ("event_log_storage", "event_log", "PostgresEventLogStorage"),
        )
    }
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": values["global"]["serviceAccountName"],
        "dagster_home": values["global"]["dagsterHome"],
        "instance_config_map": f"{RELEASE}-dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "env_config_maps": [c["name"] for c in k8s.get("envConfigMaps", [])],
        "env_secrets": [s["name"] for s in k8s.get("envSecrets", [])],
    }
    for key in ("labels", "resources", "envVars"):
        if k8s.get(key):
            launcher[_snake(key)] = k8s[key]
    if k8s.get("failPodOnRunFailure"):
        launcher["fail_pod_on_run_failure"] = True
    if k8s.get("runK8sConfig"):
        launcher["run_k8s_config"] = {_snake(k): v for k, v in k8s["runK8sConfig"].items() if v}
    daemon = values["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    concurrency_enabled = values.get("concurrency", {}).get("enabled", False)
    coordinator_config = {_snake(k): v for k, v in queued.items() if v is not None}
    assert not (concurrency_enabled and {"max_concurrent_runs", "tag_concurrency_limits"} & set(coordinator_config))
    logs = values["computeLogManager"]
    assert logs["type"] == "GCSComputeLogManager"
    gcs = logs["config"]["gcsComputeLogManager"]
    monitoring = daemon["runMonitoring"]
    instance = {
        "scheduler": {"module": "dagster.core.scheduler", "class": "DagsterDaemonScheduler"},
        **storage,
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": launcher},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": coordinator_config,
        },
        "compute_logs": {
            "module": "dagster_gcp.gcs.compute_log_manager",
            "class": "GCSComputeLogManager",
            "config": {_snake(k): v for k, v in gcs.items() if v is not None},
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "run_retries": {"enabled": daemon["runRetries"]["enabled"], "max_retries": daemon["runRetries"]["maxRetries"]},
        "sensors": {"use_threads": daemon["sensors"]["useThreads"], "num_workers": daemon["sensors"]["numWorkers"]},
        "schedules": {
            "use_threads": daemon["schedules"]["useThreads"],
            "num_workers": daemon["schedules"]["numWorkers"],
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    if concurrency_enabled:
        c = values["concurrency"]
        instance["concurrency"] = {
            "pools": {_snake(k): v for k, v in c["pools"].items() if v is not None},
            "runs": {_snake(k): v for k, v in c["runs"].items() if v is not None},
        }
    instance.update(values.get("additionalInstanceConfig") or {})
    return instance


def test_the_charts_instance_passes_dagsters_validation_with_the_class_configs(values, tmp_path):
    from dagster._config import validate_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_gcp.gcs.compute_log_manager import GCSComputeLogManager
    from dagster_k8s import K8sRunLauncher

    instance = chart_instance(values)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, _ = dagster_instance_config(str(tmp_path))  # raises on anything Dagster's schema refuses
    for section, cls in (
        ("run_launcher", K8sRunLauncher),
        ("run_coordinator", QueuedRunCoordinator),
        ("compute_logs", GCSComputeLogManager),
    ):
        result = validate_config(cls.config_type(), instance[section]["config"])
        assert result.success, (section, [e.message for e in result.errors])
    assert config["run_launcher"]["class"] == "K8sRunLauncher"


def test_the_chart_and_deploy_dagster_yaml_say_the_same(values):
    chart = chart_instance(values)
    local = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    pg_chart, pg_local = chart["run_storage"]["config"]["postgres_db"], local["storage"]["postgres"]["postgres_db"]
    assert pg_chart["scheme"] == pg_local["scheme"] == "postgresql+psycopg2"
    assert pg_chart["params"] == pg_local["params"] == {"options": "-csearch_path=dagster"}
    assert chart["run_coordinator"]["class"] == local["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert chart["concurrency"] == local["concurrency"]  # the onemap pool, backfill throttle, one run per file
    for key in ("run_retries", "sensors", "telemetry", "nux"):
        assert chart[key] == local[key], key
    for key, value in local["run_monitoring"].items():
        assert chart["run_monitoring"][key] == value, key


def test_run_pods_are_valid_kubernetes_and_the_jobs_tag_reads_back(values, monkeypatch):
    import kubernetes.client as k8s
    from dagster_k8s.job import get_user_defined_k8s_config
    from dagster_k8s.models import k8s_model_from_dict

    from sgroute_assets.route_planning.run_resources import run_pod_tags

    monkeypatch.setenv("SGROUTE_ENV", "prod")  # as the image and the chart set it: runs get pods there

    run = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    k8s_model_from_dict(k8s.V1Container, {"name": "run", **run["containerConfig"]})  # raises on unknown fields
    k8s_model_from_dict(k8s.V1PodSpec, {"containers": [], **run["podSpecConfig"]})
    k8s_model_from_dict(k8s.V1JobSpec, {"template": {}, **run["jobSpecConfig"]})
    user = get_user_defined_k8s_config(run_pod_tags())
    assert user.container_config["resources"] == run["containerConfig"]["resources"]  # the job's default = the floor
    for deployment in values["dagster-user-deployments"]["deployments"]:
        assert deployment["livenessProbe"]["exec"]["command"][:3] == ["dagster", "api", "grpc-health-check"]
    assert values["dagsterDaemon"]["livenessProbe"]["exec"]["command"] == ["dagster-daemon", "liveness-check"]
    assert values["dagsterWebserver"]["readinessProbe"]["httpGet"]["path"] == "/server_info"


def test_the_charts_instance_is_a_working_instance(values, tmp_path, pg_database, gcs_bucket, monkeypatch):
    """The rendered instance on real storage: Postgres in schema dagster, logs in the bucket, the K8s launcher.
    Only what needs a cluster is pointed elsewhere: a kubeconfig file instead of in-cluster credentials."""
    import dagster as dg
    from dagster_gcp.gcs.compute_log_manager import GCSComputeLogManager
    from dagster_k8s import K8sRunLauncher

    from sgroute_resources import migrations

    migrations.upgrade(pg_database["app_url"])  # creates schema "dagster", as the migration Job does first
    filled = json.loads(json.dumps(values))
    filled["postgresql"].update(
        postgresqlHost=pg_database["host"], postgresqlDatabase=pg_database["name"], postgresqlUsername="postgres"
    )
    filled["postgresql"]["service"]["port"] = pg_database["port"]
    instance_yaml = chart_instance(filled)
    launcher = instance_yaml["run_launcher"]["config"]
    launcher["load_incluster_config"] = False
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    launcher["kubeconfig_file"] = str(kubeconfig)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "trust-auth-ignores-it")
    monkeypatch.setenv("SGROUTE_BUCKET", gcs_bucket.name)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.upgrade()
        assert isinstance(instance.run_launcher, K8sRunLauncher)
        assert instance.run_launcher.job_namespace == NAMESPACE
        assert instance.run_launcher.env_config_maps == ["sgroute-env"]
        assert instance.run_launcher.env_secrets == ["sgroute-secrets"]
        assert isinstance(instance.compute_log_manager, GCSComputeLogManager)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        limits = {(t["key"], json.dumps(t.get("value"))): t["limit"] for t in queue.tag_concurrency_limits}
        assert limits == {
            ("dagster/backfill", "null"): 4,
            ("dagster/partition", '{"applyLimitPerUniqueValue": true}'): 1,
        }
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        run = instance.create_run_for_job(dg.GraphDefinition(name="noop", node_defs=[]).to_job(), run_id=None)
        assert instance.get_run_by_id(run.run_id) is not None
    import psycopg

    dsn = f"host={pg_database['host']} port={pg_database['port']} user=postgres dbname={pg_database['name']}"
    with psycopg.connect(dsn) as conn:
        schemas = {
            r[0] for r in conn.execute("select table_schema from information_schema.tables where table_name='runs'")
        }
    assert schemas == {"dagster"}
