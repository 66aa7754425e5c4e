"""robo: a robotics reward and policy-steering stack.

Learning code lives here and knows nothing about MuJoCo or serial ports; simulated worlds are
in :mod:`sims`, real arms in :mod:`hardware`. See DESIGN.md for the layout and contracts.
"""

__version__ = "0.1.0"
