"""The option strings of `curate k8s render`, parsed and checked into typed values.

Every check fails with `ManifestError` (one line naming the option) before anything is
rendered or written. Values that may be credentials are never echoed in a message.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from decimal import Decimal

import attrs

from cosmos_curate.core.interfaces.errors import CurateError

MAX_INT32 = 2**31 - 1
# No node has more, so a pod cannot: Linux's largest NR_CPUS, and 4 PiB, the largest
# physical address space of x86-64 and arm64. Beyond these a value is a typo.
MAX_POD_CPUS = 8192
MAX_POD_MEMORY = 2**52
MAX_RAYJOB_NAME = 47  # KubeRay: a RayJob's cluster is named `<job>-<5 chars>`, max 53
MAX_RAYCLUSTER_NAME = 53
WORKER_GROUP_KEYS = ("name", "replicas", "gpus", "cpus", "memory")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# An unsigned Kubernetes quantity: a decimal number, then a binary/decimal SI suffix or an
# exponent. Signs and the n/u suffixes are valid Kubernetes but never meant for CPU or memory.
_QUANTITY = re.compile(
    r"(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"((?P<suffix>[KMGTPE]i|[mkMGTPE])|[eE]\+?(?P<exponent>[0-9]+))?"
)
_SCALE = {
    "m": Decimal("0.001"),
    **{s: Decimal(1000**i) for i, s in enumerate("kMGTPE", start=1)},
    **{f"{s}i": Decimal(1024**i) for i, s in enumerate("KMGTPE", start=1)},
}
class ManifestError(CurateError, ValueError):
    """An option of `curate k8s render` cannot become a valid KubeRay manifest."""


@attrs.frozen
class WorkerGroup:
    """One KubeRay worker group: `replicas` pods, each with these GPUs, CPUs and memory."""

    name: str
    replicas: int
    gpus: int
    cpus: str  # a Kubernetes quantity, e.g. "64" or "500m"
    memory: str  # a Kubernetes quantity, e.g. "512Gi"


@attrs.frozen
class Toleration:
    """A pod toleration; `value` None means operator Exists, `effect` None means any effect."""

    key: str
    value: str | None = None
    effect: str | None = None


def _fail(msg: str) -> ManifestError:
    return ManifestError(msg)


def _matches(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


def resource_name(value: str, *, kind: str) -> str:
    """A RayJob or RayCluster name: a DNS-1035 label within KubeRay's length limit."""
    limit = MAX_RAYJOB_NAME if kind == "RayJob" else MAX_RAYCLUSTER_NAME
    if not _matches(_DNS1035_LABEL, value) or len(value) > limit:
        msg = (
            f"--name {value!r}: a {kind} name is 1-{limit} lowercase letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
        raise _fail(msg)
    return value


def namespace(value: str) -> str:
    """A namespace name: a DNS-1123 label."""
    if not _matches(_DNS1123_LABEL, value) or len(value) > 63:
        msg = f"--namespace {value!r}: 1-63 lowercase letters, digits and '-'"
        raise _fail(msg)
    return value


def quantity(option: str, value: str, *, memory: bool) -> str:
    """A positive Kubernetes quantity for CPUs (`8`, `500m`) or memory (`64Gi`, `1e9`).

    At most what a node can have (`MAX_POD_CPUS`, `MAX_POD_MEMORY`).
    """
    text = value.strip()
    match = _QUANTITY.fullmatch(text)
    example = "64Gi, 512Mi or 1e9" if memory else "8, 0.5 or 500m"
    amount = Decimal(0) if match is None else _amount(match)
    if match is None or amount <= 0:
        msg = f"{option}={value!r}: not a positive Kubernetes quantity (e.g. {example})"
        raise _fail(msg)
    if memory and match["suffix"] == "m":
        msg = f"{option}={value!r}: 'm' means thousandths of a byte; write Mi or M"
        raise _fail(msg)
    limit = MAX_POD_MEMORY if memory else MAX_POD_CPUS
    if amount > limit:
        most = "4Pi of memory" if memory else f"{MAX_POD_CPUS} CPUs"
        msg = f"{option}={value!r}: more than any node has (at most {most}); check the number"
        raise _fail(msg)
    return text


def _amount(match: re.Match[str]) -> Decimal:
    """The value of a matched quantity in CPUs or bytes (exact; huge exponents are infinite)."""
    number = Decimal(match["number"])
    if match["exponent"] is None:
        return number * _SCALE.get(match["suffix"] or "", Decimal(1))
    digits = match["exponent"].lstrip("0") or "0"
    if number == 0 or len(digits) <= 4:
        return number.scaleb(int(digits))
    return Decimal("Infinity")


def count(option: str, value: str) -> int:
    """A whole number from 0 to 2^31-1 (replicas, GPUs)."""
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_INT32:
        msg = f"{option}={value!r}: must be a whole number >= 0"
        raise _fail(msg)
    return int(text)


def _key_values(option: str, spec: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            msg = f"{option} {spec!r}: write key=value pairs separated by commas"
            raise _fail(msg)
        if key not in WORKER_GROUP_KEYS:
            msg = f"{option} {spec!r}: unknown key {key!r} (keys: {', '.join(WORKER_GROUP_KEYS)})"
            raise _fail(msg)
        if key in pairs:
            msg = f"{option} {spec!r}: {key!r} given twice"
            raise _fail(msg)
        pairs[key] = value.strip()
    return pairs


def worker_group(spec: str, *, index: int, defaults: WorkerGroup) -> WorkerGroup:
    """`name=gpu,replicas=2,gpus=8,cpus=64,memory=512Gi`; missing keys come from `defaults`.

    A group without a name is called `defaults.name` (first group) or `<that>-<index+1>`.
    """
    option = "--worker-group"
    pairs = _key_values(option, spec)
    default_name = defaults.name if index == 0 else f"{defaults.name}-{index + 1}"
    name = pairs.get("name", default_name)
    if not _matches(_DNS1123_LABEL, name) or len(name) > 63:
        msg = f"{option} name={name!r}: 1-63 lowercase letters, digits and '-'"
        raise _fail(msg)
    return WorkerGroup(
        name=name,
        replicas=count(f"{option} replicas", pairs.get("replicas", str(defaults.replicas))),
        gpus=count(f"{option} gpus", pairs.get("gpus", str(defaults.gpus))),
        cpus=quantity(f"{option} cpus", pairs.get("cpus", defaults.cpus), memory=False),
        memory=quantity(f"{option} memory", pairs.get("memory", defaults.memory), memory=True),
    )


def worker_groups(specs: Iterable[str], defaults: WorkerGroup) -> tuple[WorkerGroup, ...]:
    """Parse every `--worker-group`; none given means one group of `defaults`."""
    groups = tuple(worker_group(spec, index=i, defaults=defaults) for i, spec in enumerate(specs))
    groups = groups or (defaults,)
    names = [group.name for group in groups]
    for name in names:
        if names.count(name) > 1:
            msg = f"--worker-group name={name!r} is used by more than one group"
            raise _fail(msg)
    return groups


def _label_key(option: str, key: str) -> str:
    prefix, slash, name = key.rpartition("/")
    prefix_ok = not slash or (_matches(_DNS1123_SUBDOMAIN, prefix) and len(prefix) <= 253)
    if not prefix_ok or not _matches(_LABEL_NAME, name) or len(name) > 63:
        msg = f"{option} {key!r}: not a valid label key (e.g. nvidia.com/gpu.product)"
        raise _fail(msg)
    return key


def node_selector(items: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` node labels every pod must match."""
    selector: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            msg = f"--node-selector {item!r}: write KEY=VALUE"
            raise _fail(msg)
        _label_key("--node-selector", key)
        if value and (not _matches(_LABEL_NAME, value) or len(value) > 63):
            msg = f"--node-selector {item!r}: a label value is up to 63 letters, digits, -_."
            raise _fail(msg)
        if key in selector:
            msg = f"--node-selector {key!r} given twice"
            raise _fail(msg)
        selector[key] = value
    return selector


def toleration(spec: str) -> Toleration:
    """`KEY[=VALUE][:EFFECT]`, as `kubectl taint` writes a taint (effect omitted: any)."""
    rest, colon, effect = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if colon and effect not in TOLERATION_EFFECTS:
        msg = f"--toleration {spec!r}: effect must be one of {', '.join(TOLERATION_EFFECTS)}"
        raise _fail(msg)
    key, equals, value = rest.partition("=")
    _label_key("--toleration", key)
    if equals and (not _matches(_LABEL_NAME, value) or len(value) > 63):
        msg = f"--toleration {spec!r}: the value is up to 63 letters, digits, -_."
        raise _fail(msg)
    return Toleration(key=key, value=value if equals else None, effect=effect or None)


def secret_ref(option: str, value: str, *, default_key: str | None) -> tuple[str, str | None]:
    """`NAME` or `NAME:KEY` of a Kubernetes Secret. The value is never echoed: it may be a token."""
    name, colon, key = value.partition(":")
    if colon and default_key is None:
        msg = f"{option} takes a Secret name only (its keys become environment variables)"
        raise _fail(msg)
    if not _matches(_DNS1123_SUBDOMAIN, name) or len(name) > 253:
        msg = (
            f"{option} takes the name of a Kubernetes Secret (lowercase letters, digits, '-', "
            "'.'), never a credential: `kubectl create secret generic NAME --from-literal=...`, "
            "then pass NAME"
        )
        raise _fail(msg)
    if colon and (not _matches(_SECRET_KEY, key) or len(key) > 253):
        msg = f"{option}: the key after ':' is letters, digits, '-', '_' and '.'"
        raise _fail(msg)
    return name, (key or default_key)


def claim_name(value: str) -> str:
    """A PersistentVolumeClaim name: a DNS-1123 subdomain."""
    if not _matches(_DNS1123_SUBDOMAIN, value) or len(value) > 253:
        msg = f"--weights-pvc {value!r}: a claim name is lowercase letters, digits, '-' and '.'"
        raise _fail(msg)
    return value


def host_path(value: str) -> str:
    """An absolute folder on every node, without `..` parts."""
    parts = value.split("/")
    if not value.startswith("/") or ".." in parts or "\0" in value:
        msg = f"--weights-host-path {value!r}: must be an absolute path without '..'"
        raise _fail(msg)
    return value


def entrypoint_from_command(command: list[str]) -> str:
    """The RayJob entrypoint for COMMAND: its arguments shell-quoted (`shlex.join`).

    KubeRay splices the entrypoint into a bash line (`ray job submit ... -- ENTRYPOINT`); bash
    splits it back into COMMAND's words, Ray's job CLI joins them again with `shlex.join`, and
    the head runs that line with `/bin/sh`. Each pass undoes the quoting of the one before, so
    every argument arrives as typed (spaces, quotes, `$` and `;` included).
    """
    if not command or not command[0].strip():
        msg = "no command: write it after `--`, e.g. curate k8s render -- curate pipeline run NAME"
        raise _fail(msg)
    return shlex.join(command)
