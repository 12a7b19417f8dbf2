"""The portal keeps no tables of its own yet: its sections are registered by other apps."""
