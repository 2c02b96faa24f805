"""Motion constants shared by every layer: the frame rate and the motion lengths of the HumanML3D layout.

    >>> from motiongpt.motion.constants import FPS, MAX_FRAMES
    >>> MAX_FRAMES / FPS  # seconds in the longest dataset motion
    9.8

`FPS`: frames per second of every motion the package reads, writes, trains on and generates.
`MAX_FRAMES` / `MIN_FRAMES`: feature frames of one dataset motion (HumanML3D's max_motion_length and
min_motion_len): the dataset builders cut takes into segments of at most `MAX_FRAMES` and drop shorter ones;
datasets and evaluators use them as their default length bounds.
`MIN_INPUT_FRAMES`: the shortest motion a command accepts as input (one motion token of 4 frames).
"""
from __future__ import annotations

FPS = 20
MAX_FRAMES = 196
MIN_FRAMES = 40
MIN_INPUT_FRAMES = 4
