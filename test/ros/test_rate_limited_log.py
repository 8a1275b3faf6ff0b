"""Rate-limited warnings: one message per problem key and period, counting the suppressed ones."""

from fpose_ros.ros.rate_limited_log import RateLimitedLogger


def test_each_key_is_limited_separately_and_counts_suppressed() -> None:
    now = [0.0]
    lines: list[str] = []
    log = RateLimitedLogger(lines.append, period_s=5.0, clock=lambda: now[0])
    assert log.log("encoding", "bad encoding")
    assert not log.log("encoding", "bad encoding")
    assert log.log("size", "size mismatch")
    now[0] = 4.9
    assert not log.log("encoding", "bad encoding")
    now[0] = 5.1
    assert log.log("encoding", "bad encoding again")
    assert lines == ["bad encoding", "size mismatch", "bad encoding again (2 similar message(s) suppressed)"]
