"""image-annotate's embedders other than CLIP.

- the served embedder against a real HTTP server on 127.0.0.1 (`_embeddings_server.py`):
  vLLM's request form, the vector it answers, the API key by variable name, bad answers;
- a Cosmos-Embed1-shaped model from the registry (`--embedding-model-id cosmos_embed1_224p`,
  the video tests' tiny random model in its weights folder) embedding an image as a still clip;
- one image-annotate run with the served embedder on the session's Ray (integration).
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tests.pipelines.image import _embeddings_server as served
from tests.pipelines.video import _annotation_fakes as fakes

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.openai_captioner import ApiKey, encode_jpeg
from cosmos_curate.models.openai_embedder import EmbeddingAPIError, OpenAIImageEmbedder
from cosmos_curate.models.video_embedder import VIDEO_EMBEDDING_MODELS
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.embedding import ImageStillClipPrepStage
from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.image.pipeline import annotate_images, build_stages
from cosmos_curate.pipelines.image.tasks import ImageTask
from cosmos_curate.pipelines.video.embedding import VideoEmbeddingStage

KEY_VAR = "CURATE_TEST_EMBEDDINGS_KEY"


def _solid(rgb: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> np.ndarray[Any, Any]:
    return np.asarray(Image.new("RGB", size, rgb))


def test_an_image_is_one_request_in_vllms_form_and_its_vector_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`auto` resolves to the served model; the vector is the server's; the key goes as a
    bearer header, read from the variable whose name the embedder holds (never the value)."""
    monkeypatch.setenv(KEY_VAR, "s3cret-value")
    with served.EmbeddingsServer(api_key="s3cret-value") as server:
        embedder = OpenAIImageEmbedder(server.url, api_key=ApiKey.from_env(KEY_VAR))
        assert b"s3cret-value" not in pickle.dumps(embedder)
        assert "s3cret-value" not in repr(embedder)
        embedder.setup()
        vector = embedder.embed(encode_jpeg(_solid((200, 20, 20))))
    assert server.problems == []
    assert embedder.model_name == served.SERVED_EMBEDDER
    assert server.requests[0]["model"] == served.SERVED_EMBEDDER
    assert vector.dtype == np.float32
    np.testing.assert_array_equal(vector, np.asarray(server.vectors[0], dtype=np.float32))
    assert int(np.argmax(vector[:3])) == 0  # red
    assert server.auth_headers == ["Bearer s3cret-value"] * 2  # /models, /embeddings


@pytest.mark.parametrize(
    ("reply", "dimensions", "message"),
    [
        ((200, {"data": []}), None, "without data[0].embedding"),
        ((200, {"object": "list"}), None, "without data[0].embedding"),
        ((200, {"data": [{"embedding": []}]}), None, "not a list of numbers"),
        ((200, {"data": [{"embedding": [0.1, "x"]}]}), None, "other than finite numbers"),
        ((200, {"data": [{"embedding": [0.1, True]}]}), None, "other than finite numbers"),
        ((200, {"data": [{"embedding": [0.5] * 3}]}), served.DIM, "3 numbers, expected 8"),
        ((400, {"error": {"message": "image too large"}}), None, "HTTP 400"),
    ],
)
def test_an_unusable_answer_is_an_error_naming_the_endpoint(
    reply: tuple[int, Any], dimensions: int | None, message: str
) -> None:
    """Each bad answer raises `EmbeddingAPIError` with the endpoint and what was wrong."""
    with served.EmbeddingsServer(answer=lambda _: reply) as server:
        embedder = OpenAIImageEmbedder(
            server.url, served.SERVED_EMBEDDER, dimensions=dimensions, retries=0
        )
        with pytest.raises(EmbeddingAPIError, match=re.escape(message)) as info:
            embedder.embed(encode_jpeg(_solid((10, 200, 10))))
    assert server.url in str(info.value)


def test_a_vector_of_another_length_than_the_first_is_refused() -> None:
    """Without `dimensions`, the first vector's length holds for the later ones."""
    lengths = iter([served.DIM, served.DIM - 1])

    def answer(_: Image.Image) -> tuple[int, Any]:
        return 200, {"data": [{"embedding": [0.25] * next(lengths)}]}

    with served.EmbeddingsServer(answer=answer) as server:
        embedder = OpenAIImageEmbedder(server.url, served.SERVED_EMBEDDER, retries=0)
        assert len(embedder.embed(encode_jpeg(_solid((1, 2, 3))))) == served.DIM
        with pytest.raises(EmbeddingAPIError, match="7 numbers, expected 8"):
            embedder.embed(encode_jpeg(_solid((1, 2, 3))))


