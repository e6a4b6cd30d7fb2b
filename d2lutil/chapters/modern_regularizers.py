"""The parameters of chapter 5, modern regularizers."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number, optional

IMAGE_SIZE = {"digits": 8, "mnist": 28, "fashion_mnist": 28, "cifar10": 32}  # height = width of the images
LARGEST_BATCH = 256  # the largest batch of the batch-norm noise measurement: n_train's minimum

DECLARATION = Declaration("05_modern_regularizers", {
    **common_rules(),
    "n_train": Rule(optional(integer(LARGEST_BATCH)), split="train"),
    "hidden": Rule(each(integer(1))),
    "resnet_channels": Rule(integer(1)),
    "num_blocks": Rule(integer(1)),
    "num_epochs": Rule(integer(1)),
    "resnet_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "augment_padding": Rule(integer(1)),
    "mixup_alpha": Rule(number(0, low_open=True)),
    "cutmix_alpha": Rule(number(0, low_open=True)),
    "smoothing": Rule(number(0, 1, low_open=True, high_open=True)),
    "drop_path": Rule(number(0, 1, high_open=True)),
    "noise_std": Rule(number(0, low_open=True)),
    "max_norm": Rule(number(0, low_open=True)),
    "clip_norm": Rule(number(0, low_open=True)),
    "clip_value": Rule(number(0, low_open=True)),
    "temperature": Rule(number(0, low_open=True)),
    "distill_alpha": Rule(number(0, 1)),
    "student_hidden": Rule(each(integer(1))),
    "num_threads": Rule(optional(integer(1)), record=False),
}, (
    Combination(lambda dataset, augment_padding: augment_padding < IMAGE_SIZE[dataset],
                f"augment_padding must be below the image size ({IMAGE_SIZE})"),
))
