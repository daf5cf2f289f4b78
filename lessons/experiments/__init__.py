"""The notebooks' experiments as functions: each trains or measures, and returns its numbers.

A notebook calls ``lessons.experiments.<topic>.<experiment>(seed=...)`` and prints and asserts what
it returns; ``claims/claims_NN.py`` calls the same function for several seeds and thread counts
(``make claims``), so a claim the prose makes is shown to hold wherever a student runs it.
"""
