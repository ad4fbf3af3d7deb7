"""How close one transform is to another: CIEDE2000 on sRGB display values
(:mod:`~lutplug.metrics.colour`), the T1 protocol's points, statistics and targets
(:mod:`~lutplug.metrics.quality`), and ΔE00 heat maps (:mod:`~lutplug.metrics.heatmap`, Pillow).
Numpy only."""
from lutplug.metrics.colour import delta_e2000, delta_e2000_rgb, srgb_to_lab
from lutplug.metrics.quality import (QUALITY_TARGETS, T1, QualityReport, QualityTarget, Transform,
                                     compare_outputs, evaluation_points, measure, meets, psnr,
                                     quality_report)

__all__ = ["QUALITY_TARGETS", "T1", "QualityReport", "QualityTarget", "Transform", "compare_outputs",
           "delta_e2000", "delta_e2000_rgb", "evaluation_points", "measure", "meets", "psnr",
           "quality_report", "srgb_to_lab"]
