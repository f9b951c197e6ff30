"""Test helpers shipped with ragtrack so that third-party backends can run the
same contract suite as the built-in ones (see :mod:`ragtrack.testing.store_contract`)."""
