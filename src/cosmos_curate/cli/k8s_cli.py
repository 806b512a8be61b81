"""`curate k8s render [options] -- COMMAND...`: KubeRay manifests for `kubectl apply -f -`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cosmos_curate.cli.common import err
from cosmos_curate.core.storage import publish_text
from cosmos_curate.image import build as image_build
from cosmos_curate.image.reference import check_reference
from cosmos_curate.launch import k8s, k8s_options
from cosmos_curate.launch.k8s_options import ManifestError, WorkerGroup

EXAMPLES = """\
Examples:
  curate k8s render --worker-group name=gpu,replicas=2,gpus=8,cpus=64,memory=512Gi \\
      --weights-pvc curate-weights --hf-token-secret hf-token --s3-secret s3-creds \\
      -- curate pipeline run video-split --input-path s3://bucket/raw | kubectl apply -f -
  curate k8s render --interactive --name curate-dev -o cluster.yaml
"""
DEFAULT_WORKERS = WorkerGroup(name="gpu", replicas=1, gpus=1, cpus="8", memory="64Gi")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RAY_AUTH_MODES = ("token", "disabled")

app = typer.Typer(help="Render Kubernetes (KubeRay) manifests.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Render Kubernetes (KubeRay) manifests; apply them with kubectl."""


def _options(
    *,
    kind: str,
    name: str,
    namespace: str | None,
    image: str,
    image_pull_policy: str | None,
    head_cpus: str,
    head_memory: str,
    worker_group: list[str],
    node_selector: list[str],
    toleration: list[str],
    weights_pvc: str | None,
    weights_host_path: str | None,
    weights_read_only: bool,
    hf_token_secret: str | None,
    s3_secret: str | None,
    ray_auth: str,
    ttl_after_finished: str,
) -> k8s.RenderOptions:
    """Check every option (raising ManifestError) and gather them for the builder."""
    if image_pull_policy is not None and image_pull_policy not in PULL_POLICIES:
        msg = f"--image-pull-policy {image_pull_policy!r}: one of {', '.join(PULL_POLICIES)}"
        raise ManifestError(msg)
    if ray_auth not in RAY_AUTH_MODES:
        msg = f"--ray-auth {ray_auth!r}: one of {', '.join(RAY_AUTH_MODES)}"
        raise ManifestError(msg)
    weights = None
    if weights_read_only and weights_pvc is None and weights_host_path is None:
        msg = "--weights-read-only needs --weights-pvc or --weights-host-path"
        raise ManifestError(msg)
    if weights_pvc is not None or weights_host_path is not None:
        weights = k8s.WeightsVolume(
            claim=None if weights_pvc is None else k8s_options.claim_name(weights_pvc),
            host_path=None
            if weights_host_path is None
            else k8s_options.host_path(weights_host_path),
            read_only=weights_read_only,
        )
    hf_ref = None
    if hf_token_secret is not None:
        secret, key = k8s_options.secret_ref(
            "--hf-token-secret", hf_token_secret, default_key="HF_TOKEN"
        )
        hf_ref = (secret, key or "HF_TOKEN")
    s3_ref = None
    if s3_secret is not None:
        s3_ref = k8s_options.secret_ref("--s3-secret", s3_secret, default_key=None)[0]
    return k8s.RenderOptions(
        name=k8s_options.resource_name(name, kind=kind),
        namespace=None if namespace is None else k8s_options.namespace(namespace),
        image=check_reference(image, "--image"),
        image_pull_policy=image_pull_policy,
        head_cpus=k8s_options.quantity("--head-cpus", head_cpus, memory=False),
        head_memory=k8s_options.quantity("--head-memory", head_memory, memory=True),
        worker_groups=k8s_options.worker_groups(worker_group, DEFAULT_WORKERS),
        node_selector=k8s_options.node_selector(node_selector),
        tolerations=tuple(k8s_options.toleration(spec) for spec in toleration),
        weights=weights,
        hf_token_secret=hf_ref,
        s3_secret=s3_ref,
        ray_auth=ray_auth == "token",
        ttl_seconds_after_finished=k8s_options.count("--ttl-after-finished", ttl_after_finished),
    )


def write_manifest(path: Path, text: str) -> None:
    """Publish `text` at `path` (all of it or nothing, durably); a bad `-o` is refused first."""
    folder = path.parent
    if not folder.is_dir():
        msg = f"-o {path}: folder {folder} does not exist"
        raise ManifestError(msg)
    if path.is_dir():
        msg = f"-o {path} is a folder; give a file name"
        raise ManifestError(msg)
    publish_text(path, text)


