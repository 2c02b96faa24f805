"""Retarget BVH mocap (CMU, Bandai-Namco) to SMPL-22 joint positions: metres, Y up, 20 fps.

`bvh_to_smpl22(path_or_motion, fps=20.0) -> (T, 22, 3) float32` reads a BVH file (or takes a `BVHMotion`),
detects its skeleton by joint names, runs forward kinematics, places each SMPL-22 joint (order and names of
`motiongpt.motion.skeleton.SMPL22`) on the source skeleton, converts to metres and resamples to `fps` by
interpolation: slerp of the BVH joint rotations before forward kinematics, so that bones stay rigid
(`resample` is the plain linear version for joint arrays). Both sources are Y up and right-handed with the subject's left on +X when
facing +Z, as SMPL; the HumanML3D pipeline (`joints_to_features`) later normalises proportions, floor,
origin and facing, so only anatomy, units and axes matter here.

Joint mapping (`lerp(a, b, t) = a + t (b - a)`; `X_end` is the End Site of joint X; left side shown, the
right side mirrors it):

| SMPL-22        | CMU (31 joints, 120 fps, 1/0.45 inch)   | Bandai (22 joints, 30 fps, cm)          |
|----------------|-----------------------------------------|-----------------------------------------|
| pelvis         | Hips                                    | Hips                                    |
| left_hip       | LeftHip                                 | UpperLeg_L                              |
| left_knee      | LeftKnee                                | LowerLeg_L                              |
| left_ankle     | LeftAnkle                               | Foot_L                                  |
| left_foot      | LeftToe (ball of the foot)              | Toes_L                                  |
| spine1         | Chest (top of the lower back)           | Spine                                   |
| spine2         | Chest2                                  | Chest                                   |
| spine3         | lerp(Chest2, Neck, 0.3)                 | lerp(Chest, Neck, 0.3)                  |
| neck           | Neck                                    | Neck                                    |
| head           | lerp(Head, Head_end, 0.5) (mid-skull)   | Head (its End Site has zero length)     |
| left_collar    | lerp(LeftCollar, LeftShoulder, 0.35)    | Shoulder_L (inner end of the clavicle)  |
| left_shoulder  | LeftShoulder                            | UpperArm_L                              |
| left_elbow     | LeftElbow                               | LowerArm_L                              |
| left_wrist     | LeftWrist                               | Hand_L                                  |

On CMU the SMPL pelvis group is not rigid (CMU's lower back rotates between the hips and `Chest` = spine1),
so a rigid `write_bvh` of CMU-derived joints is off by 1-2 mm on average and up to 2-4 cm in deep bends;
`write_bvh(..., exact_positions=True)` is exact there.

Files written by `motiongpt.io.bvh.write_bvh` (SMPL-22 joint names, centimetres) are read back as they are
(rig `smpl22`).

Synthesised joints sit on one source bone each (spine3 on the bone towards the neck, the CMU collar on the
clavicle) so that they move rigidly with it: SMPL bone lengths stay constant and `write_bvh` round-trips the
result within 1 mm. CMU's unit (1/0.45 inch = 0.05644 m) gives a hip-to-ankle length of 0.80 m for subject
131, i.e. a stature of about 1.6 m by the usual leg/stature ratio (0.49); the file's own vertical extent is
shorter (about 1.4 m) because its hierarchy has no thorax segment and the head End Site stops short of the
crown.

Run `python -m motiongpt.io.retarget IN.bvh OUT.npy [--fps 20]` to convert one file.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from motiongpt.io.bvh import BVHError, BVHMotion, read_bvh, resample_indices
from motiongpt.motion.constants import FPS
from motiongpt.motion.skeleton import SMPL22
from motiongpt.utils import atomic_save_npy

__all__ = ["SourceRig", "RIGS", "CMU_RIG", "BANDAI_RIG", "SMPL22_RIG", "detect_rig", "bvh_to_smpl22", "resample", "main"]

Recipe = Union[str, tuple[str, str, float]]  # a source joint/End Site name, or lerp(a, b, t)


@dataclass(frozen=True)
class SourceRig:
    """A known source skeleton: how to place every SMPL-22 joint on it, and its unit."""

    name: str
    metres_per_unit: float
    recipes: dict[str, Recipe]  # SMPL-22 joint name -> source name or (a, b, t) meaning lerp(a, b, t)

    def source_names(self) -> list[str]:
        """Every source joint / End Site name the recipes use (in first-use order)."""
        names: list[str] = []
        for recipe in self.recipes.values():
            for n in ((recipe,) if isinstance(recipe, str) else recipe[:2]):
                if n not in names:
                    names.append(n)
        return names


def _sided(table: dict[str, Recipe], left: str, right: str, side_of: dict[str, str]) -> dict[str, Recipe]:
    """Expand `{smpl 'left_x': recipe with '{S}'}` into left and right entries using `side_of`'s spellings."""
    out = {}
    for smpl, recipe in table.items():
        for side, tag in (("left", left), ("right", right)):
            fill = lambda n: n.format(S=side_of[tag]) if isinstance(n, str) else n  # noqa: E731
            out[f"{side}_{smpl}"] = fill(recipe) if isinstance(recipe, str) else (fill(recipe[0]), fill(recipe[1]), recipe[2])
    return out


