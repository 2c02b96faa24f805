"""Load any motion file as joints, and save motions as .npy, JSON and BVH (formats: docs/FORMATS.md).

    from motiongpt.io.export import load_motion, save_joints_npy, save_features_npy, save_motion_json, save_bvh
    joints = load_motion("clip.bvh")            # (T, 22, 3) metres, Y up, 20 fps (retargeted to SMPL-22)
    joints = load_motion("motion_features.npy")  # (T, 263) HumanML3D features -> (T, 22, 3)
    save_motion_json("motion.json", joints, caption="a person waves")

Every save is atomic (a crash never leaves half a file) and checks the array shape first.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from motiongpt.io.limits import LimitError, MotionLimits, current_limits
from motiongpt.motion.constants import FPS
from motiongpt.motion.skeleton import KIT21, SMPL22, Skeleton
from motiongpt.utils import atomic_save_npy, atomic_write_json

T = TypeVar("T")
JSON_FORMAT = "motiongpt-joints"
JSON_VERSION = 1
FEATURE_DIMS = {263: SMPL22, 251: KIT21}  # HumanML3D and KIT-ML feature sizes -> skeleton
JOINT_COUNTS = {SMPL22.num_joints: SMPL22, KIT21.num_joints: KIT21}
MOTION_SUFFIXES = (".bvh", ".npy", ".json")
MAX_ABS_VALUE = 1e5  # no coordinate (metres; KIT-ML millimetres) or feature value is larger in a real motion
MIN_BODY_SIZE = 0.05  # metres: summed bone lengths of one frame below this are no body
UNIT_PER_METRE = {SMPL22.name: 1.0, KIT21.name: 1000.0}  # KIT-ML joints are in millimetres


class MotionFileError(ValueError):
    """A motion file that cannot be read: the message names the file and what is wrong with it."""


def check_joints(joints: np.ndarray, what: str = "joints") -> Skeleton:
    """Validate a (T, J, 3) joint array (J = 22 SMPL or 21 KIT): finite, plausible, not degenerate."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[-1] != 3 or joints.shape[1] not in JOINT_COUNTS:
        raise MotionFileError(f"{what}: expected shape (T, 22, 3) or (T, 21, 3), got {joints.shape}")
    _check_values(joints, what)
    skeleton = JOINT_COUNTS[joints.shape[1]]
    _check_not_degenerate(joints, skeleton, what)
    return skeleton


def check_features(features: np.ndarray, what: str = "features") -> Skeleton:
    """Validate a (T, D) feature array (D = 263 HumanML3D or 251 KIT-ML); returns its skeleton."""
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] not in FEATURE_DIMS:
        raise MotionFileError(f"{what}: expected shape (T, 263) or (T, 251), got {features.shape}")
    _check_values(features, what)
    return FEATURE_DIMS[features.shape[1]]


def _check_values(array: np.ndarray, what: str) -> None:
    """At least one frame, real floating-point values, all finite and within MAX_ABS_VALUE."""
    if array.shape[0] == 0:
        raise MotionFileError(f"{what}: no frames")
    _check_dtype(array.dtype, what)
    with np.errstate(all="ignore"):
        if not np.isfinite(array).all():
            raise MotionFileError(f"{what}: contains NaN or infinite values")
        largest = float(np.abs(array).max())
    if largest > MAX_ABS_VALUE:
        raise MotionFileError(f"{what}: a value of {largest:.3g} is beyond the plausible {MAX_ABS_VALUE:g} "
                              "(metres / feature units)")


def _check_dtype(dtype: np.dtype, what: str) -> None:
    """Floating-point dtypes only: complex, integer, boolean, object and structured arrays are refused."""
    if dtype.kind == "f":
        return
    kinds = {"c": "complex numbers", "i": "integers", "u": "unsigned integers", "b": "booleans",
             "O": "Python objects"}
    raise MotionFileError(f"{what}: dtype {dtype} holds {kinds.get(dtype.kind, 'non-numeric values')}; "
                          "expected floating-point values (float32 or float64)")


