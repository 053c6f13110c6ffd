"""Pulumi dynamic provider for AWS ParallelCluster custom images."""

__version__ = "0.1.0"
