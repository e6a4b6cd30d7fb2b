"""The dropout demo: masks follow the rate and mode, the drawing shows what was dropped, re-sampling changes it."""
import pytest
import torch
from matplotlib.figure import Figure

from d2lutil.demos.dropout import dropout_network, resample_button, thinned_network, unit_positions


def test_inference_keeps_every_unit():
    masks = thinned_network((4, 6, 6, 3), rate=0.9, mode="inference", draw=3)
    assert all(mask.all() for mask in masks)


def test_training_drops_only_hidden_units_at_about_the_rate():
    masks = thinned_network((5, 400, 400, 2), rate=0.25, mode="training", draw=0)
    assert masks[0].all() and masks[-1].all()
    hidden = torch.cat(masks[1:-1]).float()
    assert abs(1 - hidden.mean().item() - 0.25) < 0.04


def test_draw_reproduces_and_resamples_the_masks():
    same = [thinned_network((3, 20, 3), 0.5, "training", draw=1) for _ in range(2)]
    other = thinned_network((3, 20, 3), 0.5, "training", draw=2)
    assert torch.equal(same[0][1], same[1][1])
    assert not torch.equal(same[0][1], other[1])


@pytest.mark.parametrize("bad", [dict(rate=1.2), dict(mode="testing"), dict(layer_sizes=(4, 3)),
                                 dict(layer_sizes=(4, 0, 3))])
def test_bad_knobs_raise_value_errors(bad):
    args = {"layer_sizes": (4, 6, 3), "rate": 0.5, "mode": "training", **bad}
    with pytest.raises(ValueError, match="not allowed"):
        thinned_network(**args)


def test_unit_positions_are_centred_in_their_column():
    positions = unit_positions(2, column=1, tallest=4)
    assert [x for x, _ in positions] == [1.0, 1.0]
    assert sum(y for _, y in positions) / 2 == pytest.approx((4 - 1) / 2)


def test_demo_returns_a_titled_figure_and_counts_that_add_up():
    fig, numbers = dropout_network(rate=0.5, mode="training", draw=0, layer_sizes=(4, 6, 6, 3))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert "p=0.50" in ax.get_title() and ax.get_xlabel() and ax.get_legend() is not None
    assert numbers["hidden_units"] == 12 and numbers["kept"] + numbers["dropped"] == 12
    assert numbers["thinned_networks"] == 2 ** 12
    expected_kept = int(torch.cat(thinned_network((4, 6, 6, 3), 0.5, "training", 0)[1:-1]).sum())
    assert numbers["kept"] == expected_kept


def test_demo_in_inference_mode_drops_nothing_and_draws_every_edge():
    fig, numbers = dropout_network(rate=0.5, mode="inference", draw=0, layer_sizes=(2, 3, 2))
    assert numbers["dropped"] == 0
    assert len(fig.axes[0].lines) == 2 * 3 + 3 * 2


def test_resample_button_bumps_the_draw_widget():
    ipywidgets = pytest.importorskip("ipywidgets")
    draw = ipywidgets.IntText(value=4)
    button = resample_button(draw)
    button.click()
    assert draw.value == 5
