"""Parameter sweeps: run a notebook at every point of a grid with papermill, locally or on Dask, resumably.

grid.py reads, names and checks the points; execution.py runs them (processes, Dask, interrupts);
collection.py gathers their results into a CSV and plots; command.py is `python -m d2lutil sweep`.
"""
from .collection import aggregate, draw_plots, lookup, plot_sweep, result_rows, scalar_leaves
from .command import run_sweep
from .execution import Outcome, gpu_assignments, run_point
from .grid import Sweep, check_sweep, load_sweep, parse_sweep, point_name, results_outline, value_text

__all__ = ["Outcome", "Sweep", "aggregate", "check_sweep", "draw_plots", "gpu_assignments", "load_sweep", "lookup",
           "parse_sweep", "plot_sweep", "point_name", "result_rows", "results_outline", "run_point", "run_sweep",
           "scalar_leaves", "value_text"]
