"""The parameter declarations of the chapters: one module per notebook NN_<name>.ipynb, named <name>.

Each module holds one `DECLARATION` (see d2lutil.parameters): the rule of every parameter of the notebook's
parameters cell, and the rules that tie parameters together.
"""
