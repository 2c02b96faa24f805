"""HumanML3D motion features: joints (T, J, 3) <-> redundant features (T-1, D), and their named layout.

Re-implements `process_file` / `recover_from_ric` of HumanML3D (Guo et al. 2022, `motion_representation`)
including its quirks, so that features computed here match the released `new_joint_vecs`:

1. *Uniform skeleton*: every bone keeps its direction but gets the reference skeleton's length; the root
   trajectory is scaled by the ratio of leg lengths (`skeleton.leg_joints`, bones hip->knee and knee->ankle).
   HumanML3D does this by IK then FK; with unit raw offsets that is exactly "parent + direction x length".
2. *Placement*: floor at the lowest joint of the whole clip, root xz of frame 0 at the origin, frame 0 facing
   +Z (facing = y x ((r_hip - l_hip) + (r_shoulder - l_shoulder))).
3. *Foot contacts* (T-1, 4) = [left ankle, left toe, right ankle, right toe]: squared displacement to the next
   frame below the threshold (0.002 m^2 for HumanML3D; 0.05 for KIT-ML, whose joints are in millimetres).
4. *IK with smoothed facing*: the root rotation r_rot (T, 4) turns the facing direction, Gaussian-smoothed
   over time (sigma 20 frames, 'nearest' edges), onto +Z. Quirks kept (both verified on the released data):
   HumanML3D's IK unpacks the face joints as (l_hip, r_hip, ...) so its facing uses
   (l_hip - r_hip) + (r_shoulder - l_shoulder); and r_rot[0] is the identity (frame 0 already faces +Z).
   Joint rotations are the swing of each bone from its raw offset, relative to the previous bone of its
   kinematic chain (the first bone of every chain, the arms included, is relative to the root rotation).
5. Features, concatenated in this order (`FeatureLayout`):
   root_rot_vel (1)    arcsin of the y part of r_rot[t+1] * r_rot[t]^-1: *half* the yaw change per frame;
   root_lin_vel (2)    xz of root displacement t -> t+1 rotated by r_rot[t+1] (the next frame's rotation);
   root_y (1)          root height;
   ric ((J-1)*3)       joints minus the root's xz, rotated by r_rot[t] (y stays absolute height);
   rot6d ((J-1)*6)     6-D rotation of every joint but the root;
   local_vel (J*3)     joint displacement t -> t+1 rotated by r_rot[t];
   foot_contact (4).
   Every group is taken on frames 0..T-2, so T input frames give T-1 feature frames.

`features_to_joints` integrates the root rotation (from r_rot[0] = identity) and the root xz, then
un-rotates `ric`: it returns `canonical_joints(joints)[:-1]`. HumanML3D stores exactly that as `new_joints`
(= recover_from_ric(new_joint_vecs)), so `new_joints` and `new_joint_vecs` both have T-1 frames, frame for
frame. Re-extracting features from `new_joints` matches `new_joint_vecs` except near the end, where the
smoothed facing misses the original's last frame; appending that frame (recoverable from the last row's
`local_vel`) reproduces every group to about 1e-6.

KIT-ML (21 joints, 251 dims) uses the same code with KIT's indices (`KIT21`), threshold 0.05 and millimetres
(the original does not rescale KIT; it only multiplies by 0.003 for plotting). No KIT reference skeleton is
shipped, so KIT needs `reference=` (frame 0 of KIT clip 03950 in the original) or `retarget=False`.

Usage:
    feats = joints_to_features(joints)          # (T, 22, 3) metres, Y up -> (T-1, 263) float32
    joints = features_to_joints(feats)          # (T-1, 263) -> (T-1, 22, 3); torch (B, T, 263) works too
    HUMANML3D_LAYOUT.get(feats, "ric")          # (T-1, 21, 3)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, overload

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from motiongpt.motion.quaternion import qbetween, qinv, qmul, qrot, quat_to_cont6d, yrot_quat
from motiongpt.motion.skeleton import KIT21, SKELETONS, SMPL22, Skeleton, check_joints

Array = TypeVar("Array", np.ndarray, torch.Tensor)

GROUPS = ("root_rot_vel", "root_lin_vel", "root_y", "ric", "rot6d", "local_vel", "foot_contact")
"""Feature groups in their order along the feature axis."""

FEET_THRESHOLD = {SMPL22.name: 0.002, KIT21.name: 0.05}
"""Foot-contact threshold on the squared per-frame displacement (HumanML3D: metres^2, KIT-ML: mm^2)."""

FACING_SIGMA = 20.0
"""Gaussian sigma (frames) smoothing the facing direction before the root rotation is taken."""

HUMANML3D_REFERENCE = np.array([
    (-0.032778795808553696, 0.9845883250236511, 0.8220340013504028),
    (-0.05078006535768509, 0.899807870388031, 0.7662444710731506),
    (-0.029623907059431076, 0.8932549357414246, 0.8830472230911255),
    (-0.0827392190694809, 1.1062910556793213, 0.823647677898407),
    (-0.04644011706113815, 0.5086480975151062, 0.7224903702735901),
    (-0.05053192377090454, 0.5060234069824219, 0.9261917471885681),
    (-0.056224189698696136, 1.2467718124389648, 0.8155515193939209),
    (-0.12119458615779877, 0.08446693420410156, 0.7609673738479614),
    (-0.10520601272583008, 0.08556050062179565, 0.8888561725616455),
    (-0.05220288038253784, 1.3039767742156982, 0.8170124292373657),
    (-0.00019541755318641663, 0.028704404830932617, 0.7079759836196899),
    (0.029135722666978836, 0.027199983596801758, 0.9183927178382874),
    (-0.06975682079792023, 1.522566318511963, 0.8224256634712219),
    (-0.07016853988170624, 1.4177966117858887, 0.742013156414032),
    (-0.058984074741601944, 1.4234843254089355, 0.8959465622901917),
    (-0.0015960969030857086, 1.5913610458374023, 0.7872335910797119),
    (-0.10370944440364838, 1.4016003608703613, 0.615779459476471),
    (-0.055603042244911194, 1.4214637279510498, 1.01886785030365),
    (-0.13465546071529388, 1.1467429399490356, 0.608241081237793),
    (-0.09778346121311188, 1.1646476984024048, 1.0573854446411133),
    (-0.05406394973397255, 0.8948581218719482, 0.5795830488204956),
    (-0.009182747453451157, 0.9147475957870483, 1.1077156066894531),
])
"""(22, 3) the SMPL joints of HumanML3D's example frame (first 22 rows of `skeleton_example_h3d.npy`, clip
000021 frame 0); its bone lengths define the uniform skeleton every HumanML3D motion is retargeted to."""


class GroupSlice:
    """A read-only attribute of `FeatureLayout` named after a feature group: the slice of that group."""

    def __set_name__(self, owner: type, name: str) -> None:
        if name not in GROUPS:
            raise TypeError(f"{owner.__name__}.{name}: not a feature group ({', '.join(GROUPS)})")
        self.name = name

    @overload
    def __get__(self, layout: None, owner: type) -> GroupSlice: ...

    @overload
    def __get__(self, layout: FeatureLayout, owner: type | None = None) -> slice: ...

    def __get__(self, layout: FeatureLayout | None, owner: type | None = None) -> slice | GroupSlice:
        """The group's slice on an instance; the descriptor itself on the class (like `property`)."""
        return self if layout is None else layout.slice(self.name)


