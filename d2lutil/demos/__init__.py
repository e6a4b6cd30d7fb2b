"""Interactive demos of the chapters: each is a pure function of its knobs returning a figure and numbers."""
from .dropout import dropout_network, resample_button
from .early_stopping import early_stopping_curves, stopping_point
