"""What the node published, scored: per-frame records, accuracy, rate, latency, catch-up, losses, targets.

Used by ``fpose-replay``, the live benchmark and the soak (the offline benchmark shares its
:class:`Target` and :func:`percentile`). Pure functions on per-frame records (:class:`FrameRecord`,
stamp order) and on the node's statuses in arrival order (:class:`StatusEvent`); no ROS, no clock.

Definitions (docs/benchmark.md repeats them):

* A **registration** is a frame whose pose the node computed from many hypotheses (its status'
  ``num_hypotheses`` > 1; a tracked frame refines one).
* The **catch-up** after a registration: the registered frame, the frames before it that got their
  poses by tracking back from it (the run of posed frames just before it whose poses arrived after it
  was published), and the poses the node published next while it still worked through frames that had
  arrived meanwhile, i.e. each next pose (in arrival
  order) received after the frame following it had already been published. It ends at the first pose
  received before its next frame was published (the node is level with the camera again), or
  ``budget_s`` after the registration's pose (the scheduler's catch-up budget), whichever comes first.
* A **loss** is a status turning "lost" after the node had tracked. A loss **within N frames after
  a registration** is one whose frame is at most N frames (by stamp) after the frame of the last
  registration before it, counted only where the object is visible on that frame and the next (where it
  left the view, is leaving it or is hidden, losing it is right: an object that jumps out of view is
  lost on its last frame in view).
* Occlusion and return figures (issue 14, :class:`ScenarioFigures`): the coverage of the frames on
  which at least 30 % of the object's silhouette shows, the poses on frames where less than 10 %
  shows, the **wrong poses** (ADD-S above 10 % of the object's diameter, on any frame); after the
  object's **return** (the first frame in view after frames out of it): the registrations, and the
  seconds from the publication of the first mask (of a frame after the return) to the first correct
  pose received: the node cannot start before the mask exists, so a detector's delay is the
  detector's, not the node's (as for the re-acquisition).
* The **output rate** is the rate of poses while the object is in view: per maximal run of frames in
  view, the poses received less one over the time from the first to the last of them, summed over the
  runs. The time it is out of view is no time the node could publish in; a node that skips frames
  while it sees the object still shows it.
* A soak's **minute** (:func:`loop_windows`): a run of whole loops of the looped sequence (as many
  as last about 60 s), so that every minute holds the same frames; its latency p90 is given over
  every pose, over the **steady** poses (outside catch-up) and over the catch-up poses, beside its
  registrations.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fpose_ros.core.metrics import add_error, adds_error, auc
from fpose_ros.core.object_model import load_object_model
from fpose_ros.ros.frame_scheduler import FrameSchedulerConfig

#: Catch-up lasts at most this long after the registration's pose, seconds (the node's default budget).
CATCH_UP_BUDGET_S = FrameSchedulerConfig().catch_up_budget_s
#: A loss this many frames or fewer after a registration counts against acceptance (issue 13).
EARLY_LOSS_FRAMES = 10

_COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass
class FrameRecord:
    """What happened to one input frame (keyed by the colour image's stamp).

    Attributes:
        stamp_ns: header stamp of the colour image.
        published_s: monotonic time the colour image was published (None if it was not).
        pose: (4, 4) pose the node published for this stamp, or None.
        pose_received_s: monotonic time that pose arrived.
        pose_frame_id: header.frame_id of the published pose.
        mode: the node's status mode_name for this stamp ("" when no status came).
        score: status score.
        message: status message (why there is no pose).
        gt: (4, 4) ground-truth pose, or None.
        add: ADD error in metres (inf without a pose, NaN without ground truth).
        adds: ADD-S error in metres (same conventions).
        masked: a mask with object pixels was published with this frame's stamp.
        mask_published_s: monotonic time that mask was published (None: unknown, or no mask; a mask published
            with its frame is taken to be published when the frame was).
        in_view: the object is in view on this frame (ground truth; True where unknown).
        hypotheses: the status' ``num_hypotheses`` (> 1: the frame was registered, 1: tracked).
    """

    stamp_ns: int
    published_s: float | None = None
    pose: np.ndarray | None = None
    pose_received_s: float | None = None
    pose_frame_id: str = ""
    mode: str = ""
    score: float = 0.0
    message: str = ""
    gt: np.ndarray | None = None
    add: float = math.nan
    adds: float = math.nan
    masked: bool = False
    mask_published_s: float | None = None
    in_view: bool = True
    hypotheses: int = 0

    @property
    def latency_ms(self) -> float:
        """Colour image published -> pose received, milliseconds (NaN without a pose)."""
        if self.pose_received_s is None or self.published_s is None:
            return math.nan
        return (self.pose_received_s - self.published_s) * 1e3

    @property
    def mask_s(self) -> float | None:
        """When this frame's mask could first be used: its publication, else its frame's (None without a mask)."""
        if not self.masked:
            return None
        return self.mask_published_s if self.mask_published_s is not None else self.published_s


@dataclass
class ReplaySummary:
    """Numbers of one replay (printed as a table, written as JSON)."""

    frames: int
    poses: int
    coverage: float
    frames_with_gt: int = 0
    add_auc: float | None = None
    adds_auc: float | None = None
    input_rate_hz: float = math.nan
    output_rate_hz: float = math.nan
    latency_p50_ms: float = math.nan
    latency_p90_ms: float = math.nan
    latency_max_ms: float = math.nan
    latency_p90_outside_catch_up_ms: float = math.nan
    frames_dropped: int = 0
    time_to_first_pose_s: float = math.nan
    reacquire_s: list[float] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)


def fill_errors(records: Sequence[FrameRecord], model_points: np.ndarray | None) -> None:
    """Set each record's ADD / ADD-S (metres) where it has ground truth: inf without a pose."""
    for record in records:
        if record.gt is None or model_points is None:
            continue
        if record.pose is None:
            record.add = record.adds = math.inf
        else:
            record.add = add_error(model_points, record.pose, record.gt)
            record.adds = adds_error(model_points, record.pose, record.gt)


def evaluate(records: list[FrameRecord], model_points: np.ndarray | None, frames_dropped: int = 0,
             modes: Sequence[str] = ()) -> ReplaySummary:
    """Fill each record's errors and summarise.

    Args:
        records: one per published colour frame, in stamp order.
        model_points: (N, 3) points of the mesh in its own frame (metres), for ADD / ADD-S.
        frames_dropped: the node's last reported ``frames_dropped``.
        modes: the status modes in the order the node published them, repeats merged (by stamp they
            can interleave: a frame that waited for a mask reports "lost" after the frame registered on).
    """
    fill_errors(records, model_points)
    with_pose = [r for r in records if r.pose is not None]
    with_gt = [r for r in records if r.gt is not None and model_points is not None]
    latencies = np.array([r.latency_ms for r in with_pose if math.isfinite(r.latency_ms)])
    published = [r.published_s for r in records if r.published_s is not None]
    received = [r.pose_received_s for r in with_pose if r.pose_received_s is not None]
    summary = ReplaySummary(frames=len(records), poses=len(with_pose),
                            coverage=len(with_pose) / len(records) if records else 0.0,
                            frames_with_gt=len(with_gt), frames_dropped=frames_dropped, modes=list(modes))
    if with_gt:
        summary.add_auc = auc(np.array([r.add for r in with_gt]))
        summary.adds_auc = auc(np.array([r.adds for r in with_gt]))
    if len(published) > 1:
        summary.input_rate_hz = (len(published) - 1) / (max(published) - min(published))
    summary.output_rate_hz = output_rate_hz(records)
    if latencies.size:
        summary.latency_p50_ms, summary.latency_p90_ms = (float(v) for v in np.percentile(latencies, [50, 90]))
        summary.latency_max_ms = float(latencies.max())
        summary.latency_p90_outside_catch_up_ms = latency_outside_catch_up_ms(records)[0]
    if received and published:
        summary.time_to_first_pose_s = min(received) - min(published)
    summary.reacquire_s = reacquisition_delays(records)
    return summary


def output_rate_hz(records: Sequence[FrameRecord]) -> float:
    """Poses received per second while the object is in view (see the module docstring); NaN with too few poses.

    Each maximal run of frames in view (stamp order) is a span; a span's poses contribute their count less
    one and the time from the first to the last of them received. The rate is the sum of the first over the
    sum of the second, so the time the object is out of view counts for nothing, and a node that publishes
    a pose for every other frame in view still shows half the input rate.

    Args:
        records: every frame in stamp order with ``in_view`` (True where unknown: one span, first to last pose).
    """
    intervals, seconds = 0, 0.0
    span: list[float] = []
    for record in [*records, None]:
        if record is not None and record.in_view:
            if record.pose is not None and record.pose_received_s is not None:
                span.append(record.pose_received_s)
            continue
        if len(span) > 1:
            intervals, seconds = intervals + len(span) - 1, seconds + max(span) - min(span)
        span = []
    return intervals / seconds if seconds > 0 else math.nan


def reacquisition_delays(records: Sequence[FrameRecord], clock_from: str = "mask") -> list[float]:
    """Seconds from each return of a lost object to its next pose, one per loss.

    ``clock_from="mask"`` (what a node can be held to): a loss starts at a frame whose status is
    "lost"; the clock starts when the mask with object pixels of the first frame after it that has one is
    published (:attr:`FrameRecord.mask_s`: the node cannot register before) and stops when the next pose
    arrives (poses of frames before that mask were tracked back from its registration and do not end
    the loss). Losses that end before any such mask are not counted.

    ``clock_from="view"`` (the offline benchmark, which knows the ground truth): a loss is the object
    out of view (``in_view`` False; poses meanwhile do not end it); the clock starts when the first
    frame back in view is published and stops when the next pose arrives, so the wait for the
    detector's mask counts.

    Args:
        records: in stamp order.
        clock_from: "mask" or "view", as above.
    """
    if clock_from not in ("mask", "view"):
        raise ValueError(f"clock_from must be 'mask' or 'view', got {clock_from!r}")
    delays: list[float] = []
    lost, started = False, None
    for record in records:
        if clock_from == "view":
            if not record.in_view:
                lost, started = True, None
                continue
            if lost and started is None:
                started = record.published_s
        else:
            lost = lost or (record.mode == "lost" and record.pose is None)
            if lost and record.masked and started is None:
                started = record.mask_s
        if record.pose is not None:
            if clock_from == "mask" and lost and started is None:
                continue  # tracked back from a registration on a later mask (backfill): not yet re-acquired
            if lost and started is not None and record.pose_received_s is not None:
                delays.append(record.pose_received_s - started)
            lost, started = False, None
    return delays


@dataclass(frozen=True)
class OfflineFigures:
    """The offline engine (:mod:`fpose_ros.evaluation.offline`) on the same frames with the same masks.

    Attributes:
        coverage: fraction of visible frames with a pose.
        add_auc, adds_auc: AUC (0-10 cm) over visible frames, a frame without a pose counting as infinite error.
    """

    coverage: float
    add_auc: float
    adds_auc: float


@dataclass(frozen=True)
class StatusEvent:
    """One TrackingStatus the node published, as received (arrival order matters, not stamp order).

    Attributes:
        stamp_ns: header stamp of the frame it reports on.
        mode: "registering", "tracking", "occluded" or "lost".
        pose_published: a pose was published for that frame.
        hypotheses: poses refined for the frame (> 1: a registration).
        message: why there is no pose ("" when all is well).
    """

    stamp_ns: int
    mode: str
    pose_published: bool = False
    hypotheses: int = 0
    message: str = ""

    @property
    def registered(self) -> bool:
        """The frame was registered (not tracked) and got a pose."""
        return self.pose_published and self.hypotheses > 1


@dataclass(frozen=True)
class Target:
    """One acceptance threshold: ``figure op threshold`` must hold (a NaN figure fails)."""

    figure: str
    op: str  # "<=" or ">="
    threshold: float

    def met(self, value: float | None) -> bool:
        """True when ``value`` meets the threshold (None and NaN never do)."""
        return value is not None and math.isfinite(value) and _COMPARE[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.figure} {self.op} {self.threshold}"


def failed_targets(figures: Mapping[str, float | None], targets: Sequence[Target]) -> list[str]:
    """The targets that ``figures`` (figure name -> value) do not meet, as ``str(target)``."""
    return [str(t) for t in targets if not t.met(figures.get(t.figure))]


#: Issue 14: frames where at least this fraction of the silhouette shows must have a pose (acceptance 2).
SHOWN_FRACTION = 0.30
#: ... and frames where less than this shows must not.
HIDDEN_FRACTION = 0.10
#: A pose whose ADD-S exceeds this fraction of the object's diameter is wrong.
WRONG_POSE_DIAMETERS = 0.10


@dataclass(frozen=True)
class ScenarioFigures:
    """Occlusion and leave-and-return figures of one run (see the module docstring; NaN / None: does not apply).

    Attributes:
        kind: "occluder" (acceptance 2 applies), "exit_and_return" (acceptance 3) or "" (neither).
        coverage_visible: fraction of the frames in view that got a pose.
        coverage_shown: fraction of the frames with >= 30 % of the silhouette showing that got a pose
            (NaN without visible fractions or without such frames).
        poses_hidden: poses on frames with < 10 % showing (None without visible fractions).
        wrong_poses: poses with ADD-S above 10 % of the diameter, on any frame with ground truth.
        registrations_after_return: registered poses from the return on (None: the object never returned).
        first_correct_after_return_s: the first mask of a frame after the return published -> the first
            correct pose received, seconds (negative: tracking resumed before any mask).
    """

    kind: str
    coverage_visible: float
    coverage_shown: float
    poses_hidden: int | None
    wrong_poses: int
    registrations_after_return: int | None
    first_correct_after_return_s: float

    @property
    def judged(self) -> bool:
        """Whether an acceptance applies: a scenario with one, measured (the occluder's needs visible fractions)."""
        return self.kind in SCENARIO_ACCEPTANCE and (self.kind != "occluder" or self.poses_hidden is not None)

    def failed(self) -> list[str]:
        """The acceptance targets of its kind that it misses, as ``str(target)`` (none when not :attr:`judged`)."""
        if not self.judged:
            return []
        figures = {k: v for k, v in dataclasses.asdict(self).items() if isinstance(v, int | float)}
        return failed_targets(figures, SCENARIO_ACCEPTANCE[self.kind])


#: Issue 14's acceptance 2 (occluder) and 3 (leave and return), by scenario.
SCENARIO_ACCEPTANCE = {
    "occluder": (Target("coverage_shown", ">=", 0.95), Target("poses_hidden", "<=", 0),
                 Target("wrong_poses", "<=", 0)),
    "exit_and_return": (Target("registrations_after_return", "<=", 1),
                        Target("first_correct_after_return_s", "<=", 0.4),
                        Target("coverage_visible", ">=", 0.95), Target("wrong_poses", "<=", 0)),
}


def scenario_figures(records: Sequence[FrameRecord], diameter: float,
                     visible_fraction: Sequence[float] | np.ndarray | None = None, kind: str = "") -> ScenarioFigures:
    """:class:`ScenarioFigures` of one run.

    Args:
        records: every frame in stamp order, errors filled (:func:`fill_errors`), ``in_view``, ``masked``
            (``mask_published_s`` where the mask came later than its frame),
            ``hypotheses``, ``published_s`` and ``pose_received_s`` set.
        diameter: the object's diameter, metres.
        visible_fraction: per record, the fraction of the object's silhouette that shows (ground truth), or None.
        kind: which acceptance applies (:data:`SCENARIO_ACCEPTANCE`'s keys, or "").
    """
    in_view = [r for r in records if r.in_view]
    wrong = sum(1 for r in records if r.pose is not None and r.adds > WRONG_POSE_DIAMETERS * diameter)
    coverage, hidden = math.nan, None
    if visible_fraction is not None:
        fractions = np.asarray(visible_fraction, dtype=np.float64)
        posed = np.array([r.pose is not None for r in records], dtype=bool)
        shown = fractions >= SHOWN_FRACTION
        coverage = float(posed[shown].mean()) if shown.any() else math.nan
        hidden = int((posed & (fractions < HIDDEN_FRACTION)).sum())
    back = next((i for i in range(1, len(records)) if records[i].in_view and not records[i - 1].in_view
                 and any(r.in_view for r in records[:i])), None)
    registrations, first_correct = None, math.nan
    if back is not None:
        after = records[back:]
        registrations = sum(1 for r in after if r.pose is not None and r.hypotheses > 1)
        mask_s = next((r.mask_s for r in after if r.mask_s is not None), None)
        correct = [r.pose_received_s for r in after if r.pose is not None and r.pose_received_s is not None
                   and r.adds <= WRONG_POSE_DIAMETERS * diameter]
        if mask_s is not None and correct:
            first_correct = min(correct) - mask_s
    return ScenarioFigures(kind=kind, coverage_visible=sum(r.pose is not None for r in in_view) / max(len(in_view), 1),
                           coverage_shown=coverage, poses_hidden=hidden, wrong_poses=wrong,
                           registrations_after_return=registrations, first_correct_after_return_s=first_correct)



def catch_up_flags(records: Sequence[FrameRecord], budget_s: float = CATCH_UP_BUDGET_S) -> list[bool]:
    """Which frames' poses were computed in the catch-up after a registration (see the module docstring).

    Args:
        records: every published frame, stamp order, with ``published_s``, ``pose``,
            ``pose_received_s`` and ``hypotheses`` filled where known.
        budget_s: longest catch-up after the registration's pose, seconds.

    Returns:
        One flag per record; False for frames without a pose.
    """
    flags = [False] * len(records)
    for j, registered in enumerate(records):
        if registered.pose is None or registered.hypotheses <= 1 or registered.published_s is None:
            continue
        # The frames before it tracked back from its pose: their poses came after the registered frame did.
        for i in range(j - 1, -1, -1):
            earlier = records[i]
            if earlier.pose is None or earlier.pose_received_s is None or earlier.hypotheses > 1 \
                    or earlier.pose_received_s <= registered.published_s:
                break
            flags[i] = True
    posed = sorted((r.pose_received_s, i) for i, r in enumerate(records)
                   if r.pose is not None and r.pose_received_s is not None)
    started: float | None = None  # arrival time of the registration's pose
    for received, i in posed:
        if records[i].hypotheses > 1:
            started, flags[i] = received, True
            continue
        if started is None:
            continue
        following = records[i + 1].published_s if i + 1 < len(records) else None
        behind = following is not None and following < received
        if behind and received - started <= budget_s:
            flags[i] = True
        else:
            started = None
    return flags


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of the finite ``values``; NaN when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.percentile(finite, q)) if finite else math.nan


