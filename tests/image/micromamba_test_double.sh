#!/bin/sh
# TEST DOUBLE for micromamba -- used only by tests/image (conda channels are unreachable in CI).
# Installed as /usr/local/bin/micromamba in the test base image, never in the shipped image.
# It makes one Python venv per env prefix:
#   micromamba create -y -p PREFIX | -n NAME   -> python3 -m venv --copies PREFIX
#   micromamba install -y [-p P|-n N] python=X [pip]   -> make sure the venv exists
#   any other conda package                            -> error (the double cannot install it)
# --copies: each env gets its own python binary, as real conda envs do.
set -eu
cmd="${1:-}"
[ -n "$cmd" ] && shift
prefix="${CONDA_PREFIX:-}"
specs=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    -y|--yes|-q|--quiet) ;;
    -p|--prefix) prefix="$2"; shift ;;
    -n|--name) prefix="${MAMBA_ROOT_PREFIX:-/opt/conda}/envs/$2"; shift ;;
    -c|--channel) shift ;;
    -*) ;;
    *) specs="$specs $1" ;;
  esac
  shift
done
make_env() {
  [ -x "$prefix/bin/python" ] || python3 -m venv --copies "$prefix"
}
case "$cmd" in
  --version|version) echo "0.0.0-test-double" ;;
  create) make_env; echo "micromamba test double: created venv $prefix" ;;
  install)
    [ -n "$prefix" ] || { echo "micromamba test double: no target env" >&2; exit 2; }
    for spec in $specs; do
      case "$spec" in
        python|python=*|pip|pip=*) ;;
        *) echo "micromamba test double: cannot install conda package '$spec'" >&2; exit 3 ;;
      esac
    done
    make_env
    echo "micromamba test double: $prefix has$specs" ;;
  clean) ;;
  *) echo "micromamba test double: unsupported command '$cmd'" >&2; exit 2 ;;
esac
