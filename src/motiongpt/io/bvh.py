"""BVH motion files: a reader for any hierarchy, vectorised forward kinematics, and an SMPL-22 writer.

Reading: `read_bvh(path) -> BVHMotion`. Any hierarchy is accepted: each joint may carry any mix of position
and rotation channels (3 or 6 in practice, in any order, so any Euler order per joint), End Sites are kept as
leaf sites so that forward kinematics can give their positions, and any frame time. Bad files raise
`BVHError` (a `ValueError`) whose message names the file and the line.

Conventions (those of the BVH format, MotionBuilder and Blender):
- the rotation of a joint is the product of its elementary rotations in channel order, applied to column
  vectors, e.g. `Zrotation Xrotation Yrotation` -> `R = Rz @ Rx @ Ry` (intrinsic Z, X', Y''), in degrees;
- a joint's local translation is its OFFSET; position channels, where a joint has them, replace the OFFSET
  components they name (Bandai's files repeat each OFFSET in every frame's position channels);
- global: `R_j = R_parent @ L_j`, `p_j = p_parent + R_parent @ t_j`.

Writing: `write_bvh(path, joints (T,22,3) metres, fps=20)` builds an SMPL-22 skeleton whose bone lengths are
the motion's median bone lengths, solves per-frame local rotations by inverse kinematics
(`motiongpt.motion.ik`; rotation maths in `motiongpt.motion.rotation`) and writes Euler angles made continuous
over time (by default each joint's order has its rest bone axis in the middle,
away from gimbal lock). Its rest pose is a T-pose facing +Z (Y up, the SMPL
left on +X) except for the children of the two branching joints (pelvis: hips + spine1; spine3: neck +
collars), whose rest offsets are the median of the child vectors in the joint's own frame so that those rigid
groups are fitted exactly (Kabsch/SVD). Single-child joints swing their bone onto the target with the
smallest rotation from the parent's frame (no twist, continuous). The IK walks the tree from the root using
the already reconstructed parent positions, so errors do not accumulate: with constant bone lengths (real
mocap, HumanML3D joints) the file's forward kinematics reproduces the joints within 1 mm. With non-rigid input
(generated motion whose bone lengths vary) each joint lands on the ray towards its target at the median bone
length; pass `exact_positions=True` to also write three position channels for every joint (the per-frame
local translation) so that forward kinematics is exact.

Run `python -m motiongpt.io.bvh FILE.bvh` to print a summary of a file.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from motiongpt.io.limits import LimitError, current_limits
from motiongpt.motion.constants import FPS
from motiongpt.motion.ik import rest_offsets, solve_ik
from motiongpt.motion.quaternion import normalize
from motiongpt.motion.rotation import AXIS, euler_to_matrix, forward_kinematics, make_continuous, matrix_to_euler, slerp
from motiongpt.motion.skeleton import SMPL22, check_joints
from motiongpt.utils import atomic_path

__all__ = ["BVHError", "BVHMotion", "read_bvh", "parse_bvh", "write_bvh", "resample_local", "resample_indices", "main"]

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_FRAME_CHUNK = 2048  # frame lines converted at a time


class BVHError(ValueError):
    """A malformed BVH file; the message names the file and the line."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line


