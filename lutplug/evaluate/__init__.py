"""Evaluators: turn a LUT3D (or a decoded .nlut) into pixels."""
