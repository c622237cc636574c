"""What the user hears: the phone's own tones on the board's sound devices, volume, mute, bell.

The core decides (``PlayTone``, ``StopTone``, ``SetVolume``, ``SetMicMute``,
``Bell`` effects); this package only plays: ``config`` reads the board's
``[sound]`` section, ``synth`` makes samples, ``player`` writes them to ALSA from
a thread per device, ``mixer`` sets ALSA mixer controls, ``bell`` drives a GPIO
bell, ``output`` is the adapter the runtime talks to (and its simulated twin).
"""
