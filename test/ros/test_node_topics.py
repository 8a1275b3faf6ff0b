"""plan_topics: which bag topic feeds which node input, the box detector's topic included."""

import pytest

from fpose_ros.ros.node_topics import ReplayError, plan_topics

IMAGE, INFO, BOXES = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "vision_msgs/msg/Detection2DArray"
CAMERA = {"/cam/color/image_raw": IMAGE, "/cam/aligned_depth/image_raw": IMAGE, "/cam/color/camera_info": INFO}


def test_a_detection2darray_topic_feeds_detections_2d_by_its_type():
    plan = plan_topics({**CAMERA, "/yolo/out": BOXES}, {}, None)
    assert plan.inputs["detections_2d"] == "/yolo/out"
    assert "mask" not in plan.inputs
    assert "detections_2d" not in plan_topics(CAMERA, {}, None).inputs


def test_several_box_topics_need_a_remap():
    bag = {**CAMERA, "/yolo/out": BOXES, "/other/out": BOXES}
    with pytest.raises(ReplayError, match="detections_2d"):
        plan_topics(bag, {}, None)
    assert plan_topics(bag, {"detections_2d": "/other/out"}, None).inputs["detections_2d"] == "/other/out"