def _ordered(recipes: dict[str, Recipe]) -> dict[str, Recipe]:
    """The recipes in SMPL22 order (every SMPL-22 joint exactly once)."""
    mismatch = set(SMPL22.joint_names) ^ set(recipes)
    if mismatch:
        raise RuntimeError(f"recipe table does not match SMPL22: {sorted(mismatch)}")
    return {n: recipes[n] for n in SMPL22.joint_names}


CMU_RIG = SourceRig(
    name="cmu",
    metres_per_unit=0.0254 / 0.45,
    recipes=_ordered({
        "pelvis": "Hips", "spine1": "Chest", "spine2": "Chest2", "spine3": ("Chest2", "Neck", 0.3), "neck": "Neck",
        "head": ("Head", "Head_end", 0.5),
        **_sided({"hip": "{S}Hip", "knee": "{S}Knee", "ankle": "{S}Ankle", "foot": "{S}Toe",
                  "collar": ("{S}Collar", "{S}Shoulder", 0.35), "shoulder": "{S}Shoulder", "elbow": "{S}Elbow",
                  "wrist": "{S}Wrist"}, "L", "R", {"L": "Left", "R": "Right"}),
    }),
)

BANDAI_RIG = SourceRig(
    name="bandai",
    metres_per_unit=0.01,
    recipes=_ordered({
        "pelvis": "Hips", "spine1": "Spine", "spine2": "Chest", "spine3": ("Chest", "Neck", 0.3), "neck": "Neck",
        "head": "Head",
        **_sided({"hip": "UpperLeg_{S}", "knee": "LowerLeg_{S}", "ankle": "Foot_{S}", "foot": "Toes_{S}",
                  "collar": "Shoulder_{S}", "shoulder": "UpperArm_{S}", "elbow": "LowerArm_{S}", "wrist": "Hand_{S}"},
                 "L", "R", {"L": "L", "R": "R"}),
    }),
)

SMPL22_RIG = SourceRig(  # files written by `write_bvh` (SMPL-22 names, centimetres)
    name="smpl22",
    metres_per_unit=0.01,
    recipes=_ordered({n: n for n in SMPL22.joint_names}),
)

RIGS: tuple[SourceRig, ...] = (CMU_RIG, BANDAI_RIG, SMPL22_RIG)


