"""GLB export: pygltflib round trip, consistent accessors, animation timing, bone names, FK and skinning accuracy.

The Khronos glTF validator runs when node and the npm package are present (skipped otherwise):
    npm install --prefix .venv/gltf-validator gltf-validator
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from synthetic import rest_pose, walking

from motiongpt.io.bvh import read_bvh, write_bvh
from motiongpt.io.gltf import BONE_NAMES, JOINT_BOX, JOINT_SIZE, main, read_glb_json, write_glb
from motiongpt.motion.rotation import forward_kinematics
from motiongpt.motion.skeleton import SMPL22
from motiongpt.paths import REPO_ROOT

pygltflib = pytest.importorskip("pygltflib")

VALIDATOR = REPO_ROOT / ".venv" / "gltf-validator" / "node_modules" / "gltf-validator"
NUMPY_TYPES = {5126: np.float32, 5121: np.uint8, 5123: np.uint16, 5125: np.uint32}
WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def rigid_motion(frames: int = 30, seed: int = 0) -> np.ndarray:
    """Joints (T, 22, 3) of the synthetic rest skeleton under smooth random joint rotations and a moving root."""
    rest = rest_pose()
    offsets = rest - rest[SMPL22.parents]
    offsets[0] = 0.0
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, frames)[:, None, None]
    rotvec = 0.7 * np.sin(2 * np.pi * (t * rng.uniform(0.5, 2, (1, 22, 3)) + rng.uniform(0, 1, (1, 22, 3))))
    local_r = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(frames, 22, 3, 3)
    local_t = np.broadcast_to(offsets, (frames, 22, 3)).copy()
    local_t[:, 0] = np.c_[np.sin(3 * t[:, 0, 0]), 0.9 + 0.1 * t[:, 0, 0], 1.5 * t[:, 0, 0]]
    return forward_kinematics(SMPL22.parents, local_r, local_t)[1]


def accessor(gltf, index: int) -> np.ndarray:
    """An accessor's data as an (count, width) array."""
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = np.dtype(NUMPY_TYPES[acc.componentType])
    width = WIDTH[acc.type]
    blob = gltf.binary_blob()
    start = view.byteOffset + (acc.byteOffset or 0)
    return np.frombuffer(blob, dtype, acc.count * width, start).reshape(acc.count, width)


