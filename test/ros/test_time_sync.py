"""The project's ApproximateTimeSynchronizer follows message_filters' matching rule."""

from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from fpose_ros.ros.time_sync import ApproximateTimeSynchronizer, make_synchronizer, message_filters, stamp_ns


def _msg(t_ms: float, kind=Image):
    ns = int(round(t_ms * 1e6))
    return kind(header=Header(stamp=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)))


def _ms(msg) -> float:
    return stamp_ns(msg) / 1e6


def _sync(slop_s=0.01, queue_size=10, n=3):
    sets = []
    return ApproximateTimeSynchronizer(n, queue_size, slop_s, lambda *m: sets.append(tuple(_ms(x) for x in m))), sets


def test_emits_when_last_input_completes_a_set() -> None:
    sync, sets = _sync()
    sync.add(0, _msg(1000))
    sync.add(1, _msg(1003))
    assert sets == []
    sync.add(2, _msg(1001, CameraInfo))
    assert sets == [(1000, 1003, 1001)]


def test_spread_must_be_strictly_below_slop() -> None:
    sync, sets = _sync(slop_s=0.010, n=2)
    sync.add(0, _msg(0))
    sync.add(1, _msg(10))  # exactly the slop apart: not a set
    assert sets == []
    sync.add(1, _msg(9.9))
    assert sets == [(0, 9.9)]


def test_closest_partner_is_chosen_and_consumed() -> None:
    sync, sets = _sync(slop_s=0.02, n=2)
    sync.add(1, _msg(95))
    sync.add(1, _msg(99))
    sync.add(1, _msg(110))
    sync.add(0, _msg(100))
    assert sets == [(100, 99)]
    sync.add(0, _msg(100.5))  # 99 was consumed; 95 is 5.5 ms away, 110 is 9.5 ms away
    assert sets[-1] == (100.5, 95)


def test_queue_keeps_newest_stamps_only() -> None:
    sync, sets = _sync(slop_s=0.005, queue_size=2, n=2)
    for t in (0, 33, 66):
        sync.add(0, _msg(t))
    sync.add(1, _msg(1))  # 0 ms colour was pushed out by the queue bound
    assert sets == []
    sync.add(1, _msg(34))
    assert sets == [(33, 34)]


def test_no_set_when_partner_outside_slop() -> None:
    sync, sets = _sync(slop_s=0.01, n=2)
    sync.add(0, _msg(0))
    sync.add(1, _msg(50))
    assert sets == []


def test_reset_forgets_queued_messages() -> None:
    sync, sets = _sync(n=2)
    sync.add(0, _msg(0))
    sync.reset()
    sync.add(1, _msg(0))
    assert sets == []


def test_thirty_hertz_stream_with_jitter_pairs_every_frame() -> None:
    sync, sets = _sync(slop_s=0.015, n=3)
    for i in range(100):
        t = i * 33.3
        sync.add(1, _msg(t + 2))
        sync.add(0, _msg(t))
        sync.add(2, _msg(t, CameraInfo))
    assert len(sets) == 100
    assert all(abs(c - d) < 3 for c, d, _ in sets)


def test_factory_uses_own_implementation_without_message_filters() -> None:
    sync = make_synchronizer(3, 5, 0.01, lambda *m: None)
    if message_filters is None:
        assert isinstance(sync, ApproximateTimeSynchronizer)
