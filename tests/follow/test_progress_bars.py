"""`parse_progress` on the bars of tqdm (with Lightning's postfix) and Keras 2 and 3."""

from __future__ import annotations

import pytest

from runwatch.follow.progress import parse_progress

KERAS3 = (
    "\x1b[1m 120/1875\x1b[0m \x1b[32m━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m8s\x1b[0m"
)


@pytest.mark.parametrize(
    ("line", "done", "total", "rate", "eta", "short"),
    [
        (
            " 45%|████▌     | 450/1000 [00:10<00:12, 44.1it/s]",
            450,
            1000,
            "44.1it/s",
            "00:12",
            "45% eta 00:12",
        ),
        (
            "Epoch 0:  45%|████▌     | 450/1000 [00:10<00:12, 44.12it/s, v_num=0, loss=0.1]",
            450,
            1000,
            "44.12it/s",
            "00:12",
            "45% eta 00:12",
        ),
        (KERAS3 + " 5ms/step - loss: 1.0512", 120, 1875, "5ms/step", "8s", "6% eta 8s"),
        (
            "1875/1875 ━━━━━━━━━━━━━━━━━━━━ 9s 4ms/step - loss: 0.4",
            1875,
            1875,
            "4ms/step",
            None,
            "100%",
        ),
        (
            "  32/1875 [..............................] - ETA: 12s - loss: 2.3026",
            32,
            1875,
            None,
            "12s",
            "2% eta 12s",
        ),
    ],
)
def test_bars_give_their_progress(
    line: str, done: int, total: int, rate: str | None, eta: str | None, short: str
) -> None:
    progress = parse_progress(line)
    assert progress is not None
    assert (progress.done, progress.total, progress.rate, progress.eta) == (done, total, rate, eta)
    assert progress.short() == short


def test_lines_without_a_bar_have_no_progress() -> None:
    assert parse_progress("loss: 0.5 step 100/200") is None
    assert parse_progress("") is None


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "line",
    [
        "1" * 200_000,  # a long number (a hash, a dump) was read in time quadratic in its length
        "7" * 200_000 + " ",
        "12/" * 70_000,
        "1%|" * 70_000,
        "1/2 [" + "=" * 200_000,
        "1/2 " + "━" * 200_000,
    ],
    ids=["digits", "digits-space", "slashes", "percents", "open-bar", "keras3-bar"],
)
def test_long_lines_are_read_at_once(line: str) -> None:
    # Each of these took seconds to minutes (the timeout ends it). A bar after them is found,
    # unless they begin with a Keras 3 bar of their own, which comes first.
    bar = " 450/1000 [=====>....] - ETA: 12s"
    keras3 = line.startswith("1/2 ━")
    assert (parse_progress(line) is not None) == keras3
    found = parse_progress(line + bar)
    assert found is not None
    assert (found.done, found.total) == ((1, 2) if keras3 else (450, 1000))
