"""Interactive demos of the chapters: each is a pure function of its knobs returning a figure and numbers."""
