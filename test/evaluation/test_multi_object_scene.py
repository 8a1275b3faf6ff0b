"""The multi-object benchmark's detector: one label image per frame with the labels due on it."""

import numpy as np

from fpose_ros.evaluation.detector_masks import MIN_MASK_PIXELS
from fpose_ros.evaluation.multi_object_scene import detector_label_images, multi_object_benchmark


def scene(n: int, away: range) -> tuple[list[np.ndarray], np.ndarray]:
    """Two objects (labels 1 and 2, 20x20 pixels each); object 2 is out of view on the frames of ``away``."""
    labels, visible = [], []
    for i in range(n):
        label = np.zeros((40, 60), np.uint16)
        label[:20, :20] = 1
        if i not in away:
            label[:20, 30:50] = 2
        labels.append(label)
        visible.append([True, i not in away])
    return labels, np.array(visible)


def test_each_object_gets_its_label_on_every_third_frame_it_shows():
    labels, visible = scene(12, away=range(4, 6))
    images, given = detector_label_images(labels, visible)
    assert given[:, 0].tolist() == [i % 3 == 0 for i in range(12)]
    # Object 2 is seen on frames 0-3 and 6-11: its 1st, 4th, 7th and 10th visible frames are 0, 3, 8, 11.
    assert np.flatnonzero(given[:, 1]).tolist() == [0, 3, 8, 11]
    assert images[1] is None  # nothing due
    assert images[8] is not None and set(np.unique(images[8])) == {0, 2}  # object 1 not due: its pixels cleared
    assert set(np.unique(images[3])) == {0, 1, 2} and images[3].dtype == np.uint16
    assert np.array_equal(images[0], labels[0])


def test_an_object_showing_too_few_pixels_gets_no_label():
    labels, visible = scene(3, away=range(0))
    small = labels[0].copy()
    small[small == 2] = 0
    small[0, 30:30 + MIN_MASK_PIXELS // 2] = 2  # in view (visible says so), too small for the detector
    images, given = detector_label_images([small, *labels[1:]], visible)
    assert given[0].tolist() == [True, False] and set(np.unique(images[0])) == {0, 1}


def test_the_benchmark_scene_has_a_static_a_handled_and_a_leaving_object():
    bench = multi_object_benchmark()
    spec = bench.spec
    assert len(bench.names) == 3 and (spec.width, spec.height, spec.fps) == (640, 480, 30.0)
    assert spec.motions[0] == "static" and spec.motions[1] == "handheld"
    assert spec.removed_at[2] is not None and spec.away_s is not None and spec.away_s < spec.n_frames / spec.fps
    # The handled object stands in front of the other two (nearer the camera), between them.
    assert spec.positions_m is not None
    xs, zs = [p[0] for p in spec.positions_m], [p[2] for p in spec.positions_m]
    assert zs[1] < min(zs[0], zs[2]) and xs[0] < xs[1] < xs[2]
