"""CheckList-style behaviour suite of fictional posts (see README.md); held out from training."""
