"""Interactive demos of the chapters: each is a pure function of its knobs returning a figure and numbers."""
from .dropout import dropout_network, resample_button
from .early_stopping import early_stopping_curves, stopping_point
from .gap import bias_variance, gap_vs_train_size, signs_of_overfitting, summarize, train_mlp
from .boundary import boundary_demo, roughness, two_moons
from .double_descent import double_descent_curve, double_descent_demo, nearest_neighbor_predict, random_features_errors, random_relu_features, widths_around
