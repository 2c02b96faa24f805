"""Animated glTF 2.0 binary (.glb) export of SMPL-22 motions for Blender, three.js and web viewers.

    from motiongpt.io.gltf import write_glb
    write_glb("motion.glb", joints, fps=20)     # joints (T, 22, 3) metres, Y up

The file holds one skin whose 22 joints are nodes named like SMPL's own rig ("Pelvis", "L_Hip", ...; Blender
mirrors the "L_"/"R_" prefixes), under an "Armature" node, and a "Body" mesh of boxes (one along every bone,
one at every joint; left limbs blue, right red) skinned rigidly to its joint, so any viewer shows the figure.
One animation moves the Pelvis (translation) and turns every joint (rotation), one key per frame at `fps`
(times in seconds; the frame rate is also stored in the animation's `extras.fps`).

The skeleton and rotations are those of the BVH writer (`motiongpt.io.bvh`: bone lengths are the motion's
median bone lengths, rotations solved by inverse kinematics), so the animation reproduces the joints as
closely as a BVH export does (about 1 mm for rigid motion). Check a file with
`python -m motiongpt.io.gltf FILE.glb` (prints its nodes, animation length and frame count).
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motiongpt.motion.ik import rest_offsets, solve_ik
from motiongpt.motion.quaternion import qfix
from motiongpt.motion.skeleton import SMPL22, check_joints
from motiongpt.utils import atomic_path

__all__ = ["BONE_NAMES", "write_glb", "read_glb_json", "main"]

BONE_NAMES = (  # SMPL's rig names, in SMPL22 joint order
    "Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle", "R_Ankle", "Spine3",
    "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
    "R_Elbow", "L_Wrist", "R_Wrist",
)
BONE_WIDTH = 0.035  # metres: cross-section of a bone box
JOINT_SIZE = {"Head": 0.16}  # metres: edge of a joint box (default JOINT_BOX)
JOINT_BOX = 0.05
COLORS = {"L_": (0.15, 0.35, 0.9), "R_": (0.9, 0.2, 0.15), "": (0.75, 0.75, 0.75)}  # by name prefix

GLB_MAGIC, GLB_VERSION, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 2, 0x4E4F534A, 0x004E4942
FLOAT, UBYTE, USHORT = 5126, 5121, 5123
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
TYPES = {1: "SCALAR", 3: "VEC3", 4: "VEC4", 16: "MAT4"}


@dataclass
class _Binary:
    """The BIN chunk under construction with its bufferViews and accessors (glTF JSON fragments)."""

    data: bytearray = field(default_factory=bytearray)
    views: list[dict] = field(default_factory=list)
    accessors: list[dict] = field(default_factory=list)

    def add(self, array: np.ndarray, component: int, target: int | None = None, bounds: bool = False) -> int:
        """Append an (N,) or (N, k) array as one accessor (4-byte aligned view); returns the accessor index."""
        dtype = {FLOAT: np.float32, UBYTE: np.uint8, USHORT: np.uint16}[component]
        array = np.ascontiguousarray(array, dtype=dtype)
        width = 1 if array.ndim == 1 else int(np.prod(array.shape[1:]))
        flat = array.reshape(len(array), width)
        self.data.extend(b"\0" * (-len(self.data) % 4))
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": flat.nbytes}
        if target is not None:
            view["target"] = target
        self.data.extend(flat.tobytes())
        self.views.append(view)
        accessor = {"bufferView": len(self.views) - 1, "componentType": component, "count": len(flat),
                    "type": TYPES[width]}
        if bounds:
            accessor["min"], accessor["max"] = flat.min(0).tolist(), flat.max(0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _box(center: np.ndarray, axes: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat-shaded box: positions (24, 3), normals (24, 3), triangle indices (36,) counter-clockwise."""
    positions, normals, indices = [], [], []
    for axis in range(3):
        for sign in (1.0, -1.0):
            n = axes[:, axis] * sign
            u, v = axes[:, (axis + 1) % 3] * half[(axis + 1) % 3], axes[:, (axis + 2) % 3] * half[(axis + 2) % 3]
            if sign < 0:
                u, v = v, u
            face = center + n * half[axis]
            base = len(positions)
            positions += [face - u - v, face + u - v, face + u + v, face - u + v]
            normals += [n] * 4
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return np.array(positions), np.array(normals), np.array(indices)


