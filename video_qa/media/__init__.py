"""Media: probe, dynamic-fps clip plan, exact frame and audio reading, thumbnails.

Every time this package returns is a presentation time in seconds from the start of the video
stream (the first frame's presentation time is the origin), never ``index / nominal_fps``.
"""

from video_qa.media.audio import read_audio
from video_qa.media.errors import MediaError
from video_qa.media.frames import FrameReader, read_frames
from video_qa.media.plan import ClipPlan, plan
from video_qa.media.probe import Probe, probe
from video_qa.media.samples import ClipFrames, ClipStream, Sample
from video_qa.media.thumbs import thumbnail

__all__ = [
    "ClipFrames",
    "ClipPlan",
    "ClipStream",
    "FrameReader",
    "MediaError",
    "Probe",
    "Sample",
    "plan",
    "probe",
    "read_audio",
    "read_frames",
    "thumbnail",
]
