"""KubeRay manifests for `curate k8s render`: a `RayJob` that runs one command, or a `RayCluster`.

Pure: builds plain dicts (`build_rayjob`, `build_raycluster`) and YAML text (`to_yaml`); nothing
here talks to Kubernetes. Every pod runs the image built by `curate image build`, exports Ray's
metrics on `METRICS_PORT` with Prometheus scrape annotations, binds Ray to its pod address
(`CURATE_BIND_HOST=auto`), and gets credentials only by reference to named Secrets.
Written for the `ray.io/v1` API of KubeRay >= 1.5 (`authOptions`); see docs/CLUSTERS.md.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import attrs
import yaml

from cosmos_curate import __version__
from cosmos_curate.image.render import METRICS_PORT, WEIGHTS_DIR
from cosmos_curate.launch.k8s_options import ManifestError, Toleration, WorkerGroup

__all__ = [
    "API_VERSION",
    "GPU_RESOURCE",
    "ManifestError",
    "RenderOptions",
    "WeightsVolume",
    "build_raycluster",
    "build_rayjob",
    "to_yaml",
]

API_VERSION = "ray.io/v1"
GPU_RESOURCE = "nvidia.com/gpu"
APP_LABEL = {"app.kubernetes.io/name": "cosmos-curate"}
# Ray head ports as KubeRay names them; the head Service and the submitter use these names.
HEAD_PORTS = (("gcs-server", 6379), ("dashboard", 8265), ("client", 10001))
WEIGHTS_VOLUME = "weights"
SHM_VOLUME = "dshm"


@attrs.frozen
class WeightsVolume:
    """The model weights: a PersistentVolumeClaim (`claim`) or a node folder (`host_path`)."""

    claim: str | None = None
    host_path: str | None = None
    read_only: bool = False

    def __attrs_post_init__(self) -> None:
        if (self.claim is None) == (self.host_path is None):
            msg = "a weights volume is either --weights-pvc or --weights-host-path, not both"
            raise ManifestError(msg)


@attrs.frozen
class RenderOptions:
    """Everything a manifest varies by; values are already checked (see `k8s_options`)."""

    name: str
    image: str
    worker_groups: tuple[WorkerGroup, ...]
    head_cpus: str = "8"
    head_memory: str = "32Gi"
    namespace: str | None = None
    image_pull_policy: str | None = None
    node_selector: dict[str, str] = attrs.field(factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    weights: WeightsVolume | None = None
    hf_token_secret: tuple[str, str] | None = None  # (Secret name, key)
    s3_secret: str | None = None  # a Secret whose keys become env vars (AWS_ACCESS_KEY_ID, ...)
    ray_auth: bool = True
    ttl_seconds_after_finished: int = 300


def ray_version() -> str:
    """The Ray version the image installs (the same pin as this package's)."""
    try:
        return version("ray")
    except PackageNotFoundError:  # pragma: no cover - ray is a dependency
        return "2.60.0"


def _metadata(name: str, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(APP_LABEL)
    return meta


def _env(opts: RenderOptions) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        # Ray and the metrics export listen on the pod's own address so that pods reach each
        # other; outside the pod nothing is published (the Services are KubeRay's).
        {"name": "CURATE_BIND_HOST", "value": "auto"},
        # The image holds the code: nothing is uploaded to the workers.
        {"name": "CURATE_SHIP_CODE", "value": "none"},
        {"name": "CURATE_WEIGHTS_DIR", "value": WEIGHTS_DIR},
    ]
    if opts.hf_token_secret is not None:
        secret, key = opts.hf_token_secret
        ref = {"secretKeyRef": {"name": secret, "key": key}}
        env.append({"name": "HF_TOKEN", "valueFrom": ref})
    return env


def _volumes(opts: RenderOptions) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts): the weights, and memory-backed /dev/shm for Ray."""
    volumes: list[dict[str, Any]] = [{"name": SHM_VOLUME, "emptyDir": {"medium": "Memory"}}]
    mounts: list[dict[str, Any]] = [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    weights = opts.weights
    if weights is not None:
        if weights.claim is not None:
            source: dict[str, Any] = {
                "persistentVolumeClaim": {"claimName": weights.claim, "readOnly": weights.read_only}
            }
        else:
            source = {"hostPath": {"path": weights.host_path, "type": "Directory"}}
        volumes.append({"name": WEIGHTS_VOLUME, **source})
        mounts.append(
            {"name": WEIGHTS_VOLUME, "mountPath": WEIGHTS_DIR, "readOnly": weights.read_only}
        )
    return volumes, mounts


def _resources(cpus: str, memory: str, gpus: int) -> dict[str, Any]:
    # requests == limits: Guaranteed QoS, and KubeRay derives Ray's CPUs/memory from limits.
    requests: dict[str, Any] = {"cpu": cpus, "memory": memory}
    limits: dict[str, Any] = dict(requests)
    if gpus:
        limits[GPU_RESOURCE] = gpus
        requests[GPU_RESOURCE] = gpus
    return {"requests": requests, "limits": limits}


def _pod_template(
    opts: RenderOptions, *, container: str, resources: dict[str, Any], head: bool
) -> dict[str, Any]:
    volumes, mounts = _volumes(opts)
    # Naming a port "metrics" stops KubeRay from adding its default metrics port (8080).
    named = [*(HEAD_PORTS if head else ()), ("metrics", METRICS_PORT)]
    ports = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in named]
    ray_container: dict[str, Any] = {"name": container, "image": opts.image}
    if opts.image_pull_policy:
        ray_container["imagePullPolicy"] = opts.image_pull_policy
    ray_container["ports"] = ports
    ray_container["resources"] = resources
    ray_container["env"] = _env(opts)
    if opts.s3_secret is not None:
        ray_container["envFrom"] = [{"secretRef": {"name": opts.s3_secret}}]
    ray_container["volumeMounts"] = mounts
    spec: dict[str, Any] = {"containers": [ray_container], "volumes": volumes}
    if opts.node_selector:
        spec["nodeSelector"] = dict(opts.node_selector)
    if opts.tolerations:
        spec["tolerations"] = [_toleration(t) for t in opts.tolerations]
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(METRICS_PORT),
        "prometheus.io/path": "/metrics",
    }
    return {"metadata": {"labels": dict(APP_LABEL), "annotations": annotations}, "spec": spec}


def _toleration(toleration: Toleration) -> dict[str, Any]:
    out: dict[str, Any] = {"key": toleration.key}
    if toleration.value is None:
        out["operator"] = "Exists"
    else:
        out["operator"] = "Equal"
        out["value"] = toleration.value
    if toleration.effect is not None:
        out["effect"] = toleration.effect
    return out


def _worker_group_spec(opts: RenderOptions, group: WorkerGroup) -> dict[str, Any]:
    return {
        "groupName": group.name,
        # A fixed size: the engine scales its stages inside the cluster, not the pods.
        "replicas": group.replicas,
        "minReplicas": group.replicas,
        "maxReplicas": group.replicas,
        "rayStartParams": {"metrics-export-port": str(METRICS_PORT), "num-gpus": str(group.gpus)},
        "template": _pod_template(
            opts,
            container="ray-worker",
            resources=_resources(group.cpus, group.memory, group.gpus),
            head=False,
        ),
    }


def _cluster_spec(opts: RenderOptions) -> dict[str, Any]:
    spec: dict[str, Any] = {"rayVersion": ray_version()}
    if opts.ray_auth:
        spec["authOptions"] = {"mode": "token"}
    spec["headGroupSpec"] = {
        # No GPUs on the head: GPU work goes to the worker groups; the driver runs here.
        "rayStartParams": {
            "dashboard-host": "0.0.0.0",
            "metrics-export-port": str(METRICS_PORT),
            "num-gpus": "0",
        },
        "template": _pod_template(
            opts,
            container="ray-head",
            resources=_resources(opts.head_cpus, opts.head_memory, 0),
            head=True,
        ),
    }
    spec["workerGroupSpecs"] = [_worker_group_spec(opts, g) for g in opts.worker_groups]
    return spec


def build_rayjob(opts: RenderOptions, entrypoint: str) -> dict[str, Any]:
    """A RayJob that starts a cluster, runs `entrypoint` on its head, then deletes the cluster.

    `entrypoint` is a shell command line (see `k8s_options.entrypoint_from_command`).
    """
    return {
        "apiVersion": API_VERSION,
        "kind": "RayJob",
        "metadata": _metadata(opts.name, opts.namespace),
        "spec": {
            "entrypoint": entrypoint,
            "submissionMode": "K8sJobMode",
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": opts.ttl_seconds_after_finished,
            "rayClusterSpec": _cluster_spec(opts),
        },
    }


def build_raycluster(opts: RenderOptions) -> dict[str, Any]:
    """A long-lived RayCluster to run commands on with `kubectl exec` (deleted by the user)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "RayCluster",
        "metadata": _metadata(opts.name, opts.namespace),
        "spec": _cluster_spec(opts),
    }


def to_yaml(manifest: dict[str, Any]) -> str:
    """The manifest as YAML, keys in build order, with a header naming what rendered it."""
    header = f"# Rendered by `curate k8s render` (cosmos-curate {__version__}) for KubeRay.\n"
    body = str(yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=100))
    return header + body
