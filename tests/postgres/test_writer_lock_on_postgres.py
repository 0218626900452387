"""The writer lock on a PostgreSQL warehouse: an advisory lock, so two hosts never interleave.

Two sessions stand for two hosts (advisory locks are per session, so two connections of one process
contend exactly as two machines would): the second gives up with a message naming the holder, or waits
and gets the lock once the first lets go; a holder that dies (its session closed) leaves no stale lock.
"""

from __future__ import annotations

import threading

import pytest

from tertulia import warehouse
from tertulia.warehouse import PostgresWarehouse, WarehouseBusy

pytestmark = pytest.mark.integration

DATABASE = "tertulia_lock"


@pytest.fixture(scope="module")
def target(postgres_server):
    postgres_server.create_database(DATABASE)
    # the password in the URL, as TERTULIA_WAREHOUSE may carry it; messages must not show it
    url = postgres_server.url(DATABASE).replace("@", f":{postgres_server.password}@", 1)
    return PostgresWarehouse(url)


def test_a_second_writer_gives_up_naming_the_first(target, postgres_server):
    with warehouse.writer_lock(target, holder="sla_watch"):
        with pytest.raises(WarehouseBusy) as err:
            with warehouse.writer_lock(target, wait_seconds=0, holder="crisis_watch"):
                pytest.fail("two writers held the lock at once")
    text = str(err.value)
    assert text.startswith(
        f"postgresql://tertulia:***@127.0.0.1:{postgres_server.port}/{DATABASE} is being written"
    )
    assert "(sla_watch), server pid" in text
    assert postgres_server.password not in text
    # released at the end of the block: the next writer gets it at once
    with warehouse.writer_lock(target, wait_seconds=0, holder="crisis_watch"):
        pass


def test_a_waiting_writer_runs_after_the_holder_lets_go(target):
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with warehouse.writer_lock(target, holder="first"):
                order.append("first has it")
                holding.set()
                release.wait()
                order.append("first lets go")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            holding.set()

    def second():
        try:
            with warehouse.writer_lock(target, wait_seconds=120, holder="second"):
                order.append("second has it")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t1 = threading.Thread(target=first)
    t1.start()
    holding.wait()
    t2 = threading.Thread(target=second)
    t2.start()
    # the second is refused while the first holds the lock: a third writer that does not wait says so
    with pytest.raises(WarehouseBusy, match=r"\(first\)"):
        with warehouse.writer_lock(target, wait_seconds=0, holder="third"):
            pass
    release.set()
    t1.join()
    t2.join()
    assert errors == []
    assert order == ["first has it", "first lets go", "second has it"]


def test_a_dead_holder_leaves_no_stale_lock(target):
    # a holder's session that ends without unlocking (a killed process, a lost host): the server drops
    # its advisory locks with it
    con = target.connect(application_name=warehouse.LOCK_APP_PREFIX + "killed run")
    with con.cursor() as cur:
        cur.execute(
            "select pg_advisory_lock(%s, %s)", [warehouse.WRITER_LOCK_CLASS, warehouse.WRITER_LOCK_ID]
        )
    with pytest.raises(WarehouseBusy, match=r"\(killed run, server pid \d+, since "):
        with warehouse.writer_lock(target, wait_seconds=0):
            pass
    con.close()
    with warehouse.writer_lock(target, wait_seconds=0):
        probe = target.connect()
        try:
            assert warehouse.postgres_lock_holder(probe).startswith("pid ")
        finally:
            probe.close()