def detect_rig(motion: BVHMotion) -> SourceRig:
    """The known rig whose joint names all occur in `motion` (BVHError listing what was expected otherwise)."""
    available = set(motion.joint_names) | set(motion.end_site_names)
    reports = []
    for rig in RIGS:
        missing = [n for n in rig.source_names() if n not in available]
        if not missing:
            return rig
        reports.append(f"{rig.name} needs {', '.join(rig.source_names())} (missing: {', '.join(missing)})")
    raise BVHError(motion.source, None, "unknown skeleton; expected one of: " + "; ".join(reports)
                   + f". The file has joints: {', '.join(motion.joint_names)}")


def resample(joints: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linearly resample frames (T, ...) from src_fps to dst_fps -> (T', ...), T' = floor((T-1) dst/src) + 1.

    Output frame k is at time k / dst_fps. Linear interpolation of positions slightly shortens fast-turning
    bones; `bvh_to_smpl22` therefore resamples BVH rotations (slerp) before forward kinematics instead.
    """
    joints = np.asarray(joints)
    if joints.ndim == 0:
        raise ValueError("resample needs an array of frames (T, ...), got a scalar")
    if np.isclose(src_fps, dst_fps, rtol=1e-6, atol=0) and src_fps > 0:
        return joints.copy()
    lo, hi, w = resample_indices(joints.shape[0], src_fps, dst_fps)
    w = w.reshape((-1,) + (1,) * (joints.ndim - 1))
    return ((1.0 - w) * joints[lo] + w * joints[hi]).astype(joints.dtype, copy=False)


def _source_positions(motion: BVHMotion, fps: float) -> dict[str, np.ndarray]:
    """Name -> (T', 3) global position at `fps` for every joint and End Site (file units)."""
    resample_to = None if np.isclose(motion.fps, fps, rtol=1e-6, atol=0) else fps
    positions = motion.global_positions(include_end_sites=True, fps=resample_to)  # (T', J + E, 3)
    names = motion.joint_names + motion.end_site_names
    return {n: positions[:, i] for i, n in enumerate(names)}


def _place(recipe: Recipe, src: dict[str, np.ndarray]) -> np.ndarray:
    """(T, 3) position of one recipe."""
    if isinstance(recipe, str):
        return src[recipe]
    a, b, t = recipe
    return src[a] + t * (src[b] - src[a])


def bvh_to_smpl22(path_or_motion: "str | os.PathLike | BVHMotion", fps: float = FPS) -> np.ndarray:
    """A CMU, Bandai or SMPL-22 (`write_bvh`) BVH file (or parsed motion) -> SMPL-22 joints (T, 22, 3) float32, metres, Y up, at `fps`."""
    motion = path_or_motion if isinstance(path_or_motion, BVHMotion) else read_bvh(path_or_motion)
    rig = detect_rig(motion)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    src = _source_positions(motion, fps)
    joints = np.stack([_place(rig.recipes[n], src) for n in SMPL22.joint_names], axis=1)  # (T', 22, 3)
    return (joints * rig.metres_per_unit).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    """Convert one CMU/Bandai BVH file to an SMPL-22 joints .npy (T, 22, 3) in metres."""
    parser = argparse.ArgumentParser(prog="python -m motiongpt.io.retarget",
                                     description="Retarget a CMU, Bandai or SMPL-22 BVH file to SMPL-22 joint positions.")
    parser.add_argument("bvh", type=Path, help="input BVH file (CMU 31-joint or Bandai 22-joint skeleton)")
    parser.add_argument("out", type=Path, help="output .npy, (T, 22, 3) float32 metres, Y up")
    parser.add_argument("--fps", type=float, default=float(FPS), help="output frame rate (default %(default)s, HumanML3D)")
    args = parser.parse_args(argv)
    try:
        joints = bvh_to_smpl22(args.bvh, fps=args.fps)
    except BVHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    atomic_save_npy(args.out, joints)
    print(f"{args.bvh} -> {args.out}: {joints.shape[0]} frames at {args.fps:g} fps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
