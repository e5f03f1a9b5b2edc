"""The "train my style" pipeline: curate, neutralize, fine-tune, evaluate, register."""
