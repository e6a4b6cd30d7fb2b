"""Auto-grading of the exercises: the question registry, in-notebook checks, generation, and the sandboxed grader."""
from .registry import QUESTIONS, CheckFailed, Question, expect_close, expect_shape, load_questions, question
from .check import Verdict, check, run_check
