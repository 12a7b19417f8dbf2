"""zhengwu (政务): the core platform of a city's digital government."""

__version__ = "0.1.0"
