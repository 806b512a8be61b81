"""The `curate` process ends at once after its work, without losing what an exit must do.

`exit_now` skips the interpreter's teardown (1.2-1.5 s after torch and transformers were
imported); these tests hold it to Python's own exit: other threads finish, `atexit`
handlers run, buffered output (Python's and C's) reaches the pipe, and the code is kept.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support import fresh_python

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import atexit, ctypes, sys, threading, time
from cosmos_curate.cli import main
atexit.register(lambda: print("atexit handler ran"))
def late() -> None:
    time.sleep(0.3)
    print("thread finished")
threading.Thread(target=late).start()
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(1)  # left open: its idle worker must not hold the exit
pool.submit(print, "pool worked").result()
ctypes.CDLL(None).printf(b"from C stdio\\n")  # buffered by libc: the pipe is no terminal
sys.argv = ["curate", *sys.argv[1:]]
main.main()
print("never printed: main() ends the process")
"""


def test_threads_atexit_handlers_and_buffers_are_done_before_the_process_ends() -> None:
    done = fresh_python(textwrap.dedent(_SCRIPT), "--version", cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("curate ") for line in lines)  # the command's own output
    for expected in ("pool worked", "thread finished", "atexit handler ran", "from C stdio"):
        assert expected in lines
    assert lines.index("thread finished") < lines.index("atexit handler ran")  # Python's order
    assert "never printed" not in done.stdout


def test_the_exit_code_is_the_commands() -> None:
    args = ("pipeline", "run", "no-such-pipeline")
    done = fresh_python(textwrap.dedent(_SCRIPT), *args, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "atexit handler ran" in done.stdout
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")]
