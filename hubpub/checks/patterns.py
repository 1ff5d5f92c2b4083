"""Op types and node-name shapes several rules look for (format doc §9). No TensorFlow here."""

from __future__ import annotations

__all__ = ["FUSED_BATCH_NORM_OPS"]

# Batch norm in one op (4-D inputs); the unfused form is plain arithmetic under `batchnorm/`.
FUSED_BATCH_NORM_OPS = frozenset({"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"})
