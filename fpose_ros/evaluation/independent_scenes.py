"""Benchmark sequences drawn by another renderer: pybullet's TinyRenderer, not the engine's.

The engine's own sequences (:mod:`fpose_ros.core.synthetic.sequences`) are drawn with the engine's
renderer and colour model, so what the engine renders and what it observes agree by construction.
These are drawn by pybullet's software renderer with its own shading: a directional light of its
own colour, ambient / diffuse / specular coefficients, cast shadows (on the object, the wall, the
table), nearest-texel texture look-up. A camera response follows that no renderer of the engine
models: white balance, exposure with auto-exposure drift, a tone curve, blur and sensor noise on the
colour; RealSense-like noise, edge and random holes, and holes on specular highlights on the depth.

Objects are UV-textured grocery-like meshes (:mod:`fpose_ros.core.synthetic.textured_objects`) whose
shape is symmetric and whose print is not; the node gets the very OBJ file pybullet draws. Ground
truth: poses, per-frame instance masks from pybullet's segmentation buffer, and the visible fraction
(mask pixels / pixels of the object's unoccluded silhouette, also off-image ones).

Camera model: the OpenCV optical frame (x right, y down, z forward, metres) and its pinhole
intrinsics; :func:`opengl_projection` builds pybullet's projection matrix from fx, fy, cx, cy so that
pixel (u, v) samples exactly the ray of OpenCV's pixel centre (u, v), and :func:`metric_depth` turns
pybullet's depth buffer into z in metres. Both are tested against analytic geometry.

Rendering costs about 0.2-0.4 s per 640 x 480 frame on one core (shadows double it); a sequence
renders once and is cached as ``<cache>/<name>-<key>.npz`` (:func:`load_or_render_independent`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation

from fpose_ros.core.camera import CameraIntrinsics
from fpose_ros.core.frame import RGBDFrame
from fpose_ros.core.synthetic.assets import export_asset, load_asset
from fpose_ros.core.synthetic.motion import PRESETS, MotionPreset, exit_and_return, trajectory
from fpose_ros.core.synthetic.sensor_noise import imperfect_mask, realsense_depth
from fpose_ros.core.synthetic.sequences import (
    MIN_VISIBLE_PIXELS,
    SyntheticSequence,
    d435_camera,
    read_cached,
    unpack_mask,
    write_cached,
)
from fpose_ros.core.synthetic.textures import background_image

#: Bump when rendering changes, so that caches of older renders are not reused.
CACHE_VERSION = 1
#: Clipping planes of the pybullet camera, metres.
NEAR_M, FAR_M = 0.05, 5.0
#: The scene's world origin on the optical axis, metres in front of the camera (pybullet's shadow map
#: is centred on the world origin, so it is put among the objects).
WORLD_DEPTH_M = 0.8


@dataclass(frozen=True)
class Lighting:
    """pybullet's light: a direction, a colour and its shading coefficients.

    Attributes:
        towards_light: direction from the scene to the light, camera optical frame (y down).
        colour: RGB of the light, each in [0, 1].
        ambient, diffuse, specular: pybullet's ``lightAmbientCoeff`` / ``lightDiffuseCoeff`` /
            ``lightSpecularCoeff``.
        shadow: cast shadows.
    """

    towards_light: tuple[float, float, float]
    colour: tuple[float, float, float]
    ambient: float
    diffuse: float
    specular: float
    shadow: bool = True


#: One light per sequence, each unlike the engine's.
LIGHTS = {
    "window": Lighting((-0.6, -0.7, -0.4), (1.0, 0.92, 0.8), 0.4, 0.65, 0.5),
    "lamp": Lighting((0.8, -0.4, -0.5), (1.0, 0.82, 0.6), 0.3, 0.85, 0.8),
    "overhead": Lighting((0.1, -1.0, -0.2), (0.85, 0.92, 1.0), 0.5, 0.55, 0.3),
    "office": Lighting((-0.2, -0.5, -0.9), (0.95, 0.95, 0.95), 0.45, 0.6, 0.4),
}


@dataclass(frozen=True)
class CameraResponse:
    """What a colour camera does to the light that reaches it.

    Attributes:
        white_balance: per-channel gains (R, G, B).
        exposure: overall gain.
        exposure_drift: amplitude of the auto-exposure's slow drift (relative gain, period ~3 s).
        gamma: exponent of the tone curve (out = in ** (1 / gamma)).
        blur_px: Gaussian blur sigma, pixels (defocus / motion).
        noise: standard deviation of the sensor noise at full scale (scaled by sqrt of the signal).
    """

    white_balance: tuple[float, float, float]
    exposure: float
    exposure_drift: float
    gamma: float
    blur_px: float
    noise: float


RESPONSES = {
    "warm": CameraResponse((1.12, 1.0, 0.82), 1.05, 0.08, 1.15, 0.7, 0.02),
    "cool": CameraResponse((0.88, 1.0, 1.15), 0.9, 0.12, 1.0, 0.5, 0.025),
    "dim": CameraResponse((1.0, 0.96, 1.05), 0.75, 0.15, 1.25, 0.9, 0.035),
    "bright": CameraResponse((1.05, 1.0, 0.95), 1.12, 0.05, 0.95, 0.6, 0.015),
}


@dataclass(frozen=True)
class IndependentSpec:
    """Everything that determines an independently rendered sequence.

    Attributes:
        name: label (``indep_*``).
        asset: the object ("tex:<name>", see :mod:`fpose_ros.core.synthetic.textured_objects`).
        scenario: "spin" (flies across while spinning about its own axis of revolution at ``spin_dps``),
            "fly" (flies across while spinning about a random axis at ``spin_dps``), "occluder" (static,
            a bar sweeps across in front and hides it fully for ``hidden_frames`` frames) or
            "exit_and_return" (hand-held, leaves the view for ``away_s`` seconds after the first third).
        light: key of :data:`LIGHTS`.
        response: key of :data:`RESPONSES`.
        n_frames, seed, width, height, fps: as in :class:`~fpose_ros.core.synthetic.sequences.SequenceSpec`.
        depth_m: distance of the object at the start, metres.
        spin_dps: angular speed of "spin" and "fly", degrees per second.
        hidden_frames: "occluder": frames during which the bar covers the whole object.
        away_s: "exit_and_return": time out of view, seconds.
        object_specular: the object's specular colour (grey level; a can is shiny, a box less so).
    """

    name: str
    asset: str
    scenario: str
    light: str
    response: str
    n_frames: int = 90
    seed: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    depth_m: float = 0.6
    spin_dps: float = 60.0
    hidden_frames: int = 5
    away_s: float = 1.0
    object_specular: float = 0.6

    @property
    def exit_and_return(self) -> bool:
        """The object leaves the view and comes back (as ``SequenceSpec.exit_and_return``)."""
        return self.scenario == "exit_and_return"

    @property
    def occluder(self) -> bool:
        """Something passes in front of the object (as ``SequenceSpec.occluder``)."""
        return self.scenario == "occluder"

    @property
    def motion(self) -> str:
        """The motion's name, in the terms of ``SequenceSpec.motion``."""
        return {"occluder": "static", "exit_and_return": "handheld"}.get(self.scenario, f"fly{self.spin_dps:.0f}")

    def key(self) -> str:
        """A short hash of the spec, for cache file names."""
        text = repr((CACHE_VERSION, dataclasses.astuple(self), LIGHTS[self.light], RESPONSES[self.response]))
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass
class IndependentSequence(SyntheticSequence):
    """A :class:`SyntheticSequence` drawn by pybullet, with the renderer's own ground truth.

    Attributes:
        true_masks: N (H, W) bool instance masks of the object from pybullet's segmentation buffer.
        visible_fraction: (N,) float64 in [0, 1]: true-mask pixels over the pixels of the object's
            unoccluded silhouette (pixels outside the image count as hidden).
    """

    true_masks: list[np.ndarray]
    visible_fraction: np.ndarray


