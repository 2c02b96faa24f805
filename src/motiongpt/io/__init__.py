"""motiongpt.io: motion files.

- `motiongpt.io.bvh`: `read_bvh` (any hierarchy, vectorised FK), `write_bvh` (SMPL-22 joints -> BVH by IK),
  `BVHError`.
- `motiongpt.io.retarget`: `bvh_to_smpl22` (CMU / Bandai / SMPL-22 BVH -> SMPL-22 joints, metres, 20 fps),
  `resample`.
- `motiongpt.io.export`: `load_motion` and the savers.
"""
