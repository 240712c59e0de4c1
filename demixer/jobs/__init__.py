"""Claimable work: one state machine for every kind of job (separations, renders, ...) and the
worker's loops that claim and run them."""
