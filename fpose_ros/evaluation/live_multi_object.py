"""The multi-object live benchmark: the three-object sequence played into one ``fpose_node`` over DDS.

``python -m fpose_ros.bench --live --multi-object`` (``make bench-live-multi``) runs this. Per mask timing
a fresh node is started with the multi-object parameters as docs/ros_interface.md says (a parameter
file with ``object_names`` and ``objects.<name>.mesh_file`` / ``mask_label``, ``--params-file``); the
sequence (:mod:`fpose_ros.evaluation.multi_object_scene`) is published at 30 Hz in real time, stamps
from the wall clock, with one label image on the detector's schedule on ``mask``; each object's
``<name>/pose`` and ``<name>/status`` are recorded and scored per object
(:mod:`fpose_ros.evaluation.multi_object_figures`). With ``objects`` one name, the same play goes into a
node configured with that object alone (the others still in the images, their labels not configured): the
one-object baseline of issue 15's acceptance 2 (:func:`~fpose_ros.evaluation.multi_object_figures.cost_ratio`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from fpose_ros.core.synthetic.assets import export_asset
from fpose_ros.core.synthetic.multi_object import MultiObjectSequence
from fpose_ros.evaluation import resources
from fpose_ros.evaluation.detector_masks import MaskTiming
from fpose_ros.evaluation.live_benchmark import timed_messages
from fpose_ros.evaluation.multi_object_figures import MultiObjectRun, score_objects
from fpose_ros.evaluation.multi_object_scene import MultiObjectBenchmark, detector_label_images
from fpose_ros.evaluation.node_process import node_session
from fpose_ros.evaluation.statistics import FrameRecord, fill_errors, mesh_frame_points
from fpose_ros.ros.node_topics import stream_plan
from fpose_ros.ros.replay_session import ReplaySession
from fpose_ros.ros.stream_messages import StreamTopics


def write_objects_params(bench: MultiObjectBenchmark, work_dir: Path, objects: Sequence[str] | None = None
                         ) -> tuple[Path, list[Path]]:
    """The node's parameter file for ``bench``'s objects (as config/fpose_objects.yaml) and their mesh files.

    Object k (``bench.names[k]``): its asset's mesh, ``mask_label`` k + 1, ``class_id`` its name. Only the
    names in ``objects`` (default all), in that order; an object left out keeps its label in the scene.
    """
    names = list(bench.names if objects is None else objects)
    params, meshes = {}, []
    for name in names:
        k = bench.names.index(name)
        mesh = export_asset(bench.spec.assets[k], work_dir / name)
        meshes.append(mesh)
        params[name] = {"mesh_file": str(mesh.resolve()), "mask_label": k + 1, "class_id": name}
    path = work_dir / "objects.yaml"
    path.write_text(yaml.safe_dump({"/**/fpose_node": {"ros__parameters": {
        "object_names": names, "objects": params}}}))
    return path, meshes


def run_live_multi_object(bench: MultiObjectBenchmark, seq: MultiObjectSequence, timing: MaskTiming,
                          work_dir: Path, drain_timeout_s: float = 5.0, startup_timeout_s: float = 180.0,
                          objects: Sequence[str] | None = None) -> MultiObjectRun:
    """Play ``seq`` into a fresh fpose_node under ``timing`` and score every object it is configured with.

    Args:
        objects: the names the node is configured with (default all of ``bench.names``); the frames and
            label images played are the same whichever are configured.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    names = tuple(bench.names if objects is None else objects)
    params_file, meshes = write_objects_params(bench, work_dir, names)
    images, given = detector_label_images(seq.labels, seq.visible, timing.every)
    with node_session(None, stream_plan(), work_dir / "node.log", params_file=params_file,
                      startup_timeout_s=startup_timeout_s, objects=names) as (node, session):
        cpu_before = resources.process_cpu_s(node.process.pid)
        start_ns = time.time_ns() + 50_000_000  # ReplaySession.play publishes the first message 50 ms on
        session.play(timed_messages(seq.frames, images, seq.camera, seq.spec.fps, timing, start_ns, StreamTopics()))
        session.drain(drain_timeout_s)
        cpu_s = resources.process_cpu_s(node.process.pid) - cpu_before
        peak_rss_mb = resources.peak_rss_mb(node.process.pid)
    records, diameters = object_records(session, names, [bench.names.index(n) for n in names], seq, given, meshes)
    return MultiObjectRun(sequence=bench.name, timing=timing.name, mask_every=timing.every, frames=len(seq.frames),
                          objects=score_objects(names, records, diameters, timing.every),
                          cpu_s_per_frame=cpu_s / max(len(seq.frames), 1), peak_rss_mb=peak_rss_mb)


def object_records(session: ReplaySession, names: Sequence[str], indices: Sequence[int], seq: MultiObjectSequence,
                   given: np.ndarray, meshes: Sequence[Path]) -> tuple[list[list[FrameRecord]], list[float]]:
    """Each object's records (ground truth, in view, its label given, errors filled) and its diameter, metres.

    Args:
        names, indices, meshes: the node's objects, each one's index k in the scene and its mesh file.
        given: (N, K) bool, object k's label was in frame n's label image.
    """
    records, diameters = [], []
    for name, k, mesh in zip(names, indices, meshes, strict=True):
        points, diameter = mesh_frame_points(mesh)
        rows = session.records({}, name)  # one per published frame, frame order
        for record, T_gt, in_view, masked in zip(rows, seq.T_cam_obj_gt[:, k], seq.visible[:, k], given[:, k],
                                                 strict=True):
            record.gt, record.in_view, record.masked = T_gt, bool(in_view), bool(masked)
        fill_errors(rows, points)
        records.append(rows)
        diameters.append(diameter)
    return records, diameters
