"""Corrections organizers make after the fact: void and restore, bursts, rehearsal rows, erasure."""
