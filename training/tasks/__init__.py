"""Training data for the rewrite task LoRAs (rephrase and the four presets) and their DPO stage."""
