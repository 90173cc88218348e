"""The practice view's still parts (dial, cue band) come from caches: pasted over any camera
image they look the same, their soft edges blend with it, and a change redraws them."""

from __future__ import annotations

import numpy as np

from feedback.render_practice import (
    OKABE_BLUISH_GREEN, _cue_band, _gauge_layer, draw_cue_line_into, draw_range_gauge_into, render_range_gauge,
)

H, W = 720, 1280
GAUGE = dict(min_deg=0.0, max_deg=150.0, caution_margin_deg=10.0, limits="upper")


def _gauge(background: int, value, label="Shoulder flexion  |  0 done"):
    image = np.full((H, W, 3), background, np.uint8)
    draw_range_gauge_into(image, value, label=label, **GAUGE)
    return image


def test_the_dial_is_the_same_over_any_camera_image_and_blends_at_its_edge():
    dark, light = _gauge(0, None), _gauge(255, None)
    layer = _gauge_layer(W, H, 0.0, 150.0, 10.0, "Shoulder flexion  |  0 done", "upper")
    ys, xs = slice(layer.y0, layer.y0 + layer.pixels.shape[0]), slice(layer.x0, layer.x0 + layer.pixels.shape[1])
    opaque = layer.opaque.astype(bool)
    assert opaque.sum() > 10_000
    assert (dark[ys, xs][opaque] == light[ys, xs][opaque]).all()  # covered: the camera does not show through
    edge = layer.edge_index
    assert len(edge[0]) > 100
    assert (dark[ys, xs][edge].astype(int) < light[ys, xs][edge]).any(axis=1).all()  # anti-aliased: blended
    outside = np.ones((H, W), bool)
    outside[ys, xs] = False
    assert (dark[outside] == 0).all() and (light[outside] == 255).all()  # nothing drawn elsewhere
    colours = {tuple(int(c) for c in px) for px in light[ys, xs][opaque][::5]}
    assert OKABE_BLUISH_GREEN in colours


def test_the_needle_moves_over_the_same_dial_and_a_new_count_redraws_the_label():
    low, high = _gauge(128, 20.0), _gauge(128, 140.0)
    assert (low != high).any()
    assert (_gauge(128, None) == _gauge(128, None)).all()
    relabelled = _gauge(128, None, label="Shoulder flexion  |  1 done")
    assert (relabelled != _gauge(128, None)).any()


def test_the_public_gauge_still_returns_a_copy():
    image = np.full((H, W, 3), 77, np.uint8)
    out = render_range_gauge(image, 90.0, **GAUGE)
    assert (image == 77).all() and (out != 77).any()


def test_the_cue_band_is_drawn_once_and_pasted_opaque():
    first = np.full((H, W, 3), 30, np.uint8)
    second = np.full((H, W, 3), 220, np.uint8)
    draw_cue_line_into(first, "Let the exhale be a little longer")
    draw_cue_line_into(second, "Let the exhale be a little longer")
    band = _cue_band("Let the exhale be a little longer", W, H)
    assert band.flags.writeable is False  # shared between frames: never drawn on
    assert (first[H - band.shape[0]:] == band).all() and (second[H - band.shape[0]:] == band).all()
    assert (first[:H - band.shape[0]] == 30).all()
    assert ((band == 255).all(axis=2)).sum() > 2000 and (band == 0).all(axis=2).mean() > 0.5
    untouched = np.full((H, W, 3), 30, np.uint8)
    draw_cue_line_into(untouched, None)
    assert (untouched == 30).all()
