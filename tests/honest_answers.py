"""Correct answers to chapter 1's graded questions, as a student would write them (shared by the grading tests)."""

ACCURACY = "def accuracy(scores, y):\n    return float((scores.argmax(dim=1) == y).float().mean())"
DIAGNOSE = '''def diagnose(train_error, val_error, baseline_error=0.0, tolerance=0.05):
    bias = train_error - baseline_error > tolerance
    variance = val_error - train_error > tolerance
    return ["good fit", "high bias", "high variance", "high bias and high variance"][bias + 2 * variance]'''
BIAS_VARIANCE = '''def bias_variance(predictions, y):
    mean = predictions.mean(dim=0)
    return float(((mean - y) ** 2).mean()), float(predictions.var(dim=0, unbiased=False).mean())'''
