"""`curate model list` and `curate model download [--models a,b] [--force]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import attrs
import typer
from rich.table import Table

from cosmos_curate.cli.common import configure_logging, err, out, wide_out
from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights import download as weights_download
from cosmos_curate.core.weights import registry as model_registry
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.presentation.format import format_bytes

app = typer.Typer(help="List the registered models and download their weights.",
                  no_args_is_help=True)

EXAMPLES = [
    "curate model list",
    "curate model download --models gpt2",
    "curate model download --models gpt2 --model-weights-prefix s3://bucket/weights",
]

ModelsConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--models-config",
        envvar="CURATE_MODELS_CONFIG",
        dir_okay=False,
        help="Model registry JSON to use instead of configs/all_models.json.",
    ),
]


def _size(size: int | None) -> str:
    return "?" if size is None else format_bytes(size)


def _verified(manifest: weights_store.Manifest | None) -> str:
    """`yes` when checked against the source's checksums, `no` when not, `-` with no manifest."""
    if manifest is None:
        return "-"
    return "yes" if manifest.verified else "no"


def _model_names(models: str | None, every: bool) -> list[str] | None:
    """The names of `--models a,b`, or None for `--all`; neither, both or an empty list: refused."""
    if every and models is not None:
        msg = "give --models NAMES or --all, not both"
        raise typer.BadParameter(msg, param_hint="'--all'")
    if every:
        return None
    if models is None:
        msg = (
            "say which weights to fetch: --models a,b (names from `curate model list`), "
            "or --all for every registered model (tens of GB)"
        )
        raise typer.BadParameter(msg, param_hint="'--models'")
    names = [n.strip() for n in models.split(",") if n.strip()]
    if not names:
        msg = f"{models!r} names no model; pass names from `curate model list`, e.g. --models a,b"
        raise typer.BadParameter(msg, param_hint="'--models'")
    return names


@attrs.frozen
class ModelRow:
    """One model as `curate model list` shows it (`--json` prints these fields)."""

    name: str
    model_id: str
    revision: str
    size: int | None
    local_weights: str
    verified: str


@app.command("list")
def list_models(
    models_config: ModelsConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Table of the registered models: local weights state, and whether verified at download."""
    registry = model_registry.load_registry(models_config)
    rows: list[ModelRow] = []
    for name, entry in registry.items():
        status = weights_store.weights_status(entry)
        size = status.manifest.total_size if status.manifest is not None else None
        state = status.state.value + (f": {status.reason}" if status.reason and
                                      status.state is weights_store.WeightsState.INCOMPLETE else "")
        rows.append(ModelRow(name, entry.model_id, entry.version, size, state,
                             _verified(status.manifest)))
    if as_json:
        out.print_json(data=[attrs.asdict(row) for row in rows])
        return
    table = Table("name", "model id", "revision", "size", "local weights", "verified")
    for row in rows:
        table.add_row(row.name, row.model_id, row.revision[:12], _size(row.size),
                      row.local_weights, row.verified)
    wide_out().print(table)
    err.print(f"weights folder: {settings.weights_root()}", highlight=False, soft_wrap=True)


@app.command("download")
def download(
    *,
    models: Annotated[str | None, typer.Option(
        "--models", help="Comma-separated model names (see `curate model list`).")] = None,
    every: Annotated[bool, typer.Option(
        "--all", help="Every registered model (tens of GB).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Download again even when the weights are complete.")] = False,
    models_config: ModelsConfigOption = None,
    model_weights_prefix: Annotated[str | None, typer.Option(
        "--model-weights-prefix", envvar="CURATE_MODEL_WEIGHTS_PREFIX",
        help="Fetch from s3://bucket/prefix (layout <prefix>/<model id>/...) instead of the hub.",
    )] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    """Download model weights (pinned revision, resumable, skips verified complete ones)."""
    configure_logging(verbose)
    names = _model_names(models, every)
    registry = model_registry.load_registry(models_config)
    selected = model_registry.select_models(registry, names)
    if not selected:
        path = model_registry.registry_path(models_config)
        msg = f"model registry {path} lists no models; add an entry (see docs/MODELS.md)"
        raise model_registry.ModelRegistryError(msg)
    for name, entry in selected.items():
        result = weights_download.download_model(
            name, entry, force=force, s3_prefix=model_weights_prefix
        )
        verb = "already complete" if result.skipped else "downloaded"
        out.print(f"{name}: {verb} ({_size(result.size)}) in {result.folder}",
                  highlight=False, soft_wrap=True)
