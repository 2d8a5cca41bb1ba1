"""The entries resource: a client's timeline and its entries, read, written and amended.

Too large for one module: reads.py (timeline, one entry, medication list), writes.py (a
new entry of each kind), amendments.py (amending, acknowledging), with the entries' JSON
in output.py and the bodies the writes accept in bodies.py.
"""
