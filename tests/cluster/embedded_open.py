"""Start an embedded Ray the way a pipeline run does (CURATE_BIND_HOST from the caller's
environment), print its GCS address and listening sockets as JSON, hold it until stdin
closes."""

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
    address = ray.get_runtime_context().gcs_address
    print(json.dumps({"address": address, "sockets": listening(tree(psutil.Process()))}))
    sys.stdout.flush()
    sys.stdin.read()
finally:
    connection.close()
