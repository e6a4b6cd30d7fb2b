"""Regularizers of the course, one module per family; everything public is re-exported here."""
from .augment import make_augment, random_crop, random_flip
from .dropout import Dropout, all_keep_masks, dropout, ensemble_mean, keep_mask, mask_probabilities, mc_dropout_predict, predictive_entropy, thinned_outputs
