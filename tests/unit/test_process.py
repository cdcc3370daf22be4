import threading
import time

import pytest

from realm.process import Once, PerKey


def test_many_threads_asking_at_once_get_one_object_made_once() -> None:
    made: list[int] = []

    def make() -> object:
        made.append(1)
        time.sleep(0.05)  # long enough for every thread to be waiting on the first
        return object()

    once = Once(make)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(once.get())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert len({id(value) for value in seen}) == 1


def test_each_key_gets_its_own_object() -> None:
    per_key: PerKey[str, list[str]] = PerKey(lambda key: [key])
    assert per_key.get("a") is per_key.get("a")
    assert per_key.get("a") is not per_key.get("b")


def test_a_failed_make_is_tried_again_next_time() -> None:
    attempts: list[int] = []

    def make() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("not yet")
        return "made"

    once = Once(make)
    with pytest.raises(RuntimeError):
        once.get()
    assert once.get() == "made"
    assert len(attempts) == 2