@dataclass(frozen=True)
class FeatureLayout:
    """Named slices of the redundant feature vector of a `num_joints` skeleton (see module docstring)."""

    num_joints: int
    skeleton_name: str

    @property
    def skeleton(self) -> Skeleton:
        return SKELETONS[self.skeleton_name]

    @property
    def group_sizes(self) -> dict[str, int]:
        """Width of every group, in feature order."""
        j = self.num_joints
        widths = (1, 2, 1, (j - 1) * 3, (j - 1) * 6, j * 3, 4)
        return dict(zip(GROUPS, widths))

    @property
    def group_shapes(self) -> dict[str, tuple[int, ...]]:
        """Trailing shape of every group as returned by `get`."""
        j = self.num_joints
        shapes = ((1,), (2,), (1,), (j - 1, 3), (j - 1, 6), (j, 3), (4,))
        return dict(zip(GROUPS, shapes))

    @property
    def dim(self) -> int:
        return sum(self.group_sizes.values())

    def slice(self, name: str) -> slice:
        """Slice of group `name` along the feature axis."""
        start = 0
        for group, width in self.group_sizes.items():
            if group == name:
                return slice(start, start + width)
            start += width
        raise KeyError(f"unknown feature group {name!r}; groups: {', '.join(GROUPS)}")

    # the slice of each group by name: `layout.ric` is `layout.slice("ric")`
    root_rot_vel = GroupSlice()
    root_lin_vel = GroupSlice()
    root_y = GroupSlice()
    ric = GroupSlice()
    rot6d = GroupSlice()
    local_vel = GroupSlice()
    foot_contact = GroupSlice()

    def check(self, x: np.ndarray | torch.Tensor, what: str = "features") -> None:
        """Raise ValueError unless x has shape (..., dim)."""
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{what}: expected shape (..., {self.dim}) for {self.skeleton_name} features, got {tuple(x.shape)}"
            )

    def get(self, x: Array, name: str) -> Array:
        """Group `name` of features x (..., dim), reshaped to (..., *group_shapes[name]) (a view if possible)."""
        self.check(x)
        return x[..., self.slice(name)].reshape(tuple(x.shape[:-1]) + self.group_shapes[name])

    def assemble(self, groups: dict[str, Array]) -> Array:
        """Concatenate groups (each (..., *group_shapes[name])) into features (..., dim)."""
        missing = [g for g in GROUPS if g not in groups]
        if missing or len(groups) != len(GROUPS):
            raise KeyError(f"assemble needs exactly the groups {GROUPS}; missing {missing}")
        parts = []
        for name in GROUPS:
            part, shape = groups[name], self.group_shapes[name]
            lead = tuple(part.shape[: part.ndim - len(shape)])
            if tuple(part.shape[len(lead):]) != shape:
                raise ValueError(f"group {name!r}: expected trailing shape {shape}, got {tuple(part.shape)}")
            parts.append(part.reshape(lead + (self.group_sizes[name],)))
        if isinstance(parts[0], torch.Tensor):
            return torch.cat(parts, dim=-1)
        return np.concatenate(parts, axis=-1)


