"""The status message carries every tracking state under its own constant."""

from fpose_ros.core.pose_result import TrackingMode
from fpose_ros.msg import TrackingStatus
from fpose_ros.ros.object_outputs import MODE_VALUES


def test_every_tracking_mode_has_the_status_constant_of_its_name():
    # A mode without a value would make publishing its status raise in the engine thread.
    assert {mode: getattr(TrackingStatus, f"MODE_{mode.name}") for mode in TrackingMode} == MODE_VALUES
    assert len(set(MODE_VALUES.values())) == len(TrackingMode)
    assert TrackingStatus.MODE_OCCLUDED == 3  # appended: the older values keep their meaning in recorded bags
