"""What `CURATE_SHIP_CODE=upload` sends to a cluster: what git would track, never secrets.

Each test builds a real git repository (or a plain folder) in tmp_path holding code, an
ignored build output and the usual secret files, some of them committed by mistake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import base_env

from cosmos_curate.core.ray_cluster.code_shipping import upload_runtime_env
from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError

REPO = Path(__file__).resolve().parents[2]
SECRET = "TOPSECRET-value-42"
# Secret files of a careless project: every one must stay home.
SECRETS = [
    ".env", ".env.local", "keys/server.pem", "tls.key", ".netrc", ".aws/credentials",
    ".ssh/id_ed25519", "id_rsa", "id_rsa.pub", "sub/.env.production",
]  # fmt: skip
CODE = ["app.py", "pkg/__init__.py", "pkg/mod.py", ".gitignore", "notes.md"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _project(root: Path, *, git: bool) -> Path:
    """Code, secrets (committed with -f where git would ignore them), an ignored build
    output, a config git ignores, and a symlink to a file outside the folder."""
    repo = root / "project"
    for name in [*CODE, *SECRETS]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(f"{SECRET}\n" if name in SECRETS else f"# {name}\n")
    (repo / ".gitignore").write_text("build/\nlocal.yaml\n")
    (repo / "build").mkdir()
    (repo / "build" / "big.bin").write_bytes(b"\0" * 1000)
    (repo / "local.yaml").write_text("setting: 1\n")
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"pyc")
    outside = root / "home_credentials"
    outside.write_text(f"{SECRET}\n")
    (repo / "linked_config").symlink_to(outside)
    if git:
        _git(repo, "init", "-q")
        committed = [n for n in [*CODE, *SECRETS] if n != "notes.md"]
        _git(repo, "add", "-f", *committed, "linked_config")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "all")
    return repo


def _shipped(env: dict[str, object]) -> dict[str, bytes]:
    with zipfile.ZipFile(str(env["working_dir"])) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_git_tree_ships_what_git_tracks_and_never_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracked and untracked-not-ignored files go; ignored ones do not unless included;
    committed secret files, an included secret and a link out of the folder never go."""
    repo = _project(tmp_path, git=True)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("CURATE_WORKING_DIR", raising=False)
    monkeypatch.setenv("CURATE_SHIP_INCLUDE", "local.yaml, .env.local")
    files = _shipped(upload_runtime_env())
    assert sorted(files) == sorted([*CODE, "local.yaml"])
    assert not [name for name, data in files.items() if SECRET.encode() in data]


def test_plain_folder_ships_every_file_but_secrets_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a git work tree: every file except caches and secrets (ignore files mean
    nothing there), so the ignored build output goes too."""
    repo = _project(tmp_path, git=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("CURATE_WORKING_DIR", str(repo))
    monkeypatch.delenv("CURATE_SHIP_INCLUDE", raising=False)
    files = _shipped(upload_runtime_env())
    assert sorted(files) == sorted([*CODE, "build/big.bin", "local.yaml"])


@pytest.mark.parametrize(
    ("include", "needle"), [("../outside", "inside"), ("nothing-*.txt", "matches nothing")]
)
def test_bad_include_is_one_clear_error(
    include: str, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include that leaves the folder or matches nothing stops before any upload."""
    monkeypatch.setenv("CURATE_WORKING_DIR", str(_project(tmp_path, git=True)))
    monkeypatch.setenv("CURATE_SHIP_INCLUDE", include)
    with pytest.raises(ClusterConnectionError, match=f"CURATE_SHIP_INCLUDE.*{needle}"):
        upload_runtime_env()


WORKER_LISTING = """
import json, os, ray
from cosmos_curate.core.runtime import ray_connection
connection = ray_connection.connect(None, num_cpus=1)
@ray.remote
def listing():
    return sorted(
        os.path.relpath(os.path.join(d, n)) for d, _, names in os.walk(".") for n in names
    )
print(json.dumps(ray.get(listing.remote())))
connection.close()
"""


@pytest.mark.integration
def test_workers_get_only_the_shipped_files_and_verbose_says_so(tmp_path: Path) -> None:
    """Through real Ray (upload on purpose to an embedded cluster): the worker's working
    directory holds exactly the shipped files; `-v` logging names the count, the size and
    the secret files left out, and no secret's content appears anywhere in the output."""
    repo = _project(tmp_path, git=True)
    env = base_env(
        CURATE_SHIP_CODE="upload", PYTHONPATH=str(REPO), RAY_AUTH_MODE="disabled",
        CURATE_BIND_HOST="", COLUMNS="400",
    )  # fmt: skip
    log = "import sys; from cosmos_curate.cli.common import configure_logging; "
    log += "configure_logging(verbose=True); "
    result = subprocess.run(
        [sys.executable, "-c", log + "exec(sys.argv[1])", WORKER_LISTING],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(listed) == sorted(CODE)
    assert SECRET not in result.stdout + result.stderr
    err = " ".join(result.stderr.split())
    assert f"shipping {len(CODE)} files (" in err and "git ls-files" in err, err[-2000:]
    assert "not shipped, secret files" in err and ".aws/credentials" in err
    assert "linked_config" in err
