"""fpose-replay with a multi-object node: the objects from the parameter file, every object scored on its own."""

import dataclasses
import json
from pathlib import Path

import pytest
from geometry_msgs.msg import PoseStamped
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from fpose_ros.core.synthetic.multi_object import render_multi_object_sequence
from fpose_ros.evaluation.live_multi_object import write_objects_params
from fpose_ros.evaluation.multi_object_scene import detector_label_images, multi_object_benchmark
from fpose_ros.evaluation.replay_run import ReplayOptions, object_gt_topic, objects_in_params_file, run_replay
from fpose_ros.ros.bag_io import BagWriter
from fpose_ros.ros.node_topics import ReplayError
from fpose_ros.ros.pose_conversion import pose_from_matrix
from fpose_ros.ros.stream_messages import StreamFrame, stamp, stream_messages

REPO = Path(__file__).resolve().parents[2]
START_NS = 1_700_000_000_000_000_000


def test_the_objects_come_from_the_parameter_file_as_documented():
    objects = objects_in_params_file(REPO / "config" / "fpose_objects.yaml")
    assert [o.name for o in objects] == ["mug", "box", "can"]
    assert objects[1].mesh == Path("/path/to/box.obj") and objects[1].mesh_scale == 0.001
    assert objects[0].mesh_scale == 1.0
    assert objects_in_params_file(REPO / "config" / "fpose.yaml") == []  # the one-object file


def test_an_object_without_a_mesh_is_refused(tmp_path):
    path = tmp_path / "objects.yaml"
    path.write_text("fpose_node:\n  ros__parameters:\n    object_names: [a, b]\n    objects:\n"
                    "      a: {mesh_file: a.ply}\n      b: {mask_label: 2}\n")
    with pytest.raises(ReplayError, match=r"\['b'\]"):
        objects_in_params_file(path)


@pytest.mark.ros
@pytest.mark.slow
def test_a_multi_object_bag_is_scored_per_object(tmp_path):
    full = multi_object_benchmark()
    bench = dataclasses.replace(full, spec=dataclasses.replace(full.spec, n_frames=45, removed_at=(None, None, None),
                                                               width=320, height=240))
    seq = render_multi_object_sequence(bench.spec)
    labels, _ = detector_label_images(seq.labels, seq.visible)
    params, _ = write_objects_params(bench, tmp_path / "objects")
    with BagWriter(tmp_path / "bag") as bag:
        frames = [StreamFrame(f.rgb, f.depth, label) for f, label in zip(seq.frames, labels, strict=True)]
        for msg in stream_messages(frames, seq.camera, start_ns=START_NS):
            bag.write(msg.topic, msg.msgtype, msg.timestamp_ns, msg.raw)
        for i in range(len(seq.frames)):  # each object's ground truth on its own topic (the first two only)
            t = START_NS + round(i * 1e9 / 30.0)
            for k, name in enumerate(bench.names[:2]):
                gt = PoseStamped(header=Header(stamp=stamp(t), frame_id="camera_color_optical_frame"),
                                 pose=pose_from_matrix(seq.T_cam_obj_gt[i, k]))
                bag.write(object_gt_topic(name), "geometry_msgs/msg/PoseStamped", t + 3000, serialize_message(gt))
    result = run_replay(ReplayOptions(bag=tmp_path / "bag", mesh=None, out=tmp_path / "replay", params_file=params,
                                      plots=False))
    assert list(result.objects) == list(bench.names)
    for name, summary in result.objects.items():
        assert summary.frames == 45 and summary.coverage > 0.3, (name, summary)
        assert (summary.adds_auc is None) == (name == bench.names[2])  # no ground truth for the third
        assert (tmp_path / "replay" / f"{name}_frames.csv").is_file()
    assert result.objects[bench.names[0]].adds_auc > 0.5
    written = json.loads((tmp_path / "replay" / "summary.json").read_text())
    assert set(written["objects"]) == set(bench.names) and set(written["gt_topics"]) == set(bench.names[:2])
