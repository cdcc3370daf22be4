"""find-users against PostgreSQL: what matches, in what order, page by page, and who never
appears."""

from __future__ import annotations

import pytest

from realm import db, errors
from realm.db import Tx
from realm.people import search


def person(tx: Tx, handle: str, name: str) -> int:
    return int(
        tx.scalar(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES (:uid, :handle, :name, :email) RETURNING id",
            uid=f"uid-{handle}",
            handle=handle,
            name=name,
            email=f"{handle}@example.test",
        )
    )


def found(tx: Tx, q: str, by: str = "uid-itsme", limit: int = 50) -> list[str]:
    return [user.handle for user in search.find(tx, by, q, limit=limit).users]


@pytest.fixture
def me(tx: Tx) -> int:
    return person(tx, "itsme", "Me Myself")


@pytest.mark.usefixtures("me")
class TestWhatMatches:
    @pytest.mark.parametrize(
        ("name", "query"),
        [
            ("Zoë Smith", "zoe"),
            ("Ångström", "angs"),
            ("ZOË", "Zo"),
            ("Łukasz Ørsted", "orst"),
            ("Straße", "strasse"),
            ("Jean-Luc Picard", "luc"),
            ("Jean-Luc Picard", "jeanl"),
            ("Siobhán O'Brien", "obri"),
            ("Siobhán O'Brien", "brien"),
            ("山田 太郎", "太郎"),
            ("\uff3a\uff4f\uff45 Wide", "zoe"),  # full-width letters
        ],
    )
    def test_a_prefix_of_any_word_of_the_name_finds_them_whatever_the_case_and_accents(
        self, tx: Tx, name: str, query: str
    ) -> None:
        person(tx, "someone", name)

        assert found(tx, query) == ["someone"]

    def test_a_prefix_of_the_handle_finds_them_with_or_without_its_dots_and_at_sign(
        self, tx: Tx
    ) -> None:
        person(tx, "zoe.m_99", "Anything")

        assert found(tx, "zoe.m") == found(tx, "@ZOEM9") == ["zoe.m_99"]

    def test_a_word_that_only_appears_inside_a_name_or_handle_finds_nobody(self, tx: Tx) -> None:
        person(tx, "annabel", "Annabel Lee")

        assert found(tx, "bel") == []
        assert found(tx, "ee") == []

    def test_every_word_of_a_query_of_several_must_match(self, tx: Tx) -> None:
        person(tx, "zsmith", "Zoë Smith")
        person(tx, "zjones", "Zoë Jones")
        person(tx, "asmith", "Anna Smith")

        assert found(tx, "zoe sm") == ["zsmith"]
        assert found(tx, "sm zo") == ["zsmith"]
        assert sorted(found(tx, "smith")) == ["asmith", "zsmith"]

    def test_a_query_with_no_letters_or_digits_finds_nobody(self, tx: Tx) -> None:
        person(tx, "dots", "Dot Dot")

        assert found(tx, "..") == []
        assert found(tx, "🎉🎉") == []

    def test_a_changed_name_or_handle_is_found_by_its_new_form_only(self, tx: Tx) -> None:
        someone = person(tx, "oldhandle", "Old Name")

        tx.execute(
            "UPDATE users SET handle = 'newhandle', display_name = 'Nouveau Nom' WHERE id = :id",
            id=someone,
        )

        assert found(tx, "old") == []
        assert found(tx, "newh") == found(tx, "nouv") == ["newhandle"]

    def test_a_user_who_is_gone_is_found_no_more(self, tx: Tx) -> None:
        someone = person(tx, "leaving", "Leaving Soon")

        tx.execute("DELETE FROM users WHERE id = :id", id=someone)

        assert found(tx, "leav") == []
        assert (
            tx.scalar("SELECT count(*) FROM user_search_terms WHERE user_id = :id", id=someone) == 0
        )


@pytest.mark.usefixtures("me")
class TestOrder:
    def test_the_exact_handle_comes_first_then_matches_by_the_word_they_matched(
        self, tx: Tx
    ) -> None:
        person(tx, "zoey", "Zoey Adams")
        person(tx, "a_zoe_fan", "Zoe Fan")  # matches by the name word "zoe"
        person(tx, "zoe", "Zed Other")  # the exact handle
        person(tx, "zoe.m", "Zed Marks")  # handle "zoem"

        assert found(tx, "zoe") == ["zoe", "a_zoe_fan", "zoe.m", "zoey"]

    def test_a_handle_comes_before_a_name_word_that_is_the_same(self, tx: Tx) -> None:
        by_name = person(tx, "aaa_first", "Kim")  # the older account: the smaller id
        by_handle = person(tx, "kim_", "Someone Else")
        assert by_name < by_handle

        assert found(tx, "ki") == ["kim_", "aaa_first"]

    def test_each_user_appears_once_at_their_first_matching_word(self, tx: Tx) -> None:
        person(tx, "many", "Sam Samuel Samantha Sammy")

        assert found(tx, "sam") == ["many"]


