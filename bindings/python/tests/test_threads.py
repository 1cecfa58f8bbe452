"""Threads: one model shared by several Python threads (each gets its own workspace) gives the
answers one thread gives, and the C calls release the GIL (ctypes.CDLL does) so that threads
run in parallel."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np

import fastfeedforward as fff
from fastfeedforward import _capi
from fff_testing import FIXTURES

GOLDEN = FIXTURES / "golden" / "models"


def _model_and_records(count: int) -> tuple[fff.Model, np.ndarray]:
    model = fff.Model(FIXTURES / "demo" / "digits.fff")
    rng = np.random.default_rng(1)
    return model, rng.uniform(0, 16, size=(count, model.input_width)).astype(np.float32)


def test_two_threads_give_the_answers_of_one() -> None:
    model, records = _model_and_records(20_000)
    expected = (model.predict(records), model.classify(records), model.leaf(records))
    halves = np.array_split(records, 2)
    results: dict[int, list] = {}
    workspaces: dict[int, int] = {}
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        barrier.wait()
        answers = []
        for _ in range(5):
            part = halves[index]
            answers.append((model.predict(part), model.classify(part), model.leaf(part)))
            answers.append(([model.predict(r) for r in part[:50]], None, None))
        results[index] = answers
        workspaces[index] = model._workspace().handle

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert workspaces[0] != workspaces[1] != model._workspace().handle  # one workspace per thread
    for index in range(2):
        rows = slice(0, len(halves[0])) if index == 0 else slice(len(halves[0]), None)
        for outputs, classes, leaves in results[index]:
            if classes is None:
                assert np.array_equal(np.stack(outputs), expected[0][rows][:50])
                continue
            assert np.array_equal(outputs, expected[0][rows])
            assert np.array_equal(classes, expected[1][rows])
            assert np.array_equal(leaves, expected[2][rows])


def test_the_gil_is_released_during_the_c_call(monkeypatch) -> None:
    """While one thread is inside the C call, another thread keeps running Python code."""
    model, records = _model_and_records(400_000)
    progress = [0]
    during: list[int] = []
    stop = threading.Event()
    inner = _capi.api.batch_predict

    def watched(*args):
        before = progress[0]
        status = inner(*args)
        during.append(progress[0] - before)
        return status

    def count() -> None:
        while not stop.is_set():
            progress[0] += 1

    monkeypatch.setattr(_capi.api, "batch_predict", watched)
    counter = threading.Thread(target=count)
    counter.start()
    try:
        model.predict(records)  # some 100 ms of native work
    finally:
        stop.set()
        counter.join()
    # With the GIL held, the counter could not advance at all during the call.
    assert during and during[0] > 1000, f"the other thread advanced {during} times during the C call"


def test_workspaces_go_away_with_their_threads() -> None:
    model, records = _model_and_records(10)
    workspaces: list[weakref.ref] = []

    def work() -> None:
        model.predict(records)
        workspaces.append(weakref.ref(model._workspace()))

    for _ in range(20):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    gc.collect()
    assert len(workspaces) == 20 and all(ref() is None for ref in workspaces)  # freed with their threads
    mine = weakref.ref(model._workspace())
    del model
    gc.collect()
    assert mine() is None  # and with their model
