"""The option blocks of a semantic check, declared once and made under any flag prefix.

Upstream names a check's flags per pipeline (video-split: `--vlm-filter-*`,
`--video-classifier-*`; image-annotate: `--semantic-filter-*`, `--image-classifier-*`) and
words a few of them for its media; the names and words stay. A pipeline describes its checks
once (`CheckFlags`: prefixes, words, order) and declares each check's own flags (how it is
turned on) in a small `CheckOptions` model that `CheckFlags.filter_fields` or
`.classifier_fields` decorates: they append the shared fields (the rule's lists and
threshold, the caption backend overrides). `CheckOptions` validates them and reads them back
by prefix.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Self, TypeVar

import attrs
import pydantic

from cosmos_curate.pipelines.semantic.answers import ClassifierRule, FilterRule
from cosmos_curate.pipelines.semantic.rules import classifier_rule, filter_rule, listed_names
from cosmos_curate.pipelines.video.annotation_options import (
    CaptionBackendOptions,
    CaptioningAlgorithm,
)

M = TypeVar("M", bound="CheckOptions")


@attrs.frozen
class CheckFlags:
    """How one pipeline names, words and orders its checks' shared flags."""

    filter: str
    """The filter's flag prefix (`vlm_filter`: `--vlm-filter-*`)."""
    classifier: str
    """The classifier's flag prefix (`video_classifier`)."""
    filter_categories: tuple[str, ...]
    """What the filter rejects when `--<filter>-categories` is unset."""
    unit: str
    """What a check judges, plural (`images`): `--*-batch-size` is `<unit> per VLM call`."""
    chooser: str
    """The field choosing local or openai (`model_variant`, `endpoint`)."""
    chooser_help: str
    threshold_help: str
    categories_help: str
    allow_help: str
    order: tuple[str, ...]
    """The fields' suffixes (after `<prefix>_`) in the order `--help` lists them."""

    def filter_fields(self, head: type[M]) -> type[M]:
        """A class decorator: the filter's own flags (`head`), then its shared fields."""
        return self._extend(head, self.filter, _filter_fields(self))

    def classifier_fields(self, head: type[M]) -> type[M]:
        """A class decorator: the classifier's own flags (`head`), then its shared fields."""
        return self._extend(head, self.classifier, _classifier_fields(self))

    def _extend(self, head: type[M], prefix: str, fields: dict[str, Any]) -> type[M]:
        fields |= _backend_fields(self)
        ordered = {f"{prefix}_{name}": fields[name] for name in self.order if name in fields}
        model = pydantic.create_model(
            head.__name__, __base__=head, __module__=head.__module__, **ordered
        )
        model.check_flags = self
        return model


def _field(annotation: Any, default: Any, description: str, **limits: Any) -> Any:
    return (annotation, pydantic.Field(default=default, description=description, **limits))


def _backend_fields(flags: CheckFlags) -> dict[str, Any]:
    served = CaptionBackendOptions.model_fields  # a check's override: the captioner's default
    return {
        flags.chooser: _field(CaptioningAlgorithm, CaptioningAlgorithm.LOCAL, flags.chooser_help),
        "model_id": _field(str | None, None, "local VLM checkpoint (unset: --caption-model-id)"),
        "batch_size": _field(int, 16, f"{flags.unit} per VLM call", ge=1),
        "max_output_tokens": _field(int, 8192, "answer length cap", ge=1),
        "num_gpus": _field(float, 1.0, "GPUs per worker", gt=0),
        "openai_base_url": _field(
            str | None, None, "OpenAI-compatible endpoint (unset: --openai-base-url)"
        ),
        "openai_model_name": (str, copy.copy(served["openai_model_name"])),
        "openai_retries": (int, copy.copy(served["openai_caption_retries"])),
        "openai_retry_delay_seconds": (float, copy.copy(served["openai_retry_delay_seconds"])),
    }


def _filter_fields(flags: CheckFlags) -> dict[str, Any]:
    return {
        "categories": _field(str | None, None, flags.categories_help),
        "rejection_threshold": _field(float, 0.5, flags.threshold_help, ge=0, le=1),
    }