@dataclass
class BVHMotion:
    """A parsed BVH file.

    Joints are in file (depth-first) order, so every parent precedes its children. End Sites are stored
    apart as leaf sites (`end_site_parents`, `end_site_offsets`).
    """

    joint_names: list[str]
    parents: np.ndarray  # (J,) int, -1 for the root
    offsets: np.ndarray  # (J, 3) float64, OFFSET of each joint in its parent's frame (file units)
    channels: list[tuple[str, ...]]  # per joint, channel names in file order
    frame_time: float  # seconds per frame
    motion: np.ndarray  # (T, C) float64 channel values, C = sum of channel counts, joints in order
    end_site_parents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (E,)
    end_site_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (E, 3)
    source: str = "<bvh>"

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def end_site_names(self) -> list[str]:
        """`<parent>_end` for each End Site."""
        return [f"{self.joint_names[p]}_end" for p in self.end_site_parents]

    def channel_slices(self) -> list[slice]:
        """Column range of each joint's channels in `motion`."""
        starts = np.concatenate([[0], np.cumsum([len(c) for c in self.channels])])
        return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]

    def joint_index(self, name: str) -> int:
        """Index of a joint by name (KeyError listing the joints otherwise)."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"{self.source} has no joint {name!r}; joints: {', '.join(self.joint_names)}") from None

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local rotations (T, J, 3, 3) and translations (T, J, 3) in file units."""
        T, J = self.num_frames, self.num_joints
        rotations = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
        translations = np.broadcast_to(self.offsets, (T, J, 3)).copy()
        for j, (names, cols) in enumerate(zip(self.channels, self.channel_slices())):
            values = self.motion[:, cols]  # (T, n_j)
            rot_axes = "".join(n[0] for n in names if n in ROTATION_CHANNELS)
            if rot_axes:
                angles = values[:, [k for k, n in enumerate(names) if n in ROTATION_CHANNELS]]
                rotations[:, j] = euler_to_matrix(angles, rot_axes)
            for k, n in enumerate(names):
                if n in POSITION_CHANNELS:
                    translations[:, j, AXIS[n[0]]] = values[:, k]
        return rotations, translations

    def global_transforms(self, fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: global rotations (T, J, 3, 3) and positions (T, J, 3), vectorised over frames.

        fps: resample the local transforms to this rate first (`resample_local`: slerp on rotations, lerp on
        translations), so that bones stay rigid, unlike interpolating positions.
        """
        local_r, local_t = self.local_transforms()
        if fps is not None:
            local_r, local_t = resample_local(local_r, local_t, self.fps, fps)
        return forward_kinematics(self.parents, local_r, local_t)

    def global_positions(self, include_end_sites: bool = False, fps: float | None = None) -> np.ndarray:
        """Global joint positions (T, J, 3) in file units; with End Sites appended: (T, J + E, 3).

        fps: resample to this frame rate through the local transforms (see `global_transforms`).
        """
        global_r, global_p = self.global_transforms(fps)
        if not include_end_sites or len(self.end_site_parents) == 0:
            return global_p
        parent_r = global_r[:, self.end_site_parents]  # (T, E, 3, 3)
        ends = global_p[:, self.end_site_parents] + np.einsum("teab,eb->tea", parent_r, self.end_site_offsets)
        return np.concatenate([global_p, ends], axis=1)


def resample_indices(num_frames: int, src_fps: float, dst_fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear-resampling grid: source indices lo, hi (T',) and weights w (T',) of hi.

    Output frame k is at time k / dst_fps; T' = floor((T - 1) dst / src) + 1 (no frame past the input's end).
    """
    if not (src_fps > 0 and dst_fps > 0):
        raise ValueError(f"frame rates must be positive, got src_fps={src_fps}, dst_fps={dst_fps}")
    if num_frames < 1:
        raise ValueError(f"resampling needs at least one frame, got {num_frames}")
    n_out = int(np.floor((num_frames - 1) * dst_fps / src_fps + 1e-6)) + 1
    pos = np.minimum(np.arange(n_out) * (src_fps / dst_fps), num_frames - 1)  # fractional source index
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, num_frames - 1)
    return lo, hi, pos - lo


