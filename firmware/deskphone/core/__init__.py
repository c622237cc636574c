"""The pure core: phone behaviour with no I/O, no asyncio and no hardware imports.

Inputs (core.inputs) go in, effects (core.effects) come out; time is passed in.
"""
