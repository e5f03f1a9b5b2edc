"""Style evaluation: the authorship judge, metrics and the protocol runner."""
