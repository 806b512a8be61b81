"""What KubeRay accepts in the fields `curate k8s render` writes, reduced to a checkable table.

Source, pinned: github.com/ray-project/kuberay, release v1.7.0 (commit
59d663aeec13760646da3db9c1cf8cfe883e30b7):
- `ray-operator/config/crd/bases/ray.io_rayjobs.yaml` and `ray.io_rayclusters.yaml`, version
  `v1`, `openAPIV3Schema` (source "crd"): types, formats, required fields, enums, patterns and
  the list-map keys the API server enforces when the object is created;
- `ray-operator/controllers/ray/utils/validation.go` and `utils/constant.go` (source
  "operator"): checks the operator makes before it creates anything (name length and form,
  min/max replicas);
- Kubernetes API validation of core/v1 and ObjectMeta (source "api"): values the CRD stores
  as plain strings but the API server refuses when KubeRay creates the pods (pull policy,
  toleration operator, port ranges, label values). Listed so that such a value fails here,
  not minutes later in the cluster.

In every row under `spec` the type, the required keys, int32 and the list-map keys are the
CRD's; `source` says where the row's enum, pattern, range, length and rules come from.

Only the fields our manifests use are here, written out in our own words; the CRDs are not
vendored. A field the renderer emits that is missing from the table is itself a failure, so a
new field needs its constraint (and a look at the CRD) first. The RayCluster spec is the same
schema whether it stands alone (`RayCluster.spec`) or sits in `RayJob.spec.rayClusterSpec`,
and the head and worker pod templates embed the same core/v1 PodTemplateSpec: each is written
once and mounted at its paths. `crd_disagreements` re-derives the "crd" rows from CRD files
for a maintainer (see test_k8s_manifest.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

KUBERAY_RELEASE = "v1.7.0"
KUBERAY_COMMIT = "59d663aeec13760646da3db9c1cf8cfe883e30b7"
CRD_FILES = {
    "RayJob": "ray-operator/config/crd/bases/ray.io_rayjobs.yaml",
    "RayCluster": "ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
}
INT32 = (-(2**31), 2**31 - 1)
# The CRD's pattern for a resource quantity (requests/limits values), as it stands there.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
    r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
DNS1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
QUALIFIED_NAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"  # noqa: E501
ENV_VAR_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"

Rule = Callable[[Any], str | None]


@attrs.frozen
class Field:
    """The constraints on one field path. `kind`: object, map, array, string, integer, boolean
    or quantity (integer or string matching the quantity pattern)."""

    kind: str
    source: str = "crd"
    required: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    int32: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    list_map_keys: tuple[str, ...] = ()  # list entries must be unique by these keys
    rules: tuple[Rule, ...] = ()  # cross-field checks (operator validation)

    def count(self) -> int:
        """How many separate constraints this row carries (the type counts as one)."""
        return (
            1
            + len(self.required)
            + (1 if self.enum else 0)
            + (1 if self.pattern else 0)
            + (1 if self.int32 else 0)
            + (1 if self.minimum is not None else 0)
            + (1 if self.maximum is not None else 0)
            + (1 if self.max_length is not None else 0)
            + (1 if self.list_map_keys else 0)
            + len(self.rules)
        )

    def problems(self, path: str, value: Any) -> Iterator[str]:
        """Every way `value` breaks this row."""
        if not _has_kind(self.kind, value):
            yield f"{path}: expected {self.kind}, got {type(value).__name__} {value!r}"
            return
        yield from (
            f"{path}: required field {key!r} missing" for key in self.required if key not in value
        )
        if self.enum and value not in self.enum:
            yield f"{path}: {value!r} not one of {self.enum}"
        if self.pattern and not re.search(self.pattern, str(value)):
            yield f"{path}: {value!r} does not match {self.pattern}"
        if self.int32 and not INT32[0] <= value <= INT32[1]:
            yield f"{path}: {value} outside int32"
        if self.minimum is not None and value < self.minimum:
            yield f"{path}: {value} < minimum {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            yield f"{path}: {value} > maximum {self.maximum}"
        if self.max_length is not None and len(value) > self.max_length:
            yield f"{path}: longer than {self.max_length}"
        if self.list_map_keys:
            keys = [tuple(item.get(k) for k in self.list_map_keys) for item in value]
            if len(set(keys)) != len(keys):
                yield f"{path}: entries not unique by {self.list_map_keys}: {keys}"
        for rule in self.rules:
            problem = rule(value)
            if problem:
                yield f"{path}: {problem}"


def _has_kind(kind: str, value: Any) -> bool:
    if kind in ("object", "map"):
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "quantity":  # x-kubernetes-int-or-string
        return isinstance(value, str | int) and not isinstance(value, bool)
    msg = f"unknown kind {kind}"
    raise ValueError(msg)


def _replicas_in_range(group: Mapping[str, Any]) -> str | None:
    low, high = group.get("minReplicas"), group.get("maxReplicas")
    if low is not None and high is not None and low > high:
        return f"minReplicas {low} > maxReplicas {high}"
    replicas = group.get("replicas")
    in_range = replicas is None or low is None or high is None or low <= replicas <= high
    if not in_range:
        return f"replicas {replicas} outside [{low}, {high}] (KubeRay would clamp it)"
    return None


def _no_resources_twice(group: Mapping[str, Any]) -> str | None:
    # validation.go validateRayGroupResources: Ray resources either in rayStartParams or in
    # the group's `resources` map, not both.
    params = group.get("rayStartParams", {})
    if group.get("resources") and any(p in params for p in ("num-cpus", "num-gpus", "memory")):
        return "resources set both in rayStartParams and in resources"
    return None


def _string_map(source: str = "crd") -> dict[str, Field]:
    return {"": Field("map", source=source), ".*": Field("string", source=source)}


def _mount(prefix: str, rows: Mapping[str, Field]) -> dict[str, Field]:
    return {f"{prefix}{path}": field for path, field in rows.items()}


_QUANTITY_MAP = {
    "": Field("map"),
    ".*": Field("quantity", pattern=QUANTITY_PATTERN),
}

CONTAINER: dict[str, Field] = {
    "": Field("object", required=("name",)),
    ".name": Field("string"),
    ".image": Field("string"),
    ".imagePullPolicy": Field("string", source="api", enum=("Always", "IfNotPresent", "Never")),
    ".ports": Field("array", list_map_keys=("containerPort", "protocol")),
    ".ports[]": Field("object", required=("containerPort",)),
    ".ports[].name": Field(
        "string", source="api", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=15
    ),
    ".ports[].containerPort": Field("integer", source="api", int32=True, minimum=1, maximum=65535),
    ".ports[].protocol": Field("string", source="api", enum=("TCP", "UDP", "SCTP")),
    ".resources": Field("object"),
    **_mount(".resources.requests", _QUANTITY_MAP),
    **_mount(".resources.limits", _QUANTITY_MAP),
    ".env": Field("array", list_map_keys=("name",)),
    ".env[]": Field("object", required=("name",)),
    ".env[].name": Field("string", source="api", pattern=ENV_VAR_NAME),
    ".env[].value": Field("string"),
    ".env[].valueFrom": Field("object"),
    ".env[].valueFrom.secretKeyRef": Field("object", required=("key",)),
    ".env[].valueFrom.secretKeyRef.name": Field("string", source="api", pattern=DNS1123_SUBDOMAIN),
    ".env[].valueFrom.secretKeyRef.key": Field(
        "string", source="api", pattern=r"^[-._a-zA-Z0-9]+$"
    ),
    ".envFrom": Field("array"),
    ".envFrom[]": Field("object"),
    ".envFrom[].secretRef": Field("object"),
    ".envFrom[].secretRef.name": Field("string", source="api", pattern=DNS1123_SUBDOMAIN),
    ".volumeMounts": Field("array", list_map_keys=("mountPath",)),
    ".volumeMounts[]": Field("object", required=("mountPath", "name")),
    ".volumeMounts[].name": Field("string"),
    ".volumeMounts[].mountPath": Field("string", source="api", pattern=r"^/"),
    ".volumeMounts[].readOnly": Field("boolean"),
}

POD_TEMPLATE: dict[str, Field] = {
    "": Field("object"),
    ".metadata": Field("object"),
    **_mount(".metadata.labels", _string_map()),
    **_mount(".metadata.annotations", _string_map()),
    ".spec": Field("object", required=("containers",)),
    ".spec.containers": Field("array", list_map_keys=("name",)),
    **_mount(".spec.containers[]", CONTAINER),
    ".spec.volumes": Field("array", list_map_keys=("name",)),
    ".spec.volumes[]": Field("object", required=("name",)),
    ".spec.volumes[].name": Field("string", source="api", pattern=DNS1123_LABEL),
    ".spec.volumes[].emptyDir": Field("object"),
    ".spec.volumes[].emptyDir.medium": Field("string", source="api", enum=("", "Memory")),
    ".spec.volumes[].persistentVolumeClaim": Field("object", required=("claimName",)),
    ".spec.volumes[].persistentVolumeClaim.claimName": Field("string"),
    ".spec.volumes[].persistentVolumeClaim.readOnly": Field("boolean"),
    ".spec.volumes[].hostPath": Field("object", required=("path",)),
    ".spec.volumes[].hostPath.path": Field("string", source="api", pattern=r"^/"),
    ".spec.volumes[].hostPath.type": Field(
        "string",
        source="api",
        enum=(
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ),
    ),
    ".spec.nodeSelector": Field("map"),
    ".spec.nodeSelector.*": Field("string", source="api", pattern=LABEL_VALUE, max_length=63),
    ".spec.tolerations": Field("array"),
    ".spec.tolerations[]": Field("object"),
    ".spec.tolerations[].key": Field("string", source="api", pattern=QUALIFIED_NAME),
    ".spec.tolerations[].operator": Field("string", source="api", enum=("Exists", "Equal")),
    ".spec.tolerations[].value": Field("string", source="api", pattern=LABEL_VALUE),
    ".spec.tolerations[].effect": Field(
        "string", source="api", enum=("NoSchedule", "PreferNoSchedule", "NoExecute")
    ),
}

CLUSTER_SPEC: dict[str, Field] = {
    "": Field("object", required=("headGroupSpec",)),
    ".rayVersion": Field("string"),
    ".authOptions": Field("object"),
    ".authOptions.mode": Field("string", enum=("disabled", "token")),
    ".headGroupSpec": Field("object", required=("template",)),
    **_mount(".headGroupSpec.rayStartParams", _string_map()),
    **_mount(".headGroupSpec.template", POD_TEMPLATE),
    ".workerGroupSpecs": Field("array"),
    ".workerGroupSpecs[]": Field(
        "object",
        source="operator",
        required=("groupName", "maxReplicas", "minReplicas", "template"),
        rules=(_replicas_in_range, _no_resources_twice),
    ),
    ".workerGroupSpecs[].groupName": Field("string", source="api", pattern=DNS1123_LABEL),
    ".workerGroupSpecs[].replicas": Field("integer", source="operator", int32=True, minimum=0),
    ".workerGroupSpecs[].minReplicas": Field("integer", source="operator", int32=True, minimum=0),
    ".workerGroupSpecs[].maxReplicas": Field("integer", source="operator", int32=True, minimum=0),
    **_mount(".workerGroupSpecs[].rayStartParams", _string_map()),
    **_mount(".workerGroupSpecs[].template", POD_TEMPLATE),
}

MAX_NAME = {"RayJob": 47, "RayCluster": 53}  # constant.go: MaxRayClusterNameLength 53, job - 6


def _object_meta(kind: str) -> dict[str, Field]:
    # The root `metadata` is ObjectMeta (not in the CRD schema: the API server validates it);
    # the name rule is the operator's (validation.go ValidateRay{Job,Cluster}Metadata).
    return {
        "metadata": Field("object", source="operator", required=("name",)),
        "metadata.name": Field(
            "string", source="operator", pattern=DNS1035_LABEL, max_length=MAX_NAME[kind]
        ),
        "metadata.namespace": Field("string", source="api", pattern=DNS1123_LABEL, max_length=63),
        "metadata.labels": Field("map", source="api"),
        "metadata.labels.*": Field("string", source="api", pattern=LABEL_VALUE, max_length=63),
    }


def _top(kind: str) -> dict[str, Field]:
    # group ray.io, served version v1, names.kind: the CRD's spec, not its schema
    return {
        "": Field("object", source="api", required=("apiVersion", "kind", "metadata", "spec")),
        "apiVersion": Field("string", source="crd-names", enum=("ray.io/v1",)),
        "kind": Field("string", source="crd-names", enum=(kind,)),
        **_object_meta(kind),
    }


RAYJOB: dict[str, Field] = {
    **_top("RayJob"),
    "spec": Field("object"),
    "spec.entrypoint": Field("string"),
    "spec.submissionMode": Field(
        "string",
        source="operator",
        enum=("K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"),
    ),
    "spec.shutdownAfterJobFinishes": Field("boolean"),
    "spec.ttlSecondsAfterFinished": Field("integer", source="operator", int32=True, minimum=0),
    **_mount("spec.rayClusterSpec", CLUSTER_SPEC),
}

RAYCLUSTER: dict[str, Field] = {**_top("RayCluster"), **_mount("spec", CLUSTER_SPEC)}

TABLES = {"RayJob": RAYJOB, "RayCluster": RAYCLUSTER}


@attrs.frozen
class Report:
    """The result of checking one manifest: problems found and the field paths checked."""

    problems: tuple[str, ...]
    checked_paths: frozenset[str]
    checked_values: int


def check(manifest: Mapping[str, Any]) -> Report:
    """Check every field of `manifest` against the table of its kind."""
    table = TABLES[manifest["kind"]]
    problems: list[str] = []
    checked: set[str] = set()
    values = 0

    def walk(value: Any, path: str) -> None:
        nonlocal values
        field = table.get(path)
        if field is None:
            problems.append(f"{path}: not in the constraint table (which KubeRay field is it?)")
            return
        checked.add(path)
        values += 1
        problems.extend(field.problems(path or "<root>", value))
        if isinstance(value, dict):
            for key, child in value.items():
                if field.kind == "map":
                    walk(child, f"{path}.*")
                else:
                    walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for child in value:
                walk(child, f"{path}[]")

    walk(manifest, "")
    return Report(tuple(problems), frozenset(checked), values)


# ---- for a maintainer: compare the "crd" rows with a KubeRay CRD file ----------------------
def _crd_node(root: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = root
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        if node is None:
            return None
        if part == "[]":
            node = node.get("items")
        elif part == "*":
            node = node.get("additionalProperties")
        else:
            node = node.get("properties", {}).get(part)
    return node


def _crd_kind(node: Mapping[str, Any]) -> str:
    if "x-kubernetes-int-or-string" in node:
        return "quantity"
    if node.get("type") == "object" and "additionalProperties" in node:
        return "map"
    return str(node.get("type"))


def crd_disagreements(kind: str, crd: Mapping[str, Any]) -> list[str]:
    """Rows of the table that disagree with `crd` (a parsed CRD YAML document).

    Under `spec`: type, required keys, int32 and list-map keys must be the CRD's; a "crd" row's
    enum and pattern must be the CRD's; other rows may only add an enum or pattern where the
    CRD has none.
    """
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    root = version["schema"]["openAPIV3Schema"]
    issues = []
    for path, field in TABLES[kind].items():
        if not path.startswith("spec"):
            continue
        node = _crd_node(root, path)
        if node is None:
            issues.append(f"{path}: not in the CRD")
            continue
        if _crd_kind(node) != field.kind:
            issues.append(f"{path}: CRD kind {_crd_kind(node)}, table {field.kind}")
        if set(node.get("required", ())) != set(field.required):
            issues.append(f"{path}: CRD requires {node.get('required')}, table {field.required}")
        if (node.get("format") == "int32") != field.int32:
            issues.append(f"{path}: CRD format {node.get('format')}, table int32={field.int32}")
        keys = tuple(node.get("x-kubernetes-list-map-keys", ()))
        if keys != field.list_map_keys:
            issues.append(f"{path}: CRD list-map keys {keys}, table {field.list_map_keys}")
        crd_enum, crd_pattern = tuple(node.get("enum", ())), node.get("pattern")
        if field.source == "crd" and (crd_enum != field.enum or crd_pattern != field.pattern):
            issues.append(f"{path}: CRD enum/pattern {crd_enum}/{crd_pattern}")
        if field.source != "crd" and (crd_enum or crd_pattern):
            issues.append(f"{path}: the CRD has its own enum/pattern; make the row source crd")
    return issues
