"""Root trajectory of HumanML3D features: where the body stands and faces, offsets between frames, a smooth
correction that makes a generated gap arrive where a given end clip starts, and the splicing of given clips
into a generated motion.

The features store the root as velocities (yaw change and local xz steps), so positions come from integrating
them (`features.features_to_joints` does the same). Conventions: x/z in metres on the floor, yaw in radians,
yaw 0 = facing +Z, positive yaw = turned to the left (towards +X)::

    track = root_track(features)                        # (T, 3): x, z, yaw per frame
    off = root_offset(track, a, b)                      # RootOffset(ahead, left, turn) of frame b seen from a
    place(track[a], off)                                # == track[b] (x, z, yaw)
    fixed = blend_root_to_target(features, a, b, off)   # root velocities of frames a..b adjusted smoothly
    spliced = splice_clips(generated, start, end)       # the given clips exactly, seams faded into the gap
    off.rounded()                                       # 0.1 m / 15 degree steps, as the LM prompt shows it
    seam_jump(joints, s)                                # joint velocity jump (m/s) across the seam before frame s
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from motiongpt.motion.features import FeatureLayout, _root_rotation_position, layout_for_dim
from motiongpt.motion.quaternion import qinv, qrot
from motiongpt.motion.skeleton import SMPL22, Skeleton

METRE_STEP = 0.1  # rounding of offsets shown to the LM
DEGREE_STEP = 15.0


@dataclass(frozen=True)
class RootOffset:
    """Where frame b stands seen from frame a: metres ahead / to the left of a's facing, turn in degrees (left +)."""

    ahead: float
    left: float
    turn: float

    def rounded(self) -> "RootOffset":
        """Offsets to 0.1 m and the turn to 15 degrees (in (-180, 180])."""
        turn = DEGREE_STEP * round(self.turn / DEGREE_STEP)
        turn = turn - 360.0 if turn > 180.0 else turn + 360.0 if turn <= -180.0 else turn
        return RootOffset(_step(self.ahead, METRE_STEP), _step(self.left, METRE_STEP), 0.0 + turn)


def _step(value: float, step: float) -> float:
    return 0.0 + round(round(value / step) * step, 6)