def independent_specs() -> list[IndependentSpec]:
    """The independently rendered benchmark set: 4 sequences of 3-4 s at 30 Hz, 640x480, each with its light."""
    return [
        IndependentSpec("indep_can_spin60", "tex:soup_can", "spin", "window", "warm", seed=31, depth_m=0.55,
                        object_specular=0.9),
        IndependentSpec("indep_bottle_fly60", "tex:bottle", "fly", "lamp", "cool", seed=32, depth_m=0.6,
                        object_specular=0.7),
        IndependentSpec("indep_cereal_occluder", "tex:cereal_box", "occluder", "overhead", "dim", seed=33,
                        depth_m=0.7, object_specular=0.2),
        IndependentSpec("indep_sugar_exit_and_return", "tex:sugar_box", "exit_and_return", "office", "bright",
                        n_frames=120, seed=34, depth_m=0.6, object_specular=0.3),
    ]


# --- camera model ---------------------------------------------------------------------------------


def opengl_projection(camera: CameraIntrinsics, near: float = NEAR_M, far: float = FAR_M) -> np.ndarray:
    """(4, 4) float64 OpenGL projection of pinhole ``camera`` for pybullet's TinyRenderer.

    Eye coordinates are OpenGL's (x right, y up, looking down -z): those of the OpenCV optical frame
    with y and z negated (:data:`OPENCV_TO_OPENGL`). TinyRenderer fills column j where the NDC pixel
    coordinate is j (a pixel's corner, not its centre) and row i (top-down) where it is i + 1 counted
    from the top, so the principal point is shifted by those half pixels: pixel (u, v) then samples the
    ray of OpenCV's pixel centre (u, v) exactly (measured: a box's edges fall within 0.05 px).
    """
    W, H = camera.width, camera.height
    P = np.zeros((4, 4))
    P[0, 0] = 2.0 * camera.fx / W
    P[0, 2] = 1.0 - 2.0 * camera.cx / W
    P[1, 1] = 2.0 * camera.fy / H
    P[1, 2] = 2.0 * (camera.cy + 1.0) / H - 1.0
    P[2, 2] = -(far + near) / (far - near)
    P[2, 3] = -2.0 * far * near / (far - near)
    P[3, 2] = -1.0
    return P