def glb_world(gltf, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (22, 3, 3) and positions (22, 3) of the joint nodes at one animation key."""
    translation = np.array([n.translation for n in gltf.nodes[:22]], dtype=np.float64)
    rotation = np.tile(np.eye(3), (22, 1, 1))
    for channel in gltf.animations[0].channels:
        value = accessor(gltf, gltf.animations[0].samplers[channel.sampler].output)[frame]
        if channel.target.path == "translation":
            translation[channel.target.node] = value
        else:
            rotation[channel.target.node] = Rotation.from_quat(value).as_matrix()
    world_r, world_p = forward_kinematics(SMPL22.parents, rotation[None], translation[None])
    return world_r[0], world_p[0]


def test_round_trip_structure(tmp_path: Path) -> None:
    joints = walking(41)
    path = write_glb(tmp_path / "walk.glb", joints, fps=20.0, name="walk")
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    assert len(blob) == gltf.buffers[0].byteLength
    for view in gltf.bufferViews:
        assert view.byteOffset % 4 == 0 and view.byteOffset + view.byteLength <= len(blob)
    for acc in gltf.accessors:
        size = acc.count * WIDTH[acc.type] * np.dtype(NUMPY_TYPES[acc.componentType]).itemsize
        assert size == gltf.bufferViews[acc.bufferView].byteLength
    primitive = gltf.meshes[0].primitives[0]
    vertex_counts = {gltf.accessors[a].count for a in json.loads(primitive.attributes.to_json()).values() if a is not None}
    assert len(vertex_counts) == 1
    assert accessor(gltf, primitive.indices).max() < vertex_counts.pop()
    position = gltf.accessors[primitive.attributes.POSITION]
    assert position.min is not None and position.max is not None
    animation = gltf.animations[0]
    assert animation.name == "walk" and animation.extras == {"fps": 20.0, "frames": 41}
    for sampler in animation.samplers:
        times = gltf.accessors[sampler.input]
        assert times.count == 41 == gltf.accessors[sampler.output].count
        assert times.min == [0.0] and times.max[0] == pytest.approx(40 / 20.0)
    np.testing.assert_allclose(np.diff(accessor(gltf, animation.samplers[0].input)[:, 0]), 1 / 20.0, atol=1e-6)


def test_bone_names_and_hierarchy(tmp_path: Path) -> None:
    gltf = pygltflib.GLTF2().load(str(write_glb(tmp_path / "m.glb", walking(5))))
    names = [n.name for n in gltf.nodes]
    assert len(set(names)) == len(names) and names[:22] == list(BONE_NAMES)
    assert [names[j] for j in gltf.skins[0].joints] == list(BONE_NAMES)
    for j, parent in enumerate(SMPL22.parents):
        if parent >= 0:
            assert j in gltf.nodes[parent].children
    assert all(a.replace("L_", "R_", 1) in BONE_NAMES for a in BONE_NAMES if a.startswith("L_"))


@pytest.mark.parametrize("fps", [20.0, 30.0])
def test_fk_reproduces_rigid_motion(tmp_path: Path, fps: float) -> None:
    joints = rigid_motion()
    gltf = pygltflib.GLTF2().load(str(write_glb(tmp_path / "r.glb", joints, fps=fps)))
    assert gltf.accessors[gltf.animations[0].samplers[0].input].max[0] == pytest.approx((len(joints) - 1) / fps)
    for frame in (0, 7, len(joints) - 1):
        _, positions = glb_world(gltf, frame)
        assert np.linalg.norm(positions - joints[frame], axis=-1).max() < 1e-3  # 1 mm, as the BVH writer


def test_non_rigid_motion_matches_bvh_accuracy(tmp_path: Path) -> None:
    joints = rigid_motion(seed=1) + np.random.default_rng(2).normal(scale=0.01, size=(30, 22, 3))
    gltf = pygltflib.GLTF2().load(str(write_glb(tmp_path / "n.glb", joints)))
    motion = read_bvh(write_bvh(tmp_path / "n.bvh", joints))
    order = [motion.joint_names.index(n) for n in SMPL22.joint_names]
    bvh = motion.global_positions()[:, order] / 100.0
    for frame in (0, 15, 29):
        _, positions = glb_world(gltf, frame)
        np.testing.assert_allclose(positions, bvh[frame], atol=1e-4)
        assert np.linalg.norm(positions - joints[frame], axis=-1).max() < 0.05


def test_skinned_joint_boxes_follow_the_joints(tmp_path: Path) -> None:
    joints = rigid_motion(seed=3)
    gltf = pygltflib.GLTF2().load(str(write_glb(tmp_path / "s.glb", joints)))
    attributes = gltf.meshes[0].primitives[0].attributes
    vertices = accessor(gltf, attributes.POSITION).astype(np.float64)
    owner = accessor(gltf, attributes.JOINTS_0)[:, 0]
    inverse_bind = accessor(gltf, gltf.skins[0].inverseBindMatrices).reshape(22, 4, 4).transpose(0, 2, 1)
    bind_position = -inverse_bind[:, :3, 3]
    world_r, world_p = glb_world(gltf, 12)
    for j, name in enumerate(BONE_NAMES):
        corner = np.abs(np.abs(vertices - bind_position[j]) - JOINT_SIZE.get(name, JOINT_BOX) / 2).max(1) < 1e-6
        mine = vertices[(owner == j) & corner]
        assert len(mine) == 24  # the joint's own box
        skinned = (mine - bind_position[j]) @ world_r[j].T + world_p[j]
        assert np.linalg.norm(skinned.mean(0) - joints[12, j]) < 1e-3


def test_rejects_bad_input_and_leaves_no_file(tmp_path: Path) -> None:
    for bad, fps in ((np.zeros((5, 21, 3)), 20.0), (np.zeros((0, 22, 3)), 20.0), (walking(5), 0.0)):
        with pytest.raises(ValueError, match="write_glb"):
            write_glb(tmp_path / "bad.glb", bad, fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_summary_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_glb(tmp_path / "m.glb", walking(21))
    assert read_glb_json(path)["asset"]["version"] == "2.0"
    (tmp_path / "x.glb").write_bytes(b"not a glb file at all")
    assert main([str(path), str(tmp_path / "x.glb")]) == 1
    captured = capsys.readouterr()
    assert "24 nodes, 1 animation(s), 1.00 s, 21 keys" in captured.out and "not a binary glTF" in captured.err


def test_khronos_validator(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not VALIDATOR.is_dir():
        pytest.skip("node or the gltf-validator npm package is absent (npm install --prefix .venv/gltf-validator "
                    "gltf-validator)")
    path = write_glb(tmp_path / "v.glb", rigid_motion())
    script = ("const v=require(process.argv[1]);v.validateBytes(new Uint8Array(require('fs').readFileSync("
              "process.argv[2]))).then(r=>console.log(JSON.stringify(r.issues)))")
    out = subprocess.run([node, "-e", script, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60)
    issues = json.loads(out.stdout)
    assert (issues["numErrors"], issues["numWarnings"]) == (0, 0), issues["messages"]


def test_fk_reproduces_humanml3d_sample(tmp_path: Path, humanml3d_dir: Path) -> None:
    joints = np.load(sorted((humanml3d_dir / "samples" / "new_joints").glob("*.npy"))[0])
    gltf = pygltflib.GLTF2().load(str(write_glb(tmp_path / "h.glb", joints)))
    for frame in (0, len(joints) // 2, len(joints) - 1):
        _, positions = glb_world(gltf, frame)
        assert np.linalg.norm(positions - joints[frame], axis=-1).max() < 0.01  # 1 cm