def _classifier_fields(flags: CheckFlags) -> dict[str, Any]:
    threshold = flags.threshold_help + " (block list)"
    return {
        "rejection_threshold": _field(float, 0.5, threshold, ge=0, le=1),
        "use_custom_categories": _field(
            bool, False, "allow and block lists are the whole category set (any names)"
        ),
        "allow": _field(str | None, None, flags.allow_help),
        "block": _field(str | None, None, "comma-separated types to reject"),
        "allow_file": _field(str | None, None, "file of types to keep, one per line"),
        "block_file": _field(str | None, None, "file of types to reject, one per line"),
    }


def _flag(prefix: str) -> str:
    return "--" + prefix.replace("_", "-")


class CheckOptions(CaptionBackendOptions):
    """Options with a semantic filter and classifier, read by prefix (`check_flags`).

    Both rules are validated, a check's backend when it runs. Subclasses write `enabled`;
    the `CheckFlags` decorators set `check_flags`.
    """

    check_flags: ClassVar[CheckFlags]

    @pydantic.model_validator(mode="after")
    def _checks_usable(self) -> Self:
        self.filter_rule()
        self.classifier_rule()
        for prefix in (self.check_flags.filter, self.check_flags.classifier):
            if self.enabled(prefix):
                self.check_backend(prefix)
        return self

    def enabled(self, prefix: str) -> bool:
        """Whether the check `prefix` runs."""
        raise NotImplementedError

    def filter_rule(self) -> FilterRule:
        """The filter's categories (unset: the pipeline's defaults) and threshold."""
        prefix = self.check_flags.filter
        return filter_rule(
            getattr(self, f"{prefix}_categories"),
            self.check_flags.filter_categories,
            getattr(self, f"{prefix}_rejection_threshold"),
            _flag(prefix),
        )

    def classifier_rule(self) -> ClassifierRule:
        """The classifier's categories, allow and block lists, and threshold."""
        prefix = self.check_flags.classifier
        flag = _flag(prefix)

        def names(kind: str) -> list[str]:
            listed = getattr(self, f"{prefix}_{kind}")
            return listed_names(listed, getattr(self, f"{prefix}_{kind}_file"), f"{flag}-{kind}")

        return classifier_rule(
            names("allow"),
            names("block"),
            getattr(self, f"{prefix}_use_custom_categories"),
            getattr(self, f"{prefix}_rejection_threshold"),
            flag,
        )

    def check_backend(self, prefix: str) -> CaptionBackendOptions:
        """The caption backend of the check `prefix`, from its `<prefix>_<name>` fields.

        `<prefix>_<chooser>` chooses local or openai; `<prefix>_model_id`, `_max_output_tokens`,
        `_batch_size`, `_num_gpus` and `_openai_*` override the captioning backend's.
        """
        chooser = self.check_flags.chooser
        field = getattr(self, f"{prefix}_{chooser}")
        base_url = getattr(self, f"{prefix}_openai_base_url") or self.openai_base_url
        if field is CaptioningAlgorithm.OPENAI and not base_url:
            flag = _flag(prefix)
            chosen = f"{flag}-{chooser.replace('_', '-')} openai"
            msg = f"{chosen} needs {flag}-openai-base-url (or --openai-base-url)"
            raise ValueError(msg)
        return CaptionBackendOptions(
            captioning_algorithm=field,
            caption_model_id=getattr(self, f"{prefix}_model_id") or self.caption_model_id,
            caption_max_tokens=getattr(self, f"{prefix}_max_output_tokens"),
            caption_batch_size=getattr(self, f"{prefix}_batch_size"),
            caption_gpus=getattr(self, f"{prefix}_num_gpus"),
            openai_base_url=base_url,
            openai_model_name=getattr(self, f"{prefix}_openai_model_name"),
            openai_api_key_env=self.openai_api_key_env,
            openai_caption_retries=getattr(self, f"{prefix}_openai_retries"),
            openai_retry_delay_seconds=getattr(self, f"{prefix}_openai_retry_delay_seconds"),
            openai_max_concurrent=self.openai_max_concurrent,
        )
