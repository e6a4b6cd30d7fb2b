"""Targets as probability rows: integer labels become one-hot rows, probability rows pass through."""
import torch

from d2lutil.regularizers.targets import to_probabilities


def test_to_probabilities_one_hot_encodes_labels_and_passes_probabilities_through():
    y = torch.tensor([2, 0])
    assert torch.equal(to_probabilities(y, 3), torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    probs = torch.tensor([[0.2, 0.8], [0.5, 0.5]])
    assert to_probabilities(probs, 2) is probs
