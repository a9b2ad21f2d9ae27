"""The generate stage as its own measured process: ``python -m bench.gen CACHE CUSTOMERS DAYS SEED``."""

import sys
from pathlib import Path

from bench.data import generate_into
from bench.scales import Scale

if __name__ == "__main__":
    cache, customers, days, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    generate_into(cache, Scale("adhoc", customers, days), seed)
