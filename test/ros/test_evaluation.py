"""Replay scoring: re-acquisition delays from per-frame records."""

import numpy as np

from fpose_ros.ros.evaluation import FrameRecord, evaluate, format_table, reacquisition_delays

POSE = np.eye(4)


def record(i: int, mode: str = "tracking", pose: bool = True, masked: bool = False, late_s: float = 0.02
           ) -> FrameRecord:
    published = i / 30
    return FrameRecord(stamp_ns=i, published_s=published, pose=POSE if pose else None,
                       pose_received_s=published + late_s if pose else None, mode=mode, masked=masked)


def test_delay_runs_from_the_first_mask_after_the_loss_to_the_next_pose():
    records = [record(0, masked=True), record(1), record(2, "lost", pose=False),
               record(3, "lost", pose=False, masked=False), record(4, "lost", pose=False, masked=True),
               record(5, "lost", pose=False), record(6, late_s=0.3), record(7, "lost", pose=False), record(8)]
    # Frame 7 reports "lost" only because it was processed before the registration of frame 6
    # finished; without a mask after it, it is not a second loss.
    delays = reacquisition_delays(records)
    assert len(delays) == 1 and np.isclose(delays[0], 6 / 30 + 0.3 - 4 / 30)


def test_the_frame_with_the_mask_can_be_the_one_posed():
    records = [record(0), record(1, "lost", pose=False), record(2, "lost", pose=False), record(3, masked=True)]
    delays = reacquisition_delays(records)
    assert len(delays) == 1 and np.isclose(delays[0], 0.02)


def test_no_loss_or_no_mask_gives_no_delay():
    assert reacquisition_delays([record(i) for i in range(5)]) == []
    assert reacquisition_delays([record(0), record(1, "lost", pose=False), record(2, "lost", pose=False)]) == []


def test_table_prints_each_delay():
    records = [record(0), record(1, "lost", pose=False), record(2, "lost", pose=False, masked=True), record(3)]
    summary = evaluate(records, None)
    assert len(summary.reacquire_s) == 1
    assert "re-acquired after" in format_table(summary)
    assert f"{summary.reacquire_s[0]:.2f} s" in format_table(summary)