def _check_not_degenerate(joints: np.ndarray, skeleton: Skeleton, what: str) -> None:
    """Every frame's bones must add up to at least MIN_BODY_SIZE (an all-zero pose is no body)."""
    parents = np.asarray(skeleton.parents)
    bones = joints[:, 1:].astype(np.float64) - joints[:, parents[1:]]
    size = np.sqrt((bones ** 2).sum(-1)).sum(-1)  # (T,) total bone length
    if size.min() < MIN_BODY_SIZE * UNIT_PER_METRE[skeleton.name]:
        frame = int(np.argmin(size))
        raise MotionFileError(f"{what}: frame {frame} is degenerate (all joints within "
                              f"{size[frame]:.2g} of each other; an all-zero array?)")


def save_joints_npy(path: str | Path, joints: np.ndarray) -> Path:
    """Save joints (T, J, 3) metres as float32 .npy."""
    check_joints(joints, str(path))
    atomic_save_npy(path, np.asarray(joints, dtype=np.float32))
    return Path(path)


def save_features_npy(path: str | Path, features: np.ndarray) -> Path:
    """Save raw (not normalised) features (T, 263) or (T, 251) as float32 .npy."""
    check_features(features, str(path))
    atomic_save_npy(path, np.asarray(features, dtype=np.float32))
    return Path(path)


def motion_to_json(joints: np.ndarray, fps: int = FPS, caption: str | None = None, decimals: int = 4) -> dict:
    """The JSON document for web viewers: skeleton, units, axes and frames as nested lists (T, J, 3)."""
    skeleton = check_joints(joints)
    frames = np.round(np.asarray(joints, dtype=np.float64), decimals)
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "skeleton": skeleton.name,
        "fps": fps,
        "units": "metres",
        "up_axis": "+Y",
        "forward_axis": "+Z at frame 0",
        "left_axis": "+X",
        "caption": caption,
        "num_frames": int(frames.shape[0]),
        "joint_names": list(skeleton.joint_names),
        "parents": [int(p) for p in skeleton.parents],
        "frames": frames.tolist(),
    }


def save_motion_json(path: str | Path, joints: np.ndarray, fps: int = FPS, caption: str | None = None) -> Path:
    """Save joints (T, J, 3) as JSON (see `motion_to_json`), coordinates rounded to 0.1 mm."""
    atomic_write_json(path, motion_to_json(joints, fps, caption))
    return Path(path)


def save_bvh(path: str | Path, joints: np.ndarray, fps: int = FPS) -> Path:
    """Save SMPL-22 joints (T, 22, 3) as BVH (fitted skeleton and rotations; opens in Blender)."""
    if check_joints(joints, str(path)) is not SMPL22:
        raise MotionFileError(f"{path}: BVH export needs SMPL-22 joints (T, 22, 3), got {np.shape(joints)}")
    from motiongpt.io.bvh import write_bvh

    write_bvh(path, np.asarray(joints, dtype=np.float64), fps=fps)
    return Path(path)


def features_to_joints_np(features: np.ndarray, what: str = "features") -> np.ndarray:
    """Raw features (T, D) -> joints (T, J, 3) through the exact inverse in motion.features (checked)."""
    from motiongpt.motion.features import features_to_joints

    with np.errstate(all="ignore"):
        joints = np.asarray(features_to_joints(np.asarray(features, dtype=np.float32)), dtype=np.float32)
    check_joints(joints, f"{what} (decoded to joints)")
    return joints


