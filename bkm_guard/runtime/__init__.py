"""The runtime half: the encrypted key store and the guard a bot calls at start-up."""
