"""motiongpt.motion: skeletons, quaternions, HumanML3D features, mirroring and normalisation.

The public names most code needs are re-exported here, e.g.
`from motiongpt.motion import joints_to_features, features_to_joints, HUMANML3D_LAYOUT`.
"""
from motiongpt.motion.features import (
    HUMANML3D_LAYOUT,
    KIT_LAYOUT,
    FeatureLayout,
    features_to_joints,
    joints_to_features,
    layout_for_dim,
)
from motiongpt.motion.mirror import mirror_features, mirror_joints
from motiongpt.motion.normalize import Normalizer
from motiongpt.motion.skeleton import KIT21, SMPL22, Skeleton

__all__ = [
    "HUMANML3D_LAYOUT", "KIT_LAYOUT", "FeatureLayout", "features_to_joints", "joints_to_features",
    "layout_for_dim", "mirror_features", "mirror_joints", "Normalizer", "KIT21", "SMPL22", "Skeleton",
]
