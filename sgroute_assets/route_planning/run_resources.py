"""CPU and memory of the pod each run gets from Dagster's K8sRunLauncher, as a run tag.

The launcher reads the ``dagster-k8s/config`` tag of a run and merges it over ``runLauncher...runK8sConfig`` of
deploy/helm/values.yaml. route_planning_job carries a modest default from the environment, so most files
plan on a small pod and the cluster packs many runs per node. A big file asks for more by launching (or
re-executing) its run with its own ``dagster-k8s/config`` tag: run tags win over job tags (deploy/README.md,
"Scaling the run launcher"). Other launchers ignore the tag, so it is harmless in `make dev`.
"""

from __future__ import annotations

import json
import os

from sgroute_resources.environment import current_env

K8S_CONFIG_TAG = "dagster-k8s/config"
DEFAULTS = {
    "SGROUTE_RUN_CPU_REQUEST": "500m",
    "SGROUTE_RUN_MEMORY_REQUEST": "1Gi",
    "SGROUTE_RUN_CPU_LIMIT": "2",
    "SGROUTE_RUN_MEMORY_LIMIT": "2Gi",
}


def run_pod_resources() -> dict[str, dict[str, str]]:
    """Requests and limits of a run's container from SGROUTE_RUN_{CPU,MEMORY}_{REQUEST,LIMIT}."""

    def setting(name: str) -> str:
        return os.environ.get(name, "").strip() or DEFAULTS[name]

    return {
        "requests": {"cpu": setting("SGROUTE_RUN_CPU_REQUEST"), "memory": setting("SGROUTE_RUN_MEMORY_REQUEST")},
        "limits": {"cpu": setting("SGROUTE_RUN_CPU_LIMIT"), "memory": setting("SGROUTE_RUN_MEMORY_LIMIT")},
    }


def run_pod_tags(resources: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """``{"dagster-k8s/config": "<json>"}`` with the container resources the K8sRunLauncher applies.

    Only in the cloud environments (SGROUTE_ENV gcp or prod), where runs get pods: locally (`make dev`,
    `sgroute plan`) nothing reads it, and a long JSON tag on every run buried the Runs list.
    """
    if current_env() == "local":
        return {}
    return {K8S_CONFIG_TAG: json.dumps({"container_config": {"resources": resources or run_pod_resources()}})}
