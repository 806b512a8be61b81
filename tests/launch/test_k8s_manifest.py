"""`curate k8s render` output checked against KubeRay's published schema (no Kubernetes here).

The constraints are `kuberay_constraints.py` (KubeRay v1.7.0 CRDs and operator validation,
reduced to the fields we write). Set KUBERAY_CRD_DIR to a checkout of ray-project/kuberay to
re-derive the table's CRD facts from the CRD files themselves.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.launch import kuberay_constraints as kc
from typer.testing import CliRunner

from cosmos_curate.cli import k8s_cli
from cosmos_curate.launch import k8s

GPU_GROUPS = [
    "--worker-group",
    "name=h100,replicas=2,gpus=8,cpus=64,memory=512Gi",
    "--worker-group",
    "name=l40s,replicas=3,gpus=4,cpus=32,memory=256Gi",
]
FULL_OPTIONS = [
    *GPU_GROUPS,
    "--name", "video-split", "--namespace", "curation",
    "--image", "registry.example.com/team/cosmos-curate:v1.2",
    "--image-pull-policy", "IfNotPresent",
    "--head-cpus", "16", "--head-memory", "64Gi",
    "--node-selector", "nvidia.com/gpu.present=true",
    "--toleration", "nvidia.com/gpu:NoSchedule",
    "--toleration", "dedicated=curation:NoExecute",
    "--weights-pvc", "curate-weights",
    "--hf-token-secret", "hf-token",
    "--s3-secret", "s3-credentials",
]  # fmt: skip
COMMAND = ["curate", "pipeline", "run", "video-split", "--input-path", "s3://bucket/raw videos/"]


def render(*args: str, env: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """Run `curate k8s render ARGS` in-process; return the YAML text and its one document."""
    result = CliRunner().invoke(k8s_cli.app, ["render", *args], env=env)
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert len(docs) == 1
    return result.stdout, docs[0]


def pod_templates(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest["spec"].get("rayClusterSpec", manifest["spec"])
    groups = spec["workerGroupSpecs"]
    return [spec["headGroupSpec"]["template"], *(g["template"] for g in groups)]


@pytest.mark.parametrize("kind", ["RayJob", "RayCluster"])
def test_every_field_meets_the_kuberay_constraints(kind: str) -> None:
    """A RayJob and a RayCluster with 2 GPU worker groups: every field has a constraint row
    and meets it (types, required keys, enums, quantity pattern, int32, names, list keys)."""
    args = [*FULL_OPTIONS, "--", *COMMAND] if kind == "RayJob" else ["--interactive", *FULL_OPTIONS]
    _, manifest = render(*args)
    assert manifest["kind"] == kind
    assert manifest["apiVersion"] == "ray.io/v1"
    report = kc.check(manifest)
    assert report.problems == ()
    # every row of the table that these options exercise was visited (none left unchecked)
    unused = {p for p in kc.TABLES[kind] if p not in report.checked_paths}
    assert unused <= {p for p in unused if "hostPath" in p}, unused
    groups = manifest["spec"].get("rayClusterSpec", manifest["spec"])["workerGroupSpecs"]
    assert [(g["groupName"], g["replicas"]) for g in groups] == [("h100", 2), ("l40s", 3)]
    assert [g["rayStartParams"]["num-gpus"] for g in groups] == ["8", "4"]
    limits = [g["template"]["spec"]["containers"][0]["resources"]["limits"] for g in groups]
    assert [lim[k8s.GPU_RESOURCE] for lim in limits] == [8, 4]
    assert [lim["memory"] for lim in limits] == ["512Gi", "256Gi"]


def test_host_path_weights_meet_the_constraints() -> None:
    """The host-path form of the weights volume (the rows the PVC render leaves unvisited)."""
    _, manifest = render(
        "--interactive", *GPU_GROUPS, "--weights-host-path", "/data/weights", "--weights-read-only"
    )
    report = kc.check(manifest)
    assert report.problems == ()
    assert any("hostPath.type" in p for p in report.checked_paths)
    for template in pod_templates(manifest):
        volume = next(v for v in template["spec"]["volumes"] if v["name"] == "weights")
        assert volume["hostPath"] == {"path": "/data/weights", "type": "Directory"}
        mounts = template["spec"]["containers"][0]["volumeMounts"]
        mount = next(m for m in mounts if m["name"] == "weights")
        assert mount == {"name": "weights", "mountPath": "/config/models", "readOnly": True}


def test_checker_catches_what_kuberay_rejects() -> None:
    """The table is not vacuous: typical mistakes in a manifest are reported."""
    _, manifest = render(*GPU_GROUPS, "--", "curate", "pipeline", "list")
    cluster = manifest["spec"]["rayClusterSpec"]
    group = cluster["workerGroupSpecs"][0]
    group["rayStartParams"]["num-gpus"] = 8  # an int where KubeRay wants a string
    group["minReplicas"] = 5  # above maxReplicas
    group["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "12XB"
    cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "CURATE_BIND_HOST", "value": "x"}
    )
    cluster["authOptions"]["mode"] = "password"
    cluster["extra"] = True
    manifest["metadata"]["name"] = "Video_Split"
    problems = "\n".join(kc.check(manifest).problems)
    for fragment in (
        "rayStartParams.*: expected string",
        "minReplicas 5 > maxReplicas 2",
        "'12XB' does not match",
        "'Sometimes' not one of",
        "entries not unique by ('name',)",
        "'password' not one of",
        "spec.rayClusterSpec.extra: not in the constraint table",
        "metadata.name: 'Video_Split' does not match",
    ):
        assert fragment in problems


def test_yaml_round_trip_keeps_types() -> None:
    """The YAML parses back to the built manifest; numbers KubeRay wants as strings stay strings."""
    text, manifest = render(*FULL_OPTIONS, "--", *COMMAND)
    assert text.startswith("# Rendered by `curate k8s render`")
    assert yaml.safe_load(yaml.safe_dump(manifest)) == manifest
    params = manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
    assert params == {"dashboard-host": "0.0.0.0", "metrics-export-port": "9002", "num-gpus": "0"}
    for template in pod_templates(manifest):
        assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        assert isinstance(template["spec"]["nodeSelector"]["nvidia.com/gpu.present"], str)


def test_pods_are_scraped_bound_and_share_weights() -> None:
    """Every pod: Prometheus annotations and a `metrics` port on 9002, CURATE_BIND_HOST=auto,
    the weights claim mounted at CURATE_WEIGHTS_DIR, the image from `curate image build`."""
    _, manifest = render(*GPU_GROUPS, "--weights-pvc", "curate-weights", "--", *COMMAND)
    templates = pod_templates(manifest)
    assert len(templates) == 3
    for template in templates:
        assert template["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9002",
            "prometheus.io/path": "/metrics",
        }
        container = template["spec"]["containers"][0]
        assert container["image"] == "cosmos-curate:latest"
        assert {"name": "metrics", "containerPort": 9002, "protocol": "TCP"} in container["ports"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["CURATE_BIND_HOST"] == "auto"
        mount = next(m for m in container["volumeMounts"] if m["name"] == "weights")
        assert mount["mountPath"] == env["CURATE_WEIGHTS_DIR"] == "/config/models"
        claim = next(v for v in template["spec"]["volumes"] if v["name"] == "weights")
        assert claim["persistentVolumeClaim"]["claimName"] == "curate-weights"
    for group in manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"]:
        assert group["rayStartParams"]["metrics-export-port"] == "9002"


def test_no_secret_value_is_inlined() -> None:
    """With a token and AWS keys in the environment, the manifest holds only Secret references."""
    env = {"HF_TOKEN": "hf_SuperSecretValue123", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}
    text, manifest = render(*FULL_OPTIONS, "--", *COMMAND, env=env)
    for value in env.values():
        assert value not in text
    for template in pod_templates(manifest):
        container = template["spec"]["containers"][0]
        hf = next(e for e in container["env"] if e["name"] == "HF_TOKEN")
        assert hf == {
            "name": "HF_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}},
        }
        assert container["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}]
        assert not any("AWS" in e["name"] for e in container["env"])


def test_entrypoint_round_trips_through_shlex() -> None:
    """The entrypoint is COMMAND shell-quoted: shlex splits it back into the same words."""
    command = ["curate", "pipeline", "run", "x", "--caption", "it's a $HOME; `x` \"q\"", ""]
    _, manifest = render("--", *command)
    assert shlex.split(manifest["spec"]["entrypoint"]) == command


@pytest.mark.parametrize(
    "arg", ["two words", "it's", "$HOME", "a;b", "*.mp4", '{"a": [1, 2]}', "back\\slash", "~x"]
)
def test_argument_survives_kuberay_and_ray_job_submit(arg: str, tmp_path: Path) -> None:
    """The real path, with the real shells: KubeRay puts the entrypoint in a bash line after
    `ray job submit --`; Ray's CLI joins the words with shlex.join; the head runs it with sh."""
    printer = [sys.executable, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))"]
    (tmp_path / "x.mp4").write_text("")  # a glob that could match, were it unquoted
    entrypoint = k8s.build_rayjob(
        k8s.RenderOptions(name="t", image="i", worker_groups=(k8s_cli.DEFAULT_WORKERS,)),
        shlex.join([*printer, arg, "last"]),
    )["spec"]["entrypoint"]
    # stands in for `ray job submit --address ... --` (ray/dashboard/modules/job/cli.py):
    submit = (
        f"{shlex.quote(sys.executable)} -c "
        + shlex.quote("import shlex, subprocess, sys; sys.exit(subprocess.call(shlex.join("
                      "sys.argv[1:]), shell=True))")
    )  # fmt: skip
    line = f"{submit} {entrypoint} ;"
    out = subprocess.run(
        ["bash", "-ce", "--", line], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert json.loads(out) == [arg, "last"]


@pytest.mark.skipif("KUBERAY_CRD_DIR" not in os.environ, reason="needs a kuberay checkout")
def test_table_agrees_with_the_crd_files() -> None:
    """Maintainers: the table's CRD rows equal the CRDs of the checkout in KUBERAY_CRD_DIR."""
    root = Path(os.environ["KUBERAY_CRD_DIR"])
    for kind, relative in kc.CRD_FILES.items():
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are megabytes
        crd = yaml.load((root / relative).read_text(), Loader=loader)
        assert kc.crd_disagreements(kind, crd) == []
