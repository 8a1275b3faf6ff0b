"""The multi-object live benchmark end to end: a short three-object scene into one fpose_node over DDS."""

import dataclasses
import math

import numpy as np
import pytest
import yaml

from fpose_ros.core.synthetic.multi_object import render_multi_object_sequence
from fpose_ros.evaluation.detector_masks import MASK_TIMINGS
from fpose_ros.evaluation.live_multi_object import run_live_multi_object, write_objects_params
from fpose_ros.evaluation.multi_object_figures import format_multi_object_table
from fpose_ros.evaluation.multi_object_scene import multi_object_benchmark

pytestmark = [pytest.mark.ros, pytest.mark.slow]

WITH_FRAME = next(t for t in MASK_TIMINGS if t.name == "with")


@pytest.fixture(scope="module")
def bench():
    """The benchmark's scene, shortened (3 s) and at 320x240, so that it renders and plays quickly."""
    full = multi_object_benchmark()
    return dataclasses.replace(full, spec=dataclasses.replace(full.spec, n_frames=90, removed_at=(None, None, 30),
                                                              width=320, height=240))


def test_the_node_gets_one_object_per_name_with_its_label(bench, tmp_path):
    params, meshes = write_objects_params(bench, tmp_path)
    node = yaml.safe_load(params.read_text())["/**/fpose_node"]["ros__parameters"]
    assert node["object_names"] == list(bench.names)
    assert [node["objects"][n]["mask_label"] for n in bench.names] == [1, 2, 3]
    assert all(mesh.is_file() and str(mesh.resolve()) == node["objects"][n]["mesh_file"]
               for n, mesh in zip(bench.names, meshes, strict=True))


def test_an_object_alone_keeps_its_label_and_mesh(bench, tmp_path):
    params, meshes = write_objects_params(bench, tmp_path, [bench.names[1]])
    node = yaml.safe_load(params.read_text())["/**/fpose_node"]["ros__parameters"]
    assert node["object_names"] == [bench.names[1]] and list(node["objects"]) == [bench.names[1]]
    assert node["objects"][bench.names[1]]["mask_label"] == 2  # its label in the scene's label images
    assert len(meshes) == 1 and meshes[0].is_file()


def test_every_object_is_scored_from_its_own_topics(bench, tmp_path):
    seq = render_multi_object_sequence(bench.spec)
    run = run_live_multi_object(bench, seq, WITH_FRAME, tmp_path)
    print(format_multi_object_table([run]))
    assert [o.name for o in run.objects] == list(bench.names) and run.frames == 90
    for k, figures in enumerate(run.objects):
        assert figures.visible_frames == int(np.sum(seq.visible[:, k]))
        assert 0.3 < figures.coverage <= 1.0, figures  # poses from this object's own topic
        assert 0.0 < figures.adds_auc <= 1.0 and figures.add_auc <= figures.adds_auc
        assert figures.registrations >= 1 and figures.wrong_poses <= figures.poses
        assert math.isfinite(figures.latency_p50_ms) and figures.latency_p50_ms <= figures.latency_p90_ms
        assert figures.dropped_while_others_register >= 0
    assert run.objects[2].visible_frames < 90  # "leaving" left the image
    assert run.cpu_s_per_frame > 0 and run.peak_rss_mb > 0
