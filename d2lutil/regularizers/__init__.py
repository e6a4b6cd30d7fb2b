"""Regularizers of the course, one module per family; everything public is re-exported here."""
from .augment import make_augment, random_crop, random_flip
from .dropout import Dropout, all_keep_masks, dropout, ensemble_mean, keep_mask, mask_probabilities, mc_dropout_predict, predictive_entropy, thinned_outputs
from .mixing import cut_box, cutmix, from_torchvision, make_mixing, mix, mixup, paste
from .losses import DistillationLoss, LabelSmoothingLoss, attach_teacher_scores, distillation_loss, smooth_labels, soft_target_loss
from .stochastic_depth import DropPath, ResidualBlock, SmallResNet, drop_path, keep_examples, linear_drop_rates, scale_kept
from .constraints import GaussianNoise, GradientClipping, GradientNormMonitor, MaxNorm, apply_max_norm, clip_gradients, gradient_norm, unit_norms
from .penalties import PENALTIES, decay_groups, elastic_net_penalty, l1_penalty, l2_penalty, non_weights, penalized_loss, penalty, sgd_weight_decay_step, sparsity, weight_norm, weights