def latency_outside_catch_up_ms(records: Sequence[FrameRecord], q: float = 90.0,
                                budget_s: float = CATCH_UP_BUDGET_S) -> tuple[float, int]:
    """The ``q``-th latency percentile (ms) over poses outside the catch-up, and how many poses were inside it."""
    flags = catch_up_flags(records, budget_s)
    outside = [r.latency_ms for r, inside in zip(records, flags, strict=True) if not inside]
    return percentile(outside, q), sum(flags)


@dataclass(frozen=True)
class LatencyWindow:
    """The poses of a run of whole loops of a soak (a "minute"): how many, what work, what latency.

    A soak loops one sequence, so windows of whole loops hold the same frames; how many
    registrations (and catch-ups after them) fall into a window still differs, and the latency over
    every pose follows them: the steady and catch-up percentiles are apart so that this shows.

    Attributes:
        first_loop: index of its first loop (0-based).
        loops: whole loops in it.
        start_s: publish time of its first frame, seconds after the soak's first frame.
        poses: poses published for its frames.
        registrations: of those, registered ones (``hypotheses`` > 1).
        catch_up_poses: of those, in the catch-up after a registration (the registered one included).
        p90_all_ms: latency p90 over every pose, ms.
        p90_steady_ms: over the poses outside catch-up, ms.
        p90_catch_up_ms: over the poses inside it, ms.
    """

    first_loop: int
    loops: int
    start_s: float
    poses: int
    registrations: int
    catch_up_poses: int
    p90_all_ms: float
    p90_steady_ms: float
    p90_catch_up_ms: float


