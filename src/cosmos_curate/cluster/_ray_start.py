"""`python -m cosmos_curate.cluster._ray_start start ...`: `ray start`, keeping 127.0.0.1.

`ray start --node-ip-address=127.0.0.1` would replace the address by the machine's own,
and then the GCS, raylet and metrics export listen on every interface (see
`cosmos_curate.core.ray_cluster.bind`). Here the loopback address is kept as given, so every
process of a `curate cluster start` node listens on 127.0.0.1 only; any other address
behaves exactly as in `ray start`.
"""

from __future__ import annotations

from typing import Any


def _keep_loopback() -> None:
    from ray._private import services

    original = services.resolve_ip_for_localhost

    def resolve(host: str) -> Any:
        return host if host == "127.0.0.1" else original(host)

    services.resolve_ip_for_localhost = resolve


def main() -> None:
    """Run Ray's own `ray` command line with the loopback address kept."""
    _keep_loopback()
    from ray.scripts.scripts import main as ray_main

    ray_main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
