"""Instrument drivers written in pymeasure's own style for models pymeasure lacks.

Each driver is a :class:`pymeasure.instruments.Instrument` subclass built from
``Instrument.control``/``measurement``/``setting`` where the command shape fits,
and is tested with :func:`pymeasure.test.expected_protocol`.
"""