def resample_local(local_r: np.ndarray, local_t: np.ndarray, src_fps: float, dst_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample local rotations (T, J, 3, 3) by slerp and translations (T, J, 3) linearly -> (T', J, ...)."""
    from scipy.spatial.transform import Rotation

    T, J = local_t.shape[:2]
    lo, hi, w = resample_indices(T, src_fps, dst_fps)
    q = Rotation.from_matrix(local_r.reshape(-1, 3, 3)).as_quat().reshape(T, J, 4)
    flips = np.sign(np.sum(q[1:] * q[:-1], axis=-1))  # (T-1, J): keep consecutive quaternions in one hemisphere
    flips[flips == 0] = 1.0
    q = q * np.concatenate([np.ones((1, J)), np.cumprod(flips, axis=0)])[..., None]
    w_j = np.broadcast_to(w[:, None], (len(w), J))
    rotations = Rotation.from_quat(slerp(q[lo], q[hi], w_j).reshape(-1, 4)).as_matrix().reshape(len(w), J, 3, 3)
    translations = (1.0 - w)[:, None, None] * local_t[lo] + w[:, None, None] * local_t[hi]
    return rotations, translations


# ----------------------------------------------------------------------------------------------- reading


class _Tokens:
    """Whitespace tokens of the hierarchy with their 1-based line numbers."""

    def __init__(self, lines: Sequence[str], source: str) -> None:
        self.items = [(tok, n + 1) for n, line in enumerate(lines) for tok in line.split()]
        self.pos = 0
        self.source = source
        self.last_line = len(lines)

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def line(self) -> int:
        return self.items[self.pos][1] if self.pos < len(self.items) else self.last_line

    def next(self, what: str) -> str:
        if self.pos >= len(self.items):
            raise BVHError(self.source, self.last_line, f"unexpected end of file, expected {what} (truncated file?)")
        tok = self.items[self.pos][0]
        self.pos += 1
        return tok

    def expect(self, word: str) -> None:
        line = self.line()
        tok = self.next(repr(word))
        if tok != word:
            raise BVHError(self.source, line, f"expected {word!r}, found {tok!r}")

    def number(self, what: str) -> float:
        line = self.line()
        tok = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise BVHError(self.source, line, f"expected a number for {what}, found {tok!r}") from None
        if not np.isfinite(value):
            raise BVHError(self.source, line, f"{what} is not finite: {tok!r}")
        return value


@dataclass
class _Hierarchy:
    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[list[float]] = field(default_factory=list)
    channels: list[tuple[str, ...]] = field(default_factory=list)
    end_parents: list[int] = field(default_factory=list)
    end_offsets: list[list[float]] = field(default_factory=list)


def _parse_offset(tokens: _Tokens, name: str) -> list[float]:
    tokens.expect("OFFSET")
    return [tokens.number(f"OFFSET of {name!r}") for _ in range(3)]


def _parse_channels(tokens: _Tokens, name: str) -> tuple[str, ...]:
    line = tokens.line()
    tokens.expect("CHANNELS")
    count_tok = tokens.next(f"channel count of {name!r}")
    if not count_tok.isdigit():
        raise BVHError(tokens.source, line, f"channel count of joint {name!r} is not an integer: {count_tok!r}")
    count = int(count_tok)
    names: list[str] = []
    while tokens.peek() in POSITION_CHANNELS + ROTATION_CHANNELS:
        names.append(tokens.next("channel name"))
    if len(names) != count:
        found = tokens.peek()
        raise BVHError(
            tokens.source, line,
            f"joint {name!r} declares {count} channels but lists {len(names)} valid names {names}"
            + (f" (next token {found!r})" if found is not None else ""),
        )
    if len(set(names)) != len(names):
        raise BVHError(tokens.source, line, f"joint {name!r} repeats a channel: {names}")
    if count == 0:
        raise BVHError(tokens.source, line, f"joint {name!r} has no channels")
    return tuple(names)


def _parse_joint(tokens: _Tokens, h: _Hierarchy, parent: int) -> None:
    """Parse `<name> { OFFSET CHANNELS (JOINT ... | End Site {...})* }` after ROOT/JOINT."""
    name_line = tokens.line()
    name = tokens.next("joint name")
    if name == "{":
        raise BVHError(tokens.source, name_line, "joint without a name")
    if name in h.names:
        raise BVHError(tokens.source, name_line, f"duplicate joint name {name!r}")
    index = len(h.names)
    h.names.append(name)
    h.parents.append(parent)
    tokens.expect("{")
    h.offsets.append(_parse_offset(tokens, name))
    h.channels.append(_parse_channels(tokens, name))
    while True:
        line = tokens.line()
        tok = tokens.next(f"'}}' closing joint {name!r}")
        if tok == "}":
            return
        if tok == "JOINT":
            _parse_joint(tokens, h, index)
        elif tok == "End":
            tokens.expect("Site")
            tokens.expect("{")
            h.end_parents.append(index)
            h.end_offsets.append(_parse_offset(tokens, f"{name} End Site"))
            tokens.expect("}")
        else:
            raise BVHError(tokens.source, line, f"unexpected {tok!r} in joint {name!r} (expected JOINT, End Site or '}}')")


def _find_motion_line(lines: Sequence[str]) -> int | None:
    """0-based index of the MOTION line, None when absent."""
    for n, line in enumerate(lines):
        if line.strip() == "MOTION":
            return n
    return None


def _header_value(lines: Sequence[str], n: int, key: str, source: str) -> str:
    """The value of `key` (e.g. 'Frames:') on line index n."""
    if n >= len(lines):
        raise BVHError(source, len(lines), f"unexpected end of file, expected {key!r}")
    line = lines[n].strip()
    if not line.startswith(key):
        raise BVHError(source, n + 1, f"expected {key!r}, found {line[:40]!r}")
    return line[len(key):].strip()


def _parse_frames(lines: Sequence[str], first: int, num_frames: int, num_channels: int, source: str) -> np.ndarray:
    """Parse `num_frames` lines of `num_channels` numbers starting at line index `first` -> (T, C).

    Lines are counted before any is split, and converted in chunks into one preallocated array, so memory
    stays near the size of the result whatever the file holds.
    """
    rows = [n for n in range(first, len(lines)) if lines[n].strip()]
    if len(rows) < num_frames:
        raise BVHError(source, len(lines), f"file declares {num_frames} frames but holds {len(rows)} (truncated file?)")
    if len(rows) > num_frames:
        raise BVHError(source, rows[num_frames] + 1, f"more frame lines than the {num_frames} declared")
    data = np.empty((num_frames, num_channels), dtype=np.float64)
    for start in range(0, num_frames, _FRAME_CHUNK):
        chunk = rows[start:start + _FRAME_CHUNK]
        data[start:start + len(chunk)] = _parse_rows(lines, chunk, num_channels, source)
    if not np.isfinite(data).all():
        bad = int(np.argwhere(~np.isfinite(data))[0, 0])
        raise BVHError(source, rows[bad] + 1, "non-finite value in frame data")
    return data


def _parse_rows(lines: Sequence[str], rows: Sequence[int], num_channels: int, source: str) -> np.ndarray:
    """Frame lines `rows` (indices into `lines`) -> (len(rows), C); errors name the line."""
    values = [lines[n].split() for n in rows]
    for n, row in zip(rows, values):
        if len(row) != num_channels:
            raise BVHError(source, n + 1, f"frame line has {len(row)} values, the hierarchy has {num_channels} channels")
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        for n, row in zip(rows, values):
            for v in row:
                try:
                    float(v)
                except ValueError:
                    raise BVHError(source, n + 1, f"non-numeric value {v!r} in frame data") from None
        raise


def _check_limits(num_frames: int, frame_time: float, num_joints: int, source: str, motion_at: int) -> None:
    """Frame rate, duration and size against `current_limits()`, before any frame is parsed."""
    limits = current_limits()
    try:
        fps = limits.check_rate(1.0 / frame_time, "Frame Time")
        limits.check_length(num_frames, fps, "Frames")
        limits.check_joint_frames(num_frames, num_joints, "Frames")
    except LimitError as err:
        raise BVHError(source, motion_at + 2, str(err)) from None


def parse_bvh(text: str, source: str = "<bvh>") -> BVHMotion:
    """Parse BVH text; `source` names the file in error messages."""
    lines = text.splitlines()
    motion_at = _find_motion_line(lines)
    tokens = _Tokens(lines[:motion_at], source)  # a truncated hierarchy is reported before a missing MOTION
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    h = _Hierarchy()
    _parse_joint(tokens, h, -1)
    if tokens.peek() is not None:
        raise BVHError(source, tokens.line(), f"unexpected {tokens.peek()!r} after the root joint (one ROOT is supported)")
    if motion_at is None:
        raise BVHError(source, len(lines), "no MOTION section after the hierarchy")
    frames_txt = _header_value(lines, motion_at + 1, "Frames:", source)
    if not frames_txt.isdigit():
        raise BVHError(source, motion_at + 2, f"frame count is not a non-negative integer: {frames_txt!r}")
    num_frames = int(frames_txt)
    if num_frames == 0:
        raise BVHError(source, motion_at + 2, "empty motion (Frames: 0)")
    time_txt = _header_value(lines, motion_at + 2, "Frame Time:", source)
    try:
        frame_time = float(time_txt)
    except ValueError:
        raise BVHError(source, motion_at + 3, f"frame time is not a number: {time_txt!r}") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BVHError(source, motion_at + 3, f"frame time must be positive, got {time_txt!r}")
    _check_limits(num_frames, frame_time, len(h.names) + len(h.end_parents), source, motion_at)
    num_channels = sum(len(c) for c in h.channels)
    motion = _parse_frames(lines, motion_at + 3, num_frames, num_channels, source)
    return BVHMotion(
        joint_names=h.names,
        parents=np.array(h.parents, dtype=np.int64),
        offsets=np.array(h.offsets, dtype=np.float64).reshape(-1, 3),
        channels=h.channels,
        frame_time=frame_time,
        motion=motion,
        end_site_parents=np.array(h.end_parents, dtype=np.int64),
        end_site_offsets=np.array(h.end_offsets, dtype=np.float64).reshape(-1, 3),
        source=source,
    )


def read_bvh(path: str | os.PathLike) -> BVHMotion:
    """Read a BVH file (BVHError naming the file and line when malformed)."""
    path = Path(path)
    try:
        current_limits().check_file_size(path)
        text = path.read_text(encoding="utf-8", errors="replace")
    except LimitError as exc:
        raise BVHError(str(path), None, str(exc).removeprefix(f"{path}: ")) from None
    except OSError as exc:
        raise BVHError(str(path), None, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_bvh(text, source=str(path))


# ----------------------------------------------------------------------------------------------- writing

def _depth_first_order() -> list[int]:
    """SMPL-22 joint indices in the order a BVH hierarchy lists them (depth first, children by index)."""
    parents, order, stack = SMPL22.parents, [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(int(c) for c in np.flatnonzero(parents == j)[::-1])
    return order


_MIDDLE_AXIS_ORDER = {"X": "ZXY", "Y": "ZYX", "Z": "YZX"}


def _auto_orders(offsets: np.ndarray) -> list[str]:
    """Per-joint Euler order whose middle axis is the joint's rest bone axis (its children's dominant axis).

    Swings then keep the middle angle small, away from gimbal lock (a knee bent 90 deg about X under a
    ZXY order would sit exactly on it). The root uses 'YXZ' (heading first, any value).
    """
    parents = SMPL22.parents
    orders = []
    for j in range(len(parents)):
        children = np.flatnonzero(parents == j)
        if j == 0 or len(children) == 0:
            orders.append("YXZ" if j == 0 else "ZYX")
            continue
        weight = np.abs(normalize(offsets[children])).sum(axis=0)  # (3,)
        orders.append(_MIDDLE_AXIS_ORDER["XYZ"[int(np.argmax(weight))]])
    return orders


def _joint_orders(euler_order: str, offsets: np.ndarray) -> list[str]:
    """Validate `euler_order` ('auto' or a permutation of XYZ) -> one order per SMPL-22 joint."""
    if euler_order.lower() == "auto":
        return _auto_orders(offsets)
    order = euler_order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"euler_order must be 'auto' or a permutation of 'XYZ' (e.g. 'ZXY'), got {euler_order!r}")
    return [order] * SMPL22.num_joints


def _hierarchy_text(offsets: np.ndarray, orders: list[str], exact_positions: bool, end_length: float) -> list[str]:
    """HIERARCHY lines for SMPL-22 with rest `offsets` (cm) and per-joint rotation channel `orders`."""
    parents, names = SMPL22.parents, SMPL22.joint_names
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        head = "ROOT" if j == 0 else "JOINT"
        with_pos = j == 0 or exact_positions
        rot = " ".join(f"{a}rotation" for a in orders[j])
        channels = f"6 Xposition Yposition Zposition {rot}" if with_pos else f"3 {rot}"
        lines.extend([f"{pad}{head} {names[j]}", f"{pad}{{", f"{pad}\tOFFSET {_fmt(offsets[j])}",
                      f"{pad}\tCHANNELS {channels}"])
        children = np.flatnonzero(parents == j)
        for c in children:
            emit(int(c), depth + 1)
        if len(children) == 0:
            tip = normalize(offsets[j]) * end_length if np.linalg.norm(offsets[j]) > 0 else np.array([0, end_length, 0])
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_fmt(tip)}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in np.asarray(values, dtype=np.float64).ravel())


def write_bvh(
    path: str | os.PathLike,
    joints: np.ndarray,
    fps: float = FPS,
    euler_order: str = "auto",
    exact_positions: bool = False,
    scale: float = 100.0,
) -> Path:
    """Write SMPL-22 joints (T, 22, 3) in metres, Y up, as a BVH file (atomically); returns the path.

    euler_order: 'auto' (default): per joint, the order whose middle axis is the bone's rest axis (ZYX for
        the legs, spine and neck, ZXY for the collars and arms, YZX for the ankles, YXZ for the root), which
        keeps away from gimbal lock; or one order for all joints, any permutation of 'XYZ' (e.g. 'ZXY').
    exact_positions: also write position channels for every joint so that FK is exact for non-rigid input.
    scale: file units per metre (100: centimetres).
    """
    joints = check_joints(joints, SMPL22, "write_bvh")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    offsets = rest_offsets(joints)  # (22, 3) metres
    orders = _joint_orders(euler_order, offsets)
    rot, _ = solve_ik(joints, offsets)
    parents = SMPL22.parents
    local = rot.copy()
    local[:, 1:] = np.swapaxes(rot[:, parents[1:]], -1, -2) @ rot[:, 1:]  # (T, 22, 3, 3)
    angles = np.stack([matrix_to_euler(local[:, j], orders[j]) for j in range(SMPL22.num_joints)], axis=1)
    angles = make_continuous(angles)  # (T, 22, 3)
    columns = []
    for j in _depth_first_order():  # the column order of the hierarchy written below
        if j == 0 or exact_positions:
            if j == 0:
                translation = joints[:, 0]
            else:  # parent-frame vector to the exact target
                translation = np.einsum("tba,tb->ta", rot[:, parents[j]], joints[:, j] - joints[:, parents[j]])
            columns.append(translation * scale)
        columns.append(angles[:, j])
    data = np.concatenate(columns, axis=1)  # (T, C)
    root_offsets = offsets.copy()
    root_offsets[0] = 0.0
    lines = _hierarchy_text(root_offsets * scale, orders, exact_positions, end_length=0.05 * scale)
    lines += ["MOTION", f"Frames: {len(data)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in data]
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Print a summary of BVH files: joints, channels, frames, fps, extent."""
    parser = argparse.ArgumentParser(prog="python -m motiongpt.io.bvh", description="Summarise BVH files.")
    parser.add_argument("files", nargs="+", type=Path, help="BVH files to read")
    args = parser.parse_args(argv)
    status = 0
    for f in args.files:
        try:
            m = read_bvh(f)
        except BVHError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        pos = m.global_positions()
        extent = pos.max(axis=(0, 1)) - pos.min(axis=(0, 1))
        print(f"{f}: {m.num_joints} joints, {len(m.end_site_parents)} end sites, {m.motion.shape[1]} channels, "
              f"{m.num_frames} frames at {m.fps:.2f} fps, extent {np.round(extent, 2).tolist()} (file units)")
    return status


if __name__ == "__main__":
    sys.exit(main())