#: OpenCV optical frame -> OpenGL eye frame (y and z flipped).
OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def metric_depth(buffer: np.ndarray, near: float = NEAR_M, far: float = FAR_M) -> np.ndarray:
    """Convert pybullet's depth buffer (window z in [0, 1]) to z along the optical axis, metres (float32).

    The buffer holds the perspective (non-linear) depth of :func:`opengl_projection`; 1.0 (the far
    plane, nothing drawn) maps to ``far``.
    """
    return (far * near / (far - (far - near) * np.asarray(buffer, np.float64))).astype(np.float32)


def _column_major(matrix: np.ndarray) -> list[float]:
    """A (4, 4) matrix as the flat column-major list pybullet takes."""
    return [float(x) for x in matrix.T.ravel()]


def _pose(T: np.ndarray) -> tuple[list[float], list[float]]:
    """(4, 4) -> pybullet's (position, quaternion xyzw)."""
    return [float(x) for x in T[:3, 3]], [float(x) for x in Rotation.from_matrix(T[:3, :3]).as_quat()]


class PybulletCamera:
    """A pybullet DIRECT-mode world seen by an OpenCV pinhole camera; poses are given in the camera frame.

    Use as a context manager (:func:`pybullet_camera`); bodies are added with :meth:`add_mesh` /
    :meth:`add_box` and moved with :meth:`move`.
    """

    def __init__(self, camera: CameraIntrinsics, lighting: Lighting | None = None) -> None:
        import pybullet

        self.p = pybullet
        self.camera = camera
        self.lighting = lighting
        self.client = pybullet.connect(pybullet.DIRECT)
        T_cam_world = np.eye(4)
        T_cam_world[2, 3] = WORLD_DEPTH_M
        self.T_world_cam = np.linalg.inv(T_cam_world)
        self._view = _column_major(OPENCV_TO_OPENGL @ T_cam_world)
        self._projection = _column_major(opengl_projection(camera))

    def close(self) -> None:
        """Disconnect the pybullet client."""
        self.p.disconnect(self.client)

    def add_mesh(self, obj_path: Path, T_cam_body: np.ndarray, specular: float = 0.5) -> int:
        """An OBJ mesh (textured through its MTL's map_Kd) at ``T_cam_body``; returns its body id."""
        p, c = self.p, self.client
        shape = p.createVisualShape(p.GEOM_MESH, fileName=str(obj_path), physicsClientId=c)
        body = p.createMultiBody(0, -1, shape, physicsClientId=c)
        texture = _texture_of(obj_path)
        if texture is not None:
            p.changeVisualShape(body, -1, textureUniqueId=p.loadTexture(str(texture), physicsClientId=c),
                                physicsClientId=c)
        p.changeVisualShape(body, -1, specularColor=[specular] * 3, physicsClientId=c)
        self.move(body, T_cam_body)
        return body

    def add_box(self, half_extents: tuple[float, float, float], T_cam_body: np.ndarray,
                rgba: tuple[float, float, float, float] = (0.4, 0.3, 0.25, 1.0)) -> int:
        """A plain box at ``T_cam_body``; returns its body id."""
        p, c = self.p, self.client
        shape = p.createVisualShape(p.GEOM_BOX, halfExtents=list(half_extents), rgbaColor=list(rgba),
                                    specularColor=[0.1] * 3, physicsClientId=c)
        body = p.createMultiBody(0, -1, shape, physicsClientId=c)
        self.move(body, T_cam_body)
        return body

    def move(self, body: int, T_cam_body: np.ndarray) -> None:
        """Put ``body`` at ``T_cam_body`` ((4, 4), camera optical frame)."""
        position, quaternion = _pose(self.T_world_cam @ T_cam_body)
        self.p.resetBasePositionAndOrientation(body, position, quaternion, physicsClientId=self.client)

    def render(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render one frame.

        Returns:
            (H, W, 3) uint8 RGB, (H, W) float32 z in metres (0 = nothing drawn), (H, W) int32 body ids
            (-1 = nothing).
        """
        p, W, H = self.p, self.camera.width, self.camera.height
        kwargs = {}
        if self.lighting is not None:
            light = self.lighting
            towards = np.asarray(light.towards_light, np.float64)
            kwargs = {"lightDirection": [float(x) for x in towards / np.linalg.norm(towards)],
                      "lightColor": list(light.colour), "lightDistance": 2.0, "shadow": int(light.shadow),
                      "lightAmbientCoeff": light.ambient, "lightDiffuseCoeff": light.diffuse,
                      "lightSpecularCoeff": light.specular}
            # pybullet's light direction is in its world frame, whose axes are the camera's here.
        _, _, rgba, depth, seg = p.getCameraImage(W, H, self._view, self._projection, renderer=p.ER_TINY_RENDERER,
                                                  physicsClientId=self.client, **kwargs)
        rgb = np.asarray(rgba, np.uint8).reshape(H, W, 4)[..., :3]
        seg = np.asarray(seg, np.int32).reshape(H, W)
        z = metric_depth(np.asarray(depth, np.float32).reshape(H, W))
        z[seg < 0] = 0.0
        return rgb.copy(), z, seg


@contextmanager
def pybullet_camera(camera: CameraIntrinsics, lighting: Lighting | None = None) -> Iterator[PybulletCamera]:
    """A :class:`PybulletCamera`, disconnected on exit."""
    scene = PybulletCamera(camera, lighting)
    try:
        yield scene
    finally:
        scene.close()


def _texture_of(obj_path: Path) -> Path | None:
    """The image an OBJ's MTL names as ``map_Kd``, if any."""
    for line in obj_path.read_text().splitlines():
        if line.startswith("mtllib "):
            mtl = obj_path.parent / line.split(maxsplit=1)[1].strip()
            for entry in mtl.read_text().splitlines() if mtl.is_file() else []:
                if entry.strip().startswith("map_Kd "):
                    return mtl.parent / entry.split(maxsplit=1)[1].strip()
    return None


# --- ground truth -----------------------------------------------------------------------------------


def silhouette_area(vertices: np.ndarray, faces: np.ndarray, T_cam_obj: np.ndarray, camera: CameraIntrinsics
                    ) -> int:
    """Pixels of the unoccluded silhouette of a posed mesh, counting those outside the image.

    The triangles are filled (OpenCV, 1/16-pixel vertex precision) on a canvas three times the image
    size with the image in its middle; triangles with a vertex behind ``NEAR_M`` are skipped.

    Args:
        vertices: (V, 3) metres in the object frame; faces: (F, 3) vertex indices.
        T_cam_obj: (4, 4) pose of the object frame in the camera optical frame.
    """
    pts = vertices @ T_cam_obj[:3, :3].T + T_cam_obj[:3, 3]
    tri = pts[faces]
    front = (tri[..., 2] > NEAR_M).all(axis=1)
    tri = tri[front]
    W, H = camera.width, camera.height
    uv = np.stack([camera.fx * tri[..., 0] / tri[..., 2] + camera.cx + W,
                   camera.fy * tri[..., 1] / tri[..., 2] + camera.cy + H], axis=-1)
    inside = ((uv >= -1e4) & (uv <= 1e4)).all(axis=(1, 2))
    canvas = np.zeros((3 * H, 3 * W), np.uint8)
    polygons = list(np.round(uv[inside] * 16).astype(np.int32))
    if polygons:
        cv2.fillPoly(canvas, polygons, 1, lineType=cv2.LINE_8, shift=4)
    return int(canvas.sum())


# --- the camera's response ----------------------------------------------------------------------------


def camera_colour(rendered: np.ndarray, response: CameraResponse, t_s: float, rng: np.random.Generator
                  ) -> np.ndarray:
    """A rendered (H, W, 3) uint8 image as the camera records it at time ``t_s`` (uint8)."""
    gain = response.exposure * (1.0 + response.exposure_drift * np.sin(2 * np.pi * t_s / 3.0 + 1.0))
    x = rendered.astype(np.float32) * (np.asarray(response.white_balance, np.float32) * (gain / 255.0))
    # The tone curve through a 4096-entry table: np.power over a full image costs several times more.
    curve = np.linspace(0.0, 1.0, 4096, dtype=np.float32) ** np.float32(1.0 / response.gamma)
    x = curve[(np.clip(x, 0.0, 1.0) * 4095.0 + 0.5).astype(np.int32)]
    if response.blur_px > 0:
        x = cv2.GaussianBlur(x, (0, 0), response.blur_px)
    x += response.noise * np.sqrt(x) * rng.standard_normal(x.shape, np.float32)
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def camera_depth(z: np.ndarray, rendered: np.ndarray, object_mask: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
    """Turn perfect z (metres) into a RealSense-like depth image.

    Noise, edge and random holes (:func:`realsense_depth`), and holes on half the pixels where a specular
    highlight saturates the object (the projector's pattern is lost there).
    """
    depth = realsense_depth(z, rng)
    highlight = object_mask & (rendered.min(axis=-1) >= 245)
    depth[highlight & (rng.random(z.shape) < 0.5)] = 0.0
    return depth


# --- scenes ---------------------------------------------------------------------------------------------


def _textured_quad(path: Path, image: np.ndarray, corners: np.ndarray) -> Path:
    """Write a textured quad ((4, 3) corners, counter-clockwise seen from its front) as OBJ; returns its path."""
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    mesh = trimesh.Trimesh(corners, [[0, 1, 2], [0, 2, 3]], process=False)
    material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(image), diffuse=(255, 255, 255, 255))
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)
    return path


