"""One replay: a bag played into a fresh ``fpose_node``, its outputs recorded, scored and written.

``fpose-replay`` (:mod:`fpose_ros.replay`) is its command line; the demo uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from fpose_ros.evaluation.node_process import node_session
from fpose_ros.evaluation.plots import plot_auc, plot_errors
from fpose_ros.evaluation.statistics import FrameRecord, ReplaySummary, evaluate, mesh_frame_points
from fpose_ros.ros.bag_io import BagReader, BagWriter
from fpose_ros.ros.evaluation import write_csv, write_json, write_json_objects
from fpose_ros.ros.node_topics import ReplayError, TopicPlan, plan_topics
from fpose_ros.ros.replay_session import ReplaySession, read_ground_truth


@dataclass
class ReplayOptions:
    """Options of one replay (the CLI's arguments); ``mesh`` None: the objects of ``params_file``'s ``object_names``."""

    bag: Path
    mesh: Path | None
    out: Path
    mesh_scale: float = 1.0
    remaps: dict[str, str] = field(default_factory=dict)
    gt_topic: str | None = None
    rate: float = 1.0
    storage: str = "mcap"
    publisher_qos: str = "reliable"
    params: list[str] = field(default_factory=list)  # NAME:=VALUE for the node
    params_file: Path | None = None
    plots: bool = True
    startup_timeout_s: float = 120.0
    drain_timeout_s: float = 5.0


@dataclass
class ReplayResult:
    """What one replay produced: its summary, per-frame records, the /tf it received, the topic plan."""

    summary: ReplaySummary
    records: list[FrameRecord]
    tf: list[tuple[int, str, str]]
    plan: TopicPlan
    modes_received: list[str] = field(default_factory=list)  # status modes in arrival order, repeats merged
    objects: dict[str, ReplaySummary] = field(default_factory=dict)  # per object of a multi-object node


@dataclass(frozen=True)
class ReplayObject:
    """One object of a multi-object node's parameter file: its name, mesh file and mesh scale."""

    name: str
    mesh: Path
    mesh_scale: float = 1.0


def objects_in_params_file(path: Path) -> list[ReplayObject]:
    """The objects a parameter file gives the node; none when it has no ``object_names``.

    The file as config/fpose_objects.yaml: ``object_names`` and ``objects.<name>.mesh_file`` / ``mesh_scale``
    under a node's ``ros__parameters``.

    Raises:
        ReplayError: an object without ``mesh_file``.
    """
    document = yaml.safe_load(path.read_text()) or {}
    for node in document.values():
        params = (node or {}).get("ros__parameters", {}) if isinstance(node, dict) else {}
        names = params.get("object_names") or []
        if names:
            objects = params.get("objects", {})
            missing = [n for n in names if not objects.get(n, {}).get("mesh_file")]
            if missing:
                raise ReplayError(f"{path}: objects {missing} have no mesh_file")
            return [ReplayObject(n, Path(objects[n]["mesh_file"]), float(objects[n].get("mesh_scale", 1.0)))
                    for n in names]
    return []


def object_gt_topic(name: str) -> str:
    """The bag's ground-truth PoseStamped topic of object ``name`` of a multi-object bag."""
    return f"/ground_truth/{name}/pose"


def run_replay(options: ReplayOptions) -> ReplayResult:
    """Play the bag into a fresh fpose_node, record and score its outputs, write the result files."""
    if not options.rate > 0:
        raise ReplayError(f"--rate must be positive, got {options.rate}")
    options.out.mkdir(parents=True, exist_ok=True)
    output_bag = options.out / "outputs"
    if output_bag.exists():
        raise ReplayError(f"{output_bag} exists already; choose another --out")
    objects = objects_in_params_file(options.params_file) if options.mesh is None and options.params_file else []
    if options.mesh is None and not objects:
        raise ReplayError("no --mesh, and no object_names in --params-file: which object(s) to track?")
    with BagReader(options.bag) as reader:
        plan = plan_topics(reader.topics, options.remaps, options.gt_topic)
        ground_truth = read_ground_truth(reader, plan.gt_topic)
        gt_topics = {o.name: object_gt_topic(o.name) for o in objects}
        object_truth = {name: read_ground_truth(reader, topic if topic in reader.topics else None)
                        for name, topic in gt_topics.items()}
        with BagWriter(output_bag, storage=options.storage) as writer, \
                node_session(options.mesh, plan, options.out / "node.log", mesh_scale=options.mesh_scale,
                             params=options.params, params_file=options.params_file, writer=writer,
                             publisher_qos=options.publisher_qos, startup_timeout_s=options.startup_timeout_s,
                             objects=[o.name for o in objects]) as (_, session):
            session.play(reader.messages(set(plan.inputs.values())), options.rate)
            session.drain(options.drain_timeout_s)
    if objects:
        return _score_objects(options, session, plan, objects, object_truth)
    assert options.mesh is not None  # objects come from the parameter file only without a mesh
    points, _ = mesh_frame_points(options.mesh, options.mesh_scale)
    records = session.records(ground_truth)
    summary = evaluate(records, points if ground_truth else None, session.frames_dropped, session.modes_received())
    write_csv(records, options.out / "frames.csv")
    write_json(summary, options.out / "summary.json",
               {"bag": str(options.bag), "mesh": str(options.mesh), "inputs": plan.inputs, "gt_topic": plan.gt_topic,
                "publisher_qos": options.publisher_qos, "rate": options.rate})
    if options.plots and records and ground_truth:
        plot_errors(records, options.out / "error_over_time.png")
        plot_auc(records, options.out / "auc.png")
    return ReplayResult(summary, records, list(session.received.tf), plan, session.modes_received())


def _score_objects(options: ReplayOptions, session: ReplaySession, plan: TopicPlan, objects: list[ReplayObject],
                   truth: dict[str, dict[int, np.ndarray]]) -> ReplayResult:
    """A multi-object replay's figures per object (``<name>_frames.csv``, ``summary.json`` key ``objects``)."""
    summaries, records = {}, {}
    for obj in objects:
        rows = session.records(truth[obj.name], obj.name)
        points, _ = mesh_frame_points(obj.mesh, obj.mesh_scale)
        modes = [e.mode for e in session.status_events(obj.name)]
        summaries[obj.name] = evaluate(rows, points if truth[obj.name] else None,
                                       modes=[m for i, m in enumerate(modes) if i == 0 or m != modes[i - 1]])
        records[obj.name] = rows
        write_csv(rows, options.out / f"{obj.name}_frames.csv")
    write_json_objects(summaries, options.out / "summary.json",
                       {"bag": str(options.bag), "inputs": plan.inputs, "rate": options.rate,
                        "gt_topics": {o.name: object_gt_topic(o.name) for o in objects if truth[o.name]},
                        "publisher_qos": options.publisher_qos})
    first = objects[0].name
    return ReplayResult(summaries[first], records[first], list(session.received.tf), plan,
                        objects=summaries)
