"""A local emulator of the ParallelCluster image API (build, describe, delete, list, official images, logs).

Real HTTP on 127.0.0.1, real SigV4 checks, SQLite state; see `Emulator` for tests and `pcimage-emulator` for a
standalone server. It imports nothing from the provider side of pulumi_pcimage.
"""

from .control import EmulatorControl, EmulatorControlError
from .models import ImageService
from .server import Emulator

__all__ = ["Emulator", "EmulatorControl", "EmulatorControlError", "ImageService"]