def loop_windows(records: Sequence[FrameRecord], frames_per_loop: int, loops_per_window: int,
                 budget_s: float = CATCH_UP_BUDGET_S) -> list[LatencyWindow]:
    """The soak's poses in windows of ``loops_per_window`` whole loops.

    Windows follow each other from the first loop; the last window is always the last
    ``loops_per_window`` loops, so it overlaps the one before when the loops do not divide evenly.
    A loop left over at the end (not whole) belongs to no window.

    Args:
        records: every published frame, stamp order, ``frames_per_loop`` per loop; catch-up is
            judged over all of them (:func:`catch_up_flags`), so one that runs across a loop's end counts.
        frames_per_loop: frames of the looped sequence.
        loops_per_window: whole loops per window (>= 1).
        budget_s: longest catch-up after a registration's pose, seconds.
    """
    if frames_per_loop < 1 or loops_per_window < 1:
        raise ValueError("frames_per_loop and loops_per_window must be >= 1")
    flags = catch_up_flags(records, budget_s)
    loops = len(records) // frames_per_loop
    firsts = list(range(0, loops - loops_per_window + 1, loops_per_window))
    if firsts and firsts[-1] + loops_per_window < loops:
        firsts.append(loops - loops_per_window)
    t0 = next((r.published_s for r in records if r.published_s is not None), 0.0)
    windows = []
    for first in firsts:
        span = slice(first * frames_per_loop, (first + loops_per_window) * frames_per_loop)
        posed = [(r, inside) for r, inside in zip(records[span], flags[span], strict=True) if r.pose is not None]
        start = records[span][0].published_s
        windows.append(LatencyWindow(
            first_loop=first, loops=loops_per_window, start_s=math.nan if start is None else start - t0,
            poses=len(posed), registrations=sum(r.hypotheses > 1 for r, _ in posed),
            catch_up_poses=sum(inside for _, inside in posed),
            p90_all_ms=percentile([r.latency_ms for r, _ in posed], 90),
            p90_steady_ms=percentile([r.latency_ms for r, inside in posed if not inside], 90),
            p90_catch_up_ms=percentile([r.latency_ms for r, inside in posed if inside], 90)))
    return windows


