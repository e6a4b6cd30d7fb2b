"""One module per chapter (chNN.py) registering that chapter's auto-graded questions."""
