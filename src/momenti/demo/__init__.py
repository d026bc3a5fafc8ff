"""Demo data for momenti: Banca Esempio, a retail bank with planted, recoverable truths.

>>> from momenti.demo import generate
>>> data = generate("small", seed=42)
>>> data.responses.num_rows > 0
True

See docs/demo-truths.md for what is planted and how to find it again.
"""

from momenti.demo.config import SIZES, TRUTHS
from momenti.demo.generator import DemoData, generate, load_journey

__all__ = ["SIZES", "TRUTHS", "DemoData", "generate", "load_journey"]