def _wood(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8: a wood-grain-like table top."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    grain = np.sin(u * 0.09 + 3.0 * np.sin(v * 0.013 + rng.uniform(0, 6)) + rng.uniform(0, 6))
    base = np.array([150, 105, 65], np.float32) * rng.uniform(0.8, 1.1)
    return np.clip(base * (0.85 + 0.15 * grain[..., None]), 0, 255).astype(np.uint8)


def _backdrop(scene: PybulletCamera, work: Path, rng: np.random.Generator) -> None:
    """A textured wall 1.3-1.6 m away and a wooden table top below the objects (shadows fall on both)."""
    wall_z = rng.uniform(1.3, 1.6)
    wall = (background_image(512, 512, rng) * 255).astype(np.uint8)
    corners = np.array([[-1.5, 1.2, wall_z], [1.5, 1.2, wall_z], [1.5, -1.2, wall_z], [-1.5, -1.2, wall_z]])
    scene.add_mesh(_textured_quad(work / "wall" / "wall.obj", wall, corners), np.eye(4), specular=0.05)
    table_y = rng.uniform(0.2, 0.26)
    corners = np.array([[-1.5, table_y, 0.25], [1.5, table_y, 0.25], [1.5, table_y, wall_z],
                        [-1.5, table_y, wall_z]])
    scene.add_mesh(_textured_quad(work / "table" / "table.obj", _wood(512, 512, rng), corners), np.eye(4),
                   specular=0.2)


def _distractors(scene: PybulletCamera, rng: np.random.Generator, table_y: float = 0.2) -> None:
    """pybullet_data's textured duck and teddy on the table, left and right of the view's middle."""
    import pybullet_data

    root = Path(pybullet_data.getDataPath())
    for name, scale, side in (("duck.obj", 0.06, -1), ("teddy2_VHACD_CHs.obj", 0.3, 1)):
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("xy", [90, rng.uniform(0, 360)], degrees=True).as_matrix()
        T[:3, 3] = [side * rng.uniform(0.22, 0.3), table_y - 0.04, rng.uniform(0.8, 1.0)]
        p, c = scene.p, scene.client
        shape = p.createVisualShape(p.GEOM_MESH, fileName=str(root / name), meshScale=[scale] * 3,
                                    physicsClientId=c)
        body = p.createMultiBody(0, -1, shape, physicsClientId=c)
        scene.move(body, T)


def _trajectory(spec: IndependentSpec, model_diameter: float, rng: np.random.Generator) -> np.ndarray:
    """(N, 4, 4) poses of the object's centred frame in the camera frame."""
    n, fps = spec.n_frames, spec.fps
    t = np.arange(n) / fps
    start = np.eye(4)
    start[:3, 3] = [rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.0), spec.depth_m]
    if spec.scenario == "spin":
        # The axis of revolution 55-70 degrees from the optical axis (label and lid in view), spinning
        # about itself while the can flies across at 0.1 m/s and its axis wobbles slowly.
        tilt = Rotation.from_euler("xz", [rng.uniform(-70, -55), rng.uniform(-30, 30)], degrees=True)
        spin = Rotation.from_rotvec(np.outer(np.radians(spec.spin_dps) * t, [0.0, 0.0, 1.0]))
        wobble = Rotation.from_rotvec(np.outer(np.radians(8.0) * np.sin(t), [0.0, 1.0, 0.0]))
        poses = np.repeat(start[None], n, axis=0)
        poses[:, :3, :3] = (wobble * tilt * spin).as_matrix()
        heading = rng.uniform(0, 2 * np.pi)
        poses[:, :3, 3] += np.outer(0.1 * (t - t[-1] / 2), [np.cos(heading), 0.4 * np.sin(heading), 0.0])
        return poses
    start[:3, :3] = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
    if spec.scenario == "fly":
        return trajectory(MotionPreset("fly", 0.1, spec.spin_dps, steady=True), n, fps, start, rng)
    if spec.scenario == "occluder":
        # Front face (+z of the box) towards the camera, print upright, turned 25 / 15 degrees to show a side.
        start[:3, :3] = Rotation.from_euler("yx", [rng.uniform(20, 30), rng.uniform(-18, -12)], degrees=True
                                            ).as_matrix() @ np.diag([1.0, -1.0, -1.0])
        return np.repeat(start[None], n, axis=0)
    if spec.scenario == "exit_and_return":
        return exit_and_return(trajectory(PRESETS["handheld"], n, fps, start, rng), fps, n // 3, spec.away_s)
    raise ValueError(f"unknown scenario {spec.scenario!r}; choose spin, fly, occluder or exit_and_return")


def _occluder_poses(spec: IndependentSpec, vertices: np.ndarray, T_object: np.ndarray, camera: CameraIntrinsics
                    ) -> tuple[tuple[float, float, float], np.ndarray]:
    """The bar (half extents) and its (N, 4, 4) poses, centred on the object at frame N // 2.

    Upright, its front 0.4 m away, it sweeps left to right at constant image speed. It is wider than the
    object's image by ``(hidden_frames - 1)`` frames of its travel, so it covers the whole object on exactly
    ``hidden_frames`` frames (an odd number: N // 2 and as many on either side).
    """
    pts = vertices @ T_object[0, :3, :3].T + T_object[0, :3, 3]
    u = camera.fx * pts[:, 0] / pts[:, 2] + camera.cx
    u_lo, u_hi = float(u.min()), float(u.max())
    speed_px = 14.0  # per frame: the bar crosses the object's image in about 0.4 s
    width_px = (u_hi - u_lo) + (spec.hidden_frames - 1) * speed_px
    z_front, half_depth = 0.4, 0.015
    centre_u = 0.5 * (u_lo + u_hi) + speed_px * (np.arange(spec.n_frames) - spec.n_frames // 2)
    poses = np.repeat(np.eye(4)[None], spec.n_frames, axis=0)
    poses[:, 0, 3] = (centre_u - camera.cx) * z_front / camera.fx
    poses[:, 1, 3] = float(pts[:, 1].mean()) * z_front / float(pts[:, 2].mean())
    poses[:, 2, 3] = z_front + half_depth
    return (0.5 * width_px * z_front / camera.fx, 0.5, half_depth), poses


def render_independent(spec: IndependentSpec) -> IndependentSequence:
    """Render ``spec`` with pybullet's TinyRenderer (see the module docstring)."""
    if spec.light not in LIGHTS or spec.response not in RESPONSES:
        raise ValueError(f"unknown light {spec.light!r} or response {spec.response!r}; lights: {sorted(LIGHTS)}, "
                         f"responses: {sorted(RESPONSES)}")
    rng = np.random.default_rng(spec.seed)
    camera = d435_camera(spec.width, spec.height)
    model = load_asset(spec.asset)
    T_centered = _trajectory(spec, model.diameter, rng)
    T_mesh = model.pose_for_mesh_origin(T_centered)
    response = RESPONSES[spec.response]

    frames, masks, true_masks, visible, fraction = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="fpose_indep_") as scratch, \
            pybullet_camera(camera, LIGHTS[spec.light]) as scene:
        work = Path(scratch)
        _backdrop(scene, work, rng)
        _distractors(scene, rng)
        obj = scene.add_mesh(export_asset(spec.asset, work / "object"), T_mesh[0], specular=spec.object_specular)
        bar = None
        if spec.occluder:
            half, T_bar = _occluder_poses(spec, model.vertices, T_centered, camera)
            bar = scene.add_box(half, T_bar[0])
        for i in range(spec.n_frames):
            scene.move(obj, T_mesh[i])
            if bar is not None:
                scene.move(bar, T_bar[i])
            rendered, z, seg = scene.render()
            true_mask = seg == obj
            area = silhouette_area(model.vertices, model.faces, T_centered[i], camera)
            fraction.append(min(1.0, true_mask.sum() / area) if area > 0 else 0.0)
            colour = camera_colour(rendered, response, i / spec.fps, rng)
            frames.append(RGBDFrame(colour, camera_depth(z, rendered, true_mask, rng), camera, stamp_s=i / spec.fps))
            seen = int(true_mask.sum()) >= MIN_VISIBLE_PIXELS
            visible.append(seen)
            true_masks.append(true_mask)
            masks.append(imperfect_mask(true_mask, rng) if seen else None)
    return IndependentSequence(spec=spec, model=model, camera=camera, frames=frames, masks=masks,
                               T_cam_obj_gt=T_mesh, visible=np.array(visible), true_masks=true_masks,
                               visible_fraction=np.array(fraction))


def load_or_render_independent(spec: IndependentSpec, cache_dir: Path | str | None = None) -> IndependentSequence:
    """:func:`render_independent`, cached as ``cache_dir/<name>-<key>.npz`` (see ``write_cached``)."""
    if cache_dir is None:
        return render_independent(spec)
    path = Path(cache_dir) / f"{spec.name}-{spec.key()}.npz"
    if path.is_file():
        base, data = read_cached(path, spec)
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(SyntheticSequence)}
        return IndependentSequence(**fields, visible_fraction=data["visible_fraction"],
                                   true_masks=[unpack_mask(m, spec.height, spec.width) for m in data["true_masks"]])
    seq = render_independent(spec)
    write_cached(path, seq, true_masks=np.stack([np.packbits(m) for m in seq.true_masks]),
                 visible_fraction=seq.visible_fraction)
    return seq
