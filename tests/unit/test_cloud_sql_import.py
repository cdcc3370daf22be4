"""The Cloud SQL connector is imported by every function's first connection in the cloud, so
its import is a part of every cold start there (docs/decisions/0062)."""

from __future__ import annotations

import json
import subprocess
import sys

# What cloud-sql-python-connector 1.23 added to its import: a gRPC client of the SQL Admin API,
# for the SQL_DATA IP type we never use; ~150 ms on this machine.
HEAVY = ("grpc", "google.api_core", "google.cloud.sqladmin_v1beta4")


def test_importing_the_cloud_sql_connector_loads_no_grpc_client() -> None:
    code = (
        "import json, sys; from google.cloud.sql.connector import Connector, IPTypes; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout.splitlines()[-1])
    found = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert not found, f"the connector's import loads {found[:5]}"