@pytest.mark.usefixtures("me")
class TestPages:
    def test_paging_through_every_match_shows_each_user_once_in_order(self, tx: Tx) -> None:
        expected = [f"mia{n:02d}" for n in range(23)]
        for handle in expected:
            person(tx, handle, "Mia")
        person(tx, "mia", "Exact Handle")

        handles, cursor, pages = [], None, 0
        while True:
            page = search.find(tx, "uid-itsme", "mia", limit=5, cursor=cursor)
            handles += [user.handle for user in page.users]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break

        # The exact handle, then every Mia by the name word "mia" (before "mia00"), by id.
        assert handles == ["mia", *expected]
        assert pages == 5

    def test_a_page_that_ends_with_the_exact_handle_continues_with_the_others(self, tx: Tx) -> None:
        person(tx, "ola", "Exact")
        person(tx, "ola1", "Ola")

        first = search.find(tx, "uid-itsme", "ola", limit=1)
        second = search.find(tx, "uid-itsme", "ola", limit=1, cursor=first.next_cursor)

        assert [u.handle for u in first.users] == ["ola"]
        assert [u.handle for u in second.users] == ["ola1"]
        assert second.next_cursor is None

    def test_a_query_of_several_common_words_that_match_together_rarely_pages_on(
        self, tx: Tx, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(search, "BUDGET", 10)
        for n in range(25):
            person(tx, f"sam{n:02d}", "Sam Common")
            person(tx, f"tom{n:02d}", "Tom Cox")
        person(tx, "samcox", "Sam Cox")

        users, cursor, pages = [], None, 0
        while pages < 10:
            # Both words start more terms than the budget: "sam" (the first) leads.
            page = search.find(tx, "uid-itsme", "sam cox", limit=5, cursor=cursor)
            users += [user.handle for user in page.users]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break

        assert users == ["samcox"]
        assert pages == 3, "each page looked at ten terms of 'sam' at most"

    def test_the_word_that_starts_fewer_terms_leads_a_query_of_several(
        self, tx: Tx, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(search, "BUDGET", 10)
        for n in range(25):
            person(tx, f"sam{n:02d}", "Sam Common")
        person(tx, "samrare", "Sam Rare")

        page = search.find(tx, "uid-itsme", "sam r", limit=5)

        assert [user.handle for user in page.users] == ["samrare"]
        assert page.next_cursor is None, "'r' led: one term, no budget spent"

    @pytest.mark.parametrize(
        "cursor",
        ["x", "bm90LWpzb24", "WzEsMiwzXQ", "WyJhIiwwLDAsMF0", "WyJhIiw1LDFd", "W251bGwsMCwwXQ"],
    )
    def test_a_cursor_this_api_never_gave_out_is_refused(self, tx: Tx, cursor: str) -> None:
        with pytest.raises(errors.InvalidCursor):
            search.find(tx, "uid-itsme", "abc", limit=5, cursor=cursor)

    def test_a_cursor_of_another_query_cannot_widen_the_search(self, tx: Tx) -> None:
        person(tx, "abe", "Abe")
        person(tx, "zed", "Zed")
        from_a = search.encode_cursor("a", 0, 1)

        assert [
            u.handle for u in search.find(tx, "uid-itsme", "ze", limit=5, cursor=from_a).users
        ] == ["zed"]


class TestWhoNeverAppears:
    def test_the_caller_never_finds_themselves(self, tx: Tx, me: int) -> None:
        assert found(tx, "itsme") == []
        assert found(tx, "myse") == []

    @pytest.mark.parametrize("direction", ["blocked_by_me", "blocked_me"])
    def test_nobody_across_a_block_either_way(self, tx: Tx, me: int, direction: str) -> None:
        other = person(tx, "other", "Other Person")
        blocker, blocked = (me, other) if direction == "blocked_by_me" else (other, me)
        tx.execute("INSERT INTO blocks VALUES (:a, :b)", a=blocker, b=blocked)

        assert found(tx, "other") == []
        assert found(tx, "itsm", by="uid-other") == []

    def test_a_block_between_others_changes_nothing_for_the_caller(self, tx: Tx, me: int) -> None:
        one, two = person(tx, "one", "One"), person(tx, "two", "Two")
        tx.execute("INSERT INTO blocks VALUES (:a, :b)", a=one, b=two)

        assert found(tx, "one") == ["one"]
        assert found(tx, "two") == ["two"]

    def test_a_caller_who_never_signed_up_is_asked_to(self, tx: Tx) -> None:
        with pytest.raises(errors.SignupRequired):
            search.find(tx, "uid-nobody", "zoe", limit=5)


def test_users_terms_and_query_words_are_folded_by_the_same_sql(
    clean_db: None,
) -> None:
    with db.transaction() as tx:
        terms = tx.all("SELECT term, rank FROM realm_user_terms('zoe.m', 'Zoë O''Brien-Smith')")
        words = tx.scalar(search.QUERY_WORDS_SQL, q="  ZOË  o'b @zoe.m !! ")

    assert sorted((row["term"], row["rank"]) for row in terms) == [
        ("brien", 1),
        ("o", 1),
        ("obriensmith", 1),
        ("smith", 1),
        ("zoe", 1),
        ("zoem", 0),
    ]
    assert words == ["zoem", "zoe", "ob"]