def wrap_angle(angle: np.ndarray | float) -> np.ndarray | float:
    """Angles (radians) wrapped into [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def root_track(features: np.ndarray, layout: FeatureLayout | None = None) -> np.ndarray:
    """(T, 3) float64 [x, z, yaw] of the root, integrated from features (T, D) like `features_to_joints`."""
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    layout = layout or layout_for_dim(x.shape[-1])
    r_rot, root = _root_rotation_position(x.double(), layout)  # (T, 4), (T, 3)
    fwd = qrot(qinv(r_rot), root.new_tensor([0.0, 0.0, 1.0]).expand_as(root))  # world facing (T, 3)
    yaw = torch.atan2(fwd[:, 0], fwd[:, 2])
    return torch.stack([root[:, 0], root[:, 2], yaw], dim=-1).numpy()


def _axes(yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """(forward, left) unit xz vectors of a facing yaw."""
    return np.array([math.sin(yaw), math.cos(yaw)]), np.array([math.cos(yaw), -math.sin(yaw)])


def root_offset(track: np.ndarray, a: int, b: int) -> RootOffset:
    """Offset of track frame b relative to frame a (positions in a's heading frame)."""
    forward, left = _axes(float(track[a, 2]))
    d = track[b, :2] - track[a, :2]
    turn = math.degrees(float(wrap_angle(track[b, 2] - track[a, 2])))
    return RootOffset(float(d @ forward), float(d @ left), turn)


def place(pose: np.ndarray, offset: RootOffset) -> np.ndarray:
    """Root pose (3,) [x, z, yaw] reached by moving `offset` from root pose `pose` (inverse of `root_offset`)."""
    forward, left = _axes(float(pose[2]))
    xz = pose[:2] + offset.ahead * forward + offset.left * left
    return np.array([xz[0], xz[1], float(wrap_angle(pose[2] + math.radians(offset.turn)))])


def joints_facing(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Yaw (...,) of joints (..., J, 3): y x ((r_hip - l_hip) + (r_shoulder - l_shoulder)), same convention."""
    r_hip, l_hip, r_sdr, l_sdr = skeleton.face_joints
    across = joints[..., r_hip, :] - joints[..., l_hip, :] + joints[..., r_sdr, :] - joints[..., l_sdr, :]
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    return np.arctan2(forward[..., 0], forward[..., 2])


def joints_offset(start: np.ndarray, end: np.ndarray, skeleton: Skeleton = SMPL22) -> RootOffset:
    """Offset of the first frame of `end` from the last frame of `start` (joints (T, J, 3), one world frame)."""
    pair = np.stack([start[-1], end[0]])  # (2, J, 3)
    track = np.concatenate([pair[:, 0][:, [0, 2]], joints_facing(pair, skeleton)[:, None]], axis=1)
    return root_offset(track, 0, 1)


def ramp_weights(steps: int) -> np.ndarray:
    """(steps,) increments of the smoothstep 3u^2 - 2u^3 over `steps` equal steps: sum 1, ~0 at both ends."""
    u = np.linspace(0.0, 1.0, steps + 1)
    return np.diff(3 * u ** 2 - 2 * u ** 3)


def blend_root_to_target(features: np.ndarray, a: int, b: int, target: RootOffset,
                         layout: FeatureLayout | None = None) -> np.ndarray:
    """Features whose root arrives at frame b with `target` offset from frame a.

    The heading residual is added to the yaw velocity and the position residual to the root steps of frames
    a..b with smoothstep increments, so position and velocity stay continuous at both seams; frames before a
    are untouched and frames after b move rigidly with b. `local_vel` gets the same root steps.
    """
    layout = layout or layout_for_dim(features.shape[-1])
    out = np.array(features, dtype=np.float32, copy=True)
    if not 0 <= a < b < len(out):
        return out
    w = ramp_weights(b - a)
    track = root_track(out, layout)
    d_turn = float(wrap_angle(math.radians(target.turn) - (track[b, 2] - track[a, 2])))
    out[a:b, layout.root_rot_vel.start] -= 0.5 * d_turn * w  # the feature is minus half the yaw change
    track = root_track(out, layout)
    forward, left = _axes(float(track[a, 2]))
    goal = track[a, :2] + target.ahead * forward + target.left * left
    steps = (goal - track[b, :2])[None] * w[:, None]  # (b-a, 2) world xz added to steps a->a+1 .. b-1->b
    yaw_next = track[a + 1:b + 1, 2]  # root_lin_vel[t] is the step t->t+1 in the frame of t+1
    out[a:b, layout.root_lin_vel] += _to_local(steps, yaw_next)
    vel = layout.local_vel  # joint steps t->t+1 in the frame of t, (x, y, z) per joint
    local = _to_local(steps, track[a:b, 2])
    out[a:b, vel.start:vel.stop:3] += local[:, :1]
    out[a:b, vel.start + 2:vel.stop:3] += local[:, 1:]
    return out


def _to_local(world_xz: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """World xz vectors (N, 2) expressed in the heading frames of `yaw` (N,): x = left-ish axis, z = forward."""
    c, s = np.cos(yaw), np.sin(yaw)
    x, z = world_xz[:, 0], world_xz[:, 1]
    return np.stack([c * x - s * z, s * x + c * z], axis=-1).astype(np.float32)


STEP_GROUPS = ("root_rot_vel", "root_lin_vel", "local_vel", "foot_contact")
"""Feature groups whose row t describes the step t -> t+1 (the others are the pose of frame t)."""


def fade_weights(frames: int) -> np.ndarray:
    """(frames, 2) cubic Hermite weights at k = 1..frames after a seam (u = k / frames): column 0 (2u^3 - 3u^2 + 1)
    multiplies a difference of values, column 1 (frames * (u^3 - 2u^2 + u)) a difference of per-frame slopes, so
    the faded offset leaves the seam with both and reaches 0 with zero slope after `frames` frames."""
    u = np.arange(1, frames + 1)[:, None] / max(frames, 1)
    return np.concatenate([2 * u ** 3 - 3 * u ** 2 + 1, frames * (u ** 3 - 2 * u ** 2 + u)], axis=1)


def splice_clips(features: np.ndarray, start: np.ndarray | None = None, end: np.ndarray | None = None,
                 fade: int = 8, layout: FeatureLayout | None = None) -> np.ndarray:
    """Features (T, D) whose first len(start) and last len(end) frames are the given clips, exactly.

    A generated motion (e.g. a decoding of given + generated tokens) keeps its frames between the clips. At each
    seam the generated frames get an offset that starts at the clip's boundary row minus the generated row there,
    with the difference of their slopes (so the clip's last velocity carries on), and fades to 0 over `fade`
    frames (`fade_weights`): position and velocity stay continuous. The start clip's step rows (`STEP_GROUPS`)
    are taken up to its second-to-last frame only: its last row's step points past the clip, to a frame that is
    not given. The root keeps the generated steps, so the end clip stands where the gap leads
    (`blend_root_to_target` moves it to a known offset).
    """
    layout = layout or layout_for_dim(features.shape[-1])
    generated = np.asarray(features, dtype=np.float32)
    out = generated.copy()
    g = 0 if start is None else len(start)
    e = len(out) if end is None else len(out) - len(end)
    if not 0 <= g <= e <= len(out):
        raise ValueError(f"splice_clips: clips of {g} and {len(out) - e} frames do not fit in {len(out)} frames")
    step = np.zeros(layout.dim, dtype=bool)
    for name in STEP_GROUPS:
        step[layout.slice(name)] = True
    span = min(fade, e - g + 1)
    if g:
        start = np.asarray(start, dtype=np.float32)
        _fade_in_clip(out, generated, start, ~step, g - 1, span, +1)
        if g >= 2:
            _fade_in_clip(out, generated, start[:-1], step, g - 2, span, +1)
    if e < len(out):
        _fade_in_clip(out, generated, np.asarray(end, dtype=np.float32), np.ones(layout.dim, bool), e, span, -1)
    return out


def _fade_in_clip(out: np.ndarray, generated: np.ndarray, clip: np.ndarray, cols: np.ndarray, seam: int,
                  span: int, direction: int) -> None:
    """Write `clip`'s `cols` onto `out` so that its row nearest the gap lands on row `seam` (direction +1: the clip
    ends there, -1: it starts there) and add the faded seam offset to the next `span` rows into the gap."""
    rows = np.arange(seam - len(clip) + 1, seam + 1) if direction > 0 else np.arange(seam, seam + len(clip))
    edge, inner = (clip[-1], clip[-2:-1]) if direction > 0 else (clip[0], clip[1:2])
    out[np.ix_(rows, cols)] = clip[:, cols]
    value = edge[cols] - generated[seam, cols]
    slope = np.zeros_like(value)
    if len(inner) and 0 <= seam + direction < len(out):
        slope = (edge - inner[0])[cols] - (generated[seam + direction] - generated[seam])[cols]
    gap = seam + direction * np.arange(1, span + 1)
    inside = (gap >= 0) & (gap < len(out))
    weights = fade_weights(span)[inside]
    out[np.ix_(gap[inside], cols)] += weights[:, :1] * value[None] + weights[:, 1:] * slope[None]


def seam_jump(joints: np.ndarray, seam: int, fps: float = 20.0) -> float:
    """Joint velocity jump (m/s) at a seam between frames seam-1 and seam: per joint the larger change of velocity
    into and out of the step across the seam (v_before = x[s-1] - x[s-2], v_cross = x[s] - x[s-1],
    v_after = x[s+1] - x[s]), averaged over joints, times fps. A position jump d counts |d|, a kink |v2 - v1|."""
    if seam < 2 or seam + 1 >= len(joints):
        raise ValueError(f"seam_jump: seam {seam} needs two frames before and one after in {len(joints)} frames")
    before, cross, after = (joints[seam + k] - joints[seam + k - 1] for k in (-1, 0, 1))  # (J, 3) each
    jump = np.maximum(np.linalg.norm(cross - before, axis=-1), np.linalg.norm(after - cross, axis=-1))
    return float(jump.mean() * fps)
