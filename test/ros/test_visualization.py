"""Overlay drawing, rviz markers and pose <-> matrix conversions."""

import numpy as np
import pytest
import trimesh
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.ros.markers import OBJECT_PALETTE, MarkerFactory, object_colour
from fpose_ros.ros.overlay import OverlayRenderer
from fpose_ros.ros.pose_conversion import matrix_from_pose, pose_from_matrix, quaternion_from_matrix

K = CameraIntrinsics(500.0, 500.0, 320.0, 240.0, 640, 480)


def _pose(z: float = 0.5, angle: float = 0.3) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = trimesh.transformations.rotation_matrix(angle, [0.3, 1.0, 0.2])[:3, :3]
    T[:3, 3] = (0.02, -0.01, z)
    return T


def test_overlay_outlines_the_projected_box() -> None:
    box = trimesh.creation.box((0.1, 0.1, 0.1))
    renderer = OverlayRenderer(box.vertices, box.faces, axis_length=0.05)
    rgb = np.zeros((480, 640, 3), np.uint8)
    T = np.eye(4)
    T[2, 3] = 0.5
    out = renderer.draw(rgb, K, T, "tracking", 0.9)
    assert rgb.max() == 0  # input untouched
    # The box's front face spans 500 * 0.05 / 0.45 = 55.6 px around the centre; its outline is drawn there.
    column = out[240, :, 1]
    drawn = np.flatnonzero(column > 100)
    assert abs(drawn.min() - (320 - 55.6)) < 3 and abs(drawn.max() - (320 + 55.6)) < 3
    assert out[240, 320 + 20, 0] > 200  # x axis (red) points right from the centre
    assert out[240 + 20, 320, 1] > 200  # y axis (green) points down


def test_overlay_without_pose_or_behind_camera_only_captions() -> None:
    box = trimesh.creation.box((0.1, 0.1, 0.1))
    renderer = OverlayRenderer(box.vertices, box.faces, axis_length=0.05)
    rgb = np.zeros((480, 640, 3), np.uint8)
    lost = renderer.draw(rgb, K, None, "lost", 0.0)
    behind = renderer.draw(rgb, K, _pose(z=-0.5), "tracking", 0.5)
    assert lost[50:].max() == 0 and behind[50:].max() == 0
    assert lost[:50].max() > 0


def test_objects_get_distinct_palette_colours_on_markers_and_overlay_outlines(tmp_path) -> None:
    colours = [object_colour(i) for i in range(len(OBJECT_PALETTE))]
    assert len(set(colours)) == len(colours) and object_colour(len(OBJECT_PALETTE)) == colours[0]
    mesh = tmp_path / "part.ply"
    mesh.write_bytes(b"")
    header = Header(frame_id="camera_color_optical_frame")
    tints = [MarkerFactory(str(mesh), 1.0, f"o{i}", 0.05, colour=object_colour(i)).pose_markers(header, _pose())
             .markers[0].color for i in range(3)]
    assert [(round(c.r * 255), round(c.g * 255), round(c.b * 255)) for c in tints] == colours[:3]
    grey = MarkerFactory(str(mesh), 1.0, "one", 0.05).pose_markers(header, _pose()).markers[0].color
    assert (grey.r, grey.g, grey.b) == pytest.approx((0.8, 0.8, 0.8))  # the single-object node's look
    # The outline takes the object's colour, the caption the mode's (green for tracking).
    box = trimesh.creation.box((0.1, 0.1, 0.1))
    T = np.eye(4)
    T[2, 3] = 0.5
    for i in range(3):
        out = OverlayRenderer(box.vertices, box.faces, 0.05, outline_colour=object_colour(i)).draw(
            np.zeros((480, 640, 3), np.uint8), K, T, "tracking", 0.9)
        left_edge = out[200, 250:280]  # the front face's left edge at x = 320 - 55.6 px
        drawn = left_edge[left_edge.sum(axis=1).argmax()]
        assert np.abs(drawn.astype(int) - object_colour(i)).max() < 40
    default = OverlayRenderer(box.vertices, box.faces, 0.05).draw(np.zeros((480, 640, 3), np.uint8), K, T,
                                                                  "tracking", 0.9)
    row = default[200, 250:280]
    assert tuple(row[row.sum(axis=1).argmax()]) == (0, 220, 0)


def test_markers_carry_pose_mesh_uri_and_scale(tmp_path) -> None:
    mesh = tmp_path / "part.ply"
    mesh.write_bytes(b"")
    factory = MarkerFactory(str(mesh), 0.001, "part", axis_length=0.05)
    header = Header(frame_id="camera_color_optical_frame")
    T = _pose()
    markers = factory.pose_markers(header, T).markers
    assert [m.type for m in markers] == [Marker.MESH_RESOURCE] + [Marker.ARROW] * 3
    assert markers[0].mesh_resource == mesh.resolve().as_uri()
    assert markers[0].scale.x == pytest.approx(0.001)
    for m in markers:
        assert m.header.frame_id == "camera_color_optical_frame" and m.ns == "part"
        np.testing.assert_allclose(matrix_from_pose(m.pose), T, atol=1e-9)
    assert markers[2].points[1].y == pytest.approx(0.05)
    deleted = factory.delete_markers(header).markers
    assert {m.id for m in deleted} == {0, 1, 2, 3} and all(m.action == Marker.DELETE for m in deleted)


@pytest.mark.parametrize("angle", [0.0, 0.5, np.pi - 1e-4, np.pi])
def test_quaternion_round_trip(angle: float) -> None:
    for axis in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]):
        T = np.eye(4)
        T[:3, :3] = trimesh.transformations.rotation_matrix(angle, axis)[:3, :3]
        T[:3, 3] = (1, 2, 3)
        q = quaternion_from_matrix(T[:3, :3])
        assert np.linalg.norm(q) == pytest.approx(1.0) and q[3] >= 0
        np.testing.assert_allclose(matrix_from_pose(pose_from_matrix(T)), T, atol=1e-9)
