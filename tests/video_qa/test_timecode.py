import pytest

from video_qa.timecode import format_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00:00.0"), (0.04, "0:00:00.0"), (0.05, "0:00:00.1"), (59.96, "0:01:00.0"), (3723.45, "1:02:03.5"),
     (36000.0, "10:00:00.0"), (None, "-")],
)
def test_format_time(seconds, text) -> None:  # type: ignore[no-untyped-def]
    assert format_time(seconds) == text


def test_negative_rejected() -> None:
    with pytest.raises(ValueError):
        format_time(-0.1)