def _drop_batch_axis(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(1, T, J, 3) joints or (1, T, D) features saved with a batch axis -> the shape without it."""
    if shape[:1] == (1,) and (len(shape) == 4 or (len(shape) == 3 and shape[-1] != 3)):
        return shape[1:]
    return shape


def read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an .npy header without reading the data; MotionFileError for non-.npy files."""
    with open(path, "rb") as f:
        head = f.read(4)
        if not head:
            raise MotionFileError(f"{path}: empty file, not a .npy array")
        if head.startswith(b"PK"):
            raise MotionFileError(f"{path}: a zip archive (an .npz renamed .npy?), not a .npy array")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
        except (ValueError, EOFError) as e:
            raise MotionFileError(f"{path}: not a readable .npy array ({e})") from None
    return tuple(shape), dtype


def _load_npy(path: Path) -> np.ndarray:
    """A joints (T, J, 3) or features (T, D) .npy -> joints; header checked (dtype, shape, limits) first."""
    shape, dtype = read_npy_header(path)
    _check_dtype(dtype, f"{path}: array")
    shape = _drop_batch_axis(shape)
    if len(shape) == 3 and shape[1:] in ((22, 3), (21, 3)):
        kind = "joints"
    elif len(shape) == 2 and shape[1] in FEATURE_DIMS:
        kind = "features"
    else:
        raise MotionFileError(f"{path}: expected joints (T, 22, 3) / (T, 21, 3) or features (T, 263) / (T, 251), "
                              f"got shape {shape}")
    _within_limits(lambda limits: limits.check_length(shape[0], FPS, f"{path}: {kind}"))
    try:
        array = np.load(path, allow_pickle=False).reshape(shape)
    except (ValueError, OSError, EOFError) as e:
        raise MotionFileError(f"{path}: not a readable .npy array ({e})") from None
    if kind == "joints":
        check_joints(array, f"{path}: joints")
        return array.astype(np.float32)
    check_features(array, f"{path}: features")
    return features_to_joints_np(array, f"{path}: features")


def _within_limits(check: Callable[[MotionLimits], T]) -> T:
    """Run a check against the limits in force (its result back); LimitError becomes MotionFileError."""
    try:
        return check(current_limits())
    except LimitError as e:
        raise MotionFileError(str(e)) from None


def _read_json(path: Path) -> object:
    """Parsed JSON (one-line MotionFileError for bad encoding, syntax or absurd nesting)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MotionFileError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise MotionFileError(f"{path}: JSON nested too deeply") from None


def _json_frames(frames: list, path: Path) -> np.ndarray:
    """Field 'frames' -> a float32 (T, J, 3) array, refusing non-numbers (booleans, strings) and ragged lists."""
    where = f"{path}: field 'frames'"
    try:
        array = np.asarray(frames)
    except (TypeError, ValueError):
        raise MotionFileError(f"{where}: not a (T, J, 3) list of numbers (ragged or mixed lists)") from None
    if array.dtype.kind not in "fi" or array.ndim != 3:
        raise MotionFileError(f"{where}: expected a (T, J, 3) list of numbers, got shape {array.shape} "
                              f"of {array.dtype.kind!r}-kind values")
    return array.astype(np.float32)


def _load_json(path: Path) -> np.ndarray:
    """A file written by `save_motion_json` -> joints (T, J, 3) at 20 fps (fps and length checked first)."""
    doc = _read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or "frames" not in doc:
        raise MotionFileError(f"{path}: not a {JSON_FORMAT} JSON file (needs 'format' and 'frames')")
    frames = doc["frames"]
    if not isinstance(frames, list):
        raise MotionFileError(f"{path}: field 'frames': expected a list of frames, got {type(frames).__name__}")
    fps = _within_limits(lambda limits: limits.check_rate(doc.get("fps", FPS), f"{path}: field 'fps'"))
    _within_limits(lambda limits: limits.check_length(len(frames), fps, f"{path}: field 'frames'"))
    joints = _json_frames(frames, path)
    check_joints(joints, f"{path}: field 'frames'")
    if fps != FPS:
        from motiongpt.io.retarget import resample

        joints = np.asarray(resample(joints, fps, FPS), dtype=np.float32)
    return joints


def _load_bvh(path: Path) -> np.ndarray:
    """A BVH file (CMU, Bandai or our own export) -> SMPL-22 joints at 20 fps."""
    from motiongpt.io.retarget import bvh_to_smpl22

    try:
        joints = bvh_to_smpl22(path, fps=FPS)
    except ValueError as e:  # BVHError and unknown skeletons
        message = str(e)
        raise MotionFileError(message if str(path) in message else f"{path}: {message}") from e
    return np.asarray(joints, dtype=np.float32)


def load_motion(path: str | Path) -> np.ndarray:
    """Any motion file -> joints (T, J, 3) metres, Y up, 20 fps (J = 22; 21 for KIT-ML features/joints).

    Accepts .bvh (retargeted to SMPL-22), joints .npy (T, 22, 3), features .npy (T, 263) or (T, 251), and
    the JSON written by `save_motion_json`. Raises MotionFileError naming the file and the problem; size,
    length and frame rate are checked against `motiongpt.io.limits.current_limits()` before any allocation.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFileError(f"{path}: no such file")
    if not path.is_file():
        raise MotionFileError(f"{path}: not a file")
    _within_limits(lambda limits: limits.check_file_size(path))
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _load_npy(path)
    if suffix == ".json":
        return _load_json(path)
    if suffix == ".bvh":
        return _load_bvh(path)
    raise MotionFileError(f"{path}: unsupported motion file type {suffix or '(none)'}; use .bvh, .npy or .json")
