"""What the manuals say about the values commands take (durations, pids,
counts, signals): the rules of pyipc.durations and pyipc.integers, said once,
in the NOTES of every command that takes them."""

VALUES_TEXT = """
A DURATION is a number of seconds as strtod(3) reads it in the C locale, as
coreutils timeout takes it: 1.5, .5, 1e3, 2.34e+5, a hexadecimal 0x1.8p3, or
inf; then at most one unit letter: s (seconds), m (minutes), h (hours) or d
(days). It cannot be negative or nan. A duration longer than 2^31-1 seconds
(about 68 years) counts as that long, and a positive one too small to
represent (1e-10000) as one nanosecond, so that it still runs out at once.
Pids, counts and signal numbers are whole numbers in the ASCII digits 0-9,
without a sign, and signal names are ASCII letters; no white space is taken
around a value, and other scripts' digits and superscripts are refused.
"""