def test_a_registry_video_model_embeds_an_image_as_a_still_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--embedding-model-id cosmos_embed1_224p` picks the registry's Cosmos-Embed1 (the tiny
    stand-in in its folder): the image's embedding is the model's for a clip of that frame."""
    model_id = VIDEO_EMBEDDING_MODELS["cosmos-embed1-224p"]
    monkeypatch.setenv("CURATE_ALLOW_UNVERIFIED_WEIGHTS", "1")
    fakes.save_tiny_video_embedder(model_id)
    (tmp_path / "in").mkdir()
    options = ImageAnnotateOptions(
        input_path=str(tmp_path / "in"), output_path=str(tmp_path / "out"),
        embedding_model_id="cosmos_embed1_224p", skip_captions=True,
    )  # fmt: skip
    stages = [spec.stage for spec in build_stages(options)]
    prep = next(s for s in stages if isinstance(s, ImageStillClipPrepStage))
    embed = next(s for s in stages if isinstance(s, VideoEmbeddingStage))
    assert [type(s).__name__ for s in stages].count("ClipEmbeddingStage") == 0
    for stage in (prep, embed):
        assert stage.model is not None
        stage.model.setup()
    rgb = _solid((30, 90, 200), (24, 20))
    task = ImageTask(source="in/a.png", image_id="a", relative_path="a.png", extension=".png")
    task.rgb = rgb
    (out,) = embed.process_data(prep.process_data([task]) or []) or []
    assert out.embedding is not None and out.embedding.shape == (fakes.EMBED_DIM,)
    assert out.rgb is None  # nothing later needs the pixels
    assert out.annotations["embedding_model"] == model_id
    assert out.annotations["embedding_algorithm"] == "cosmos-embed1-224p"
    clip = prep._preprocessor.preprocess(np.stack([rgb] * fakes.NUM_FRAMES))
    np.testing.assert_allclose(out.embedding, embed._model.embed(clip)[0], rtol=1e-5)


@pytest.mark.integration
def test_served_embeddings_reach_the_metadata_files_and_table(
    ray_cluster: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run on the session Ray with `--embedding-algorithm openai`: each image's `.npy` and
    parquet row hold the vector the server sent for it; the image the server answers with a
    vector of the wrong length is a failure record naming it (the CLI exits 3), not a crash."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    colours = {"red": (220, 30, 30), "green": (30, 220, 30), "blue": (30, 30, 220)}
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, rgb in {**colours, "magenta": (220, 30, 220)}.items():
        Image.new("RGB", (48, 32), rgb).save(inputs / f"{name}.png")

    def short_for_magenta(image: Image.Image) -> tuple[int, Any] | None:
        r, g, b = np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)
        return (200, {"data": [{"embedding": [0.5] * 3}]}) if min(r, b) > 2 * g else None

    out = tmp_path / "out"
    with served.EmbeddingsServer(answer=short_for_magenta) as server:
        raw = {
            "input_path": str(inputs), "output_path": str(out), "skip_captions": True,
            "embedding_algorithm": "openai", "embedding_openai_base_url": server.url,
            "embedding_openai_dimensions": served.DIM, "embedding_openai_retries": 0,
            "workers_per_stage": 1,
        }  # fmt: skip
        options = registry.parse_options(registry.get_pipeline("image-annotate"), raw)
        assert isinstance(options, ImageAnnotateOptions)
        result = annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
    assert server.problems == []
    assert len(server.requests) == 4  # one per image

    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_images_passed"] == 3 and summary["failures"] == 1
    assert result.failures_path is not None
    (record,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert "magenta.png" in record["error"] and "3 numbers, expected 8" in record["error"]
    assert record["stage"] == "ImageEndpointEmbeddingStage"

    sent = {("red", "green", "blue")[int(np.argmax(v[:3]))]: v for v in server.vectors}
    assert sorted(sent) == sorted(colours)
    metas = {Path(m["relative_path"]).stem: m for m in map(
        lambda p: json.loads(p.read_text()), (out / "metas").glob("*.json"))}  # fmt: skip
    assert sorted(metas) == sorted(colours)  # magenta: no files, its failure record only
    table = pq.read_table(next((out / "annotations_parquet").glob("*.parquet"))).to_pylist()
    rows = {row["image_id"]: row["embedding"] for row in table}
    for name, meta in metas.items():
        assert meta["embedding_algorithm"] == "openai"
        assert meta["embedding_model"] == served.SERVED_EMBEDDER
        assert meta["embedding_dim"] == served.DIM
        expected = np.asarray(sent[name], dtype=np.float32)
        np.testing.assert_array_equal(np.load(out / meta["embedding_path"]), expected)
        np.testing.assert_array_equal(np.asarray(rows[meta["image_id"]], np.float32), expected)
