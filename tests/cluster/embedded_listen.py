"""Start an embedded Ray the way a pipeline run does, print its listening sockets as JSON."""

from __future__ import annotations

import json
import sys
import time

import psutil
from tests.cluster.listening import listening, tree

from cosmos_curate.core.runtime import ray_connection

connection = ray_connection.connect(None, num_cpus=1, metrics_port=int(sys.argv[1]))
try:
    import ray

    @ray.remote
    def ping() -> int:
        return 1

    ray.get(ping.remote())  # a worker process is up too
    time.sleep(2)
    print(json.dumps(listening(tree(psutil.Process()))))
finally:
    connection.close()
