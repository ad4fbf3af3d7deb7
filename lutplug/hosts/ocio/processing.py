"""``lutplug.hosts.ocio.processor``: a grade as an OpenColorIO Processor, entirely in memory."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from lutplug.errors import LutError
from lutplug.hosts.ocio import ociolib
from lutplug.hosts.ocio.grades import DEFAULT_SIZE, check_size, load_grade

if TYPE_CHECKING:
    from lutplug.codec.nlut import NeuralLUT


def grade_transform(nlut: "NeuralLUT", size: int = DEFAULT_SIZE) -> Any:
    """The grade baked to ``size``³ as an OCIO ``GroupTransform`` (domain scaling, the 1D shaper
    when it has one, a tetrahedral ``Lut3DTransform``), built from arrays: no file is written."""
    from lutplug.evaluate.ocio_cpu import group_transform
    from lutplug.hosts.ocio.grades import baked

    return group_transform(baked(nlut, check_size(size)))


def check_process_space(config: Any, name: str, where: str = "process space") -> Any:
    """The colour space ``name`` (name, alias or role) of ``config``; refuses a data space, on
    which OpenColorIO skips transforms (a look there would silently do nothing)."""
    cs = ociolib.colorspace_or_none(config, name)
    if cs is None:
        import difflib

        names = list(config.getColorSpaceNames()) + list(config.getRoleNames())
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        raise LutError(f"{where} {name!r} is not a colour space, alias or role of the config{hint}")
    if cs.isData():
        raise LutError(f"{where} {name!r} is a data colour space (isdata: true): OpenColorIO "
                       "leaves data untouched, so the grade would do nothing there; pick a "
                       "colour space such as the 'color_timing' role")
    return cs


def processor(nlut: Any, size: int = DEFAULT_SIZE, *, config: Any = None,
              process_space: Optional[str] = None, input_space: Optional[str] = None,
              output_space: Optional[str] = None, inverse: bool = False, trusted_keys: Any = (),
              require_signature: bool = False) -> Any:
    """An OpenColorIO ``Processor`` applying a compressed grade.

    ``nlut``: a ``NeuralLUT``, a .nlut path or .nlut bytes (opened under the environment's trust
    policy plus ``trusted_keys`` / ``require_signature``, see
    :func:`~lutplug.hosts.ocio.grades.load_grade`). The network is baked to a ``size``³ cube held in
    an in-memory ``Lut3DTransform`` (tetrahedral, with the grade's shaper and domain) — no temp
    files. Without ``process_space`` the processor maps grade input values to grade output values.
    With ``config`` and ``process_space`` it behaves like an OCIO look: ``input_space`` (default:
    the process space) → process space → grade → ``output_space`` (default: the input space).
    ``inverse=True`` inverts the whole chain (OCIO inverts the cube numerically).

    >>> proc = processor("grade.nlut")                                    # doctest: +SKIP
    >>> proc.getDefaultCPUProcessor().applyRGB(pixels)                    # doctest: +SKIP
    """
    o = ociolib.ocio()
    grade = load_grade(nlut, trusted_keys, require_signature)
    cube = grade_transform(grade, size)
    if process_space is None:
        if input_space is not None or output_space is not None:
            raise LutError("input_space / output_space need a process_space (and a config)")
        group = cube
        config = config if config is not None else o.Config.CreateRaw()
    else:
        if config is None:
            raise LutError("a process_space needs the config that defines it")
        check_process_space(config, process_space)
        src = input_space or process_space
        dst = output_space or src
        for role, name in (("input space", src), ("output space", dst)):
            if ociolib.colorspace_or_none(config, name) is None:
                raise LutError(f"{role} {name!r} is not a colour space, alias or role of the config")
        steps = []
        if src != process_space:
            steps.append(o.ColorSpaceTransform(src=src, dst=process_space))
        steps.append(cube)
        if dst != process_space:
            steps.append(o.ColorSpaceTransform(src=process_space, dst=dst))
        group = o.GroupTransform(steps)
    if inverse:
        group.setDirection(o.TRANSFORM_DIR_INVERSE)
    try:
        return config.getProcessor(group)
    except Exception as exc:  # noqa: BLE001 - OCIO's Exception
        raise LutError(f"OpenColorIO cannot build the processor: {ociolib.oneline(exc)}") from None
