"""Persona conditioning from the user's own documents: exemplars, persona embedding, steering.

    from engine.persona import build_persona_from_folder, PersonaConditioning, PersonaStrengths
    persona = build_persona_from_folder("~/Writing/fiction", name="my fiction")
    cond = PersonaConditioning.open("my fiction", lm, PersonaStrengths(exemplars=3, steering=2.0))
    prompt = engine.tasks.continue_prompt(context, exemplars=cond.exemplars(context))
    generate(lm, prompt, opts, transforms=cond.transforms())
"""

from engine.persona.calibrate import Calibration
from engine.persona.conditioning import PersonaConditioning, PersonaStrengths
from engine.persona.exemplars import (
    StyleScore,
    mmr,
    persona_embedding,
    select_exemplars,
    style_similarities,
    style_similarity,
)
from engine.persona.neutral import neutral_paragraphs, reference_paragraphs
from engine.persona.persona import (
    Persona,
    PersonaData,
    build_persona_from_folder,
    create_persona,
    delete_persona,
    get_persona,
    list_personas,
)
from engine.persona.steering import SteeringTransform, decoder_layers, mean_hidden_states, steering_vectors

__all__ = [
    "Calibration", "Persona", "PersonaConditioning", "PersonaData", "PersonaStrengths", "SteeringTransform",
    "StyleScore", "build_persona_from_folder", "create_persona", "decoder_layers", "delete_persona",
    "get_persona", "list_personas", "mean_hidden_states", "mmr", "neutral_paragraphs",
    "persona_embedding", "reference_paragraphs", "select_exemplars", "steering_vectors",
    "style_similarities", "style_similarity",
]
