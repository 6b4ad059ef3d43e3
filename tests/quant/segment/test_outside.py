"""Air outside the patient (:mod:`quant.segment.outside`), also when the field of view cuts the body."""

from __future__ import annotations

import numpy as np

from quant.segment.outside import air_connected_to_edge, outside_air


def _slice_cut_by_the_edge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One axial slice (as a 1-slice volume of air flags): a body wider than the image (cut at
    both side edges) with a lung that reaches the left edge, air in front of it, and a table below
    with an air gap between it and the body. Returns (air, lung, gap)."""
    air = np.ones((1, 60, 80), dtype=bool)
    air[0, 10:40, :] = False            # the body, cut by both side edges
    lung = np.zeros_like(air)
    lung[0, 15:35, 0:30] = True          # a lung reaching the left edge
    air[lung] = True
    air[0, 45:50, :] = False             # the table, also cut by both edges
    gap = np.zeros_like(air)
    gap[0, 40:45, :] = True              # air between the body and the table
    return air, lung, gap


def test_the_usual_rule_takes_a_lung_on_the_image_edge_for_outside_air():
    air, lung, _gap = _slice_cut_by_the_edge()
    assert air_connected_to_edge(air)[lung].all()


def test_closing_the_cut_body_along_the_edge_keeps_the_lung_inside_and_the_gap_outside():
    air, lung, gap = _slice_cut_by_the_edge()
    outside = outside_air(air)
    assert not outside[lung].any()
    assert outside[gap].all()            # the table is not the body: the gap under it stays outside
    assert outside[0, :10].all()         # and so does the air in front of the body


def test_a_body_inside_the_field_of_view_is_not_cut():
    air = np.ones((2, 60, 80), dtype=bool)
    air[:, 10:40, 10:70] = False
    air[:, 15:35, 15:30] = True          # a lung
    air[:, 45:50, :] = False             # a table across the whole image: it is not the body
    assert np.array_equal(outside_air(air), air_connected_to_edge(air))
    assert not outside_air(air)[:, 15:35, 15:30].any()
    assert outside_air(air)[:, 40:45].all()  # the gap above the table stays outside
