"""Child process for test_connectors_crash.py: import a bundle as `tertulia import` does (writer lock,
one connection), leaving marker files so the test knows where the child is.

usage: python connectors_import_worker.py MODE BUNDLE MARKER_DIR WAIT_SECONDS
  MODE plain: import and print the counts as JSON.
  MODE hang:  stop inside the landing transaction (after raw and quarantine were written, before the
              commit), write MARKER_DIR/in_transaction, and go on only once MARKER_DIR/go exists.
The warehouse is $TERTULIA_WAREHOUSE; the configuration is community.example.yml.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import connectors.landing as landing  # noqa: E402
from connectors.files import import_bundle  # noqa: E402
from tertulia import warehouse  # noqa: E402
from tertulia.config import load_config  # noqa: E402
from tertulia.raw_schema import ensure_raw_tables  # noqa: E402


class _PauseInTransaction(dict):
    """ADVICE is read while the quarantine messages are written: after the writes, before the commit."""

    def __init__(self, data: dict, markers: Path) -> None:
        super().__init__(data)
        self.markers = markers

    def get(self, *args):
        (self.markers / "in_transaction").touch()
        deadline = time.monotonic() + 300  # never outlive a test run that died
        while not (self.markers / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return super().get(*args)


def main() -> int:
    mode, bundle, markers, wait = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    markers.mkdir(parents=True, exist_ok=True)
    if mode == "hang":
        landing.ADVICE = _PauseInTransaction(landing.ADVICE, markers)
    config = load_config(REPO / "community.example.yml")
    (markers / "waiting").touch()
    try:
        with warehouse.writer_lock(config.warehouse_path, wait_seconds=wait):
            (markers / "locked").touch()
            con = warehouse.connect(config.warehouse_path)
            try:
                ensure_raw_tables(con)
                report = import_bundle(con, bundle, config)
            finally:
                con.close()
    except warehouse.WarehouseBusy as exc:
        print(str(exc), file=sys.stderr)
        return 3
    print(
        json.dumps(
            {e: [r.inserted, r.updated, r.unchanged, r.quarantined] for e, r in report.entities.items()}
        )
    )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