def _bone_axes(direction: np.ndarray) -> np.ndarray:
    """A rotation matrix whose first column is `direction` (normalised)."""
    x = direction / max(np.linalg.norm(direction), 1e-9)
    helper = np.array([0.0, 0.0, 1.0]) if abs(x[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    y = np.cross(helper, x)
    y /= np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def _body_mesh(rest: np.ndarray) -> dict[str, np.ndarray]:
    """Boxes in the bind pose (rest world positions (22, 3)): one per bone (skinned to the parent), one per joint."""
    parts = []  # (positions, normals, indices, joint)
    for j, name in enumerate(BONE_NAMES):
        size = JOINT_SIZE.get(name, JOINT_BOX) / 2
        parts.append((*_box(rest[j], np.eye(3), np.full(3, size)), j))
        p = int(SMPL22.parents[j])
        if p >= 0:
            bone = rest[j] - rest[p]
            half = np.array([np.linalg.norm(bone) / 2, BONE_WIDTH / 2, BONE_WIDTH / 2])
            parts.append((*_box((rest[j] + rest[p]) / 2, _bone_axes(bone), half), p))
    mesh: dict[str, list] = {"POSITION": [], "NORMAL": [], "COLOR_0": [], "JOINTS_0": [], "indices": []}
    for positions, normals, indices, joint in parts:
        prefix = BONE_NAMES[joint][:2] if BONE_NAMES[joint][:2] in COLORS else ""
        mesh["indices"].append(indices + sum(len(m) for m in mesh["POSITION"]))
        mesh["POSITION"].append(positions)
        mesh["NORMAL"].append(normals)
        mesh["COLOR_0"].append(np.tile(COLORS[prefix], (len(positions), 1)))
        mesh["JOINTS_0"].append(np.tile([joint, 0, 0, 0], (len(positions), 1)))
    out = {k: np.concatenate(v) for k, v in mesh.items()}
    out["WEIGHTS_0"] = np.tile([1.0, 0.0, 0.0, 0.0], (len(out["POSITION"]), 1))
    return out


def _rest_world(offsets: np.ndarray, root: np.ndarray) -> np.ndarray:
    """World positions (22, 3) of the rest pose (all rotations identity) with the pelvis at `root`."""
    rest = np.zeros_like(offsets)
    rest[0] = root
    for j in range(1, len(offsets)):
        rest[j] = rest[SMPL22.parents[j]] + offsets[j]
    return rest


def _local_quaternions(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-frame local joint rotations (T, 22, 4) as glTF (x, y, z, w) unit quaternions, sign-continuous."""
    rot, _ = solve_ik(joints, offsets)  # global (T, 22, 3, 3)
    local = rot.copy()
    parents = SMPL22.parents
    local[:, 1:] = np.swapaxes(rot[:, parents[1:]], -1, -2) @ rot[:, 1:]
    quats = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_quat().reshape(len(joints), -1, 4)
    return qfix(quats)


def _check(joints: np.ndarray, fps: float) -> np.ndarray:
    joints = check_joints(joints, SMPL22, "write_glb")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"write_glb: fps must be positive and finite, got {fps}")
    return joints


def _nodes(offsets: np.ndarray, root: np.ndarray) -> list[dict]:
    """Joint nodes 0..21 (SMPL22 order, rest translations), then 'Armature' (22) and 'Body' (23)."""
    nodes = []
    for j, name in enumerate(BONE_NAMES):
        node: dict = {"name": name, "translation": (root if j == 0 else offsets[j]).tolist()}
        children = [int(c) for c in np.flatnonzero(SMPL22.parents == j)]
        if children:
            node["children"] = children
        nodes.append(node)
    nodes.append({"name": "Armature", "children": [0]})
    nodes.append({"name": "Body", "mesh": 0, "skin": 0})
    return nodes


def _document(joints: np.ndarray, fps: float, name: str, binary: _Binary) -> dict:
    """The glTF JSON for `joints`, filling `binary` with the mesh, skin and animation data."""
    offsets = rest_offsets(joints)
    offsets[0] = 0.0
    rest = _rest_world(offsets, joints[0, 0])
    mesh = _body_mesh(rest)
    attributes = {
        "POSITION": binary.add(mesh["POSITION"], FLOAT, ARRAY_BUFFER, bounds=True),
        "NORMAL": binary.add(mesh["NORMAL"], FLOAT, ARRAY_BUFFER),
        "COLOR_0": binary.add(mesh["COLOR_0"], FLOAT, ARRAY_BUFFER),
        "JOINTS_0": binary.add(mesh["JOINTS_0"], UBYTE, ARRAY_BUFFER),
        "WEIGHTS_0": binary.add(mesh["WEIGHTS_0"], FLOAT, ARRAY_BUFFER),
    }
    indices = binary.add(mesh["indices"], USHORT, ELEMENT_ARRAY_BUFFER, bounds=True)
    inverse_bind = np.tile(np.eye(4), (SMPL22.num_joints, 1, 1))
    inverse_bind[:, 3, :3] = -rest  # column-major storage of a translation by -rest
    ibm = binary.add(inverse_bind.reshape(-1, 16), FLOAT)
    times = binary.add(np.arange(len(joints)) / fps, FLOAT, bounds=True)
    samplers = [{"input": times, "output": binary.add(joints[:, 0], FLOAT), "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "translation"}}]
    for j, q in enumerate(np.swapaxes(_local_quaternions(joints, offsets), 0, 1)):
        samplers.append({"input": times, "output": binary.add(q, FLOAT), "interpolation": "LINEAR"})
        channels.append({"sampler": j + 1, "target": {"node": j, "path": "rotation"}})
    return {
        "asset": {"version": "2.0", "generator": "motiongpt.io.gltf"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [22, 23]}],
        "nodes": _nodes(offsets, joints[0, 0]),
        "meshes": [{"name": "Body", "primitives": [{"attributes": attributes, "indices": indices, "material": 0}]}],
        "materials": [{"name": "Skeleton", "pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 0.8}}],
        "skins": [{"name": "SMPL22", "joints": list(range(22)), "skeleton": 0, "inverseBindMatrices": ibm}],
        "animations": [{"name": name, "samplers": samplers, "channels": channels,
                        "extras": {"fps": float(fps), "frames": int(len(joints))}}],
        "accessors": binary.accessors,
        "bufferViews": binary.views,
        "buffers": [{"byteLength": len(binary.data)}],
    }


def _chunk(kind: int, payload: bytes, pad: bytes) -> bytes:
    payload += pad * (-len(payload) % 4)
    return struct.pack("<II", len(payload), kind) + payload


def write_glb(path: str | Path, joints: np.ndarray, fps: float = 20.0, name: str = "motion") -> Path:
    """Write SMPL-22 joints (T, 22, 3) metres, Y up, as an animated, skinned .glb (atomically); returns the path."""
    joints = _check(joints, fps)
    binary = _Binary()
    document = _document(joints, float(fps), name, binary)
    body = _chunk(JSON_CHUNK, json.dumps(document, separators=(",", ":")).encode("utf-8"), b" ")
    body += _chunk(BIN_CHUNK, bytes(binary.data), b"\0")
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(struct.pack("<III", GLB_MAGIC, GLB_VERSION, 12 + len(body)) + body)
    return path


def read_glb_json(path: str | Path) -> dict:
    """The JSON chunk of a .glb file (ValueError naming the file when it is not one)."""
    data = Path(path).read_bytes()
    if len(data) < 20 or struct.unpack_from("<I", data)[0] != GLB_MAGIC:
        raise ValueError(f"{path}: not a binary glTF (.glb) file")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != JSON_CHUNK:
        raise ValueError(f"{path}: the first chunk is not JSON")
    return json.loads(data[20:20 + length])


def main(argv: list[str] | None = None) -> int:
    """Print a summary of .glb files written by `write_glb` (or any glTF with one animation)."""
    parser = argparse.ArgumentParser(prog="python -m motiongpt.io.gltf", description="Summarise .glb files.")
    parser.add_argument("files", nargs="+", type=Path, help=".glb files")
    status = 0
    for f in parser.parse_args(argv).files:
        try:
            doc = read_glb_json(f)
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        times = [doc["accessors"][s["input"]] for a in doc.get("animations", []) for s in a["samplers"]]
        duration = max((t["max"][0] for t in times), default=0.0)
        print(f"{f}: {len(doc.get('nodes', []))} nodes, {len(doc.get('animations', []))} animation(s), "
              f"{duration:.2f} s, {times[0]['count'] if times else 0} keys")
    return status


if __name__ == "__main__":
    sys.exit(main())
