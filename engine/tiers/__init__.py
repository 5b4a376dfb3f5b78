"""The pipeline's tiers, each a mixin of ``engine.pipeline.CoderAgent``: ``templates`` (tier 1),
``cache`` (tier 2), ``paid`` (tier 3, the provider chain), and ``base`` (what they share: the
agent's engine and store, and the review ``Gate``). ``engine.pipeline`` orders them."""
