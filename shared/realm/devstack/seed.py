"""The app's testing data (DESIGN §8), loaded idempotently.

Running it again puts the seed rows back to their defined state, with party times relative to
now; rows that are not part of the seed are never touched.
"""

from __future__ import annotations

from datetime import timedelta

from realm.db import Tx

# (id, display name, auth uid); each one's handle is its uid without the dash ("host1").
HOSTS = [(12 + n, f"Host {n + 1}", f"host-{n + 1}") for n in range(5)]
GUESTS = [(20 + n, f"Guest {n + 1}", f"guest-{n + 1}") for n in range(5)]
# (party id, flat, host id, first entry relative to the seed's now)
PARTIES = [
    (37, "PASTPARTY1", 12, timedelta(days=-2)),
    (38, "PASTPARTY2", 13, timedelta(days=-2)),
    (39, "FUTUREPARTY1", 14, timedelta(days=1)),
    (40, "FUTUREPARTY2", 15, timedelta(days=2)),
    (41, "FUTUREPARTY3", 16, timedelta(days=3)),
]
CONFIRMED = {(39, 20)}


def phone_of(user_id: int) -> str | None:
    """Guests have a phone number and let match-contacts find them by it; hosts have none."""
    return f"+1555010{user_id:04d}" if user_id in {guest for guest, _, _ in GUESTS} else None


def seed(tx: Tx) -> None:
    for user_id, name, uid in HOSTS + GUESTS:
        tx.execute(
            "INSERT INTO users"
            " (id, auth_uid, handle, display_name, email, phone, discoverable_by_phone)"
            " VALUES (:id, :uid, :handle, :name, :email, CAST(:phone AS text), :phone IS NOT NULL)"
            " ON CONFLICT (id) DO UPDATE SET auth_uid = EXCLUDED.auth_uid,"
            " handle = EXCLUDED.handle, display_name = EXCLUDED.display_name,"
            " email = EXCLUDED.email, phone = EXCLUDED.phone,"
            " discoverable_by_phone = EXCLUDED.discoverable_by_phone, updated_at = now()",
            id=user_id,
            uid=uid,
            handle=uid.replace("-", ""),
            name=name,
            email=f"{uid}@seed.realm.test",
            phone=phone_of(user_id),
        )
    now = tx.scalar("SELECT date_trunc('minute', now())")
    for party_id, flat, host_id, offset in PARTIES:
        # Moving first_entry moves the invites' copy too (ON UPDATE CASCADE).
        tx.execute(
            "INSERT INTO parties (id, host_id, flat, title, first_entry)"
            " VALUES (:id, :host, :flat, :title, :first_entry)"
            " ON CONFLICT (id) DO UPDATE SET host_id = EXCLUDED.host_id, flat = EXCLUDED.flat,"
            " title = EXCLUDED.title, first_entry = EXCLUDED.first_entry, cancelled_at = NULL,"
            " updated_at = now()",
            id=party_id,
            host=host_id,
            flat=flat,
            title=f"Party at {flat}",
            first_entry=now + offset,
        )
        for guest_id, _, _ in GUESTS:
            status = "confirmed" if (party_id, guest_id) in CONFIRMED else "invited"
            tx.execute(
                "INSERT INTO invites (party_id, party_first_entry, guest_id, status, responded_at)"
                " SELECT id, first_entry, :guest, :status,"
                "        CASE WHEN :status = 'invited' THEN NULL ELSE now() END"
                " FROM parties WHERE id = :party"
                " ON CONFLICT (party_id, guest_id) DO UPDATE SET status = EXCLUDED.status,"
                " responded_at = EXCLUDED.responded_at",
                party=party_id,
                guest=guest_id,
                status=status,
            )
