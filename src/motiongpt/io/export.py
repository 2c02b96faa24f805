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

import numpy as np

from motiongpt.motion.skeleton import KIT21, SMPL22, Skeleton
from motiongpt.utils import atomic_save_npy, atomic_write_json

FPS = 20
JSON_FORMAT = "motiongpt-joints"
JSON_VERSION = 1
FEATURE_DIMS = {263: SMPL22, 251: KIT21}  # HumanML3D and KIT-ML feature sizes -> skeleton
JOINT_COUNTS = {SMPL22.num_joints: SMPL22, KIT21.num_joints: KIT21}
MOTION_SUFFIXES = (".bvh", ".npy", ".json")


class MotionFileError(ValueError):
    """A motion file that cannot be read: the message names the file and what is wrong with it."""


def check_joints(joints: np.ndarray, what: str = "joints") -> Skeleton:
    """Validate a (T, J, 3) joint array (J = 22 SMPL or 21 KIT); returns its skeleton."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[-1] != 3 or joints.shape[1] not in JOINT_COUNTS:
        raise MotionFileError(f"{what}: expected shape (T, 22, 3) or (T, 21, 3), got {joints.shape}")
    _check_values(joints, what)
    return JOINT_COUNTS[joints.shape[1]]


def check_features(features: np.ndarray, what: str = "features") -> Skeleton:
    """Validate a (T, D) feature array (D = 263 HumanML3D or 251 KIT-ML); returns its skeleton."""
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] not in FEATURE_DIMS:
        raise MotionFileError(f"{what}: expected shape (T, 263) or (T, 251), got {features.shape}")
    _check_values(features, what)
    return FEATURE_DIMS[features.shape[1]]


def _check_values(array: np.ndarray, what: str) -> None:
    """At least one frame, all values finite."""
    if array.shape[0] == 0:
        raise MotionFileError(f"{what}: no frames")
    if not np.isfinite(array).all():
        raise MotionFileError(f"{what}: contains NaN or infinite values")


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


def features_to_joints_np(features: np.ndarray) -> np.ndarray:
    """Raw features (T, D) -> joints (T, J, 3) through the exact inverse in motion.features."""
    from motiongpt.motion.features import features_to_joints

    return np.asarray(features_to_joints(np.asarray(features, dtype=np.float32)), dtype=np.float32)


def _has_batch_axis(array: np.ndarray) -> bool:
    """True for (1, T, J, 3) joints or (1, T, D) features saved with a batch axis."""
    if array.shape[:1] != (1,):
        return False
    return array.ndim == 4 or (array.ndim == 3 and array.shape[-1] != 3)


def _load_npy(path: Path) -> np.ndarray:
    """A joints (T, J, 3) or features (T, D) .npy -> joints; a leading batch axis of size 1 is dropped."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise MotionFileError(f"{path}: not a readable .npy array ({e})") from None
    if _has_batch_axis(array):
        array = array[0]
    if not np.issubdtype(array.dtype, np.number):
        raise MotionFileError(f"{path}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 3:
        check_joints(array, str(path))
        return array.astype(np.float32)
    if array.ndim == 2:
        check_features(array, str(path))
        return features_to_joints_np(array)
    raise MotionFileError(
        f"{path}: expected joints (T, 22, 3) / (T, 21, 3) or features (T, 263) / (T, 251), got shape {array.shape}"
    )


def _load_json(path: Path) -> np.ndarray:
    """A file written by `save_motion_json` -> joints (T, J, 3)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MotionFileError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or "frames" not in doc:
        raise MotionFileError(f"{path}: not a {JSON_FORMAT} JSON file (needs 'format' and 'frames')")
    try:
        joints = np.asarray(doc["frames"], dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise MotionFileError(f"{path}: field 'frames' is not a (T, J, 3) list of numbers ({e})") from None
    check_joints(joints, f"{path}: field 'frames'")
    fps = doc.get("fps", FPS)
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
    the JSON written by `save_motion_json`. Raises MotionFileError naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFileError(f"{path}: no such file")
    if not path.is_file():
        raise MotionFileError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _load_npy(path)
    if suffix == ".json":
        return _load_json(path)
    if suffix == ".bvh":
        return _load_bvh(path)
    raise MotionFileError(f"{path}: unsupported motion file type {suffix or '(none)'}; use .bvh, .npy or .json")
