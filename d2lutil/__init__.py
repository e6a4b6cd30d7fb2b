"""d2lutil: the helper package of the course "Rethinking Generalization"."""
from .corruptions import CORRUPTIONS, corrupt, corrupt_labels, gaussian_like, pixel_permutation, random_labels, random_pixels, shuffle_pixels
from .data import DATASETS, Dataset, DatasetUnavailableError, iterate_batches, load_dataset, load_digits, load_torchvision
from .environment import DEVICES, choose_device, in_colab, seed_everything, versions
from .models import MODELS, MLP, SmallAlexNet, SmallCNN, SmallInception, make_model
from .parameters import check_parameters
from .plotting import plot_histories, plot_image_grid, plot_learning_curves, plot_lines, save_figure
from .regularizers import make_augment, random_crop, random_flip
from .results import load_results, save_results
from .callbacks import METRICS, Callback, EarlyStopping, History, StopAtAccuracy, TrainState
from .checkpoints import CheckpointError, checkpoint_file, resolve_checkpoint_dir
from .precision import AMP_MODES, Precision
from .train import evaluate, fit
from .validate import (check_choice, check_integer, check_nonnegative, check_number, check_positive, check_positive_int,
                       check_probability, check_seed)
from .quiz import Question, feedback, quick_check
from .widgets import show_demo

__version__ = "0.1.0"
