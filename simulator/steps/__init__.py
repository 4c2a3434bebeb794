"""The scenario steps, one module per kind of step, and the registry the runner dispatches by.

``context.StepContext`` is what every step works on (the world, the bots, the verdict so far);
``registry.HANDLERS`` maps each step class of :data:`simulator.scenario.AnyStep` to its handler.
"""
