import os
import subprocess
import sys

from realm import db
from realm.devstack import seed
from realm.hosting import parties
from tests.helpers import count


def _seed_twice() -> None:
    for _ in range(2):
        with db.transaction() as tx:
            seed.seed(tx)


def test_the_seed_can_run_twice_and_gives_the_designed_data(clean_db: None) -> None:
    _seed_twice()
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM users") == 10
        assert tx.scalar("SELECT count(*) FROM parties") == 5
        assert tx.scalar("SELECT count(*) FROM invites") == 25
        hosts = tx.all(
            "SELECT p.id, p.flat, u.display_name FROM parties p"
            " JOIN users u ON u.id = p.host_id ORDER BY p.id"
        )
    assert [(h["id"], h["flat"], h["display_name"]) for h in hosts] == [
        (37, "PASTPARTY1", "Host 1"),
        (38, "PASTPARTY2", "Host 2"),
        (39, "FUTUREPARTY1", "Host 3"),
        (40, "FUTUREPARTY2", "Host 4"),
        (41, "FUTUREPARTY3", "Host 5"),
    ]


def test_seeded_guest_20_sees_future_parties_only_and_has_confirmed_futureparty1(
    clean_db: None,
) -> None:
    _seed_twice()
    with db.transaction() as tx:
        invited = parties.list_for(tx, "guest-1", "invited", limit=20, cursor=None)
        confirmed = parties.list_for(tx, "guest-1", "confirmed", limit=20, cursor=None)
        other = parties.list_for(tx, "guest-2", "invited", limit=20, cursor=None)
    assert [p.flat for p in invited.parties] == ["FUTUREPARTY2", "FUTUREPARTY3"]
    assert [p.flat for p in confirmed.parties] == ["FUTUREPARTY1"]
    assert [p.flat for p in other.parties] == ["FUTUREPARTY1", "FUTUREPARTY2", "FUTUREPARTY3"]


def test_sign_ups_after_the_seed_never_take_a_seed_id(clean_db: None) -> None:
    _seed_twice()
    with db.transaction() as tx:
        new_id = tx.scalar(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES ('new', 'new', 'New', 'new@example.test') RETURNING id"
        )
    assert new_id >= 1000


def test_realm_seed_is_refused_in_the_cloud_and_touches_nothing(clean_db: None) -> None:
    """Run as a command, as an operator would, with the cloud's configuration."""
    env = {
        **os.environ,
        "REALM_ENV": "cloud",
        "REALM_PROJECT_ID": "realm-prod",
        "REALM_LOCAL_KEY_FILE": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "realm.cli", "seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "refused when REALM_ENV=cloud" in result.stderr
    assert count("users") == 0
