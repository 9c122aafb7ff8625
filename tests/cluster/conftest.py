"""One cluster (3 nodes behind a real HAProxy running deploy/haproxy.cfg) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.cluster import Cluster

#: Per node and client address (loopback counted too, --cap-loopback): the cap the
#: PROXY-protocol test runs into from one address while another is still admitted.
ADDRESS_CAP = 64
NODE_ARGS = ("--drain-seconds", "3", "--cap-loopback",
             "--max-connections-per-address", str(ADDRESS_CAP))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster(3, node_args=NODE_ARGS)
    try:
        running.start()
        yield running
    finally:
        running.close()
