"""Models of the course: an MLP, a small CNN, and the small Inception and AlexNet of Zhang et al."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .validate import check_choice, check_positive, check_positive_int, check_probability, check_seed

MODELS = ("mlp", "cnn", "inception", "alexnet")


def check_widths(name: str, widths: Sequence[int]) -> None:
    """Refuse hidden-layer widths that are not a non-empty list of integers >= 1."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise ValueError(f"{name}={widths!r} is not allowed; it must be a non-empty list of integers >= 1")
    for i, units in enumerate(widths):
        check_positive_int(f"{name}[{i}]", units)


class MLP(nn.Sequential):
    """A multilayer perceptron: Flatten, then (Linear, ReLU, Dropout) per hidden width, then Linear."""

    def __init__(self, in_features: int, widths: Sequence[int] = (512,), num_classes: int = 10,
                 dropout: float = 0.0) -> None:
        check_positive_int("in_features", in_features)
        check_widths("widths", widths)
        check_positive_int("num_classes", num_classes)
        check_probability("dropout", dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        for width in widths:
            layers += [nn.Linear(in_features, width), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = width
        layers.append(nn.Linear(in_features, num_classes))
        super().__init__(*layers)


class ShiftOnlyBatchNorm2d(nn.BatchNorm2d):
    """Batch normalization with a learned shift and no learned scale (TensorFlow's default, `scale=False`).

    A ReLU follows it, so a scale would only rescale what the next layer can rescale itself; the
    paper's Inception uses this form, which gives its 1,649,402 parameters.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, affine=False)
        self.bias = nn.Parameter(torch.zeros(num_features))


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | None = None, bn_scale: bool = True) -> nn.Sequential:
    """Convolution, batch normalization (with a learned scale if `bn_scale`) and ReLU: the paper's 'Conv module'."""
    padding = kernel_size // 2 if padding is None else padding
    norm = nn.BatchNorm2d(out_channels) if bn_scale else ShiftOnlyBatchNorm2d(out_channels)
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
                         norm, nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Three 3x3 convolutions (32, 64, 128 channels times `width`), global average pooling, a linear head."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        c1, c2, c3 = (max(1, round(c * width)) for c in (32, 64, 128))
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, c1, 3), conv_bn_relu(c1, c2, 3), nn.MaxPool2d(2),
            conv_bn_relu(c2, c3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(check_probability("dropout", dropout)), nn.Linear(c3, num_classes))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Class scores for a batch of images."""
        return self.head(self.features(X))


class InceptionModule(nn.Module):
    """A 1x1 and a 3x3 convolution side by side, their channels concatenated."""

    def __init__(self, in_channels: int, ch1: int, ch3: int) -> None:
        super().__init__()
        self.branch1 = conv_bn_relu(in_channels, ch1, 1, bn_scale=False)
        self.branch3 = conv_bn_relu(in_channels, ch3, 3, bn_scale=False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Concatenate both branches along channels."""
        return torch.cat([self.branch1(X), self.branch3(X)], dim=1)


class DownsampleModule(nn.Module):
    """A stride-2 3x3 convolution beside a stride-2 3x3 max-pool, concatenated."""

    def __init__(self, in_channels: int, ch3: int) -> None:
        super().__init__()
        self.conv = conv_bn_relu(in_channels, ch3, 3, stride=2, padding=0, bn_scale=False)
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Halve the spatial size, keeping pooled and convolved channels."""
        return torch.cat([self.conv(X), self.pool(X)], dim=1)


class SmallInception(nn.Module):
    """The small Inception network of Zhang et al. (2017), appendix A, with a width multiplier.

    Every batch normalization learns a shift only (`ShiftOnlyBatchNorm2d`), as in the paper's
    TensorFlow model: at width 1 on 3x28x28 inputs it has the paper's 1,649,402 parameters.
    """

    PLAN = [("inc", 32, 32), ("inc", 32, 48), ("down", 80), ("inc", 112, 48), ("inc", 96, 64),
            ("inc", 80, 80), ("inc", 48, 96), ("down", 96), ("inc", 176, 160), ("inc", 176, 160)]

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        scale = lambda c: max(1, round(c * width))  # noqa: E731
        layers: list[nn.Module] = [conv_bn_relu(in_channels, scale(96), 3, bn_scale=False)]
        channels = scale(96)
        for kind, *sizes in self.PLAN:
            if kind == "inc":
                layers.append(InceptionModule(channels, scale(sizes[0]), scale(sizes[1])))
                channels = scale(sizes[0]) + scale(sizes[1])
            else:
                layers.append(DownsampleModule(channels, scale(sizes[0])))
                channels += scale(sizes[0])
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, num_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Class scores for a batch of images."""
        return self.head(self.features(X))


class SmallAlexNet(nn.Module):
    """The small AlexNet of Zhang et al.: two (5x5 conv, 3x3 max-pool, LRN) stages, FC 384 and 192."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int = 32,
                 width: float = 1.0) -> None:
        super().__init__()
        c = max(1, round(64 * width))
        stage = lambda cin: [nn.Conv2d(cin, c, 5, padding=2), nn.ReLU(inplace=True),  # noqa: E731
                             nn.MaxPool2d(3, stride=2, padding=1), nn.LocalResponseNorm(4, alpha=0.001 / 9, beta=0.75)]
        self.features = nn.Sequential(*stage(in_channels), *stage(c), nn.Flatten())
        side = (image_size + 3) // 4
        self.head = nn.Sequential(nn.Linear(c * side * side, round(384 * width)), nn.ReLU(inplace=True),
                                  nn.Linear(round(384 * width), round(192 * width)), nn.ReLU(inplace=True),
                                  nn.Linear(round(192 * width), num_classes))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Class scores for a batch of images."""
        return self.head(self.features(X))


DROPOUT_MODELS = ("mlp", "cnn")  # the models whose `dropout` argument places dropout layers


def make_model(name: str, input_shape: Sequence[int], num_classes: int = 10, width: float = 1.0,
               hidden: Sequence[int] = (512,), dropout: float = 0.0, seed: int | None = None) -> nn.Module:
    """Build a model by name (see MODELS) for inputs of shape (C, H, W), its weights drawn from `seed`.

    `hidden` sets the MLP's hidden widths; `width` multiplies the channels of the CNNs. With a
    seed the initial weights depend on it alone and torch's global random state is left as it was;
    with None they are drawn from the global state.
    """
    check_choice("model", name, MODELS)
    check_input_shape(input_shape)
    check_positive_int("num_classes", num_classes)
    check_positive("width", width)
    check_widths("hidden", hidden)
    check_probability("dropout", dropout)
    if dropout and name not in DROPOUT_MODELS:
        raise ValueError(f"dropout={dropout!r} is not allowed for model={name!r}; only {', '.join(map(repr, DROPOUT_MODELS))} "
                         "have a dropout layer (use 0.0, or add dropout in front of the model's head yourself)")
    if seed is None:
        return _build(name, tuple(input_shape), num_classes, width, tuple(hidden), dropout)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed("seed", seed))
        return _build(name, tuple(input_shape), num_classes, width, tuple(hidden), dropout)


def check_input_shape(input_shape: Sequence[int]) -> None:
    """Refuse an input shape that is not (C, H, W) of integers >= 1."""
    if not isinstance(input_shape, Sequence) or len(input_shape) != 3:
        raise ValueError(f"input_shape={input_shape!r} is not allowed; it must be (channels, height, width)")
    for axis, size in zip(("channels", "height", "width"), input_shape):
        check_positive_int(f"input_shape {axis}", size)


def _build(name: str, input_shape: tuple[int, ...], num_classes: int, width: float, hidden: tuple[int, ...],
           dropout: float) -> nn.Module:
    """Construct the checked model, drawing its initial weights from torch's current random state."""
    channels, height = input_shape[0], input_shape[1]
    if name == "mlp":
        return MLP(int(torch.Size(input_shape).numel()), hidden, num_classes, dropout)
    if name == "cnn":
        return SmallCNN(channels, num_classes, width, dropout)
    if name == "inception":
        return SmallInception(channels, num_classes, width)
    return SmallAlexNet(channels, num_classes, height, width)