HUMANML3D_LAYOUT = FeatureLayout(num_joints=SMPL22.num_joints, skeleton_name=SMPL22.name)
KIT_LAYOUT = FeatureLayout(num_joints=KIT21.num_joints, skeleton_name=KIT21.name)
_LAYOUTS = {layout.dim: layout for layout in (HUMANML3D_LAYOUT, KIT_LAYOUT)}


def layout_for_dim(dim: int) -> FeatureLayout:
    """The layout of D-dimensional features (263 HumanML3D, 251 KIT-ML); ValueError otherwise."""
    try:
        return _LAYOUTS[int(dim)]
    except KeyError:
        known = ", ".join(f"{d} ({l.skeleton_name}, {l.num_joints} joints)" for d, l in _LAYOUTS.items())
        raise ValueError(f"unknown feature dimension {dim}; known: {known}") from None


def layout_for_skeleton(skeleton: Skeleton) -> FeatureLayout:
    """The layout of features computed on `skeleton`."""
    for layout in _LAYOUTS.values():
        if layout.skeleton_name == skeleton.name:
            return layout
    raise ValueError(f"no feature layout for skeleton {skeleton.name!r}")


# ----------------------------------------------------------------------------------------------------------
# joints -> features


def bone_lengths(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Length of the bone ending at every joint, (..., J, 3) -> (..., J) (0 for the root)."""
    parents = skeleton.parents.copy()
    parents[0] = 0
    return np.linalg.norm(joints - joints[..., parents, :], axis=-1)


def uniform_skeleton(joints: np.ndarray, skeleton: Skeleton, reference: np.ndarray) -> np.ndarray:
    """Retarget joints (T, J, 3) to the bone lengths of `reference` (J, 3), keeping every bone's direction.

    The root trajectory is scaled by reference leg length / source leg length (source: frame 0).
    """
    target = bone_lengths(np.asarray(reference, dtype=np.float64), skeleton)  # (J,)
    source = bone_lengths(joints[0], skeleton)  # (J,)
    legs = list(skeleton.leg_joints)
    scale = target[legs].sum() / source[legs].sum()
    out = np.zeros_like(joints)
    out[:, 0] = joints[:, 0] * scale
    for chain in skeleton.kinematic_chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[:, child] - joints[:, parent]  # (T, 3)
            direction = bone / np.linalg.norm(bone, axis=-1, keepdims=True)
            out[:, child] = out[:, parent] + direction * target[child]
    return out


def _across(joints: np.ndarray, skeleton: Skeleton, hip_sign: float) -> np.ndarray:
    """Unit right-to-left-ish body axis (..., 3): hip_sign*(r_hip - l_hip) + (r_shoulder - l_shoulder)."""
    r_hip, l_hip, r_sdr, l_sdr = skeleton.face_joints
    across = hip_sign * (joints[..., r_hip, :] - joints[..., l_hip, :]) + joints[..., r_sdr, :] - joints[..., l_sdr, :]
    return across / np.linalg.norm(across, axis=-1, keepdims=True)


def _forward(across: np.ndarray) -> np.ndarray:
    """Horizontal facing direction y x across, (..., 3) (not normalised: length of across's xz part)."""
    return np.cross(np.array([0.0, 1.0, 0.0]), across)


def place_joints(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Put joints (T, J, 3) on the floor, frame 0's root xz at the origin and frame 0 facing +Z."""
    floor = joints[..., 1].min()
    origin = joints[0, 0] * np.array([1.0, 0.0, 1.0])
    placed = joints - origin - np.array([0.0, floor, 0.0])
    forward = _forward(_across(joints[0], skeleton, hip_sign=1.0))
    root_quat = qbetween(forward / np.linalg.norm(forward), np.array([0.0, 0.0, 1.0]))  # (4,)
    return qrot(np.broadcast_to(root_quat, placed.shape[:-1] + (4,)), placed)


def canonical_joints(
    joints: np.ndarray, skeleton: Skeleton = SMPL22, *, retarget: bool = True, reference: np.ndarray | None = None
) -> np.ndarray:
    """Joints (T, J, 3) as `joints_to_features` sees them: retargeted (optional) then placed (float64)."""
    positions = check_joints(joints, skeleton, min_frames=2)  # velocities need 2 frames
    if retarget:
        positions = uniform_skeleton(positions, skeleton, _reference_for(skeleton, reference))
    return place_joints(positions, skeleton)


def _reference_for(skeleton: Skeleton, reference: np.ndarray | None) -> np.ndarray:
    """The retargeting reference joints (J, 3): `reference` if given, else the skeleton's built-in one."""
    if reference is None:
        if skeleton.name != SMPL22.name:
            raise ValueError(
                f"no built-in reference skeleton for {skeleton.name}: pass reference=(J, 3) joints "
                "(KIT-ML used frame 0 of clip 03950) or retarget=False"
            )
        return HUMANML3D_REFERENCE
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != (skeleton.num_joints, 3):
        raise ValueError(f"reference: expected shape ({skeleton.num_joints}, 3), got {reference.shape}")
    return reference


def foot_contacts(positions: np.ndarray, skeleton: Skeleton, threshold: float) -> np.ndarray:
    """Contacts (T-1, 4) [left ankle, left toe, right ankle, right toe]: squared step < threshold."""
    feet = list(skeleton.foot_left) + list(skeleton.foot_right)
    step = ((positions[1:, feet] - positions[:-1, feet]) ** 2).sum(-1)  # (T-1, 4)
    return (step < threshold).astype(np.float64)


def _chain_predecessors(skeleton: Skeleton) -> np.ndarray:
    """(J,) for each joint, the joint whose bone rotation its own is relative to (-1: the root rotation)."""
    prev = np.full(skeleton.num_joints, -1, dtype=np.int64)
    for chain in skeleton.kinematic_chains:
        for before, joint in zip(chain[1:-1], chain[2:]):
            prev[joint] = before
    return prev


def inverse_kinematics(positions: np.ndarray, skeleton: Skeleton, smooth_forward: bool) -> np.ndarray:
    """HumanML3D's IK: quaternions (T, J, 4); [:, 0] is the root (facing) rotation, the rest local swings."""
    forward = _forward(_across(positions, skeleton, hip_sign=-1.0))  # (T, 3), the original's quirk
    if smooth_forward:
        forward = gaussian_filter1d(forward, FACING_SIGMA, axis=0, mode="nearest")
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    root_quat = qbetween(forward, np.array([0.0, 0.0, 1.0]))  # (T, 4)
    root_quat[0] = (1.0, 0.0, 0.0, 0.0)  # quirk: frame 0 (already facing +Z after placement) is not turned
    parents = skeleton.parents
    bones = positions[:, 1:] - positions[:, parents[1:]]  # (T, J-1, 3)
    raw = skeleton.raw_offsets[1:]  # (J-1, 3)
    swing = qbetween(np.broadcast_to(raw, bones.shape), bones)  # (T, J-1, 4) raw offset -> bone
    swing = np.concatenate([root_quat[:, None], swing], axis=1)  # (T, J, 4), indexed by joint
    prev = _chain_predecessors(skeleton)
    before = np.where(prev[:, None] >= 0, swing[:, np.maximum(prev, 0)], root_quat[:, None])  # (T, J, 4)
    quats = qmul(qinv(before), swing)
    quats[:, 0] = root_quat
    return quats


def joints_to_features(
    joints: np.ndarray,
    skeleton: Skeleton = SMPL22,
    *,
    retarget: bool = True,
    reference: np.ndarray | None = None,
    feet_threshold: float | None = None,
) -> np.ndarray:
    """HumanML3D features (T-1, D) float32 of joints (T, J, 3) (Y up; metres for SMPL22, mm for KIT21).

    retarget: apply the uniform skeleton (to `reference` (J, 3), default HumanML3D's example skeleton).
    feet_threshold: foot-contact threshold (default 0.002 for SMPL22, 0.05 for KIT21).
    """
    layout = layout_for_skeleton(skeleton)
    threshold = FEET_THRESHOLD[skeleton.name] if feet_threshold is None else feet_threshold
    positions = canonical_joints(joints, skeleton, retarget=retarget, reference=reference)  # (T, J, 3)
    contacts = foot_contacts(positions, skeleton, threshold)  # (T-1, 4)
    quats = inverse_kinematics(positions, skeleton, smooth_forward=True)  # (T, J, 4)
    r_rot = quats[:, 0]  # (T, 4)
    root_step = qrot(r_rot[1:], positions[1:, 0] - positions[:-1, 0])  # (T-1, 3)
    r_vel = qmul(r_rot[1:], qinv(r_rot[:-1]))  # (T-1, 4)
    local = positions - positions[:, :1] * np.array([1.0, 0.0, 1.0])  # (T, J, 3)
    ric = qrot(np.broadcast_to(r_rot[:, None], local.shape[:-1] + (4,)), local)[:, 1:]  # (T, J-1, 3)
    step = positions[1:] - positions[:-1]  # (T-1, J, 3)
    local_vel = qrot(np.broadcast_to(r_rot[:-1, None], step.shape[:-1] + (4,)), step)
    features = layout.assemble({
        "root_rot_vel": np.arcsin(np.clip(r_vel[:, 2:3], -1.0, 1.0)),
        "root_lin_vel": root_step[:, [0, 2]],
        "root_y": positions[:-1, 0, 1:2],
        "ric": ric[:-1],
        "rot6d": quat_to_cont6d(quats[:-1, 1:]),
        "local_vel": local_vel,
        "foot_contact": contacts,
    })
    return features.astype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# features -> joints


def _root_rotation_position(x: torch.Tensor, layout: FeatureLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """Integrate root yaw quaternions (..., T, 4) and root positions (..., T, 3) from features (..., T, D)."""
    rot_vel = layout.get(x, "root_rot_vel")[..., 0]  # (..., T)
    angle = torch.cumsum(torch.cat([torch.zeros_like(rot_vel[..., :1]), rot_vel[..., :-1]], dim=-1), dim=-1)
    r_rot = yrot_quat(2 * angle)  # (..., T, 4): the feature is half the yaw change
    lin = layout.get(x, "root_lin_vel")[..., :-1, :]  # (..., T-1, 2)
    zero = torch.zeros_like(lin[..., :1])
    step = torch.cat([lin[..., :1], zero, lin[..., 1:]], dim=-1)  # (..., T-1, 3)
    step = torch.cat([torch.zeros_like(step[..., :1, :]), step], dim=-2)  # (..., T, 3)
    xz = torch.cumsum(qrot(qinv(r_rot), step), dim=-2)  # (..., T, 3)
    root = torch.stack([xz[..., 0], layout.get(x, "root_y")[..., 0], xz[..., 2]], dim=-1)
    return r_rot, root


def features_to_joints(features: Array, layout: FeatureLayout | None = None) -> Array:
    """Joints (..., T, J, 3) from features (..., T, D), numpy or torch (same type, dtype and device back).

    HumanML3D's `recover_from_ric`: integrate the root rotation and xz position, un-rotate `ric`, add the
    root's xz. The layout defaults to `layout_for_dim(D)`.
    """
    is_numpy = isinstance(features, np.ndarray)
    x = torch.from_numpy(np.ascontiguousarray(features)) if is_numpy else features
    if x.ndim < 2:
        raise ValueError(f"features: expected shape (..., T, D), got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.float()
    layout = layout or layout_for_dim(x.shape[-1])
    layout.check(x)
    r_rot, root = _root_rotation_position(x, layout)  # (..., T, 4), (..., T, 3)
    ric = layout.get(x, "ric")  # (..., T, J-1, 3)
    body = qrot(qinv(r_rot)[..., None, :], ric)  # (..., T, J-1, 3)
    body = body + (root * root.new_tensor([1.0, 0.0, 1.0]))[..., None, :]
    joints = torch.cat([root[..., None, :], body], dim=-2)
    return joints.numpy() if is_numpy else joints