def relative_change(after: float, before: float) -> float:
    """``after / before - 1`` (+0.1: 10 % more); NaN unless both are finite and ``before`` is positive."""
    if not (math.isfinite(after) and math.isfinite(before)) or before <= 0:
        return math.nan
    return after / before - 1.0


def losses(events: Sequence[StatusEvent]) -> list[StatusEvent]:
    """The statuses at which the node lost the object: "lost" right after a status that was not, once it had tracked."""
    found: list[StatusEvent] = []
    tracked, previous = False, ""
    for event in events:
        if event.mode == "lost" and previous != "lost" and tracked:
            found.append(event)
        tracked = tracked or event.mode == "tracking"
        previous = event.mode
    return found


def losses_after_registration(events: Sequence[StatusEvent], frame_index: Mapping[int, int],
                              visible: Sequence[bool] | np.ndarray | None = None, within: int = EARLY_LOSS_FRAMES
                              ) -> list[StatusEvent]:
    """The losses at most ``within`` frames after the registration before them (see the module docstring).

    Args:
        events: the node's statuses in arrival order.
        frame_index: stamp (ns) -> frame number of the published sequence.
        visible: per frame number, the object is in view and not hidden; None counts every loss. A loss
            counts where the object is visible on its frame and on the next (or that is the last frame).
        within: frames after the registered frame.
    """
    early: list[StatusEvent] = []
    lost = {id(e) for e in losses(events)}
    registered_at: int | None = None
    for event in events:
        index = frame_index.get(event.stamp_ns)
        if index is None:
            continue
        if event.registered:
            registered_at = index
        elif id(event) in lost and registered_at is not None and 0 <= index - registered_at <= within \
                and (visible is None or bool(visible[index]) and bool(visible[min(index + 1, len(visible) - 1)])):
            early.append(event)
    return early


def mesh_frame_points(mesh_path: Path, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """(N, 3) float64 surface points of the mesh and the object's diameter, metres.

    The points are in the mesh's own frame (the frame of the node's poses): what ADD / ADD-S of the node's
    poses are computed on.
    """
    model = load_object_model(mesh_path, scale=scale)
    T_mesh_centered = np.linalg.inv(model.T_centered_mesh)
    points = model.surface_points.astype(np.float64) @ T_mesh_centered[:3, :3].T + T_mesh_centered[:3, 3]
    return points, float(model.diameter)
