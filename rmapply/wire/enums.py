"""Enumerations of the Reality Modeling v1 API, spelled exactly as the OpenAPI file spells them."""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import TYPE_CHECKING


class _WireEnum(StrEnum):
    """Base of the API's enumerations, whose ``value`` reads cost no Python call.

    Every dump of a wire model reads ``.value`` of each enum it holds (a plan dumps every job's
    spec and remote job); Enum's own ``value`` is a descriptor written in Python, two Python
    calls a read. This one returns the same object and is C throughout.
    """

    if not TYPE_CHECKING:  # typed as Enum's own
        value = property(operator.attrgetter("_value_"))


class OutputFormat(_WireEnum):
    """Output formats (schema ``format``)."""

    CC_ORIENTATIONS = "CCOrientations"
    THREE_MX = "3MX"
    THREE_SM = "3SM"
    WEBREADY_SCALABLE_MESH = "WebReady ScalableMesh"
    CESIUM_3D_TILES = "Cesium 3D Tiles"
    POD = "POD"
    ORTHOPHOTO_DSM = "Orthophoto/DSM"
    LAS = "LAS"
    FBX = "FBX"
    OBJ = "OBJ"
    ESRI_I3S = "ESRI i3s"
    DGN = "DGN"
    LOD_TREE_EXPORT = "LODTreeExport"
    PLY = "PLY"
    OPC = "OPC"
    OMR = "OMR"
    CONTEXT_SCENE = "ContextScene"
    GAUSSIAN_SPLATS = "GaussianSplats"


class Quality(_WireEnum):
    """Job and mesh quality (schema ``quality``)."""

    DRAFT = "Draft"
    MEDIUM = "Medium"
    EXTRA = "Extra"


class JobType(_WireEnum):
    """Job type (schemas ``jobCreation-type`` and ``job-type``)."""

    FULL = "Full"
    CALIBRATION = "Calibration"
    RECONSTRUCTION = "Reconstruction"


class JobState(_WireEnum):
    """Job state as the job resource reports it (lowercase, schema ``job-state``)."""

    UNSUBMITTED = "unsubmitted"
    ACTIVE = "active"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_submitted(self) -> bool:
        """True once the job has left ``unsubmitted`` (it may have cost money)."""
        return self is not JobState.UNSUBMITTED

    @property
    def is_terminal(self) -> bool:
        """True for success, failed and cancelled."""
        return self in (JobState.SUCCESS, JobState.FAILED, JobState.CANCELLED)


class PatchState(_WireEnum):
    """State a PATCH may ask for; the service matches it case-insensitively."""

    ACTIVE = "Active"
    CANCELLED = "Cancelled"


class ProgressState(_WireEnum):
    """State reported by the progress endpoint (a different vocabulary from JobState)."""

    UNSUBMITTED = "Unsubmitted"
    ACTIVE = "Active"
    OVER = "Over"


class Location(_WireEnum):
    """Data-centre location of a job."""

    EAST_US = "East US"
    NORTH_EUROPE = "North Europe"
    SOUTHEAST_ASIA = "Southeast Asia"
    AUSTRALIA_EAST = "Australia East"
    UK_SOUTH = "UK South"
    JAPAN_EAST = "Japan East"
    UAE_NORTH = "UAE North"
    CANADA_CENTRAL = "Canada Central"
    WEST_EUROPE = "West Europe"
