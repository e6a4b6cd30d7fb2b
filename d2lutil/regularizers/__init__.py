"""Regularizers of the course, one module per family; everything public is re-exported here."""
from .augment import make_augment, random_crop, random_flip
