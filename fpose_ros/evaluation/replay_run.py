"""One replay: a bag played into a fresh ``fpose_node``, its outputs recorded, scored and written.

``fpose-replay`` (:mod:`fpose_ros.replay`) is its command line; the demo uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpose_ros.evaluation.node_process import node_session
from fpose_ros.evaluation.plots import plot_auc, plot_errors
from fpose_ros.evaluation.statistics import FrameRecord, ReplaySummary, evaluate, mesh_frame_points
from fpose_ros.ros.bag_io import BagReader, BagWriter
from fpose_ros.ros.evaluation import write_csv, write_json
from fpose_ros.ros.node_topics import ReplayError, TopicPlan, plan_topics
from fpose_ros.ros.replay_session import read_ground_truth


@dataclass
class ReplayOptions:
    """Options of one replay (the CLI's arguments)."""

    bag: Path
    mesh: Path
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


def run_replay(options: ReplayOptions) -> ReplayResult:
    """Play the bag into a fresh fpose_node, record and score its outputs, write the result files."""
    if not options.rate > 0:
        raise ReplayError(f"--rate must be positive, got {options.rate}")
    options.out.mkdir(parents=True, exist_ok=True)
    output_bag = options.out / "outputs"
    if output_bag.exists():
        raise ReplayError(f"{output_bag} exists already; choose another --out")
    with BagReader(options.bag) as reader:
        plan = plan_topics(reader.topics, options.remaps, options.gt_topic)
        ground_truth = read_ground_truth(reader, plan.gt_topic)
        with BagWriter(output_bag, storage=options.storage) as writer, \
                node_session(options.mesh, plan, options.out / "node.log", mesh_scale=options.mesh_scale,
                             params=options.params, params_file=options.params_file, writer=writer,
                             publisher_qos=options.publisher_qos, startup_timeout_s=options.startup_timeout_s
                             ) as (_, session):
            session.play(reader.messages(set(plan.inputs.values())), options.rate)
            session.drain(options.drain_timeout_s)
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
