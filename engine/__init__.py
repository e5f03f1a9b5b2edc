"""Killah's engine: models, generation, adapters, index, persona, quality and speech.

engine/ never imports training/ or desktop/.
"""

__version__ = "0.1.0"