@app.command(
    "render",
    epilog=EXAMPLES,
    context_settings={"allow_interspersed_args": False},
)
def render(
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command the RayJob runs on the head (after `--`).",
            show_default=False,
            metavar="COMMAND...",
        ),
    ] = None,
    *,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", help="Render a RayCluster to `kubectl exec` into; no COMMAND."
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here (atomically), not stdout."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="RayJob / RayCluster name.")
    ] = "curate",
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", metavar="NAME", help="Namespace (default: kubectl's)."),
    ] = None,
    image: Annotated[
        str, typer.Option("--image", metavar="NAME:TAG", help="Image of every pod.")
    ] = (f"{image_build.DEFAULT_IMAGE_NAME}:{image_build.DEFAULT_IMAGE_TAG}"),
    image_pull_policy: Annotated[
        str | None,
        typer.Option(
            "--image-pull-policy", metavar="POLICY", help="Always, IfNotPresent or Never."
        ),
    ] = None,
    head_cpus: Annotated[
        str, typer.Option("--head-cpus", metavar="CPUS", help="Head pod CPUs.")
    ] = "8",
    head_memory: Annotated[
        str, typer.Option("--head-memory", metavar="MEMORY", help="Head pod memory.")
    ] = "32Gi",
    worker_group: Annotated[
        list[str] | None,
        typer.Option(
            "--worker-group",
            "-w",
            metavar="KEY=VALUE,...",
            help="name=gpu,replicas=1,gpus=1,cpus=8,memory=64Gi (these are the defaults); repeat "
            "for more groups.",
        ),
    ] = None,
    node_selector: Annotated[
        list[str] | None,
        typer.Option(
            "--node-selector",
            metavar="KEY=VALUE",
            help="Node label every pod needs; repeatable.",
        ),
    ] = None,
    toleration: Annotated[
        list[str] | None,
        typer.Option(
            "--toleration",
            metavar="KEY[=VALUE][:EFFECT]",
            help="Taint every pod tolerates (no EFFECT: any); repeatable.",
        ),
    ] = None,
    weights_pvc: Annotated[
        str | None,
        typer.Option(
            "--weights-pvc", metavar="CLAIM", help="PersistentVolumeClaim holding weights."
        ),
    ] = None,
    weights_host_path: Annotated[
        str | None,
        typer.Option("--weights-host-path", metavar="DIR", help="Weights folder on every node."),
    ] = None,
    weights_read_only: Annotated[
        bool, typer.Option("--weights-read-only", help="Mount the weights read-only.")
    ] = False,
    hf_token_secret: Annotated[
        str | None,
        typer.Option(
            "--hf-token-secret",
            metavar="SECRET[:KEY]",
            help="Secret with the HF token (default KEY: HF_TOKEN).",
        ),
    ] = None,
    s3_secret: Annotated[
        str | None,
        typer.Option(
            "--s3-secret",
            metavar="SECRET",
            help="Secret whose keys (AWS_ACCESS_KEY_ID, ...) become env.",
        ),
    ] = None,
    ray_auth: Annotated[
        str, typer.Option("--ray-auth", metavar="MODE", help="token (KubeRay >= 1.5) or disabled.")
    ] = "token",
    ttl_after_finished: Annotated[
        str,
        typer.Option(
            "--ttl-after-finished",
            metavar="SECONDS",
            help="Seconds the cluster stays after the job.",
        ),
    ] = "300",
) -> None:
    """Print a KubeRay RayJob running COMMAND (or, --interactive, a RayCluster) as YAML."""
    argv = list(command or [])
    kind = "RayCluster" if interactive else "RayJob"
    try:
        if interactive and argv:
            msg = (
                "--interactive renders a RayCluster, which runs no command; drop the command "
                "and run it with `kubectl exec`, or drop --interactive for a RayJob"
            )
            raise ManifestError(msg)
        entrypoint = None if interactive else k8s_options.entrypoint_from_command(argv)
        opts = _options(
            kind=kind, name=name, namespace=namespace, image=image,
            image_pull_policy=image_pull_policy, head_cpus=head_cpus, head_memory=head_memory,
            worker_group=worker_group or [], node_selector=node_selector or [],
            toleration=toleration or [], weights_pvc=weights_pvc,
            weights_host_path=weights_host_path, weights_read_only=weights_read_only,
            hf_token_secret=hf_token_secret, s3_secret=s3_secret, ray_auth=ray_auth,
            ttl_after_finished=ttl_after_finished,
        )  # fmt: skip
        manifest = (
            k8s.build_raycluster(opts) if entrypoint is None else k8s.build_rayjob(opts, entrypoint)
        )
        text = k8s.to_yaml(manifest)
        if output is not None:
            write_manifest(output, text)
    except OSError as exc:
        msg = f"-o {output}: {exc.strerror or exc}"
        raise ManifestError(msg) from exc
    if output is None:
        typer.echo(text, nl=False)
    else:
        err.print(
            f"wrote {kind} {opts.name} to {output}", highlight=False, markup=False, soft_wrap=True
        )
